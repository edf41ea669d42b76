/* /v1/ws: the WebSocket endpoint. Text frames carry JSON requests {"type","id",...},
 * each answered by exactly one {"type":"reply","id",...} or {"type":"error","id",...};
 * requests that open a stream name its channel in the reply, and the stream's output
 * follows as binary frames (ws_chan.c). docs/websocket-protocol.md is the contract. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "api.h"
#include "command.h"
#include "../../core/volumes.h"
#include "monitor.h"
#include "wsapi.h"

#define STDIN_MSG_MAX  (512u << 10) /* one stdin message for a process (base64 in the agent) */
#define WS_EXEC_WINDOW (2u << 20)   /* output credit per stream of an exec (fewer round trips) */

void ws_client_send(struct ws_client *c, json_t *doc)
{
        char *text = c->ws ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        if (!text)
                return;
        if (ws_send_text(c->ws, text, strlen(text)) < 0)
                ws_close(c->ws, 1008, "client too slow");
        ws_kick(c->ws);
        free(text);
}

void ws_client_error(struct ws_client *c, json_t *id, uint32_t channel, enum ns_code code,
                     const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (!c->ws)
                return;
        json_t *doc =
            json_pack("{s:s,s:{s:s,s:s,s:s}}", "type", "error", "error", "code",
                      ns_code_def(code)->name, "message", msg, "request_id", ws_request_id(c->ws));
        if (id && !json_is_null(id))
                json_object_set(doc, "id", id);
        if (channel)
                json_object_set_new(doc, "channel", json_integer(channel));
        ws_client_send(c, doc);
}

void ws_client_ref(struct ws_client *c)
{
        c->refs++;
}

void ws_client_unref(struct ws_client *c)
{
        if (--c->refs > 0)
                return;
        for (struct ws_client **pp = &c->app->ws_clients; *pp; pp = &(*pp)->next) {
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
        }
        free(c);
}

static void reply(struct ws_client *c, json_t *id, json_t *doc)
{
        json_object_set_new(doc, "type", json_string("reply"));
        if (id)
                json_object_set(doc, "id", id);
        ws_client_send(c, doc);
}

/* ---- one request ------------------------------------------------------------------ */

/* A request being handled: the message, with type/id/machine/selector taken out. */
struct ws_request {
        struct ws_client *c;
        json_t *msg; /* what is left for the op's field table */
        json_t *id;
        char machine[MACHINE_ID_MAX];
        char volume[VOLUME_NAME_MAX + 1]; /* watch: a volume's ID or name instead */
        int64_t pid, channel;
        char tag[65];
        const struct wop *op;
};

struct wop {
        const char *type;
        int needs_machine; /* 1; 2: a machine or a volume (watch) */
        void (*run)(struct ws_request *r, struct machine *m);
};

static void ws_request_free(struct ws_request *r)
{
        json_decref(r->msg);
        json_decref(r->id);
        ws_client_unref(r->c);
        free(r);
}

/* Decodes what is left of the message with `fields`; -1 after answering the error. */
static int decode(struct ws_request *r, const struct jv_field *fields, size_t n, void *out)
{
        struct jv_error e;
        char *text = json_dumps(r->msg, JSON_COMPACT);
        int rc = text ? jv_decode(text, strlen(text), fields, n, out, NULL, &e) : -1;
        free(text);
        if (rc < 0)
                ws_client_error(r->c, r->id, 0, text ? e.code : NS_E_INTERNAL, "%s",
                                text ? e.msg : "out of memory");
        return rc;
}

/* Names the process of r in req (pid or tag); -1 after answering when neither is given. */
static int name_process(struct ws_request *r, json_t *req)
{
        if (r->pid)
                json_object_set_new(req, "pid", json_integer(r->pid));
        else if (r->tag[0])
                json_object_set_new(req, "tag", json_string(r->tag));
        else {
                ws_client_error(r->c, r->id, 0, NS_E_MISSING_FIELD, "give 'pid' or 'tag'");
                return -1;
        }
        return 0;
}

struct ws_call {
        struct ws_client *c;
        json_t *id;
};

static void on_call_done(void *ud, json_t *resp, const json_t *err)
{
        struct ws_call *w = ud;
        if (!resp)
                ws_client_error(w->c, w->id, 0, NS_E_MACHINE_NOT_RUNNING, "the machine stopped");
        else if (err)
                ws_client_error(
                    w->c, w->id, 0,
                    api_code_or(json_string_value(json_object_get(err, "code")), NS_E_INTERNAL),
                    "%s", json_string_value(json_object_get(err, "message")) ?: "refused");
        else
                reply(w->c, w->id, json_deep_copy(resp));
        json_decref(w->id);
        ws_client_unref(w->c);
        free(w);
}

/* One request to the agent, one reply to the client. Steals req. */
static void call(struct ws_request *r, struct machine *m, json_t *req)
{
        struct ws_call *w = calloc(1, sizeof(*w));
        if (w) {
                *w = (struct ws_call){r->c, r->id ? json_incref(r->id) : NULL};
                ws_client_ref(r->c);
                if (!machine_call(m, req, on_call_done, w)) {
                        ws_client_unref(r->c);
                        json_decref(w->id);
                        free(w);
                        w = NULL;
                }
        }
        if (!w)
                ws_client_error(r->c, r->id, 0, NS_E_MACHINE_NOT_RUNNING,
                                "machine %s is not answering", m->id);
        json_decref(req);
}

/* Opens a stream channel for req (stolen); the agent's first answer replies. */
/* A channel for req (stolen) on m's agent, or (m NULL) on the file agent of the volume
 * r names; its messages name the machine, or the volume's id. */
static void open_stream(struct ws_request *r, struct machine *m, enum ws_channel_kind kind,
                        json_t *req, int session)
{
        struct volume_rec v = {0};
        struct err e = {0};
        if (!m && volume_ready(&r->c->app->core, r->volume, &v, &e) < 0) {
                ws_client_error(r->c, r->id, 0, err_code_of(&e), "%s", e.msg);
                json_decref(req);
                return;
        }
        struct ws_channel *ch = ws_channel_new(r->c, r->id, kind, m ? m->id : v.id);
        json_int_t window = json_integer_value(json_object_get(req, "window"));
        if (ch && window)
                ch->window = (uint32_t)window;
        if (ch) {
                ch->achan = m ? machine_open_channel(m, req, session ? MACHINE_CHAN_SESSION : 0,
                                                     ws_channel_on_frame, ch, &ch->agent)
                              : volume_open_channel(&r->c->app->core, v.id, req,
                                                    ws_channel_on_frame, ch, &ch->agent, &e);
                if (ch->achan && !m && session)
                        agentconn_set_session(ch->agent, ch->achan);
                if (!ch->achan) {
                        ws_client_error(
                            r->c, r->id, 0, m ? NS_E_MACHINE_NOT_RUNNING : err_code_of(&e),
                            "%s %s is not answering", m ? "machine" : "volume", m ? m->id : v.id);
                        ws_channel_free(ch);
                }
        }
        json_decref(req);
}

/* ---- the operations ------------------------------------------------------------------ */

static void op_ping(struct ws_request *r, struct machine *m)
{
        (void)m; /* the one reply not of type "reply": {"type":"pong"} */
        json_t *doc = json_pack("{s:s,s:I}", "type", "pong", "time_ms", (json_int_t)time_wall_ms());
        if (r->id)
                json_object_set(doc, "id", r->id);
        ws_client_send(r->c, doc);
}

struct exec_in {
        struct api_cmd c;
        int stdin_open;
};

static const struct jv_field exec_in_fields[] = {
    API_CMD_FIELDS(struct exec_in, c),
    {"stdin", JV_BOOL, 0, offsetof(struct exec_in, stdin_open), 0, 0, 0},
};

static void op_exec(struct ws_request *r, struct machine *m)
{
        struct exec_in in = {0};
        enum ns_code code;
        char msg[256];
        if (decode(r, exec_in_fields, ARRAY_SIZE(exec_in_fields), &in) < 0)
                return;
        if (api_cmd_check(&in.c, &code, msg, sizeof(msg)) < 0) {
                ws_client_error(r->c, r->id, 0, code, "%s", msg);
        } else {
                json_t *req = api_cmd_request("exec", &in.c, m);
                json_object_set_new(req, "stdin", json_boolean(in.stdin_open));
                json_object_set_new(req, "window", json_integer(WS_EXEC_WINDOW));
                open_stream(r, m, WCH_EXEC, req, 0);
        }
        jv_free(exec_in_fields, ARRAY_SIZE(exec_in_fields), &in);
}

static void op_start(struct ws_request *r, struct machine *m)
{
        struct api_spawn in = {0};
        enum ns_code code;
        char msg[256];
        json_t *attach = json_object_get(r->msg, "attach");
        int attached = !json_is_false(attach);
        if (attach && !json_is_boolean(attach)) {
                ws_client_error(r->c, r->id, 0, NS_E_INVALID_FIELD, "field 'attach': a boolean");
                return;
        }
        json_object_del(r->msg, "attach");
        if (r->tag[0]) /* taken out as a selector: here it names the new process */
                json_object_set_new(r->msg, "tag", json_string(r->tag));
        if (decode(r, api_spawn_fields, api_spawn_nfields, &in) < 0)
                return;
        json_t *req = api_spawn_request(&in, m, &code, msg, sizeof(msg));
        jv_free(api_spawn_fields, api_spawn_nfields, &in);
        if (!req) {
                ws_client_error(r->c, r->id, 0, code, "%s", msg);
        } else if (attached) {
                json_object_set_new(req, "attach", json_true());
                open_stream(r, m, WCH_PROC, req, 1);
        } else {
                call(r, m, req);
        }
}

struct attach_in {
        int replay;
};

static const struct jv_field attach_in_fields[] = {
    {"replay", JV_BOOL, 0, offsetof(struct attach_in, replay), 0, 0, 0},
};

static void op_attach(struct ws_request *r, struct machine *m)
{
        struct attach_in in = {1};
        if (decode(r, attach_in_fields, ARRAY_SIZE(attach_in_fields), &in) < 0)
                return;
        json_t *req = json_pack("{s:s,s:b}", "op", "attach", "replay", in.replay);
        if (name_process(r, req) < 0)
                json_decref(req);
        else
                open_stream(r, m, WCH_PROC, req, 1);
}

static void op_list(struct ws_request *r, struct machine *m)
{
        if (decode(r, NULL, 0, NULL) == 0)
                call(r, m, json_pack("{s:s}", "op", "proc_list"));
}

/* process.signal / process.stdin / process.resize: decode, build, name, call. */
static void proc_call(struct ws_request *r, struct machine *m, const struct jv_field *fields,
                      size_t n, void *in, json_t *req, enum ns_code code, const char *msg)
{
        jv_free(fields, n, in);
        if (!req)
                ws_client_error(r->c, r->id, 0, code, "%s", msg);
        else if (name_process(r, req) < 0)
                json_decref(req);
        else
                call(r, m, req);
}

static void op_signal(struct ws_request *r, struct machine *m)
{
        struct api_signal in = {0};
        enum ns_code code = NS_OK;
        char msg[256] = "";
        if (decode(r, api_signal_fields, api_signal_nfields, &in) < 0)
                return;
        struct ws_channel *ch = r->channel ? ws_channel_find(r->c, (uint32_t)r->channel) : NULL;
        int sig = api_signal_parse(in.signal);
        if (r->channel && ch && ch->agent && sig) { /* an exec's process, or an attached one */
                agentconn_signal(ch->agent, ch->achan, sig);
                reply(r->c, r->id, json_object());
                jv_free(api_signal_fields, api_signal_nfields, &in);
                return;
        }
        if (r->channel && !ch) {
                jv_free(api_signal_fields, api_signal_nfields, &in);
                ws_client_error(r->c, r->id, 0, NS_E_CHANNEL_NOT_FOUND, "no channel %lld",
                                (long long)r->channel);
                return;
        }
        json_t *req = api_signal_request(&in, &code, msg, sizeof(msg));
        proc_call(r, m, api_signal_fields, api_signal_nfields, &in, req, code, msg);
}

static void op_stdin(struct ws_request *r, struct machine *m)
{
        struct api_input in = {0};
        enum ns_code code = NS_OK;
        char msg[256] = "";
        if (decode(r, api_input_fields, api_input_nfields, &in) < 0)
                return;
        json_t *req = api_input_request(&in, &code, msg, sizeof(msg));
        proc_call(r, m, api_input_fields, api_input_nfields, &in, req, code, msg);
}

static void op_resize(struct ws_request *r, struct machine *m)
{
        struct api_resize in = {0};
        if (decode(r, api_resize_fields, api_resize_nfields, &in) < 0)
                return;
        json_t *req = api_resize_request(&in);
        proc_call(r, m, api_resize_fields, api_resize_nfields, &in, req, NS_OK, "");
}

struct watch_in {
        char *path;
        int recursive;
};

static const struct jv_field watch_in_fields[] = {
    {"path", JV_STRING, JV_REQUIRED, offsetof(struct watch_in, path), 4096, 0, 0},
    {"recursive", JV_BOOL, 0, offsetof(struct watch_in, recursive), 0, 0, 0},
};

static void op_watch(struct ws_request *r, struct machine *m)
{
        struct watch_in in = {0};
        if (decode(r, watch_in_fields, ARRAY_SIZE(watch_in_fields), &in) < 0)
                return;
        open_stream(
            r, m, WCH_WATCH,
            json_pack("{s:s,s:s,s:b}", "op", "watch", "path", in.path, "recursive", in.recursive),
            1);
        jv_free(watch_in_fields, ARRAY_SIZE(watch_in_fields), &in);
}

struct events_in {
        char *type;
        int64_t since_seq;
};

static const struct jv_field events_fields[] = {
    {"event_type", JV_STRING, 0, offsetof(struct events_in, type), EVENT_TYPE_MAX - 1, 0, 0},
    {"since_seq", JV_INT, 0, offsetof(struct events_in, since_seq), 0, 0, INT64_MAX},
};

static int channel_wants(const struct ws_channel *ch, const struct event_rec *ev)
{
        return (!ch->machine[0] || strcmp(ch->machine, ev->subject_id) == 0) &&
               event_filter_matches(ch->ev_type, ev->kind);
}

static void send_event(struct ws_channel *ch, json_t *view)
{
        ws_client_send(ch->c, json_pack("{s:s,s:I,s:O}", "type", "event", "channel",
                                        (json_int_t)ch->id, "event", view));
}

/* Replays what the store kept after since_seq (at most EVENTS_REPLAY_MAX); 1 when more
 * remain (the client pages through GET /v1/events for those). */
#define EVENTS_REPLAY_MAX 1000
static int replay_events(struct ws_channel *ch, int64_t since_seq)
{
        struct event_filter f = {.after_seq = since_seq};
        if (ch->machine[0]) {
                f.subject_type = "machine";
                f.subject_id = ch->machine;
        }
        if (ch->ev_type[0] && strcmp(ch->ev_type, "*") != 0)
                f.type = ch->ev_type;
        struct event_rec *v = NULL;
        size_t n = 0;
        if (store_event_query(ch->c->app->core.store, &f, EVENTS_REPLAY_MAX + 1, &v, &n, NULL) < 0)
                return 0;
        for (size_t i = 0; i < n && i < EVENTS_REPLAY_MAX; i++) {
                json_t *view = event_view(&v[i]);
                send_event(ch, view);
                json_decref(view);
        }
        for (size_t i = 0; i < n; i++)
                store_event_rec_free(&v[i]);
        free(v);
        return n > EVENTS_REPLAY_MAX;
}

static void op_events(struct ws_request *r, struct machine *m)
{
        (void)m;
        struct events_in in = {0};
        if (decode(r, events_fields, ARRAY_SIZE(events_fields), &in) < 0)
                return;
        if (in.type && !event_filter_ok(in.type)) {
                ws_client_error(r->c, r->id, 0, NS_E_INVALID_FIELD,
                                "field 'event_type': an event type (machine.running), a family "
                                "(machine.*) or *");
                jv_free(events_fields, ARRAY_SIZE(events_fields), &in);
                return;
        }
        struct ws_channel *ch = ws_channel_new(r->c, r->id, WCH_EVENTS, r->machine);
        if (ch) {
                snprintf(ch->ev_type, sizeof(ch->ev_type), "%s", in.type ? in.type : "");
                ch->answered = 1;
                int64_t last = store_event_last_seq(r->c->app->core.store);
                reply(r->c, r->id,
                      json_pack("{s:I,s:I}", "channel", (json_int_t)ch->id, "last_seq",
                                (json_int_t)last));
                if (json_object_get(r->msg, "since_seq") && replay_events(ch, in.since_seq))
                        ws_client_error(r->c, r->id, ch->id, NS_E_CONFLICT,
                                        "more than %d events to replay: page through GET "
                                        "/v1/events?since_seq=%lld for the rest",
                                        EVENTS_REPLAY_MAX, (long long)in.since_seq);
        }
        jv_free(events_fields, ARRAY_SIZE(events_fields), &in);
}

struct monitor_in {
        struct jv_strlist machines;
        int64_t interval_ms;
};

static const struct jv_field monitor_fields[] = {
    {"machines", JV_STRLIST, 0, offsetof(struct monitor_in, machines), MONITOR_MACHINES_MAX, 0, 0},
    {"interval_ms", JV_INT, 0, offsetof(struct monitor_in, interval_ms), 0, MONITOR_INTERVAL_MIN_MS,
     MONITOR_INTERVAL_MAX_MS},
};

static void monitor_to_ws(void *ud, const char *kind, json_t *doc)
{
        struct ws_channel *ch = ud;
        if (ch->c->ws)
                ws_client_send(ch->c, json_pack("{s:s,s:I,s:O}", "type", "monitor", "channel",
                                                (json_int_t)ch->id, kind, doc));
}

static void op_monitor(struct ws_request *r, struct machine *m)
{
        (void)m;
        struct monitor_in in = {.interval_ms = 1000};
        if (decode(r, monitor_fields, ARRAY_SIZE(monitor_fields), &in) < 0)
                return;
        struct ws_channel *ch = ws_channel_new(r->c, r->id, WCH_MONITOR, NULL);
        if (ch) {
                ch->answered = 1;
                reply(r->c, r->id,
                      json_pack("{s:I,s:I}", "channel", (json_int_t)ch->id, "interval_ms",
                                (json_int_t)in.interval_ms));
                ch->mon =
                    monitor_sub_new(r->c->app, (const char *const *)in.machines.items,
                                    in.machines.n, (unsigned)in.interval_ms, monitor_to_ws, ch);
                if (!ch->mon) {
                        ws_client_error(r->c, r->id, ch->id, NS_E_INTERNAL, "out of memory");
                        ws_channel_free(ch);
                }
        }
        jv_free(monitor_fields, ARRAY_SIZE(monitor_fields), &in);
}

struct build_logs_in {
        char *build;
        int64_t cursor;
};

static const struct jv_field build_logs_fields[] = {
    {"build", JV_STRING, JV_REQUIRED, offsetof(struct build_logs_in, build), MACHINE_ID_MAX - 1, 0,
     0},
    {"cursor", JV_INT, 0, offsetof(struct build_logs_in, cursor), 0, 0, INT64_MAX},
};

static void op_build_logs(struct ws_request *r, struct machine *m)
{
        (void)m;
        struct build_logs_in in = {0};
        if (decode(r, build_logs_fields, ARRAY_SIZE(build_logs_fields), &in) < 0)
                return;
        struct ws_channel *ch = ws_channel_build_open(r->c, r->id, in.build, (uint64_t)in.cursor);
        if (ch) {
                reply(r->c, r->id,
                      json_pack("{s:I,s:I}", "channel", (json_int_t)ch->id, "cursor",
                                (json_int_t)in.cursor));
                ws_channel_build_start(ch);
        }
        jv_free(build_logs_fields, ARRAY_SIZE(build_logs_fields), &in);
}

static void op_close(struct ws_request *r, struct machine *m)
{
        (void)m;
        struct ws_channel *ch = ws_channel_find(r->c, (uint32_t)r->channel);
        if (decode(r, NULL, 0, NULL) < 0)
                return;
        if (!ch) {
                ws_client_error(r->c, r->id, 0, NS_E_CHANNEL_NOT_FOUND, "no channel %lld",
                                (long long)r->channel);
                return;
        }
        ws_channel_close(ch);
        reply(r->c, r->id, json_object());
}

static void op_channel_stdin(struct ws_request *r, struct machine *m)
{
        (void)m;
        struct api_input in = {0};
        struct ws_channel *ch = ws_channel_find(r->c, (uint32_t)r->channel);
        if (decode(r, api_input_fields, api_input_nfields, &in) < 0)
                return;
        size_t n = in.data ? strlen(in.data) : 0;
        unsigned char *raw = malloc(n + 1);
        ssize_t len = (ssize_t)n;
        int b64 = in.encoding && !strcmp(in.encoding, "base64");
        if (raw && b64)
                len = base64_decode(in.data, n, raw, n + 1);
        else if (raw && n)
                memcpy(raw, in.data, n);
        if (!ch)
                ws_client_error(r->c, r->id, 0, NS_E_CHANNEL_NOT_FOUND, "no channel %lld",
                                (long long)r->channel);
        else if (!raw || len < 0)
                ws_client_error(r->c, r->id, ch->id, NS_E_INVALID_FIELD,
                                "field 'data' is not base64");
        else if ((size_t)len > STDIN_MSG_MAX)
                ws_client_error(r->c, r->id, ch->id, NS_E_PAYLOAD_TOO_LARGE,
                                "one stdin message carries at most 512 KiB");
        else {
                ws_channel_stdin(ch, r->id, raw, (size_t)len, in.eof);
                if (r->id)
                        reply(r->c, r->id, json_object());
        }
        free(raw);
        jv_free(api_input_fields, api_input_nfields, &in);
}

/* A run of the machine's code interpreter, streamed (ws_code.c). */
static void op_code_run(struct ws_request *r, struct machine *m)
{
        ws_code_open(r->c, r->id, m, r->msg);
}

static const struct wop ops[] = {
    {"ping", 0, op_ping},
    {"exec", 1, op_exec},
    {"process.start", 1, op_start},
    {"process.attach", 1, op_attach},
    {"process.list", 1, op_list},
    {"process.signal", 1, op_signal},
    {"process.stdin", 1, op_stdin},
    {"process.resize", 1, op_resize},
    {"watch", 2, op_watch},
    {"events.subscribe", 0, op_events},
    {"build.logs", 0, op_build_logs},
    {"code.run", 1, op_code_run},
    {"monitor.subscribe", 0, op_monitor},
    {"stdin", 0, op_channel_stdin},
    {"close", 0, op_close},
};

/* ---- dispatch ------------------------------------------------------------------------- */

static void on_resumed(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        struct ws_request *r = ud;
        if (r->c->ws && !code)
                r->op->run(r, m);
        else if (r->c->ws)
                ws_client_error(r->c, r->id, 0, (code ? code : NS_E_MACHINE_NOT_RUNNING), "%s",
                                error ? error : "the machine did not resume");
        ws_request_free(r);
}

/* Runs r once its machine runs: at once, after an automatic resume when it is
 * paused or hibernated (auto_resume on), or once a fork or snapshot paused it no more. */
static void with_machine(struct ws_request *r)
{
        struct machine *m = machine_find(&r->c->app->core, r->machine);
        if (m) /* a request to a machine is a sign of use (its idle time restarts) */
                machine_touch(m);
        if (!m) {
                ws_client_error(r->c, r->id, 0, NS_E_MACHINE_NOT_FOUND, "no machine with ID '%s'",
                                r->machine);
        } else if (m->state == M_RUNNING) {
                r->op->run(r, m);
        } else if (machine_wakeable(m)) {
                machine_resume(m, on_resumed, r);
                return; /* r is freed by on_resumed */
        } else {
                ws_client_error(r->c, r->id, 0, NS_E_MACHINE_NOT_RUNNING, "machine %s is %s", m->id,
                                machine_state_name(m->state));
        }
        ws_request_free(r);
}

/* Takes "type", "id", "machine", "pid", "tag" and "channel" out of msg into r; -1
 * after answering when one has the wrong type. */
static int take_common(struct ws_request *r, const char **type)
{
        json_t *msg = r->msg, *v;
        *type = NULL;
        r->id = json_incref(json_object_get(msg, "id"));
        if ((v = json_object_get(msg, "type")) && json_is_string(v))
                *type = json_string_value(v);
        const char *machine = json_string_value(json_object_get(msg, "machine"));
        const char *volume = json_string_value(json_object_get(msg, "volume"));
        const char *tag = json_string_value(json_object_get(msg, "tag"));
        const char *bad = NULL;
        if (json_object_get(msg, "machine") && (!machine || strlen(machine) >= MACHINE_ID_MAX))
                bad = "machine";
        else if (json_object_get(msg, "volume") &&
                 (!volume || !*volume || strlen(volume) >= sizeof(r->volume)))
                bad = "volume";
        else if (json_object_get(msg, "tag") && (!tag || strlen(tag) >= sizeof(r->tag)))
                bad = "tag";
        else if ((v = json_object_get(msg, "pid")) &&
                 (!json_is_integer(v) || json_integer_value(v) < 1 ||
                  json_integer_value(v) > INT32_MAX))
                bad = "pid";
        else if ((v = json_object_get(msg, "channel")) &&
                 (!json_is_integer(v) || json_integer_value(v) < 1 ||
                  json_integer_value(v) > UINT32_MAX))
                bad = "channel";
        if (bad) {
                ws_client_error(r->c, r->id, 0, NS_E_INVALID_FIELD, "field '%s' has the wrong type",
                                bad);
                return -1;
        }
        snprintf(r->machine, sizeof(r->machine), "%s", machine ? machine : "");
        snprintf(r->volume, sizeof(r->volume), "%s", volume ? volume : "");
        snprintf(r->tag, sizeof(r->tag), "%s", tag ? tag : "");
        r->pid = json_integer_value(json_object_get(msg, "pid"));
        r->channel = json_integer_value(json_object_get(msg, "channel"));
        return 0;
}

static const struct wop *find_op(const char *type)
{
        for (size_t i = 0; type && i < sizeof(ops) / sizeof(ops[0]); i++)
                if (strcmp(ops[i].type, type) == 0)
                        return &ops[i];
        return NULL;
}

static void handle_text(struct ws_client *c, const char *data, size_t len)
{
        json_error_t jerr;
        json_t *msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!msg || !json_is_object(msg)) {
                ws_client_error(c, NULL, 0, NS_E_INVALID_JSON,
                                "each message must be a JSON object");
                json_decref(msg);
                return;
        }
        struct ws_request *r = calloc(1, sizeof(*r));
        if (!r) {
                json_decref(msg);
                ws_client_error(c, NULL, 0, NS_E_INTERNAL, "out of memory");
                return;
        }
        r->c = c;
        r->msg = msg;
        ws_client_ref(c);
        const char *type;
        if (take_common(r, &type) < 0) {
                ws_request_free(r);
                return;
        }
        r->op = find_op(type);
        if (!type)
                ws_client_error(c, r->id, 0, NS_E_MISSING_FIELD, "field 'type' is required");
        else if (!r->op)
                ws_client_error(c, r->id, 0, NS_E_INVALID_FIELD, "unknown message type '%.64s'",
                                type);
        int on_volume = r->op && r->op->needs_machine == 2 && r->volume[0] && !r->machine[0];
        int missing = r->op && r->op->needs_machine && !r->machine[0] && !on_volume;
        if (missing)
                ws_client_error(c, r->id, 0, NS_E_MISSING_FIELD, "field 'machine' is required%s",
                                r->op->needs_machine == 2 ? " (or 'volume')" : "");
        if (!r->op || missing) {
                ws_request_free(r);
                return;
        }
        const char *keys[] = {"type", "id", "machine", "volume", "pid", "tag", "channel"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                json_object_del(msg, keys[i]);
        if (!r->op->needs_machine || on_volume) {
                r->op->run(r, NULL);
                ws_request_free(r);
        } else {
                with_machine(r);
        }
}

/* A request from the client: what it starts is the client's key's doing. */
static void on_text(struct ws_session *ws, const char *data, size_t len, void *user)
{
        (void)ws;
        struct ws_client *c = user;
        core_cause_set(&c->app->core, "user", c->key_id);
        handle_text(c, data, len);
        core_cause_clear(&c->app->core);
}

/* A binary frame from the client: [0][channel u32 big-endian][stdin bytes]. An empty
 * payload is the end of input. */
static void on_binary(struct ws_session *ws, const char *data, size_t len, void *user)
{
        struct ws_client *c = user;
        const unsigned char *p = (const unsigned char *)data;
        if (len < 5 || p[0] != 0) {
                ws_close(ws, 1003, "binary frames are [0][channel u32][bytes]");
                return;
        }
        uint32_t id = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
        struct ws_channel *ch = ws_channel_find(c, id);
        if (!ch)
                ws_client_error(c, NULL, id, NS_E_CHANNEL_NOT_FOUND, "no channel %u", id);
        else if (len - 5 > STDIN_MSG_MAX)
                ws_client_error(c, NULL, id, NS_E_PAYLOAD_TOO_LARGE,
                                "one stdin message carries at most 512 KiB");
        else
                ws_channel_stdin(ch, NULL, p + 5, len - 5, len == 5);
}

static void on_writable(struct ws_session *ws, void *user)
{
        (void)ws;
        ws_channel_grant_all(user);
        ws_channel_build_pump_all(user);
        ws_code_pump_all(user);
}

static void on_close(struct ws_session *ws, void *user)
{
        (void)ws;
        struct ws_client *c = user;
        c->ws = NULL;
        while (c->chans)
                ws_channel_close(c->chans); /* processes run on; exec commands are killed */
        ws_client_unref(c);
}

static const struct ws_handlers handlers = {
    .on_text = on_text,
    .on_binary = on_binary,
    .on_writable = on_writable,
    .on_close = on_close,
};

void api_ws(struct http_exchange *ex)
{
        struct ws_client *c = calloc(1, sizeof(*c));
        if (!c) {
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        c->app = ex->app;
        c->refs = 1;
        snprintf(c->key_id, sizeof(c->key_id), "%s", ex->key_id);
        if (http_ws_accept(ex, &handlers, c, &c->ws) < 0) {
                free(c);
                return;
        }
        c->next = c->app->ws_clients;
        c->app->ws_clients = c;
}

void api_ws_install(struct app *app)
{
        app->core.hooks.build_log = ws_client_build_notify;
        app->core.hooks.before_checkpoint = api_before_checkpoint;
}

void ws_client_broadcast_event(struct app *app, const struct event_rec *ev)
{
        json_t *view = NULL; /* built once, for the first subscriber */
        for (struct ws_client *c = app->ws_clients; c; c = c->next) {
                for (struct ws_channel *ch = c->chans; c->ws && ch; ch = ch->next) {
                        if (ch->kind != WCH_EVENTS || !channel_wants(ch, ev))
                                continue;
                        if (!view)
                                view = event_view(ev);
                        send_event(ch, view);
                }
        }
        json_decref(view);
}
