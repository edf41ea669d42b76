/* POST /v1/machines/{id}/exec: run a command to completion and answer with its output.
 * The output is collected within a bound (EXEC_OUTPUT_MAX per stream; beyond it the
 * rest is read and dropped, and `truncated` says so). With "stream": true the answer is
 * NDJSON (application/x-ndjson, chunked) as the command runs: {"type":"stdout"|"stderr",
 * "data"} lines, then {"type":"exit",...} or {"type":"error","error"}; the agent's window
 * is granted only as the client reads, so a slow client slows the command down. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "api.h"
#include "command.h"

#define EXEC_OUTPUT_MAX (16u << 20)
#define EXEC_STDIN_MAX  (8u << 20)
#define STREAM_PENDING  (16u << 20) /* NDJSON not yet read by the client (bounded by windows) */

struct exec_req {
        struct api_cmd c;
        char *stdin_data, *encoding;
        int stream;
};

static const struct jv_field exec_fields[] = {
    API_CMD_FIELDS(struct exec_req, c),
    {"stdin", JV_STRING, 0, offsetof(struct exec_req, stdin_data), EXEC_STDIN_MAX, 0, 0},
    {"encoding", JV_STRING, 0, offsetof(struct exec_req, encoding), 16, 0, 0},
    {"stream", JV_BOOL, 0, offsetof(struct exec_req, stream), 0, 0, 0},
};

struct exec_op {
        struct http_exchange *ex;
        const struct exec_stream_fmt *fmt; /* how a streamed answer is written */
        struct agent_conn *agent;
        uint32_t chan;
        struct buf out[3];
        int truncated;
        int base64;
        char *stdin_data;
        size_t stdin_len, stdin_sent;
        json_t *req;   /* the exec request, until it is sent */
        json_t *begun; /* the agent's answer to it, once streaming */
        json_t *exit;
        enum ns_code error;
        char error_msg[512];
        /* streaming */
        int stream, started, ended, waiting;
        int pty;            /* the process has a terminal (the agent's answer says) */
        struct buf pending; /* NDJSON lines the client has not read */
        uint32_t owed[3];   /* output bytes read from the agent, granted back once sent */
};

static void op_free(struct exec_op *op)
{
        buf_fini(&op->pending);
        buf_fini(&op->out[1]);
        buf_fini(&op->out[2]);
        free(op->stdin_data);
        json_decref(op->exit);
        json_decref(op->req);
        json_decref(op->begun);
        free(op);
}

static json_t *output_json(const struct exec_op *op, int stream)
{
        const struct buf *b = &op->out[stream];
        if (!op->base64)
                return json_stringn_nocheck(b->data ? b->data : "", b->len);
        return json_base64(b->data, b->len) ?: json_null();
}

static void finish(struct exec_op *op)
{
        struct http_exchange *ex = op->ex;
        if (ex) {
                ex->on_abort = NULL;
                if (op->error != NS_OK && op->stream && op->fmt->errors_in_body) {
                        struct buf b;
                        buf_init(&b, 1u << 16);
                        op->fmt->end(&b, NULL, op->error, op->error_msg);
                        http_respond(ex, 200, op->fmt->content_type, b.data, b.len);
                        buf_fini(&b);
                } else if (op->error != NS_OK) {
                        http_respond_error(ex, op->error, "%s", op->error_msg);
                } else {
                        json_t *doc =
                            json_pack("{s:o,s:o,s:O,s:O,s:O,s:O,s:b,s:s}", "stdout",
                                      output_json(op, 1), "stderr", output_json(op, 2), "exit_code",
                                      json_object_get(op->exit, "exit_code"), "duration_ms",
                                      json_object_get(op->exit, "duration_ms"), "timed_out",
                                      json_object_get(op->exit, "timed_out"), "signal",
                                      json_object_get(op->exit, "signal"), "truncated",
                                      op->truncated, "encoding", op->base64 ? "base64" : "utf8");
                        http_respond_json(ex, 200, doc);
                }
        }
        op_free(op);
}

static void feed_stdin(struct exec_op *op)
{
        if (!op->stdin_data)
                return;
        op->stdin_sent += agentconn_send_stdin(op->agent, op->chan, op->stdin_data + op->stdin_sent,
                                               op->stdin_len - op->stdin_sent);
        if (op->stdin_sent == op->stdin_len) {
                agentconn_send_eof(op->agent, op->chan);
                free(op->stdin_data);
                op->stdin_data = NULL;
        }
}

/* ---- streaming (NDJSON) ---------------------------------------------------------- */

static void ndjson_line(struct buf *out, json_t *line)
{
        char *text = json_dumps(line, JSON_COMPACT);
        json_decref(line);
        if (text && buf_append(out, text, strlen(text)) == 0)
                buf_append(out, "\n", 1);
        free(text);
}

static void ndjson_output(struct buf *out, const json_t *begun, int stream, const unsigned char *p,
                          size_t n, int base64)
{
        (void)begun;
        json_t *data = base64 ? NULL : json_stringn((const char *)p, n);
        json_t *line = json_pack("{s:s}", "type", stream == NSP_STDOUT ? "stdout" : "stderr");
        if (!data) { /* asked for, or not valid UTF-8 on its own */
                data = json_base64(p, n) ?: json_null();
                json_object_set_new(line, "encoding", json_string("base64"));
        }
        json_object_set_new(line, "data", data);
        ndjson_line(out, line);
}

static void ndjson_end(struct buf *out, const json_t *exit, enum ns_code code, const char *msg)
{
        if (code == NS_OK)
                ndjson_line(out, json_pack("{s:s,s:O,s:O,s:O,s:O}", "type", "exit", "exit_code",
                                           json_object_get(exit, "exit_code"), "duration_ms",
                                           json_object_get(exit, "duration_ms"), "timed_out",
                                           json_object_get(exit, "timed_out"), "signal",
                                           json_object_get(exit, "signal")));
        else
                ndjson_line(out, json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "code",
                                           ns_code_def(code)->name, "message", msg));
}

static const struct exec_stream_fmt ndjson = {
    "application/x-ndjson", NULL, ndjson_output, ndjson_end, 0, 0};

/* What the formatter wrote is there for the client: wake the stream. */
static void stream_wrote(struct exec_op *op, size_t before)
{
        if (op->pending.len == before && !op->ended)
                op->truncated = 1; /* over STREAM_PENDING: cannot happen under the windows */
        if (op->waiting) {
                op->waiting = 0;
                http_stream_wake(op->ex);
        }
}

static void stream_output(struct exec_op *op, int stream, const unsigned char *p, size_t n)
{
        size_t before = op->pending.len;
        op->fmt->output(&op->pending, op->begun, stream, p, n,
                        (op->base64 ? EXEC_OUT_BASE64 : 0) | (op->pty ? EXEC_OUT_PTY : 0));
        op->owed[stream] += (uint32_t)n;
        stream_wrote(op, before);
}

static void stream_end(struct exec_op *op, enum ns_code code, const char *msg)
{
        if (op->ended)
                return;
        op->ended = 1;
        op->fmt->end(&op->pending, op->exit, code, msg);
        stream_wrote(op, op->pending.len);
}

static ssize_t stream_read(void *ctx, char *dst, size_t cap)
{
        struct exec_op *op = ctx;
        size_t n = op->pending.len < cap ? op->pending.len : cap;
        if (n) {
                memcpy(dst, op->pending.data, n);
                buf_consume(&op->pending, n);
        }
        if (op->pending.len == 0 && op->agent) /* all sent: the command may write on */
                for (int s = NSP_STDOUT; s <= NSP_STDERR; s++)
                        if (op->owed[s]) {
                                agentconn_grant(op->agent, op->chan, s, op->owed[s]);
                                op->owed[s] = 0;
                        }
        if (n)
                return (ssize_t)n;
        if (op->ended)
                return 0;
        op->waiting = 1;
        return HTTP_SRC_AGAIN;
}

static void stream_free(void *ctx)
{
        struct exec_op *op = ctx;
        if (op->agent && !op->ended) { /* the client left: stop the command (or detach) */
                if (!op->fmt->detach)
                        agentconn_signal(op->agent, op->chan, 9);
                agentconn_chan_close(op->agent, op->chan);
        }
        op_free(op);
}

static void stream_start(struct exec_op *op, const struct nsp_hdr *h, const unsigned char *p)
{
        struct http_exchange *ex = op->ex;
        op->started = 1;
        ex->on_abort = NULL; /* from now on the body source owns op (stream_free) */
        ex->owner = NULL;
        buf_init(&op->pending, STREAM_PENDING);
        op->begun = json_loadb((const char *)p, h->len, 0, NULL);
        op->pty = json_is_true(json_object_get(op->begun, "pty"));
        if (op->fmt->start)
                op->fmt->start(&op->pending, op->begun);
        http_respond_stream(ex, 200, op->fmt->content_type,
                            (struct http_body_src){stream_read, stream_free, op});
}

static void on_stream_frame(struct exec_op *op, const struct nsp_hdr *h, const unsigned char *p)
{
        if (!h) {
                op->agent = NULL;
                stream_end(op, NS_E_MACHINE_NOT_RUNNING,
                           "the machine stopped while the command ran");
        } else if (h->type == NSP_DATA && (h->flags == NSP_STDOUT || h->flags == NSP_STDERR)) {
                stream_output(op, h->flags, p, h->len);
        } else if (h->type == NSP_WINDOW) {
                feed_stdin(op);
        } else if (h->type == NSP_EXIT) {
                op->exit = json_loadb((const char *)p, h->len, 0, NULL);
                agentconn_chan_close(op->agent, op->chan);
                op->agent = NULL;
                stream_end(op, NS_OK, NULL);
        }
}

static void on_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct exec_op *op = ud;
        if (op->started) {
                on_stream_frame(op, h, p);
                return;
        }
        if (!h) {
                op->error = NS_E_MACHINE_NOT_RUNNING;
                snprintf(op->error_msg, sizeof(op->error_msg),
                         "the machine stopped while the command ran");
                finish(op);
                return;
        }
        switch (h->type) {
        case NSP_RESP:
                if (agentconn_resp_is_error(h, p)) {
                        op->error = api_agent_error(p, h->len, NS_E_INTERNAL, op->error_msg,
                                                    sizeof(op->error_msg));
                        agentconn_chan_close(op->agent, op->chan);
                        finish(op);
                } else if (op->stream && op->ex) { /* started: the answer streams from here */
                        stream_start(op, h, p);
                }
                return;
        case NSP_DATA:
                if (h->flags == NSP_STDOUT || h->flags == NSP_STDERR) {
                        if (buf_append(&op->out[h->flags], p, h->len) < 0)
                                op->truncated = 1;
                        agentconn_grant(op->agent, op->chan, h->flags, h->len);
                }
                return;
        case NSP_WINDOW:
                feed_stdin(op);
                return;
        case NSP_EXIT:
                op->exit = json_loadb((const char *)p, h->len, 0, NULL);
                agentconn_chan_close(op->agent, op->chan);
                finish(op);
                return;
        default:
                return;
        }
}

static void abort_exec(struct http_exchange *ex)
{
        struct exec_op *op = ex->owner;
        op->ex = NULL; /* the client left: stop the command, drop the result */
        agentconn_signal(op->agent, op->chan, 9);
}

/* The running machine named by the path, or NULL after answering 404/409. */
/* The path's live machine (running, when need_running), or NULL after answering 404 or
 * 409 machine_not_running (it is in the store, but gone or not running). */
static struct machine *machine_or_answer(struct http_exchange *ex, int need_running)
{
        struct app *app = ex->app;
        struct machine *m = machine_find(&app->core, ex->match.params[0]);
        if (m && (!need_running || m->state == M_RUNNING))
                return m;
        struct machine_rec r;
        struct err e = {0};
        int rc = store_machine_get(app->core.store, ex->match.params[0], &r, &e);
        if (rc == -ENOENT) {
                http_respond_error(ex, NS_E_MACHINE_NOT_FOUND, "no machine with ID '%s'",
                                   ex->match.params[0]);
        } else if (rc < 0) {
                api_fail(ex, &e);
        } else {
                http_respond_error(ex, NS_E_MACHINE_NOT_RUNNING, "machine %s is %s", r.id, r.state);
                store_machine_rec_free(&r);
        }
        return NULL;
}

struct machine *api_running_machine(struct http_exchange *ex)
{
        return machine_or_answer(ex, 1);
}

struct machine *api_live_machine(struct http_exchange *ex)
{
        return machine_or_answer(ex, 0);
}

struct machine *api_networked_machine(struct http_exchange *ex, const char *why)
{
        struct machine *m = machine_or_answer(ex, 0);
        if (m && !m->conf.network) {
                http_respond_error(ex, NS_E_NETWORK_UNAVAILABLE, "machine %s has no network%s%s",
                                   m->id, why ? ": " : "", why ? why : "");
                return NULL;
        }
        return m;
}

static void free_op(void *ctx)
{
        op_free(ctx);
}

/* The machine runs (perhaps just resumed): open the exec channel. */
static void exec_go(struct http_exchange *ex, struct machine *m, void *ctx)
{
        struct exec_op *op = ctx;
        if (api_start_channel(ex, m, &op->req, &op->agent, &op->chan, on_frame, op, abort_exec,
                              free_op) == 0)
                feed_stdin(op);
}

void api_machines_exec(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct exec_req in = {0};
        if (api_decode(ex, exec_fields, ARRAY_SIZE(exec_fields), &in, NULL) < 0)
                return;
        struct exec_op *op = NULL;
        enum ns_code code;
        char msg[128];
        if (api_cmd_check(&in.c, &code, msg, sizeof(msg)) < 0) {
                http_respond_error(ex, code, "%s", msg);
        } else if (in.encoding && strcmp(in.encoding, "utf8") && strcmp(in.encoding, "base64")) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'encoding': utf8 or base64");
        } else if (!(op = calloc(1, sizeof(*op)))) {
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
        }
        if (op) {
                op->ex = ex;
                op->fmt = &ndjson;
                op->base64 = in.encoding && !strcmp(in.encoding, "base64");
                op->stream = in.stream;
                buf_init(&op->out[1], EXEC_OUTPUT_MAX);
                buf_init(&op->out[2], EXEC_OUTPUT_MAX);
                op->req =
                    api_cmd_request("exec", &in.c, machine_find(&app->core, ex->match.params[0]));
                json_object_set_new(op->req, "stdin", json_boolean(in.stdin_data != NULL));
                op->stdin_data = steal_ptr(in.stdin_data);
                op->stdin_len = op->stdin_data ? strlen(op->stdin_data) : 0;
                api_when_running(ex, exec_go, op, free_op);
        }
        jv_free(exec_fields, ARRAY_SIZE(exec_fields), &in);
}

void api_exec_stream(struct http_exchange *ex, json_t *req, const struct exec_stream_fmt *fmt)
{
        struct exec_op *op = calloc(1, sizeof(*op));
        if (!op) {
                json_decref(req);
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        op->ex = ex;
        op->fmt = fmt;
        op->stream = 1;
        op->req = req;
        if (!json_object_get(op->req, "stdin"))
                json_object_set_new(op->req, "stdin", json_false());
        api_when_running(ex, exec_go, op, free_op);
}
