/* E2B compatibility (docs/e2b.md): E2B's control plane (e2b.c) and the sandbox-side
 * envd API (e2b_envd.c) over our machines. Loop thread only. */
#ifndef NS_API_E2B_H
#define NS_API_E2B_H

#include <stdint.h>

#include "../../common/buf.h"
#include "../app.h"
#include "../http/query.h"
#include "../http/server.h"

/* The envd version we answer: the SDK gates features on it (docs/e2b.md). 0.5.7:
 * octet-stream (and gzip) uploads. */
#define E2B_ENVD_VERSION "0.5.7"
/* An E2B upload (multipart or octet-stream, and a gzip body once decoded), held whole. */
#define E2B_UPLOAD_MAX (64u << 20)

/* Answers E2B's error document {"code": status, "message"} with a formatted message. */
void e2b_error(struct http_exchange *ex, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* http_app.error_doc: E2B's {"code": status, "message"} for requests under /e2b/ (every
 * error there, unknown routes and a missing key included), NULL for the rest. */
json_t *e2b_error_doc(struct http_exchange *ex, enum ns_code code, const char *msg);
/* Answers one of our catalogue codes in E2B's shape (its HTTP status; msg or the
 * code's meaning). */
void e2b_fail(struct http_exchange *ex, enum ns_code code, const char *msg);
/* E2B's ID of one of our machines: its hex part, a DNS label (the SDK's host for a port
 * is PORT-SANDBOXID.DOMAIN). Points into machine_id. */
const char *e2b_sandbox_id(const char *machine_id);
/* Our machine ID of an E2B sandbox ID (the hex part, or already ours) into out. */
void e2b_machine_id(const char *sandbox_id, char *out, size_t cap);
/* Turns the route's {id} (a sandbox ID) into our machine ID in place. */
void e2b_path_machine(struct http_exchange *ex);
/* The envd access token of sandbox `id` (hex HMAC under the daemon's signing key): what
 * the SDK sends back as X-Access-Token. out: 64 hex digits and a NUL. */
void e2b_envd_token(const struct app *app, const char *id, char out[65]);

/* Whether header (NULL: absent) is machine id's envd access token (constant time). */
int e2b_envd_token_ok(const struct app *app, const char *id, const char *header);

/* The port envd listens on in an E2B sandbox: PORT-SANDBOXID.DOMAIN with this port
 * reaches our envd API, any other port the machine's server (the preview proxy). */
#define E2B_ENVD_PORT 49983

/* The traffic access token of sandbox `id` (created with allowPublicTraffic false):
 * what the e2b-traffic-access-token header carries. out: 64 hex digits and a NUL. */
void e2b_traffic_token(const struct app *app, const char *id, char out[65]);
/* Whether header (may be NULL) is machine id's traffic token. Constant time. */
int e2b_traffic_ok(const struct app *app, const char *id, const char *header);
/* Our "network" object of a create request's allow_internet_access and network
 * {allowPublicTraffic, allowOut, denyOut} (new reference), or NULL with e set. */
json_t *e2b_network_create(const json_t *in, struct err *e);
/* A request to 49983-SANDBOXID.DOMAIN (host mode: the SDK without E2B_SANDBOX_URL, or
 * a signed file URL; api_preview_intercept tells) goes to our envd routes: its path
 * gets the /e2b/envd prefix. 0, or -1 when out of memory (the path is left). */
int e2b_envd_route(struct http_exchange *ex);

/* envd: the machine of the request's E2b-Sandbox-Id when its X-Access-Token is right,
 * else NULL after answering 400 or 401. */
struct machine *e2b_envd_machine(struct http_exchange *ex);
void e2b_envd_health(struct http_exchange *ex);
/* GET /envs: the sandbox's environment variables (its create's envVars). */
void e2b_envd_envs(struct http_exchange *ex);
/* E2B's signature of a file URL: "v1_" + unpadded base64 of SHA-256 of
 * "path:op:user:token[:expiration]" (op "read" or "write"), into out (48 bytes do).
 * -1 when the inputs are too long. Thread-safe. */
int e2b_file_signature(const char *path, const char *op, const char *user, const char *token,
                       const char *expiration, char *out, size_t cap);
/* "2026-12-04T14:35:33.123Z" of ms since the epoch (new reference). */
json_t *e2b_iso_time(int64_t ms);
/* The Connect error code ("not_found", "invalid_argument", ...) of one of ours. */
const char *e2b_connect_code(enum ns_code c);
/* Answers a Connect unary error: code's HTTP status and {"code", "message"}. */
void e2b_connect_error(struct http_exchange *ex, const char *code, const char *msg);
/* The user of the request's `Authorization: Basic base64(USER:)` into out ("" when
 * none); -1 after answering unauthenticated. */
int e2b_basic_user(struct http_exchange *ex, char *out, size_t cap);
/* POST /filesystem.Filesystem/{method}: Stat, ListDir, MakeDir, Move, Remove, WatchDir
 * (others: unimplemented). */
void e2b_fs_call(struct http_exchange *ex);
/* filesystem.Filesystem/WatchDir (a server stream): the directory's changes. */
void e2b_watch_dir(struct http_exchange *ex);
/* Our agent's watch request of a WatchDir/CreateWatcher request {path, recursive} for
 * user (new reference), or NULL when it names no path. */
json_t *e2b_watch_request(const json_t *in, const char *user);
/* Turns n bytes of our agent's watch output (JSON lines) into E2B FilesystemEvents
 * {name (relative to root), type}, each handed to emit (stolen). */
void e2b_watch_events(const char *root, const unsigned char *p, size_t n,
                      void (*emit)(void *ctx, json_t *ev), void *ctx);
/* CreateWatcher, GetWatcherEvents, RemoveWatcher (unary; the polled form of WatchDir):
 * watchers live in the daemon, each on an agent watch channel, its events kept (at most
 * E2B_WATCHER_EVENTS) until polled; one not polled for 10 minutes is dropped. */
#define E2B_WATCHER_EVENTS 4096
void e2b_watcher_call(struct http_exchange *ex, const char *method, const char *user);
/* Drops every watcher (daemon stop). */
void e2b_watchers_stop(struct app *app);
/* The query of envd's /files: path, username, signature, signature_expiration. */
#define E2B_FILES_QUERY 4
/* The /files query parsed into q, then the machine: e2b_envd_machine, or for a signed
 * URL (a signature and no X-Access-Token) the signature checked; -1 after answering. */
int e2b_files_request(struct http_exchange *ex, struct query_param q[E2B_FILES_QUERY]);
/* E2B's path of `user` into out: relative paths are under the user's home (/root for
 * root or none, else /home/USER). -1 when it does not fit. */
int e2b_resolve_path(const char *path, const char *user, char *out, size_t cap);
/* POST /files: multipart/form-data files, each part's filename its path (or ?path=). */
void e2b_files_post(struct http_exchange *ex);
/* Writes the request's whole body to path (mode; refused with 409 when it exists unless
 * overwrite) on the route's machine or volume, then calls then(ex, path, ud) to answer
 * (ud is then's; freed with free() when then is never called). */
void e2b_write_body(struct http_exchange *ex, const char *path, int mode, int overwrite,
                    void (*then)(struct http_exchange *ex, const char *path, void *ud), void *ud);
/* The volume content API (E2B_VOLUME_API_URL): GET/POST /volumecontent/{id}/dir
 * (list, make), GET/PATCH/DELETE /path (VolumeEntryStat; mode, uid, gid; remove),
 * GET/PUT /file (bytes; octet-stream upload). */
void e2b_volume_dir(struct http_exchange *ex);
void e2b_volume_path(struct http_exchange *ex);
void e2b_volume_file_get(struct http_exchange *ex);
void e2b_volume_file_put(struct http_exchange *ex);
/* Answers with the bytes of path on the route's machine or volume (our files API). */
void e2b_read_file(struct http_exchange *ex, const char *path);
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
#define E2B_CONNECT_JSON "application/connect+json"
#define E2B_ENVELOPE_END 0x02 /* the end-of-stream envelope's flags */
/* Appends one Connect envelope (flags, 4-byte big-endian length, JSON) holding doc
 * (stolen) to out. */
void e2b_envelope(struct buf *out, unsigned flags, json_t *doc);
/* Appends the end-of-stream envelope: {} , or {error: {code, message}} when code (a
 * Connect error code) is not NULL. */
void e2b_stream_end(struct buf *out, const char *code, const char *msg);
/* Streams the agent request req (stolen: a spawn with attach, or an attach) as E2B
 * process events; a client that leaves detaches. */
void e2b_stream_events(struct http_exchange *ex, json_t *req);
/* Answers a streaming call's error: 200 and one end-of-stream envelope. */
void e2b_stream_error(struct http_exchange *ex, const char *code, const char *msg);

/* The SandboxDetail of machine id (new reference), NULL when it is not stored. */
json_t *e2b_sandbox_of(struct app *app, const char *id);
/* Answers 200 with a page of items (stolen); next (0: none) as X-Next-Token. */
void e2b_respond_page(struct http_exchange *ex, json_t *items, int64_t next);
/* A JSON object body (or none: an empty object), else NULL after answering 400. */
json_t *e2b_body_object(struct http_exchange *ex);
/* A seconds field in 0..7 days (absent or null: dflt); -1 when bad. Thread-safe. */
int e2b_seconds(const json_t *v, int64_t dflt, int64_t *out);
/* A whole decimal number in [min, max] into *out; -1 when not. Thread-safe. */
int e2b_whole(const char *s, long long min, long long max, long long *out);
/* The ID of the snapshot ref names (its ID, or the name of a ready one: the newest)
 * into id; -1 when none. */
int e2b_snapshot_find(struct app *app, const char *ref, char *id, size_t cap);

/* A create's volumeMounts ([{name, path}]; absent: none) checked into our mounts (*out,
 * new reference, NULL when none). 0 or -errno with e set (invalid_field,
 * volume_not_found). */
int e2b_volume_mounts(struct app *app, const json_t *mounts, json_t **out, struct err *e);

/* POST /volumes {name}: {volumeID, name, token, domain} once it is ready (201). */
void e2b_volumes_create(struct http_exchange *ex);
/* GET /volumes/{id}: {volumeID, name, token, domain}. */
void e2b_volumes_get(struct http_exchange *ex);
/* GET /volumes: [{volumeID, name}]. */
void e2b_volumes_list(struct http_exchange *ex);
/* DELETE /volumes/{id}: 204; 409 while a machine mounts it. */
void e2b_volumes_delete(struct http_exchange *ex);

/* GET /templates: E2B's Template list ("base" and every named template). */
void e2b_templates_list(struct http_exchange *ex);
/* E2B's ID of our template name:tag (":latest" dropped: "web") into out. */
void e2b_template_id(const char *ref, char *out, size_t cap);
/* GET /templates/{id}: TemplateWithBuilds (its current build); 404 when unknown. */
void e2b_templates_get(struct http_exchange *ex);
/* GET /templates/aliases/{alias}: {templateID, public} or 404 (Template.exists). */
void e2b_templates_alias(struct http_exchange *ex);

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
/* GET /sandboxes/{id}/logs?start=&limit=: the machine's lifecycle events as SandboxLogs
 * ({logs: [{timestamp, line}], logEntries: [{timestamp, level, message, fields}]}). */
void e2b_sandboxes_logs(struct http_exchange *ex);
/* PUT /sandboxes/{id}/network: {allowOut, denyOut, allow_internet_access} replace the
 * sandbox's egress policy. */
void e2b_sandboxes_network(struct http_exchange *ex);
/* POST /sandboxes/{id}/fork {timeout, count}: [{sandbox} or {error}] per child. */
void e2b_sandboxes_fork(struct http_exchange *ex);
/* POST /sandboxes/{id}/snapshots {name}: {snapshotID, names}. */
void e2b_sandboxes_snapshot(struct http_exchange *ex);
/* GET /snapshots?sandboxID=&name=&limit=&nextToken=. */
void e2b_snapshots_list(struct http_exchange *ex);
/* DELETE /templates/{id}: a snapshot (by ID or name). */
void e2b_templates_delete(struct http_exchange *ex);

#endif
