/* Background and PTY processes over HTTP:
 *   POST /v1/machines/{id}/processes              start (201 {"pid","tag"})
 *   GET  /v1/machines/{id}/processes              list
 *   POST /v1/machines/{id}/processes/{ref}/signal {"signal":"TERM"}
 *   POST /v1/machines/{id}/processes/{ref}/stdin  {"data","encoding","eof"}
 *   POST /v1/machines/{id}/processes/{ref}/resize {"cols","rows"} (PTY)
 *   GET  /v1/machines/{id}/processes/{ref}/logs   the replay buffers and the status
 * {ref} is a PID or a tag. The processes live in the machine's agent, so they outlive
 * clients, daemon restarts and hibernation. The field checks are shared with the
 * WebSocket (command.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "api.h"
#include "command.h"

#define PROC_DATA_MAX (768u << 10) /* one stdin message (the agent takes 1 MiB per frame) */
#define LOGS_MAX      (2u << 20)   /* both replay rings */

const struct jv_field api_spawn_fields[] = {
    API_CMD_FIELDS(struct api_spawn, c),
    {"tag", JV_STRING, 0, offsetof(struct api_spawn, tag), 64, 0, 0},
    {"pty", JV_BOOL, 0, offsetof(struct api_spawn, pty), 0, 0, 0},
    {"cols", JV_INT, 0, offsetof(struct api_spawn, cols), 0, 1, 1000},
    {"rows", JV_INT, 0, offsetof(struct api_spawn, rows), 0, 1, 1000},
};
const size_t api_spawn_nfields = ARRAY_SIZE(api_spawn_fields);

const struct jv_field api_input_fields[] = {
    {"data", JV_STRING, 0, offsetof(struct api_input, data), PROC_DATA_MAX, 0, 0},
    {"encoding", JV_STRING, 0, offsetof(struct api_input, encoding), 16, 0, 0},
    {"eof", JV_BOOL, 0, offsetof(struct api_input, eof), 0, 0, 0},
};
const size_t api_input_nfields = ARRAY_SIZE(api_input_fields);

const struct jv_field api_signal_fields[] = {
    {"signal", JV_STRING, JV_REQUIRED, offsetof(struct api_signal, signal), 16, 0, 0},
};
const size_t api_signal_nfields = ARRAY_SIZE(api_signal_fields);

const struct jv_field api_resize_fields[] = {
    {"cols", JV_INT, JV_REQUIRED, offsetof(struct api_resize, cols), 0, 1, 1000},
    {"rows", JV_INT, JV_REQUIRED, offsetof(struct api_resize, rows), 0, 1, 1000},
};
const size_t api_resize_nfields = ARRAY_SIZE(api_resize_fields);

json_t *api_spawn_request(const struct api_spawn *in, const struct machine *m, enum ns_code *code,
                          char *msg, size_t cap)
{
        int shell = in->pty && !in->c.cmd && !in->c.argv.n; /* a PTY's default */
        if (!shell && api_cmd_check(&in->c, code, msg, cap) < 0)
                return NULL;
        if (in->tag && (!in->tag[0] || strspn(in->tag, "0123456789") == strlen(in->tag))) {
                *code = NS_E_INVALID_FIELD;
                snprintf(msg, cap, "field 'tag': not empty, and not all digits (PIDs are)");
                return NULL;
        }
        if (!in->pty && (in->cols || in->rows)) {
                *code = NS_E_INVALID_FIELD;
                snprintf(msg, cap, "'cols' and 'rows' go with \"pty\": true");
                return NULL;
        }
        json_t *req = api_cmd_request("spawn", &in->c, m);
        if (shell) { /* no command: the user's login shell */
                json_object_del(req, "argv");
                json_object_set_new(req, "login_shell", json_true());
        }
        json_object_del(req, "timeout_ms"); /* a session runs until it ends or is killed */
        if (in->tag)
                json_object_set_new(req, "tag", json_string(in->tag));
        if (in->pty)
                json_object_set_new(req, "pty",
                                    json_pack("{s:I,s:I}", "cols", in->cols ? in->cols : 80, "rows",
                                              in->rows ? in->rows : 24));
        return req;
}

json_t *api_input_request(const struct api_input *in, enum ns_code *code, char *msg, size_t cap)
{
        const char *data = in->data ? in->data : "";
        size_t n = strlen(data);
        int b64 = in->encoding && !strcmp(in->encoding, "base64");
        if (in->encoding && !b64 && strcmp(in->encoding, "utf8")) {
                *code = NS_E_INVALID_FIELD;
                snprintf(msg, cap, "field 'encoding': utf8 or base64");
                return NULL;
        }
        json_t *enc;
        if (b64) {
                unsigned char *raw = malloc(n / 4 * 3 + 3);
                if (!raw || base64_decode(data, n, raw, n / 4 * 3 + 3) < 0) {
                        free(raw);
                        *code = NS_E_INVALID_FIELD;
                        snprintf(msg, cap, "field 'data' is not base64");
                        return NULL;
                }
                free(raw);
                enc = json_string(data);
        } else {
                enc = json_base64(data, n);
        }
        if (!enc) {
                *code = NS_E_INTERNAL;
                snprintf(msg, cap, "out of memory");
                return NULL;
        }
        json_t *req = json_pack("{s:s,s:o,s:b}", "op", "proc_input", "data", enc, "eof", in->eof);
        return req;
}

json_t *api_signal_request(const struct api_signal *in, enum ns_code *code, char *msg, size_t cap)
{
        int sig = api_signal_parse(in->signal);
        if (!sig) {
                *code = NS_E_INVALID_FIELD;
                snprintf(msg, cap, "field 'signal': a name like TERM or INT, or a number 1..64");
                return NULL;
        }
        return json_pack("{s:s,s:i}", "op", "proc_signal", "signal", sig);
}

json_t *api_resize_request(const struct api_resize *in)
{
        return json_pack("{s:s,s:I,s:I}", "op", "proc_resize", "cols", (json_int_t)in->cols, "rows",
                         (json_int_t)in->rows);
}

/* ---- HTTP routes -------------------------------------------------------------- */

void api_procs_start(struct http_exchange *ex)
{
        struct api_spawn in = {0};
        enum ns_code code;
        char msg[256];
        if (api_decode(ex, api_spawn_fields, api_spawn_nfields, &in, NULL) < 0)
                return;
        json_t *req = api_spawn_request(&in, machine_find(api_core(ex), ex->match.params[0]), &code,
                                        msg, sizeof(msg));
        if (req)
                api_agent_simple(ex, req, 201);
        else
                http_respond_error(ex, code, "%s", msg);
        jv_free(api_spawn_fields, api_spawn_nfields, &in);
}

void api_procs_list(struct http_exchange *ex)
{
        api_agent_simple(ex, json_pack("{s:s}", "op", "proc_list"), 200);
}

/* Decodes the body with `fields` into `in`, builds the agent request with `build` and
 * sends it for the process {ref}. */
static void proc_op(struct http_exchange *ex, const struct jv_field *fields, size_t n, void *in,
                    json_t *(*build)(void *in, enum ns_code *code, char *msg, size_t cap))
{
        enum ns_code code;
        char msg[256];
        if (api_decode(ex, fields, n, in, NULL) < 0)
                return;
        json_t *req = build(in, &code, msg, sizeof(msg));
        jv_free(fields, n, in);
        if (!req) {
                http_respond_error(ex, code, "%s", msg);
                return;
        }
        api_proc_ref(req, ex->match.params[1]);
        api_agent_simple(ex, req, 200);
}

static json_t *build_signal(void *in, enum ns_code *code, char *msg, size_t cap)
{
        return api_signal_request(in, code, msg, cap);
}

static json_t *build_input(void *in, enum ns_code *code, char *msg, size_t cap)
{
        return api_input_request(in, code, msg, cap);
}

static json_t *build_resize(void *in, enum ns_code *code, char *msg, size_t cap)
{
        (void)code, (void)msg, (void)cap;
        return api_resize_request(in);
}

void api_procs_signal(struct http_exchange *ex)
{
        struct api_signal in = {0};
        proc_op(ex, api_signal_fields, api_signal_nfields, &in, build_signal);
}

void api_procs_stdin(struct http_exchange *ex)
{
        struct api_input in = {0};
        proc_op(ex, api_input_fields, api_input_nfields, &in, build_input);
}

void api_procs_resize(struct http_exchange *ex)
{
        struct api_resize in = {0};
        proc_op(ex, api_resize_fields, api_resize_nfields, &in, build_resize);
}

/* ---- logs: an attach that replays the rings and does not follow ---------------- */

struct logs_op {
        struct http_exchange *ex; /* NULL once the client left */
        struct agent_conn *agent;
        uint32_t chan;
        json_t *req, *head; /* the request until sent; the attach answer */
        struct buf out[3];
};

static void logs_free(void *ctx)
{
        struct logs_op *op = ctx;
        json_decref(op->req);
        json_decref(op->head);
        buf_fini(&op->out[1]);
        buf_fini(&op->out[2]);
        free(op);
}

/* The text of a stream: a JSON string when it is UTF-8, else base64 (*b64 set). */
static json_t *text_of(const struct buf *b, int *b64)
{
        json_t *s = json_stringn(b->data ? b->data : "", b->len);
        if (s)
                return s;
        *b64 = 1;
        return NULL;
}

static json_t *b64_of(const struct buf *b)
{
        return json_base64(b->data, b->len) ?: json_null();
}

static void logs_answer(struct logs_op *op, const unsigned char *p, size_t n)
{
        json_t *doc = json_deep_copy(op->head);
        json_t *exit = json_loadb((const char *)p, n, 0, NULL);
        json_object_update_missing(doc, exit);
        json_object_set(doc, "running", json_object_get(exit, "running"));
        json_decref(exit);
        json_t *from = json_object_get(doc, "replay_from");
        json_object_set(doc, "stdout_dropped_bytes", json_object_get(from, "stdout"));
        json_object_set(doc, "stderr_dropped_bytes", json_object_get(from, "stderr"));
        json_object_del(doc, "replay_from");
        int b64 = 0;
        json_t *o = text_of(&op->out[1], &b64), *e = b64 ? NULL : text_of(&op->out[2], &b64);
        if (b64) {
                json_decref(o);
                o = b64_of(&op->out[1]);
                e = b64_of(&op->out[2]);
        }
        json_object_set_new(doc, "stdout", o);
        json_object_set_new(doc, "stderr", e);
        json_object_set_new(doc, "encoding", json_string(b64 ? "base64" : "utf8"));
        http_respond_json(op->ex, 200, doc);
}

static void on_logs_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct logs_op *op = ud;
        struct http_exchange *ex = op->ex;
        if (h && h->type == NSP_RESP && !op->head && !agentconn_resp_is_error(h, p)) {
                op->head = json_loadb((const char *)p, h->len, 0, NULL);
                return;
        }
        if (h && h->type == NSP_DATA && h->flags <= NSP_STDERR) {
                buf_append(&op->out[h->flags], p, h->len); /* the rings bound it */
                agentconn_grant(op->agent, h->chan, h->flags, h->len);
                return;
        }
        if (h && h->type != NSP_RESP && h->type != NSP_EXIT)
                return;
        if (h)
                agentconn_chan_close(op->agent, h->chan);
        if (ex) {
                ex->on_abort = NULL;
                char msg[512];
                if (!h)
                        http_respond_error(ex, NS_E_MACHINE_NOT_RUNNING, "the machine stopped");
                else if (h->type == NSP_RESP)
                        http_respond_error(
                            ex, api_agent_error(p, h->len, NS_E_INTERNAL, msg, sizeof(msg)), "%s",
                            msg);
                else
                        logs_answer(op, p, h->len);
        }
        logs_free(op);
}

static void abort_logs(struct http_exchange *ex)
{
        struct logs_op *op = ex->owner;
        agentconn_detach(op->agent, op->chan);
        logs_free(op);
}

static void logs_go(struct http_exchange *ex, struct machine *m, void *ctx)
{
        struct logs_op *op = ctx;
        api_start_channel(ex, m, &op->req, &op->agent, &op->chan, on_logs_frame, op, abort_logs,
                          logs_free);
}

void api_procs_logs(struct http_exchange *ex)
{
        struct logs_op *op = calloc(1, sizeof(*op));
        if (!op) {
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        op->ex = ex;
        buf_init(&op->out[1], LOGS_MAX);
        buf_init(&op->out[2], LOGS_MAX);
        op->req = json_pack("{s:s,s:b,s:b}", "op", "attach", "replay", 1, "follow", 0);
        api_proc_ref(op->req, ex->match.params[1]);
        api_when_running(ex, logs_go, op, logs_free);
}
