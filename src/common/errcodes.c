#include "errcodes.h"

#include <string.h>

/* Exit codes: 0 ok, 1 unexpected failure, 2 usage, 3 connection, 4 invalid request,
 * 5 auth, 6 not found, 7 conflict, 8 server unavailable/error, 10 timeout. docs/cli-exit-codes.md
 * documents the same. */
static const struct ns_code_def defs[NS_E_COUNT] = {
    [NS_OK] = {"ok", 200, 0, "Success."},
    [NS_E_INVALID_REQUEST] = {"invalid_request", 400, 4,
                              "The HTTP request is malformed (request line, headers, "
                              "query or framing)."},
    [NS_E_INVALID_JSON] = {"invalid_json", 400, 4,
                           "The body is not valid JSON, or not a JSON object."},
    [NS_E_UNKNOWN_FIELD] = {"unknown_field", 400, 4,
                            "The JSON body has a field this operation does not accept; "
                            "the message names it."},
    [NS_E_INVALID_FIELD] = {"invalid_field", 400, 4,
                            "A field has the wrong type or a value out of range; the "
                            "message names it."},
    [NS_E_MISSING_FIELD] = {"missing_field", 400, 4,
                            "A required field is absent; the message names it."},
    [NS_E_UNAUTHORIZED] = {"unauthorized", 401, 5,
                           "No API key was given, or the key is unknown or revoked."},
    [NS_E_FORBIDDEN] = {"forbidden", 403, 5, "The key may not perform this operation."},
    [NS_E_NOT_FOUND] = {"not_found", 404, 6, "No route matches this path."},
    [NS_E_KEY_NOT_FOUND] = {"key_not_found", 404, 6, "No API key has this ID."},
    [NS_E_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405, 4,
                                 "The path exists but not with this method; the Allow "
                                 "header lists the methods it has."},
    [NS_E_REQUEST_TIMEOUT] = {"request_timeout", 408, 10,
                              "The client took too long to send its request."},
    [NS_E_CONFLICT] = {"conflict", 409, 7,
                       "The operation conflicts with the current state of the resource."},
    [NS_E_LAST_KEY] = {"last_key", 409, 7,
                       "Revoking this key would leave no active key to administer the "
                       "daemon."},
    [NS_E_PAYLOAD_TOO_LARGE] = {"payload_too_large", 413, 4,
                                "The body is larger than this operation accepts."},
    [NS_E_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", 415, 4,
                                     "The body's Content-Type is not one this operation "
                                     "accepts (JSON bodies need application/json)."},
    [NS_E_HEADERS_TOO_LARGE] = {"headers_too_large", 431, 4,
                                "The request line and headers exceed the size limit."},
    [NS_E_INTERNAL] = {"internal", 500, 8,
                       "An unexpected server-side failure; the request ID finds it in "
                       "the daemon log."},
    [NS_E_TOO_MANY_CONNECTIONS] = {"too_many_connections", 503, 8,
                                   "The daemon is at its connection limit; retry later."},
    [NS_E_SHUTTING_DOWN] = {"shutting_down", 503, 8,
                            "The daemon is draining before exit and takes no new work."},
    [NS_E_MACHINE_NOT_FOUND] = {"machine_not_found", 404, 6, "No machine has this ID."},
    [NS_E_TEMPLATE_NOT_FOUND] = {"template_not_found", 404, 6, "No template has this name."},
    [NS_E_MACHINE_NOT_RUNNING] = {"machine_not_running", 409, 7,
                                  "The machine is not running (creating, paused for a hibernate, "
                                  "fork or snapshot, hibernated without auto-resume, failed or "
                                  "destroyed), or it stopped during the operation."},
    [NS_E_MACHINE_FAILED] = {"machine_failed", 500, 8,
                             "The machine could not be started or its sandbox died; "
                             "failure_reason says why."},
    [NS_E_MACHINE_BUSY] = {"machine_busy", 409, 7,
                           "The machine has commands or file transfers open; retry when they "
                           "end."},
    [NS_E_FILE_NOT_FOUND] = {"file_not_found", 404, 6,
                             "The path does not exist inside the machine."},
    [NS_E_FILE_EXISTS] = {"file_exists", 409, 7,
                          "The target exists (or a directory is not empty)."},
    [NS_E_PERMISSION_DENIED] = {"permission_denied", 403, 5,
                                "The machine's filesystem refused the operation."},
    [NS_E_INVALID_PATH] = {"invalid_path", 400, 4,
                           "The path is empty, too long, or of the wrong type (a directory "
                           "where a file is needed, or the reverse)."},
    [NS_E_INVALID_CWD] = {"invalid_cwd", 400, 4,
                          "The working directory does not exist in the machine."},
    [NS_E_UNKNOWN_USER] = {"unknown_user", 400, 4, "No such user in the machine."},
    [NS_E_NO_SPACE] = {"no_space", 507, 8,
                       "The machine's disk is full, or the host disk that holds checkpoints "
                       "(hibernate, fork, snapshots)."},
    [NS_E_IO_ERROR] = {"io_error", 500, 8, "An I/O error inside the machine."},
    [NS_E_INVALID_SIGNATURE] = {"invalid_signature", 403, 5,
                                "The signed URL's signature does not match (forged, altered, "
                                "or for another machine, path or method)."},
    [NS_E_URL_EXPIRED] = {"url_expired", 403, 5, "The signed URL has expired."},
    [NS_E_SNAPSHOT_NOT_FOUND] = {"snapshot_not_found", 404, 6, "No snapshot has this ID."},
    [NS_E_SNAPSHOT_IN_USE] = {"snapshot_in_use", 409, 7,
                              "Machines spawned from the snapshot still exist (or it is still "
                              "being captured); destroy them first."},
    [NS_E_SNAPSHOT_NOT_READY] = {"snapshot_not_ready", 409, 7,
                                 "The snapshot is still being captured."},
    [NS_E_PROCESS_NOT_FOUND] = {"process_not_found", 404, 6,
                                "No background or PTY process with that PID or tag in the "
                                "machine (the oldest exited ones are forgotten past 64)."},
    [NS_E_PROCESS_EXITED] = {"process_exited", 409, 7,
                             "The process has exited; its logs stay readable."},
    [NS_E_TOO_MANY_PROCESSES] = {"too_many_processes", 409, 7,
                                 "64 background and PTY processes run in the machine already."},
    [NS_E_STDIN_FULL] = {"stdin_full", 409, 7,
                         "The process has 1 MiB of stdin it has not read; retry later."},
    [NS_E_STDIN_CLOSED] = {"stdin_closed", 409, 7, "The process's stdin was closed."},
    [NS_E_NOT_A_TERMINAL] = {"not_a_terminal", 409, 7,
                             "The process has no PTY (resize applies to PTY sessions)."},
    [NS_E_TOO_MANY_CHANNELS] = {"too_many_channels", 409, 7,
                                "Too many streams are open on this WebSocket (16) or in the "
                                "machine's agent."},
    [NS_E_CHANNEL_NOT_FOUND] = {"channel_not_found", 404, 6,
                                "No open channel with that number on this WebSocket."},
    [NS_E_PREVIEW_TOKEN_REQUIRED] = {"preview_token_required", 401, 5,
                                     "This preview URL needs its token: the port is not "
                                     "public."},
    [NS_E_PREVIEW_TOKEN_INVALID] = {"preview_token_invalid", 403, 5,
                                    "The preview token is forged, malformed, or made for "
                                    "another machine or port."},
    [NS_E_PREVIEW_TOKEN_EXPIRED] = {"preview_token_expired", 403, 5,
                                    "The preview token's time is up; ask for a new URL."},
    [NS_E_UPSTREAM_UNREACHABLE] = {"upstream_unreachable", 502, 8,
                                   "Nothing in the machine answered on that port (no server "
                                   "listening, or it did not accept in time)."},
    [NS_E_NETWORK_UNAVAILABLE] = {"network_unavailable", 409, 7,
                                  "The machine has no network (networking is off on this "
                                  "host: ip or nft missing)."},
    [NS_E_BUILD_NOT_FOUND] = {"build_not_found", 404, 6, "No template build has this ID."},
    [NS_E_CONTEXT_NOT_FOUND] = {"context_not_found", 404, 6,
                                "No uploaded build context has this ID (upload it with PUT "
                                "/v1/templates/contexts first)."},
    [NS_E_TEMPLATE_IN_USE] = {"template_in_use", 409, 7,
                              "Machines started from the template still exist, or other "
                              "templates were built from it."},
    [NS_E_INVALID_DOCKERFILE] = {"invalid_dockerfile", 400, 4,
                                 "The Dockerfile uses something outside the supported subset "
                                 "(the message names the line)."},
    [NS_E_POOL_EMPTY] = {"pool_empty", 409, 7,
                         "No machine of the template's warm pool is ready (\"pool\": "
                         "\"require\"); retry, or let the create fall back."},
    [NS_E_RUNTIME_UNSUPPORTED] = {"runtime_unsupported", 409, 7,
                                  "The machine's runtime cannot do this (yet), or is not "
                                  "available on this host."},
    [NS_E_TEMPLATE_NOT_READY] = {"template_not_ready", 503, 8,
                                 "What machines start from could not be prepared: the base "
                                 "template's or the VM guest's build failed or ran past its "
                                 "limit (GET /readyz says which; the next create tries again)."},
    [NS_E_VOLUME_NOT_FOUND] = {"volume_not_found", 404, 6,
                               "No volume has this ID or name (or a machine's snapshot "
                               "mounts a volume that was deleted)."},
    [NS_E_VOLUME_IN_USE] = {"volume_in_use", 409, 7,
                            "Machines that mount the volume still exist; destroy them "
                            "first."},
    [NS_E_VOLUME_EXISTS] = {"volume_exists", 409, 7, "A volume with this name exists."},
    [NS_E_UPLOAD_NOT_FOUND] = {"upload_not_found", 404, 6,
                               "No resumable upload has this ID (finished, cancelled or "
                               "expired)."},
    [NS_E_CHECKSUM_MISMATCH] = {"checksum_mismatch", 409, 7,
                                "The uploaded bytes do not match the sha256 the upload was "
                                "started with; it was not kept."},
    [NS_E_WEBHOOK_NOT_FOUND] = {"webhook_not_found", 404, 6, "No webhook has this ID."},
    [NS_E_DELIVERY_NOT_FOUND] = {"delivery_not_found", 404, 6,
                                 "The webhook has no delivery with this ID (or it was pruned)."},
    [NS_E_SSH_UNAVAILABLE] = {"ssh_unavailable", 409, 7,
                              "SSH cannot run in this machine: its template has no usable "
                              "sshd, or sshd could not start (the message says why)."},
    [NS_E_CODE_INTERPRETER_NOT_AVAILABLE] = {"code_interpreter_not_available", 409, 7,
                                             "The machine runs no code interpreter: create it "
                                             "from the code-interpreter template."},
    [NS_E_CODE_CONTEXT_NOT_FOUND] = {"code_context_not_found", 404, 6,
                                     "The machine's code interpreter has no context with this "
                                     "ID (deleted, or never made)."},
    [NS_E_CODE_RUN_NOT_FOUND] = {"code_run_not_found", 404, 6,
                                 "The machine's code interpreter has no run with this ID "
                                 "(deleted, dropped as one of the oldest, or never started)."},
    [NS_E_CODE_ARTIFACT_NOT_FOUND] = {"code_artifact_not_found", 404, 6,
                                      "The run has no artifact with this ID."},
    [NS_E_DESKTOP_NOT_AVAILABLE] = {"desktop_not_available", 409, 7,
                                    "The machine has no desktop: create it from the desktop "
                                    "template."},
    [NS_E_DESKTOP_WINDOW_NOT_FOUND] = {"desktop_window_not_found", 404, 6,
                                       "The desktop has no application window with this ID "
                                       "(closed, or never there)."},
    [NS_E_DESKTOP_APP_NOT_FOUND] = {"desktop_app_not_found", 404, 6,
                                    "No desktop entry of the machine has this name (a .desktop "
                                    "file name or its Name=)."},
    [NS_E_VIEWER_TOKEN_INVALID] = {"viewer_token_invalid", 403, 5,
                                   "The desktop viewer's token is forged, malformed, or made "
                                   "for another machine or mode."},
    [NS_E_VIEWER_TOKEN_EXPIRED] = {"viewer_token_expired", 403, 5,
                                   "The desktop viewer's time is up; ask for a new viewer URL."},
    [NS_E_RECORDING_NOT_FOUND] = {"recording_not_found", 404, 6,
                                  "The machine has no desktop recording with this ID (deleted, "
                                  "or never made)."},
    [NS_E_LANGUAGE_NOT_SUPPORTED] = {"language_not_supported", 400, 4,
                                     "The code interpreter does not run this language (the "
                                     "message lists those it does)."},
    [NS_E_SECRET_NOT_FOUND] = {"secret_not_found", 404, 6,
                               "No secret has this name (a machine's create names one that "
                               "was never set or was deleted)."},
    [NS_E_DEPLOYMENT_NOT_FOUND] = {"deployment_not_found", 404, 6,
                                   "No deployment has this name (never deployed, or deleted)."},
    [NS_E_REVISION_NOT_FOUND] = {"revision_not_found", 404, 6,
                                 "The deployment has no revision with this number."},
    [NS_E_RUN_NOT_FOUND] = {"run_not_found", 404, 6,
                            "No run of a deployment has this ID (or it belongs to another "
                            "deployment)."},
    [NS_E_REVISION_NOT_READY] = {"revision_not_ready", 409, 7,
                                 "The deployment has no revision built yet, or the one named is "
                                 "still building or failed to build."},
    [NS_E_RUN_ACTIVE] = {"run_active", 409, 7,
                         "A run of this job is still active and its concurrency policy is "
                         "forbid."},
    [NS_E_USAGE] = {"usage", 0, 2, "The command line is wrong (CLI only)."},
    [NS_E_CONNECTION_FAILED] = {"connection_failed", 0, 3,
                                "The daemon could not be reached (CLI and SDKs only)."},
};

_Static_assert(sizeof(defs) / sizeof(defs[0]) == NS_E_COUNT, "one definition per code");

const struct ns_code_def *ns_code_def(enum ns_code c)
{
        if ((unsigned)c >= NS_E_COUNT)
                c = NS_E_INTERNAL;
        return &defs[c];
}

enum ns_code ns_code_by_name(const char *name)
{
        for (unsigned i = 0; i < NS_E_COUNT; i++)
                if (strcmp(defs[i].name, name) == 0)
                        return (enum ns_code)i;
        return NS_E_COUNT;
}

const char *ns_code_name(enum ns_code c)
{
        return ns_code_def(c)->name;
}
