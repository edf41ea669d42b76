"""Exceptions typed from the daemon's stable error codes (docs/errors.md): every code has
its own class (`machine_not_found` → MachineNotFoundError), all subclasses of
NullspaceError, which carries .code, .message, .status and .request_id. The codes come
from codes.py, generated from the daemon's catalogue (scripts/gen-sdk-errors.py)."""


class NullspaceError(Exception):
    code = "unknown"

    def __init__(self, message, code=None, status=None, request_id=None):
        super().__init__("%s: %s" % (code or self.code, message))
        self.code = code or self.code
        self.message = message
        self.status = status
        self.request_id = request_id


from .codes import CODES  # generated from the daemon's catalogue

_BY_CODE = {}
for _code in CODES:
    _name = "".join(p.capitalize() for p in _code.split("_")) + "Error"
    _cls = type(_name, (NullspaceError,), {"code": _code, "__doc__": CODES[_code][1]})
    globals()[_name] = _cls
    _BY_CODE[_code] = _cls


def error_for(code, message, status=None, request_id=None):
    """The exception for an error answer (NullspaceError for codes this SDK predates)."""
    cls = _BY_CODE.get(code, NullspaceError)
    return cls(message, code=code, status=status, request_id=request_id)
