/* Files of a machine, through its agent, the streamed transfers:
 *   PUT    /v1/machines/{id}/files?path=P[&mode=0644]   raw body, streamed in
 *   GET    /v1/machines/{id}/files?path=P                raw body, streamed out
 *   PUT/GET  ...&format=tar: a directory as a tar archive (extracted beneath P / P's tree)
 *   PUT    /v1/machines/{id}/uploads/{upload}?offset=N  a resumable upload's piece
 * (the one-shot operations: files_ops.c; resumable uploads: uploads.c). Both transfers hold at most
 * one flow-control window (256 KiB) of file data per request in the daemon: a slow side slows the
 * other. The same routes under /v1/volumes/{id} reach a volume's files through its file agent
 * (core/volumes.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "../auth.h"
#include "../../core/volumes.h"
#include "files_internal.h"

#define PENDING_MAX (NSP_WINDOW_INIT + NSP_MAX_DATA)

/* Pieces of resumable uploads under way (few: a list does). A newer piece of the same
 * upload supersedes an older one whose client is gone but not yet noticed: its channel
 * is closed first, and the agent takes frames in order, so the older one's last bytes
 * land before the newer one sets the file's length to its offset. */
static struct file_op *pieces;

static void supersede(const char *upload)
{
        for (struct file_op *op = pieces; op; op = op->next_piece) {
                if (strcmp(op->upload, upload) != 0 || op->lost || op->waiting || !op->chan)
                        continue;
                agentconn_signal(op->agent, op->chan, 9);
                agentconn_chan_close(op->agent, op->chan);
                op->lost = 1;
                op->err = NS_E_CONFLICT;
                snprintf(op->msg, sizeof(op->msg), "a newer piece of upload %s took over", upload);
        }
}

void files_op_free(struct file_op *op)
{
        for (struct file_op **pp = &pieces; *pp; pp = &(*pp)->next_piece)
                if (*pp == op) {
                        *pp = op->next_piece;
                        break;
                }
        buf_fini(&op->pending);
        json_decref(op->req);
        if (op->then_free)
                op->then_free(op->then_ud);
        free(op);
}

/* Reads the agent's error document into op->err/msg. */
void files_take_error(struct file_op *op, const unsigned char *p, size_t n)
{
        op->err = api_agent_error(p, n, NS_E_IO_ERROR, op->msg, sizeof(op->msg));
}

int files_path_param(struct http_exchange *ex, struct query_param *q, size_t n)
{
        if (api_query(ex, q, n) < 0)
                return -1;
        if (!q[0].present || !q[0].value[0]) {
                http_respond_error(ex, NS_E_INVALID_PATH, "query parameter 'path' is required");
                return -1;
        }
        return 0;
}

void files_free_op_ctx(void *ctx)
{
        files_op_free(ctx);
}

/* The machine runs (perhaps just resumed): open the channel. */
void files_start_go(struct http_exchange *ex, struct machine *m, void *ctx)
{
        struct file_op *op = ctx;
        api_start_channel(ex, m, &op->req, &op->agent, &op->chan, op->cb, op, op->abort_cb,
                          files_free_op_ctx);
}

/* Sends `req` (stolen) to the path's machine once it runs (resuming it when
 * hibernated); `cb` receives the channel's frames with the op, which holds up to
 * `pending` bytes. Errors are answered. */
struct file_op *files_new_op(struct http_exchange *ex, json_t *req, agent_frame_cb cb,
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
                else if (op->upload[0])
                        http_respond_json(ex, 200,
                                          json_pack("{s:s,s:s,s:I}", "id", op->upload, "path",
                                                    op->msg, "offset", (json_int_t)op->size));
                else
                        http_respond_json(ex, 200,
                                          op->tar ? json_pack("{s:s,s:I,s:I}", "path", op->msg,
                                                              "bytes", (json_int_t)op->bytes,
                                                              "entries", (json_int_t)op->entries)
                                                  : json_pack("{s:s,s:I}", "path", op->msg, "bytes",
                                                              (json_int_t)op->bytes));
        }
        files_op_free(op);
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
                        files_take_error(op, p, h->len);
                } else {
                        json_t *doc = json_loadb((const char *)p, h->len, 0, NULL);
                        op->bytes = (uint64_t)json_integer_value(json_object_get(doc, "bytes"));
                        op->entries = (uint64_t)json_integer_value(json_object_get(doc, "entries"));
                        op->size = (uint64_t)json_integer_value(json_object_get(doc, "size"));
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
        files_op_free(op);
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
/* The agent request of an upload: a file (path, mode), a tar archive (format=tar), or
 * a piece of a resumable upload (its route; offset). label gets the path answered. */
static enum ns_code write_request(struct http_exchange *ex, const char *owner, json_t **req,
                                  char *label, size_t cap, int *tar, char *upload)
{
        struct query_param q[] = {{.name = "path"},      {.name = "mode"},   {.name = "expires"},
                                  {.name = "signature"}, {.name = "format"}, {.name = "offset"}};
        char msg[256], *end;
        if (query_parse(ex->req->query, q, 6, msg, sizeof(msg)) < 0)
                return NS_E_INVALID_REQUEST;
        if (ex->match.nparams > 1) { /* …/uploads/{upload}?offset=N */
                struct upload_rec u;
                long long off = q[5].present ? strtoll(q[5].value, &end, 10) : -1;
                if (!q[5].present || *end || off < 0 || q[0].present || q[4].present)
                        return NS_E_INVALID_REQUEST;
                enum ns_code c = api_upload_find(ex, owner, &u);
                if (c != NS_OK)
                        return c;
                snprintf(label, cap, "%.1000s", u.path);
                snprintf(upload, MACHINE_ID_MAX, "%s", u.id);
                *req = json_pack("{s:s,s:s,s:I}", "op", "write", "path", u.tmp, "offset",
                                 (json_int_t)off);
                return NS_OK;
        }
        *tar = q[4].present && !strcmp(q[4].value, "tar");
        if ((q[4].present && !*tar) || q[5].present)
                return NS_E_INVALID_REQUEST;
        if (!q[0].present || !q[0].value[0])
                return NS_E_INVALID_PATH;
        long mode = q[1].present ? strtol(q[1].value, &end, 8) : 0644;
        if (q[1].present && (*end || mode < 0 || mode > 07777))
                return NS_E_INVALID_REQUEST;
        snprintf(label, cap, "%.1000s", q[0].value);
        *req = json_pack("{s:s,s:s,s:i}", "op", *tar ? "tar_write" : "write", "path", q[0].value,
                         "mode", (int)mode);
        return NS_OK;
}

static enum ns_code start_write(struct http_exchange *ex)
{
        struct app *app = ex->app;
        char label[1100], upload[MACHINE_ID_MAX] = "", vol[MACHINE_ID_MAX] = "";
        int tar = 0;
        json_t *req = NULL;
        struct machine *m = NULL;
        int wake = 0;
        enum ns_code rc = NS_OK;
        if (api_is_volume_route(ex))
                rc = api_volume_lookup(ex, vol, sizeof(vol));
        else if (!(m = machine_find(&app->core, ex->match.params[0])))
                rc = NS_E_MACHINE_NOT_FOUND;
        else if (!(wake = (m->state == M_HIBERNATED || m->state == M_RESUMING) &&
                          m->conf.auto_resume) &&
                 m->state != M_RUNNING)
                rc = NS_E_MACHINE_NOT_RUNNING;
        if (rc == NS_OK)
                rc = write_request(ex, m ? m->id : vol, &req, label, sizeof(label), &tar, upload);
        struct file_op *op = rc == NS_OK ? calloc(1, sizeof(*op)) : NULL;
        if (!op) {
                json_decref(req);
                return rc != NS_OK ? rc : NS_E_INTERNAL;
        }
        buf_init(&op->pending, PENDING_MAX);
        op->ex = ex;
        op->machine = m;
        snprintf(op->volume, sizeof(op->volume), "%s", vol);
        snprintf(op->msg, sizeof(op->msg), "%s", label);
        snprintf(op->upload, sizeof(op->upload), "%s", upload);
        if (upload[0]) {
                supersede(upload);
                op->next_piece = pieces;
                pieces = op;
        }
        op->tar = tar;
        op->req = req;
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
                files_op_free(op);
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
        files_op_free(op);
}

static void on_read_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct file_op *op = ud;
        struct http_exchange *ex = op->ex;
        if (!h || (h->type == NSP_RESP && agentconn_resp_is_error(h, p))) {
                op->lost = 1;
                if (h) {
                        agentconn_chan_close(op->agent, op->chan);
                        files_take_error(op, p, h->len);
                } else {
                        op->err = NS_E_MACHINE_NOT_RUNNING;
                        snprintf(op->msg, sizeof(op->msg), "the machine stopped");
                }
                if (!op->streaming) {
                        if (ex) {
                                ex->on_abort = NULL;
                                http_respond_error(ex, op->err, "%s", op->msg);
                        }
                        files_op_free(op);
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
        files_op_free(op);
}

void api_files_get(struct http_exchange *ex)
{
        struct query_param q[] = {
            {.name = "path"}, {.name = "expires"}, {.name = "signature"}, {.name = "format"}};
        if (files_path_param(ex, q, 4) < 0)
                return;
        int tar = q[3].present && !strcmp(q[3].value, "tar");
        if (q[3].present && !tar) {
                http_respond_error(ex, NS_E_INVALID_REQUEST, "query parameter 'format': tar");
                return;
        }
        struct file_op *op = files_new_op(
            ex, json_pack("{s:s,s:s}", "op", tar ? "tar_read" : "read", "path", q[0].value),
            on_read_frame, abort_read, PENDING_MAX);
        if (op) {
                op->tar = tar;
                api_when_running(ex, files_start_go, op, files_free_op_ctx);
        }
}
