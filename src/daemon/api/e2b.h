/* E2B compatibility (docs/e2b.md): E2B's control plane (e2b.c) and the sandbox-side
 * envd API (e2b_envd.c) over our machines. Loop thread only. */
#ifndef NS_API_E2B_H
#define NS_API_E2B_H

#include <stdint.h>

#include "../app.h"
#include "../http/query.h"
#include "../http/server.h"

/* The envd version we answer: the SDK gates features on it (docs/e2b.md). */
#define E2B_ENVD_VERSION "0.5.2"

/* Answers E2B's error document {"code": status, "message"} with a formatted message. */
void e2b_error(struct http_exchange *ex, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* http_app.error_doc: E2B's {"code": status, "message"} for requests under /e2b/ (every
 * error there, unknown routes and a missing key included), NULL for the rest. */
json_t *e2b_error_doc(struct http_exchange *ex, enum ns_code code, const char *msg);
/* Answers one of our catalogue codes in E2B's shape (its HTTP status; msg or the
 * code's meaning). */
void e2b_fail(struct http_exchange *ex, enum ns_code code, const char *msg);
/* The envd access token of sandbox `id` (hex HMAC under the daemon's signing key): what
 * the SDK sends back as X-Access-Token. out: 64 hex digits and a NUL. */
void e2b_envd_token(const struct app *app, const char *id, char out[65]);

/* envd: the machine of the request's E2b-Sandbox-Id when its X-Access-Token is right,
 * else NULL after answering 400 or 401. */
struct machine *e2b_envd_machine(struct http_exchange *ex);
void e2b_envd_health(struct http_exchange *ex);
/* "2026-12-04T14:35:33.123Z" of ms since the epoch (new reference). */
json_t *e2b_iso_time(int64_t ms);
/* The Connect error code ("not_found", "invalid_argument", ...) of one of ours. */
const char *e2b_connect_code(enum ns_code c);
/* Answers a Connect unary error: code's HTTP status and {"code", "message"}. */
void e2b_connect_error(struct http_exchange *ex, const char *code, const char *msg);
/* The user of the request's `Authorization: Basic base64(USER:)` into out ("" when
 * none); -1 after answering unauthenticated. */
int e2b_basic_user(struct http_exchange *ex, char *out, size_t cap);
/* POST /filesystem.Filesystem/{method}: Stat, ListDir, MakeDir, Move, Remove (others:
 * unimplemented). */
void e2b_fs_call(struct http_exchange *ex);
/* The query of envd's /files: path, username, signature, signature_expiration. */
#define E2B_FILES_QUERY 4
/* e2b_envd_machine, then the /files query parsed into q; -1 after answering. */
int e2b_files_request(struct http_exchange *ex, struct query_param q[E2B_FILES_QUERY]);
/* E2B's path of `user` into out: relative paths are under the user's home (/root for
 * root or none, else /home/USER). -1 when it does not fit. */
int e2b_resolve_path(const char *path, const char *user, char *out, size_t cap);
/* POST /files: multipart/form-data files, each part's filename its path (or ?path=). */
void e2b_files_post(struct http_exchange *ex);
/* GET /files?path=&username=: the file's bytes (relative paths under the user's home). */
void e2b_files_get(struct http_exchange *ex);
/* One part of a multipart/form-data body: pointers into the body (not NUL-ended). */
struct e2b_part {
        const char *name, *filename; /* filename NULL when the part has none */
        size_t name_len, filename_len;
        const unsigned char *data;
        size_t len;
};
/* Splits a whole multipart/form-data body (its Content-Type names the boundary) into at
 * most max parts. 0 with *n set, or -1 with *why. Thread-safe. */
int e2b_multipart_parse(const char *content_type, const unsigned char *body, size_t len,
                        struct e2b_part *parts, size_t max, size_t *n, const char **why);
/* A part's filename (n bytes, %22 %0A %0D unescaped) into out; -1 when empty, too long
 * or holding a NUL. */
int e2b_form_filename(const char *s, size_t n, char *out, size_t cap);
/* A PTY {size: {cols, rows}} (1..1000 each) into req as "pty" {cols, rows} and as
 * "cols", "rows"; -1 when malformed. */
int e2b_pty_size(const json_t *pty, json_t *req);
/* A process.Process/Start request (body: one Connect envelope; authorization: the
 * Authorization header or NULL) as our agent's exec request (new reference), or NULL
 * with *code (a Connect error code) and *why. Thread-safe (no exchange, no state). */
json_t *e2b_start_parse(const void *body, size_t len, const char *authorization, const char **code,
                        const char **why);
/* process.Process/Start (Connect, server stream): the command's start, output and end. */
void e2b_process_start(struct http_exchange *ex);
/* POST /process.Process/{method}: Start, Connect (streams), List, SendSignal, SendInput,
 * CloseStdin (unary); others unimplemented. */
void e2b_process_call(struct http_exchange *ex);
/* The JSON object in one uncompressed Connect envelope of len bytes (new reference), or
 * NULL. Thread-safe. */
json_t *e2b_envelope_json(const void *p, size_t len);
/* Streams the agent request req (stolen: a spawn with attach, or an attach) as E2B
 * process events; a client that leaves detaches. */
void e2b_stream_events(struct http_exchange *ex, json_t *req);
/* Answers a streaming call's error: 200 and one end-of-stream envelope. */
void e2b_stream_error(struct http_exchange *ex, const char *code, const char *msg);

void e2b_sandboxes_create(struct http_exchange *ex);
void e2b_sandboxes_get(struct http_exchange *ex);
void e2b_sandboxes_kill(struct http_exchange *ex);
void e2b_sandboxes_list(struct http_exchange *ex);
void e2b_sandboxes_list_v2(struct http_exchange *ex);
void e2b_sandboxes_timeout(struct http_exchange *ex);
void e2b_sandboxes_refresh(struct http_exchange *ex);
void e2b_sandboxes_pause(struct http_exchange *ex);
void e2b_sandboxes_resume(struct http_exchange *ex);
void e2b_sandboxes_connect(struct http_exchange *ex);
void e2b_sandboxes_metrics(struct http_exchange *ex);

#endif
