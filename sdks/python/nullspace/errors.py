"""Exceptions typed from the daemon's stable error codes (docs/errors.md): every code has
its own class (`machine_not_found` → MachineNotFoundError), all subclasses of
NullspaceError, which carries .code, .message, .status and .request_id."""


class NullspaceError(Exception):
    code = "unknown"

    def __init__(self, message, code=None, status=None, request_id=None):
        super().__init__("%s: %s" % (code or self.code, message))
        self.code = code or self.code
        self.message = message
        self.status = status
        self.request_id = request_id


CODES = [
    "invalid_request", "invalid_json", "unknown_field", "invalid_field", "missing_field",
    "unauthorized", "forbidden", "not_found", "key_not_found", "method_not_allowed",
    "request_timeout", "conflict", "last_key", "payload_too_large", "unsupported_media_type",
    "headers_too_large", "internal", "too_many_connections", "shutting_down",
    "machine_not_found", "template_not_found", "machine_not_running", "machine_failed",
    "machine_busy", "file_not_found", "file_exists", "permission_denied", "invalid_path",
    "invalid_cwd", "unknown_user", "no_space", "io_error", "invalid_signature", "url_expired",
    "snapshot_not_found", "snapshot_in_use", "snapshot_not_ready", "process_not_found",
    "process_exited", "too_many_processes", "stdin_full", "stdin_closed", "not_a_terminal",
    "too_many_channels", "channel_not_found", "preview_token_required", "preview_token_invalid",
    "preview_token_expired", "upstream_unreachable", "network_unavailable", "build_not_found",
    "context_not_found", "template_in_use", "invalid_dockerfile", "pool_empty", "runtime_unsupported",
    "template_not_ready",
    "connection_failed",
]

_BY_CODE = {}
for _code in CODES:
    _name = "".join(p.capitalize() for p in _code.split("_")) + "Error"
    _cls = type(_name, (NullspaceError,), {"code": _code})
    globals()[_name] = _cls
    _BY_CODE[_code] = _cls


def error_for(code, message, status=None, request_id=None):
    """The exception for an error answer (NullspaceError for codes this SDK predates)."""
    cls = _BY_CODE.get(code, NullspaceError)
    return cls(message, code=code, status=status, request_id=request_id)
