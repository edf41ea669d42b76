/* Files of a machine, through its agent:
 *   PUT    /v1/machines/{id}/files?path=P[&mode=0644]   raw body, streamed in
 *   GET    /v1/machines/{id}/files?path=P                raw body, streamed out
 *   PUT/GET  ...&format=tar: a directory as a tar archive (extracted beneath P / P's tree)
 *   DELETE /v1/machines/{id}/files?path=P                recursive remove
 *   GET    /v1/machines/{id}/files/{op}?path=P[&depth=N] op: stat, exists, list
 *   POST   /v1/machines/{id}/files/{op} {"path"[,"to"]}  op: mkdir, rename
 * Both transfers hold at most one flow-control window (256 KiB) of file data per
 * request in the daemon: a slow side slows the other. The same routes under
 * /v1/volumes/{id} reach a volume's files through its file agent (core/volumes.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "../auth.h"
#include "../../core/volumes.h"
#include "api.h"

#define PENDING_MAX (NSP_WINDOW_INIT + NSP_MAX_DATA)

struct file_op {
        struct http_exchange *ex; /* NULL once the client left */
        struct agent_conn *agent;
        uint32_t chan;
        struct buf pending; /* write: body not yet sent; read: data not yet pulled */
        int body_done, eof_sent, eof, streaming, lost;
        uint64_t bytes, entries;
        enum ns_code err;
        char msg[1100];              /* an error message, or the path written */
        json_t *req;                 /* the request, until it is sent */
        struct machine *machine;     /* NULL: a volume's files */
        char volume[MACHINE_ID_MAX]; /* that volume's id */
        int waiting;                 /* an upload waits for its machine to resume */
        int status;                  /* one-shot: the HTTP status of a successful answer */
        int tar;                     /* a tar archive of a directory, not one file's bytes */
        agent_frame_cb cb;
        void (*abort_cb)(struct http_exchange *ex);
};

static void op_free(struct file_op *op)
{
        buf_fini(&op->pending);
        json_decref(op->req);
        free(op);
}

/* Reads the agent's error document into op->err/msg. */
static void take_error(struct file_op *op, const unsigned char *p, size_t n)
{
        op->err = api_agent_error(p, n, NS_E_IO_ERROR, op->msg, sizeof(op->msg));
}

static int path_param(struct http_exchange *ex, struct query_param *q, size_t n)
{
        if (api_query(ex, q, n) < 0)
                return -1;
        if (!q[0].present || !q[0].value[0]) {
                http_respond_error(ex, NS_E_INVALID_PATH, "query parameter 'path' is required");
                return -1;
        }
        return 0;
}

static void free_op_ctx(void *ctx)
{
        op_free(ctx);
}

/* The machine runs (perhaps just resumed): open the channel. */
static void start_go(struct http_exchange *ex, struct machine *m, void *ctx)
{
        struct file_op *op = ctx;
        op->chan =
            api_start_channel(ex, m, &op->req, &op->agent, op->cb, op, op->abort_cb, free_op_ctx);
}

/* Sends `req` (stolen) to the path's machine once it runs (resuming it when
 * hibernated); `cb` receives the channel's frames with the op, which holds up to
 * `pending` bytes. Errors are answered. */
static struct file_op *new_op(struct http_exchange *ex, json_t *req, agent_frame_cb cb,
                              void (*abort_cb)(struct http_exchange *), size_t pending)
{
        struct file_op *op = calloc(1, sizeof(*op));
        if (!op) {
                json_decref(req);
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return NULL;
        }
        buf_init(&op->pending, pending);
        op->ex = ex;
        op->req = req;
        op->cb = cb;
        op->abort_cb = abort_cb;
        return op;
}

/* ---- upload ------------------------------------------------------------------ */

static void finish_write(struct file_op *op)
{
        struct http_exchange *ex = op->ex;
        if (ex) {
                ex->on_abort = NULL;
                if (op->err != NS_OK)
                        http_respond_error(ex, op->err, "%s", op->msg);
                else
                        http_respond_json(ex, 200,
                                          op->tar ? json_pack("{s:s,s:I,s:I}", "path", op->msg,
                                                              "bytes", (json_int_t)op->bytes,
                                                              "entries", (json_int_t)op->entries)
                                                  : json_pack("{s:s,s:I}", "path", op->msg, "bytes",
                                                              (json_int_t)op->bytes));
        }
        op_free(op);
}

static void pump_write(struct file_op *op)
{
        if (op->err != NS_OK || op->lost || op->waiting)
                return;
        /* whole frames only until the body ends: each write inside the sandbox is
         * costly, so the agent gets few large ones */
        size_t ready =
            op->body_done ? op->pending.len : op->pending.len - op->pending.len % NSP_MAX_DATA;
        if (ready) {
                size_t sent = agentconn_send_stdin(op->agent, op->chan, op->pending.data, ready);
                buf_consume(&op->pending, sent);
        }
        if (op->pending.len < NSP_MAX_DATA && op->ex && op->ex->input_paused)
                http_resume_input(op->ex);
        if (op->pending.len == 0 && op->body_done && !op->eof_sent) {
                op->eof_sent = 1;
                agentconn_send_eof(op->agent, op->chan);
        }
}

static void on_write_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct file_op *op = ud;
        if (!h) {
                op->lost = 1;
                op->err = NS_E_MACHINE_NOT_RUNNING;
                snprintf(op->msg, sizeof(op->msg), "the machine stopped during the upload");
        } else if (h->type == NSP_WINDOW) {
                pump_write(op);
                return;
        } else if (h->type == NSP_RESP) {
                agentconn_chan_close(op->agent, op->chan);
                if (agentconn_resp_is_error(h, p)) {
                        take_error(op, p, h->len);
                } else {
                        json_t *doc = json_loadb((const char *)p, h->len, 0, NULL);
                        op->bytes = (uint64_t)json_integer_value(json_object_get(doc, "bytes"));
                        op->entries = (uint64_t)json_integer_value(json_object_get(doc, "entries"));
                        json_decref(doc);
                }
                op->lost = 1; /* the channel is done either way */
        } else {
                return;
        }
        if (op->ex && op->ex->input_paused)
                http_resume_input(op->ex); /* the rest of the body is read and dropped */
        if (op->body_done)
                finish_write(op);
}

static void abort_write(struct http_exchange *ex)
{
        struct file_op *op = ex->owner;
        if (op->waiting)
                machine_forget_callbacks(op->machine, op);
        else if (!op->lost) {
                agentconn_signal(op->agent, op->chan, 9); /* the agent drops the temp file */
                agentconn_chan_close(op->agent, op->chan);
        }
        op_free(op);
}

/* Opens the write channel; -1 when the agent is gone (op untouched otherwise). */
static int open_write(struct file_op *op)
{
        struct err e = {0};
        if (op->machine)
                op->chan =
                    machine_open_channel(op->machine, op->req, 0, on_write_frame, op, &op->agent);
        else
                op->chan = volume_open_channel(api_core(op->ex), op->volume, op->req,
                                               on_write_frame, op, &op->agent, &e);
        json_decref(op->req);
        op->req = NULL;
        return op->chan ? 0 : -1;
}

static void on_put_resumed(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        (void)m;
        struct file_op *op = ud;
        op->waiting = 0;
        if (!code && open_write(op) == 0) {
                pump_write(op);
                if (!op->body_done)
                        http_resume_input(op->ex);
                return; /* pump_write sends EOF at the end; the RESP answers */
        }
        /* the body is read and dropped; the error answers at its end */
        op->err = code ? code : NS_E_MACHINE_NOT_RUNNING;
        snprintf(op->msg, sizeof(op->msg), "could not resume the machine: %s",
                 error  ? error
                 : code ? ns_code_name(code)
                        : "its agent does not answer");
        op->lost = 1;
        if (op->body_done)
                finish_write(op);
        else
                http_resume_input(op->ex);
}

/* Opens the write channel on the first body piece (or at the end for an empty body).
 * Errors here end the request with their code (the connection closes). */
static enum ns_code start_write(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct query_param q[] = {{.name = "path"},
                                  {.name = "mode"},
                                  {.name = "expires"},
                                  {.name = "signature"},
                                  {.name = "format"}};
        char msg[256];
        if (query_parse(ex->req->query, q, 5, msg, sizeof(msg)) < 0)
                return NS_E_INVALID_REQUEST;
        int tar = q[4].present && !strcmp(q[4].value, "tar");
        if (q[4].present && !tar)
                return NS_E_INVALID_REQUEST;
        if (!q[0].present || !q[0].value[0])
                return NS_E_INVALID_PATH;
        char *end;
        long mode = q[1].present ? strtol(q[1].value, &end, 8) : 0644;
        if (q[1].present && (*end || mode < 0 || mode > 07777))
                return NS_E_INVALID_REQUEST;
        char vol[MACHINE_ID_MAX] = "";
        struct machine *m = NULL;
        int wake = 0;
        if (api_is_volume_route(ex)) {
                enum ns_code c = api_volume_lookup(ex, vol, sizeof(vol));
                if (c != NS_OK)
                        return c;
        } else if (!(m = machine_find(&app->core, ex->match.params[0]))) {
                return NS_E_MACHINE_NOT_FOUND;
        } else {
                wake = (m->state == M_HIBERNATED || m->state == M_RESUMING) && m->conf.auto_resume;
                if (m->state != M_RUNNING && !wake)
                        return NS_E_MACHINE_NOT_RUNNING;
        }
        struct file_op *op = calloc(1, sizeof(*op));
        if (!op)
                return NS_E_INTERNAL;
        buf_init(&op->pending, PENDING_MAX);
        op->ex = ex;
        op->machine = m;
        snprintf(op->volume, sizeof(op->volume), "%s", vol);
        snprintf(op->msg, sizeof(op->msg), "%s", q[0].value);
        op->tar = tar;
        op->req = json_pack("{s:s,s:s,s:i}", "op", tar ? "tar_write" : "write", "path", q[0].value,
                            "mode", (int)mode);
        ex->owner = op;
        ex->on_abort = abort_write;
        if (wake) { /* the body waits (input paused) while the machine resumes */
                op->waiting = 1;
                http_pause_input(ex);
                machine_resume(m, on_put_resumed, op);
                return NS_OK;
        }
        if (open_write(op) < 0) {
                ex->owner = NULL;
                ex->on_abort = NULL;
                op_free(op);
                return m ? NS_E_MACHINE_NOT_RUNNING : NS_E_IO_ERROR;
        }
        return NS_OK;
}

enum ns_code api_files_put_body(struct http_exchange *ex, const char *data, size_t len)
{
        if (!ex->owner) {
                enum ns_code c = start_write(ex);
                if (c != NS_OK)
                        return c;
        }
        struct file_op *op = ex->owner;
        if (op->err != NS_OK || op->lost)
                return NS_OK; /* already failed: read and drop the rest */
        if (buf_append(&op->pending, data, len) < 0)
                return NS_E_INTERNAL; /* cannot happen while pausing works */
        pump_write(op);
        if (op->pending.len >= NSP_MAX_DATA)
                http_pause_input(ex); /* the agent's window is full */
        return NS_OK;
}

void api_files_put(struct http_exchange *ex)
{
        if (!ex->owner) { /* empty body: nothing went through on_body */
                enum ns_code c = start_write(ex);
                if (c != NS_OK) {
                        http_respond_error(ex, c, "%s", ns_code_def(c)->meaning);
                        return;
                }
        }
        struct file_op *op = ex->owner;
        op->body_done = 1;
        if (op->waiting)
                return; /* on_put_resumed carries on */
        if (op->lost) {
                finish_write(op);
                return;
        }
        pump_write(op);
}

/* ---- download ----------------------------------------------------------------- */

static void release_read(struct file_op *op)
{
        if (!op->lost && !op->eof) {
                agentconn_signal(op->agent, op->chan, 9);
                agentconn_chan_close(op->agent, op->chan);
        }
}

static ssize_t read_src(void *ctx, char *dst, size_t cap)
{
        struct file_op *op = ctx;
        if (op->pending.len) {
                size_t n = op->pending.len < cap ? op->pending.len : cap;
                memcpy(dst, op->pending.data, n);
                buf_consume(&op->pending, n);
                if (!op->eof && !op->lost)
                        agentconn_grant(op->agent, op->chan, NSP_STDOUT, (uint32_t)n);
                return (ssize_t)n;
        }
        if (op->eof)
                return 0;
        return op->lost ? -1 : HTTP_SRC_AGAIN;
}

static void free_src(void *ctx)
{
        struct file_op *op = ctx;
        release_read(op);
        op_free(op);
}

static void on_read_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct file_op *op = ud;
        struct http_exchange *ex = op->ex;
        if (!h || (h->type == NSP_RESP && agentconn_resp_is_error(h, p))) {
                op->lost = 1;
                if (h) {
                        agentconn_chan_close(op->agent, op->chan);
                        take_error(op, p, h->len);
                } else {
                        op->err = NS_E_MACHINE_NOT_RUNNING;
                        snprintf(op->msg, sizeof(op->msg), "the machine stopped");
                }
                if (!op->streaming) {
                        if (ex) {
                                ex->on_abort = NULL;
                                http_respond_error(ex, op->err, "%s", op->msg);
                        }
                        op_free(op);
                } else if (ex) {
                        http_stream_wake(ex); /* the source reports the failure */
                }
                return;
        }
        if (h->type == NSP_RESP && !op->streaming) {
                op->streaming = 1;
                ex->on_abort = NULL;
                struct http_body_src src = {read_src, free_src, op};
                http_respond_stream(
                    ex, 200, op->tar ? "application/x-tar" : "application/octet-stream", src);
        } else if (h->type == NSP_DATA && buf_append(&op->pending, p, h->len) == 0) {
                http_stream_wake(ex);
        } else if (h->type == NSP_EOF) {
                op->eof = 1;
                agentconn_chan_close(op->agent, op->chan);
                http_stream_wake(ex);
        }
}

static void abort_read(struct http_exchange *ex)
{
        struct file_op *op = ex->owner;
        release_read(op);
        op_free(op);
}

void api_files_get(struct http_exchange *ex)
{
        struct query_param q[] = {
            {.name = "path"}, {.name = "expires"}, {.name = "signature"}, {.name = "format"}};
        if (path_param(ex, q, 4) < 0)
                return;
        int tar = q[3].present && !strcmp(q[3].value, "tar");
        if (q[3].present && !tar) {
                http_respond_error(ex, NS_E_INVALID_REQUEST, "query parameter 'format': tar");
                return;
        }
        struct file_op *op =
            new_op(ex, json_pack("{s:s,s:s}", "op", tar ? "tar_read" : "read", "path", q[0].value),
                   on_read_frame, abort_read, PENDING_MAX);
        if (op) {
                op->tar = tar;
                api_when_running(ex, start_go, op, free_op_ctx);
        }
}

/* ---- one-shot operations ------------------------------------------------------ */

static void on_simple_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct file_op *op = ud;
        struct http_exchange *ex = op->ex;
        if (h)
                agentconn_chan_close(op->agent, op->chan);
        if (ex) {
                ex->on_abort = NULL;
                if (!h) {
                        http_respond_error(ex, NS_E_MACHINE_NOT_RUNNING, "the machine stopped");
                } else if (agentconn_resp_is_error(h, p)) {
                        take_error(op, p, h->len);
                        http_respond_error(ex, op->err, "%s", op->msg);
                } else {
                        http_respond(ex, op->status ? op->status : 200, "application/json", p,
                                     h->len);
                }
        }
        op_free(op);
}

static void abort_simple(struct http_exchange *ex)
{
        struct file_op *op = ex->owner;
        op->ex = NULL; /* the answer is dropped when it comes */
}

void api_agent_simple(struct http_exchange *ex, json_t *req, int status)
{
        struct file_op *op = new_op(ex, req, on_simple_frame, abort_simple, 0);
        if (!op)
                return;
        op->status = status;
        api_when_running(ex, start_go, op, free_op_ctx);
}

static void simple(struct http_exchange *ex, json_t *req)
{
        api_agent_simple(ex, req, 200);
}

void api_files_delete(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "path"}};
        if (path_param(ex, q, 1) == 0)
                simple(ex, json_pack("{s:s,s:s}", "op", "remove", "path", q[0].value));
}

/* search?path=DIR[&name=GLOB][&content=TEXT][&limit=N] */
static void search(struct http_exchange *ex)
{
        struct query_param q[] = {
            {.name = "path"}, {.name = "name"}, {.name = "content"}, {.name = "limit"}};
        long long limit = 1000;
        if (path_param(ex, q, 4) < 0)
                return;
        if (q[3].present && api_query_int(ex, &q[3], 1, 10000, &limit) < 0)
                return;
        if (!q[1].present && !q[2].present) {
                http_respond_error(ex, NS_E_INVALID_REQUEST, "search needs 'name' or 'content'");
                return;
        }
        json_t *req = json_pack("{s:s,s:s,s:I}", "op", "search", "path", q[0].value, "limit",
                                (json_int_t)limit);
        if (q[1].present)
                json_object_set_new(req, "name", json_string(q[1].value));
        if (q[2].present)
                json_object_set_new(req, "content", json_string(q[2].value));
        simple(ex, req);
}

void api_files_query(struct http_exchange *ex)
{
        const char *op = ex->match.params[1];
        if (!strcmp(op, "search")) {
                search(ex);
                return;
        }
        if (strcmp(op, "stat") && strcmp(op, "exists") && strcmp(op, "list")) {
                http_respond_error(ex, NS_E_NOT_FOUND,
                                   "no file operation '%s' (stat, exists, list, search)", op);
                return;
        }
        struct query_param q[] = {{.name = "path"}, {.name = "depth"}};
        long long depth = 1;
        if (path_param(ex, q, 2) < 0)
                return;
        if (q[1].present && (strcmp(op, "list") || api_query_int(ex, &q[1], 1, 32, &depth) < 0)) {
                if (!ex->responded && strcmp(op, "list"))
                        http_respond_error(ex, NS_E_INVALID_REQUEST, "'depth' is for list only");
                return;
        }
        simple(ex, json_pack("{s:s,s:s,s:I}", "op", op, "path", q[0].value, "depth",
                             (json_int_t)depth));
}

struct op_req {
        char *path, *to, *find, *replace;
};

static const struct jv_field op_fields[] = {
    {"path", JV_STRING, JV_REQUIRED, offsetof(struct op_req, path), 4096, 0, 0},
    {"to", JV_STRING, 0, offsetof(struct op_req, to), 4096, 0, 0},
    {"find", JV_STRING, 0, offsetof(struct op_req, find), 65536, 0, 0},
    {"replace", JV_STRING, 0, offsetof(struct op_req, replace), 65536, 0, 0},
};

void api_files_action(struct http_exchange *ex)
{
        const char *op = ex->match.params[1];
        int rename_op = !strcmp(op, "rename"), replace_op = !strcmp(op, "replace");
        if (!rename_op && !replace_op && strcmp(op, "mkdir")) {
                http_respond_error(ex, NS_E_NOT_FOUND,
                                   "no file operation '%s' (mkdir, rename, replace)", op);
                return;
        }
        struct op_req in = {0};
        uint64_t present;
        if (api_decode(ex, op_fields, ARRAY_SIZE(op_fields), &in, &present) < 0)
                return;
        uint64_t want = rename_op ? 1u << 1 : replace_op ? (1u << 2 | 1u << 3) : 0;
        if ((present & ~1ull) != want) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "%s takes %s", op,
                                   rename_op    ? "'path' and 'to'"
                                   : replace_op ? "'path', 'find' and 'replace'"
                                                : "'path' only");
        } else if (replace_op && !in.find[0]) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'find' is empty");
        } else {
                json_t *req = json_pack("{s:s,s:s}", "op", op, "path", in.path);
                if (in.to)
                        json_object_set_new(req, "to", json_string(in.to));
                if (replace_op) {
                        json_object_set_new(req, "find", json_string(in.find));
                        json_object_set_new(req, "replace", json_string(in.replace));
                }
                simple(ex, req);
        }
        jv_free(op_fields, ARRAY_SIZE(op_fields), &in);
}

/* ---- signed URLs ------------------------------------------------------------------ */

struct sign_req {
        char *path, *method;
        int64_t expires_in_s;
};

static const struct jv_field sign_fields[] = {
    {"path", JV_STRING, JV_REQUIRED, offsetof(struct sign_req, path), 1024, 0, 0},
    {"method", JV_STRING, 0, offsetof(struct sign_req, method), 8, 0, 0},
    {"expires_in_s", JV_INT, 0, offsetof(struct sign_req, expires_in_s), 0, 1, 7 * 86400},
};

/* The base URL clients reached us on: the Host header when it looks sane. */
static void base_url(struct http_exchange *ex, char *out, size_t cap)
{
        struct app *app = ex->app;
        const char *host = http_req_header(ex->req, "Host");
        int ok =
            host && *host && strlen(host) < 256 &&
            strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
                strlen(host);
        snprintf(out, cap, "http://%s", ok ? host : app->http.bound);
}

/* The id a signed URL names: the route's machine, or its volume's id (a name may be
 * given). -1 after answering 404. */
static int target_id(struct http_exchange *ex, char *id, size_t cap)
{
        if (api_is_volume_route(ex))
                return api_volume_id(ex, id, cap);
        struct machine_rec r;
        struct err e = {0};
        int rc = store_machine_get(api_core(ex)->store, ex->match.params[0], &r, &e);
        if (rc == -ENOENT)
                http_respond_error(ex, NS_E_MACHINE_NOT_FOUND, "no machine with ID '%s'",
                                   ex->match.params[0]);
        else if (rc < 0)
                api_fail(ex, &e);
        else
                snprintf(id, cap, "%s", r.id);
        if (rc == 0)
                store_machine_rec_free(&r);
        return rc == 0 ? 0 : -1;
}

void api_files_sign(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct sign_req in = {0};
        uint64_t present;
        if (api_decode(ex, sign_fields, ARRAY_SIZE(sign_fields), &in, &present) < 0)
                return;
        const char *method = in.method ? in.method : "GET";
        char id[MACHINE_ID_MAX];
        if (strcmp(method, "GET") && strcmp(method, "PUT")) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'method': GET or PUT");
        } else if (!in.path[0]) {
                http_respond_error(ex, NS_E_INVALID_PATH, "field 'path' is empty");
        } else if (target_id(ex, id, sizeof(id)) == 0) {
                long long expires = time_wall_ms() / 1000 + (present & 4 ? in.expires_in_s : 300);
                char sig[65], base[300], *path = url_escape(in.path);
                auth_sign(app->signing_key, method, id, in.path, expires, sig);
                base_url(ex, base, sizeof(base));
                char *url = NULL;
                if (path && asprintf(&url, "%s/v1/%s/%s/files?path=%s&expires=%lld&signature=%s",
                                     base, api_is_volume_route(ex) ? "volumes" : "machines", id,
                                     path, expires, sig) > 0)
                        http_respond_json(ex, 200,
                                          json_pack("{s:s,s:s,s:s,s:I}", "url", url, "method",
                                                    method, "path", in.path, "expires_at",
                                                    (json_int_t)expires * 1000));
                else
                        http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                free(url);
                free(path);
        }
        jv_free(sign_fields, ARRAY_SIZE(sign_fields), &in);
}
