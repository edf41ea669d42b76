/* Helpers shared by the resource handlers in src/daemon/api/: they parse and
 * validate, answer errors with stable codes, and call the store. Loop thread only. */
#ifndef NS_API_H
#define NS_API_H

#include "../../common/jsonv.h"
#include "../app.h"
#include "../http/query.h"
#include "../http/server.h"

/* Decodes ex's JSON body into out; on failure answers 400 and returns -1. */
int api_decode(struct http_exchange *ex, const struct jv_field *fields, size_t n, void *out,
               uint64_t *present);

/* Parses ex's query string against params; on failure answers 400 and returns -1. */
int api_query(struct http_exchange *ex, struct query_param *params, size_t n);

/* Parses an integer query value in [min,max]; on failure answers 400 and returns -1. */
int api_query_int(struct http_exchange *ex, const struct query_param *p, long long min,
                  long long max, long long *out);

/* Cursor pagination: ?limit= (1..1000, default 100) and ?cursor= (the seq after which
 * the page starts). Stores are asked for limit+1 rows: one more tells whether another
 * page exists. */
struct api_page {
        long long limit;
        long long after;
};

/* Reads the page from the parsed limit and cursor parameters; -1 after answering 400. */
int api_page_parse(struct http_exchange *ex, const struct query_param *limit,
                   const struct query_param *cursor, struct api_page *p);

/* Answers 200 {KEY: [...], "next_cursor"} with `got` rows of `size` bytes (a store's
 * answer to limit+1): the first `limit` rows through to_json, and as next_cursor the
 * int64 seq at `seq_off` in the last row shown when more exist, else null. The rows stay
 * the caller's. */
void api_respond_page(struct http_exchange *ex, const struct api_page *p, const char *key,
                      const void *rows, size_t got, size_t size, size_t seq_off,
                      json_t *(*to_json)(const void *row));

/* A template build's request as the API takes it (api/templates.c). */
struct build_req {
        char *name, *dockerfile, *from, *context_id, *start_cmd, *ready_cmd, *from_image, *runtime;
        json_t *steps;
        struct jv_strmap build_args;
        int64_t ready_timeout_s, vcpus, memory_mb;
        int no_cache;
};

/* The build in core/build.h's form for `in`: a Dockerfile translated or builder steps
 * checked, and the options (template name, base, context, runtime) checked (new
 * reference); NULL after answering 400/404. Loop thread. */
json_t *api_build_request(struct http_exchange *ex, const struct build_req *in);

/* A decoded string map as a JSON object (new reference). */
json_t *api_strmap_json(const struct jv_strmap *m);

/* True for the /v1/volumes/{id}/… and /e2b/volumecontent/{id}/… routes (files.c serves
 * machines and volumes). */
int api_is_volume_route(const struct http_exchange *ex);

/* api_volume_id without answering: NS_OK, volume_not_found, conflict or internal. */
enum ns_code api_volume_lookup(struct http_exchange *ex, char *id, size_t cap);

/* The id of the ready volume the route's {id} names (an id or a name) into id; -1
 * after answering (volume_not_found, conflict while it is created or deleted). */
int api_volume_id(struct http_exchange *ex, char *id, size_t cap);

/* The id of what the route's {id} names: its machine (recorded, in any state), or its
 * ready volume (an id or a name). -1 after answering 404 (or 409, 500). */
int api_owner_id(struct http_exchange *ex, char *id, size_t cap);

/* The upload the route's {upload} names, if it belongs to `owner` (a machine's or a
 * volume's id; NULL: what the route names, looked up) and has not expired (an expired
 * record is dropped): NS_OK or upload_not_found. */
enum ns_code api_upload_find(struct http_exchange *ex, const char *owner, struct upload_rec *u);

/* The catalogue code named `name`, or `fallback` when the name is unknown or NULL. */
enum ns_code api_code_or(const char *name, enum ns_code fallback);

/* Opens a channel on m's agent for *req (machine_open_channel), which is released (and
 * set to NULL) either way; *conn gets the connection. Returns the channel, or 0 after
 * answering 409 machine_not_running. m NULL: on the file agent of the route's volume
 * (volume_open_channel; errors answered with their codes). */
uint32_t api_open_channel(struct http_exchange *ex, struct machine *m, json_t **req,
                          agent_frame_cb cb, void *ud, struct agent_conn **conn);

/* api_open_channel, then the exchange belongs to `op` (its owner, aborted through
 * on_abort) and *chan (op's field, usually) is the channel: 0. -1 after answering and
 * freeing op with free_op (chan untouched: it was in op). */
int api_start_channel(struct http_exchange *ex, struct machine *m, json_t **req,
                      struct agent_conn **conn, uint32_t *chan, agent_frame_cb cb, void *op,
                      void (*on_abort)(struct http_exchange *), void (*free_op)(void *));

/* Reads an agent error document {"error":{"code","message"}}: returns the catalogue
 * code (`fallback` for codes the catalogue lacks) and copies the message into msg. */
enum ns_code api_agent_error(const unsigned char *p, size_t n, enum ns_code fallback, char *msg,
                             size_t cap);

/* Sends `req` (stolen) to the path's machine once it runs (resuming it when hibernated
 * and auto_resume is on) and answers the agent's one RESP document with `status`, or
 * its error document with the error's catalogue code (files.c). */
void api_agent_simple(struct http_exchange *ex, json_t *req, int status);

/* What api_agent_call hands over: the agent's answer (borrowed; NULL on failure), or
 * the failure's code and message. The callback must answer ex. */
typedef void (*api_agent_done)(struct http_exchange *ex, const json_t *resp, enum ns_code code,
                               const char *msg, void *ud);

/* api_agent_simple, but `then` answers (ud is its own; not called when the client left
 * first, so ud must be freed elsewhere or be static/owned by ex). */
void api_agent_call(struct http_exchange *ex, json_t *req, api_agent_done then, void *ud);
/* api_agent_call with ud owned: `then` takes it, and when then is never called (the
 * client left, the machine could not run) free_ud(ud) is. */
void api_agent_call_owned(struct http_exchange *ex, json_t *req, api_agent_done then, void *ud,
                          void (*free_ud)(void *ud));

/* Answers the error a core function reported: its catalogue code (e->code) with e's
 * message, or, when it said none (internal), as api_fail does. */
void api_fail_err(struct http_exchange *ex, const struct err *e);

/* Logs an unexpected failure with the request ID and answers 500 `internal`. */
void api_fail(struct http_exchange *ex, const struct err *e);

/* How a streamed command's answer is written (exec.c): NDJSON for /v1 exec, Connect
 * envelopes for E2B's process.Start. Each appends to out. start (may be NULL) once the
 * process runs; output per chunk (stream NSP_STDOUT or NSP_STDERR; flags: EXEC_OUT_*);
 * end once, with the agent's exit document (code NS_OK) or the failure. */
#define EXEC_OUT_BASE64 1 /* the client asked for base64 */
#define EXEC_OUT_PTY    2 /* the process has a terminal (its output is the terminal's) */
/* How a streamed agent channel is written: start once it began (`begun`: the agent's
 * answer, e.g. {"pid"} or a watch's {"path"}), output per data frame, end once. */
struct exec_stream_fmt {
        const char *content_type;
        void (*start)(struct buf *out, const json_t *begun);
        void (*output)(struct buf *out, const json_t *begun, int stream, const unsigned char *p,
                       size_t n, int flags);
        void (*end)(struct buf *out, const json_t *exit, enum ns_code code, const char *msg);
        int detach; /* a client that leaves detaches (the process runs on), not kills */
        /* an error before the start is answered 200 with end's body, not as our error */
        int errors_in_body;
};
/* Runs the agent request `req` (stolen: an exec, a spawn with "attach", or an attach;
 * "stdin" false unless it says) on the path's machine once it runs and streams its
 * answer through fmt (200, chunked; errors before the start are answered as usual). The
 * client's window paces the command. */
void api_exec_stream(struct http_exchange *ex, json_t *req, const struct exec_stream_fmt *fmt);
/* The handlers, one group per file. */
void api_healthz(struct http_exchange *ex);
void api_previews_create(struct http_exchange *ex);
void api_machines_network(struct http_exchange *ex);
/* Takes preview requests off the server before routing (http_app.intercept). */
const struct route *api_preview_intercept(struct http_exchange *ex);

/* A server inside machines of a built-in template, reached through our API only
 * (api/services.c): /v1/machines/{id}/SEGMENT/... forwarded to PORT of the machine. */
struct machine_service {
        const char *segment;        /* "code", "desktop" */
        unsigned port;              /* CODE_PORT, DESKTOP_PORT */
        const struct route *routes; /* what it serves (for --print-routes, the spec's test) */
        size_t nroutes;
        enum ns_code code;      /* answered when nothing listens on port */
        const char *missing;    /* the message's end then: "has no desktop (...)" */
        const char *const *own; /* paths under the segment the daemon serves itself, and
                                   what is under them ("/viewer"); NULL-terminated, or NULL */
};
extern const struct machine_service api_services[];
extern const size_t api_nservices;

/* A request for one of api_services: the route that takes it at its head (like a
 * preview) and forwards it to the machine's server; NULL for any other request. */
const struct route *api_service_intercept(struct http_exchange *ex);

/* A request for a deployed service: by host (NAME.DOMAIN) or path (/deploy/NAME/...),
 * the route that relays it to the service's live machine (api/deploy_proxy.c); NULL
 * for any other request. */
const struct route *api_deploy_intercept(struct http_exchange *ex);

/* Adds a service's url (NAME.DOMAIN) and path_url (/deploy/NAME/ on the daemon's
 * address) to its record dep; nothing for a job. */
void api_deploy_urls(struct http_exchange *ex, json_t *dep);

/* Answers a service request whose machine has nothing on the service's port (by
 * pc->port): 409 code_interpreter_not_available or desktop_not_available (a
 * preview_conn's refused hook; ws_code.c's too). Loop thread. */
struct preview_conn;
void api_service_refused(struct preview_conn *pc);
void api_readyz(struct http_exchange *ex);
void api_openapi(struct http_exchange *ex);
void api_info(struct http_exchange *ex);
void api_keys_create(struct http_exchange *ex);
void api_keys_list(struct http_exchange *ex);
void api_keys_get(struct http_exchange *ex);
void api_keys_revoke(struct http_exchange *ex);
void api_secrets_set(struct http_exchange *ex);
void api_secrets_list(struct http_exchange *ex);
void api_secrets_get(struct http_exchange *ex);
void api_secrets_delete(struct http_exchange *ex);
void api_deployments_create(struct http_exchange *ex);
void api_deployments_list(struct http_exchange *ex);
void api_deployments_get(struct http_exchange *ex);
void api_deployments_delete(struct http_exchange *ex);
void api_deployments_revisions(struct http_exchange *ex);
void api_deployments_revision(struct http_exchange *ex);
void api_deployments_rollback(struct http_exchange *ex);
void api_deployments_run(struct http_exchange *ex);
void api_deployments_runs(struct http_exchange *ex);
void api_deployments_run_get(struct http_exchange *ex);
void api_deployments_run_cancel(struct http_exchange *ex);
void api_deployments_run_logs(struct http_exchange *ex);
void api_ws(struct http_exchange *ex);
/* Streams the store's events to subscribed WebSocket clients (call once the store is open). */
void api_ws_install(struct app *app);
void api_machines_create(struct http_exchange *ex);

/* Waits for the first build of built-in template `ref` (core/builtin.h), then calls
 * again(ex), which creates anew; a build that fails has failed(ex, msg) answer. The
 * exchange owns the wait (a client that leaves cancels it). Loop thread only. */
void api_builtin_wait(struct http_exchange *ex, const char *ref,
                      void (*again)(struct http_exchange *ex),
                      void (*failed)(struct http_exchange *ex, const char *msg));
void api_machines_list(struct http_exchange *ex);
void api_machines_get(struct http_exchange *ex);
void api_machines_destroy(struct http_exchange *ex);
void api_machines_timeout(struct http_exchange *ex);
void api_machines_exec(struct http_exchange *ex);
void api_machines_metrics(struct http_exchange *ex);
void api_machines_hibernate(struct http_exchange *ex);
void api_machines_events(struct http_exchange *ex);
void api_events_list(struct http_exchange *ex);
void api_webhooks_create(struct http_exchange *ex);
void api_webhooks_list(struct http_exchange *ex);
void api_webhooks_get(struct http_exchange *ex);
void api_webhooks_update(struct http_exchange *ex);
void api_webhooks_delete(struct http_exchange *ex);
void api_webhooks_rotate(struct http_exchange *ex);
void api_webhooks_test(struct http_exchange *ex);
void api_webhooks_deliveries(struct http_exchange *ex);
void api_webhooks_delivery(struct http_exchange *ex);
void api_webhooks_redeliver(struct http_exchange *ex);
void api_machines_resume(struct http_exchange *ex);
void api_machines_pause(struct http_exchange *ex);
void api_ssh_certify(struct http_exchange *ex);
void api_ssh_tunnel(struct http_exchange *ex);
void api_files_put(struct http_exchange *ex);
enum ns_code api_files_put_body(struct http_exchange *ex, const char *data, size_t len);
void api_files_get(struct http_exchange *ex);
void api_files_delete(struct http_exchange *ex);
void api_files_query(struct http_exchange *ex);
void api_files_action(struct http_exchange *ex);
void api_files_sign(struct http_exchange *ex);

/* The stored view of a machine with its children's ids (new reference). */
json_t *api_machine_view(struct app *app, const struct machine_rec *r);

/* Answers `status` with the stored view of machine `id`. */
void api_respond_machine(struct http_exchange *ex, int status, const char *id);

void api_machines_fork(struct http_exchange *ex);
/* on_abort of a request waiting for a fork or snapshot (ex->owner: its capture, or
 * NULL): the capture goes on without it. */
void api_abort_capture(struct http_exchange *ex);
void api_snapshots_create(struct http_exchange *ex);
void api_snapshots_list(struct http_exchange *ex);
void api_snapshots_get(struct http_exchange *ex);
void api_snapshots_delete(struct http_exchange *ex);
void api_volumes_create(struct http_exchange *ex);
void api_volumes_list(struct http_exchange *ex);
void api_volumes_get(struct http_exchange *ex);
void api_volumes_delete(struct http_exchange *ex);
void api_files_batch(struct http_exchange *ex);
void api_uploads_create(struct http_exchange *ex);
void api_uploads_get(struct http_exchange *ex);
void api_uploads_complete(struct http_exchange *ex);
void api_uploads_cancel(struct http_exchange *ex);
void api_procs_start(struct http_exchange *ex);
void api_procs_list(struct http_exchange *ex);
void api_procs_signal(struct http_exchange *ex);
void api_procs_stdin(struct http_exchange *ex);
void api_procs_resize(struct http_exchange *ex);
void api_procs_logs(struct http_exchange *ex);
void api_contexts_put(struct http_exchange *ex);
enum ns_code api_contexts_put_body(struct http_exchange *ex, const char *data, size_t len);
void api_builds_create(struct http_exchange *ex);
void api_builds_get(struct http_exchange *ex);
void api_builds_cancel(struct http_exchange *ex);
void api_builds_logs(struct http_exchange *ex);
void api_templates_list(struct http_exchange *ex);
void api_templates_get(struct http_exchange *ex);
void api_templates_delete(struct http_exchange *ex);
void api_templates_alias(struct http_exchange *ex);
void api_templates_pool(struct http_exchange *ex);
void api_templates_prune(struct http_exchange *ex);

/* The running machine named by the path's {id}, or NULL after answering 404 (unknown)
 * or 409 machine_not_running. */
struct machine *api_running_machine(struct http_exchange *ex);

/* The live machine (any state) named by the path's {id}, or NULL after answering 404
 * (unknown) or 409 machine_not_running (destroyed or failed). */
struct machine *api_live_machine(struct http_exchange *ex);

/* api_live_machine for what reaches the machine over its network (previews, SSH, the
 * desktop viewer): NULL after answering 409 network_unavailable ("...: why", may be NULL)
 * for a machine without one. */
struct machine *api_networked_machine(struct http_exchange *ex, const char *why);

/* desktop_size.c: a create's "desktop" size. api_desktop_size_check reads o ({width,
 * height, depth}; NULL: none, *w = 0) into w and h: 0, or -1 with e (invalid_field,
 * unknown_field). api_desktop_size_apply resizes running machine m's desktop, then calls
 * done(ex, m, NS_OK, NULL); on failure it answers ex itself (desktop_not_available when
 * m's template has none) and destroys m. Loop thread. */
typedef void (*api_desktop_size_cb)(struct http_exchange *ex, struct machine *m, enum ns_code code,
                                    const char *error);
int api_desktop_size_check(const json_t *o, int *w, int *h, struct err *e);
void api_desktop_size_apply(struct http_exchange *ex, struct machine *m, int w, int h,
                            api_desktop_size_cb done);

/* recordings.c: desktop recordings (/v1/machines/{id}/desktop/recordings...). */
void api_recordings_start(struct http_exchange *ex);
void api_recordings_list(struct http_exchange *ex);
void api_recordings_get(struct http_exchange *ex);
void api_recordings_stop(struct http_exchange *ex);
void api_recordings_file(struct http_exchange *ex);
void api_recordings_delete(struct http_exchange *ex);
/* Ends every recording under way (the daemon stops): the recorder killed, the file and
 * its description complete. */
void api_recordings_end_all(struct app *app);
/* The core's before_checkpoint hook: a machine's relays dropped and its recordings
 * ended before it is checkpointed. Loop thread. */
void api_before_checkpoint(struct core *core, const char *machine_id);

typedef void (*api_running_cb)(struct http_exchange *ex, struct machine *m, void *ctx);

/* Calls then(ex, m, ctx) once the path's machine runs: at once when it does, after an
 * automatic resume when it is hibernated (and auto_resume is on). Otherwise answers
 * 404/409 and frees ctx with free_ctx (may be NULL). On a volume's route: then(ex,
 * NULL, ctx) at once (its file agent is started when the channel opens). */
void api_when_running(struct http_exchange *ex, api_running_cb then, void *ctx,
                      void (*free_ctx)(void *ctx));

/* api_when_running for operations that continue a paused machine themselves (fork,
 * snapshot): then(ex, m, ctx) at once for a paused machine, whatever its auto_resume. */
void api_when_in_memory(struct http_exchange *ex, api_running_cb then, void *ctx,
                        void (*free_ctx)(void *ctx));

/* The core below the daemon that serves ex. */
static inline struct core *api_core(const struct http_exchange *ex)
{
        return &((struct app *)ex->app)->core;
}

/* Answers a page of events matching f after the page's cursor (api/events.c). */
void api_events_page(struct http_exchange *ex, struct event_filter *f, const struct api_page *page);

#endif
