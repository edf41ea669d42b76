/* The one catalogue of stable error codes. Each code has an HTTP status (API),
 * an exit code (CLI) and a one-line meaning (docs/errors.md lists them all and a
 * test keeps the two in step). Codes are never renamed or reused. */
#ifndef NS_ERRCODES_H
#define NS_ERRCODES_H

enum ns_code {
        NS_OK = 0,
        NS_E_INVALID_REQUEST,
        NS_E_INVALID_JSON,
        NS_E_UNKNOWN_FIELD,
        NS_E_INVALID_FIELD,
        NS_E_MISSING_FIELD,
        NS_E_UNAUTHORIZED,
        NS_E_FORBIDDEN,
        NS_E_NOT_FOUND,
        NS_E_KEY_NOT_FOUND,
        NS_E_METHOD_NOT_ALLOWED,
        NS_E_REQUEST_TIMEOUT,
        NS_E_CONFLICT,
        NS_E_LAST_KEY,
        NS_E_PAYLOAD_TOO_LARGE,
        NS_E_UNSUPPORTED_MEDIA_TYPE,
        NS_E_HEADERS_TOO_LARGE,
        NS_E_INTERNAL,
        NS_E_TOO_MANY_CONNECTIONS,
        NS_E_SHUTTING_DOWN,
        NS_E_MACHINE_NOT_FOUND,
        NS_E_TEMPLATE_NOT_FOUND,
        NS_E_MACHINE_NOT_RUNNING,
        NS_E_MACHINE_FAILED,
        NS_E_MACHINE_BUSY,
        NS_E_FILE_NOT_FOUND,
        NS_E_FILE_EXISTS,
        NS_E_PERMISSION_DENIED,
        NS_E_INVALID_PATH,
        NS_E_INVALID_CWD,
        NS_E_UNKNOWN_USER,
        NS_E_NO_SPACE,
        NS_E_IO_ERROR,
        NS_E_INVALID_SIGNATURE,
        NS_E_URL_EXPIRED,
        NS_E_SNAPSHOT_NOT_FOUND,
        NS_E_SNAPSHOT_IN_USE,
        NS_E_SNAPSHOT_NOT_READY,
        NS_E_PROCESS_NOT_FOUND,
        NS_E_PROCESS_EXITED,
        NS_E_TOO_MANY_PROCESSES,
        NS_E_STDIN_FULL,
        NS_E_STDIN_CLOSED,
        NS_E_NOT_A_TERMINAL,
        NS_E_TOO_MANY_CHANNELS,
        NS_E_CHANNEL_NOT_FOUND,
        NS_E_PREVIEW_TOKEN_REQUIRED,
        NS_E_PREVIEW_TOKEN_INVALID,
        NS_E_PREVIEW_TOKEN_EXPIRED,
        NS_E_UPSTREAM_UNREACHABLE,
        NS_E_NETWORK_UNAVAILABLE,
        NS_E_BUILD_NOT_FOUND,
        NS_E_CONTEXT_NOT_FOUND,
        NS_E_TEMPLATE_IN_USE,
        NS_E_INVALID_DOCKERFILE,
        NS_E_POOL_EMPTY,
        NS_E_RUNTIME_UNSUPPORTED,
        NS_E_TEMPLATE_NOT_READY,
        NS_E_VOLUME_NOT_FOUND,
        NS_E_VOLUME_IN_USE,
        NS_E_VOLUME_EXISTS,
        NS_E_UPLOAD_NOT_FOUND,
        NS_E_CHECKSUM_MISMATCH,
        NS_E_WEBHOOK_NOT_FOUND,
        NS_E_DELIVERY_NOT_FOUND,
        NS_E_SSH_UNAVAILABLE,
        NS_E_CODE_INTERPRETER_NOT_AVAILABLE,
        NS_E_CODE_CONTEXT_NOT_FOUND,
        NS_E_CODE_RUN_NOT_FOUND,
        NS_E_CODE_ARTIFACT_NOT_FOUND,
        NS_E_DESKTOP_NOT_AVAILABLE,
        NS_E_DESKTOP_WINDOW_NOT_FOUND,
        NS_E_DESKTOP_APP_NOT_FOUND,
        NS_E_VIEWER_TOKEN_INVALID,
        NS_E_VIEWER_TOKEN_EXPIRED,
        NS_E_RECORDING_NOT_FOUND,
        NS_E_LANGUAGE_NOT_SUPPORTED,
        NS_E_SECRET_NOT_FOUND,
        NS_E_DEPLOYMENT_NOT_FOUND,
        NS_E_REVISION_NOT_FOUND,
        NS_E_RUN_NOT_FOUND,
        NS_E_REVISION_NOT_READY,
        NS_E_RUN_ACTIVE,
        /* client-side only: never sent by the daemon */
        NS_E_USAGE,
        NS_E_CONNECTION_FAILED,
        NS_E_COUNT
};

struct ns_code_def {
        const char *name;    /* stable machine-readable code, e.g. "key_not_found" */
        int http_status;     /* 0 for client-side codes */
        int exit_code;       /* CLI exit status */
        const char *meaning; /* one line for docs and help */
};

/* Definition of `c` (NS_OK included). Never NULL for c < NS_E_COUNT. Thread-safe. */
const struct ns_code_def *ns_code_def(enum ns_code c);

/* The stable name of c ("machine_busy"; "ok" for NS_OK). Thread-safe. */
const char *ns_code_name(enum ns_code c);

/* Looks a code up by its name; returns NS_E_COUNT when unknown. Thread-safe. */
enum ns_code ns_code_by_name(const char *name);

#endif
