/* WebSocket channels: agent frames of one stream forwarded to the client (binary
 * frames [stream u8][channel u32 big-endian][bytes] for output, JSON for the rest), and
 * the agent's window granted back only once the client has taken what it got, so a
 * client that reads nothing stops the process (exec, attached processes) or leaves
 * events in the machine's kernel queue (watch); see docs/websocket-protocol.md. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "api.h"
#include "monitor.h"
#include "wsapi.h"

struct ws_channel *ws_channel_new(struct ws_client *c, json_t *id, enum ws_channel_kind kind,
                                  const char *machine)
{
        if (c->nchans >= WSC_MAX_CHANNELS) {
                ws_client_error(c, id, 0, NS_E_TOO_MANY_CHANNELS, "%d channels are open already",
                                WSC_MAX_CHANNELS);
                return NULL;
        }
        struct ws_channel *ch = calloc(1, sizeof(*ch));
        if (!ch) {
                ws_client_error(c, id, 0, NS_E_INTERNAL, "out of memory");
                return NULL;
        }
        ch->c = c;
        ch->id = ++c->next_id;
        ch->kind = kind;
        ch->req_id = id ? json_incref(id) : json_null();
        ch->window = NSP_WINDOW_INIT;
        snprintf(ch->machine, sizeof(ch->machine), "%s", machine ? machine : "");
        buf_init(&ch->line, WSC_LINE_MAX);
        ch->next = c->chans;
        c->chans = ch;
        c->nchans++;
        return ch;
}

struct ws_channel *ws_channel_find(struct ws_client *c, uint32_t id)
{
        for (struct ws_channel *ch = c->chans; ch; ch = ch->next)
                if (ch->id == id)
                        return ch;
        return NULL;
}

void ws_channel_free(struct ws_channel *ch)
{
        struct ws_client *c = ch->c;
        for (struct ws_channel **pp = &c->chans; *pp; pp = &(*pp)->next) {
                if (*pp == ch) {
                        *pp = ch->next;
                        break;
                }
        }
        c->nchans--;
        monitor_sub_free(ch->mon);
        ws_code_free(ch->code);
        buf_fini(&ch->line);
        json_decref(ch->req_id);
        free(ch);
}

void ws_channel_close(struct ws_channel *ch)
{
        if (ch->agent)
                agentconn_detach(ch->agent, ch->achan);
        ws_channel_free(ch);
}

static void grant(struct ws_channel *ch)
{
        for (int s = NSP_STDOUT; s <= NSP_STDERR; s++) {
                if (ch->owed[s] && ch->agent)
                        agentconn_grant(ch->agent, ch->achan, s, ch->owed[s]);
                ch->owed[s] = 0;
        }
}

void ws_channel_grant_all(struct ws_client *c)
{
        for (struct ws_channel *ch = c->chans; ch; ch = ch->next)
                grant(ch);
}

/* Credit goes back in batches of half a window (each grant wakes the agent, which
 * inside gVisor costs more than the bytes); the rest when the client caught up. */
static void owe(struct ws_channel *ch, int stream, size_t n)
{
        ch->owed[stream] += (uint32_t)n;
        if (ch->owed[stream] >= ch->window / 2 && ch->c->ws && ws_queued(ch->c->ws) < WS_LOW_WATER)
                grant(ch);
}

/* Watch output: JSON lines → {"type":"watch","channel","event":{...}} messages. */
static void watch_lines(struct ws_channel *ch, const unsigned char *p, size_t n)
{
        if (buf_append(&ch->line, p, n) < 0) {
                buf_reset(&ch->line); /* a line over WSC_LINE_MAX: cannot happen (PATH_MAX) */
                return;
        }
        char *nl;
        while (ch->c->ws && (nl = memchr(ch->line.data, '\n', ch->line.len))) {
                size_t len = (size_t)(nl - ch->line.data);
                json_t *ev = json_loadb(ch->line.data, len, 0, NULL);
                buf_consume(&ch->line, len + 1);
                if (ev)
                        ws_client_send(ch->c, json_pack("{s:s,s:I,s:o}", "type", "watch", "channel",
                                                        (json_int_t)ch->id, "event", ev));
        }
}

static void on_output(struct ws_channel *ch, int stream, const unsigned char *p, size_t n)
{
        if (ch->kind == WCH_WATCH) {
                watch_lines(ch, p, n);
        } else if (ch->c->ws) {
                /* the message head goes into the frame header's bytes (agentconn.h) */
                unsigned char *msg = (unsigned char *)p - 5;
                msg[0] = (unsigned char)stream;
                msg[1] = (unsigned char)(ch->id >> 24);
                msg[2] = (unsigned char)(ch->id >> 16);
                msg[3] = (unsigned char)(ch->id >> 8);
                msg[4] = (unsigned char)ch->id;
                if (ws_send_binary_now(ch->c->ws, msg, n + 5) < 0)
                        ws_close(ch->c->ws, 1008, "client too slow");
                ws_kick(ch->c->ws);
        }
        owe(ch, stream, n);
}

/* The agent's first answer: the request that opened the channel is answered. */
static void on_first_resp(struct ws_channel *ch, const unsigned char *p, size_t n)
{
        json_t *doc = json_loadb((const char *)p, n, 0, NULL);
        json_t *err = json_object_get(doc, "error");
        if (err) {
                const char *code = json_string_value(json_object_get(err, "code"));
                const char *msg = json_string_value(json_object_get(err, "message"));
                ws_client_error(ch->c, ch->req_id, 0, api_code_or(code, NS_E_INTERNAL), "%s",
                                msg ? msg : "the machine refused it");
                agentconn_chan_close(ch->agent, ch->achan);
                json_decref(doc);
                ws_channel_free(ch);
                return;
        }
        ch->answered = 1;
        ch->pid = (int)json_integer_value(json_object_get(doc, "pid"));
        json_object_set_new(doc, "type", json_string("reply"));
        json_object_set(doc, "id", ch->req_id);
        json_object_set_new(doc, "channel", json_integer(ch->id));
        json_object_set_new(doc, "machine", json_string(ch->machine));
        ws_client_send(ch->c, doc);
}

void ws_channel_on_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct ws_channel *ch = ud;
        if (!h) { /* the agent side is gone: detached for a checkpoint, or the machine stopped */
                ws_client_send(ch->c, json_pack("{s:s,s:I,s:s}", "type", "detached", "channel",
                                                (json_int_t)ch->id, "reason",
                                                p ? (const char *)p : "machine_stopped"));
                if (!ch->answered)
                        ws_client_error(ch->c, ch->req_id, 0, NS_E_MACHINE_NOT_RUNNING,
                                        "the machine stopped");
                ws_channel_free(ch);
                return;
        }
        switch (h->type) {
        case NSP_RESP:
                if (!ch->answered)
                        on_first_resp(ch, p, h->len);
                break;
        case NSP_DATA:
                if (h->flags == NSP_STDOUT || h->flags == NSP_STDERR)
                        on_output(ch, h->flags, p, h->len);
                break;
        case NSP_EXIT: {
                json_t *doc = json_loadb((const char *)p, h->len, 0, NULL);
                if (!doc)
                        doc = json_object();
                json_object_set_new(doc, "type", json_string("exit"));
                json_object_set_new(doc, "channel", json_integer(ch->id));
                agentconn_chan_close(ch->agent, ch->achan);
                ws_client_send(ch->c, doc);
                ws_channel_free(ch);
                break;
        }
        default:
                break;
        }
}

struct stdin_call {
        struct ws_client *c;
        json_t *id;
        uint32_t channel;
};

static void on_stdin_done(void *ud, json_t *resp, const json_t *err)
{
        struct stdin_call *sc = ud;
        if (sc->c->ws && (!resp || err))
                ws_client_error(sc->c, sc->id, sc->channel,
                                resp ? api_code_or(json_string_value(json_object_get(err, "code")),
                                                   NS_E_INTERNAL)
                                     : NS_E_MACHINE_NOT_RUNNING,
                                "%s",
                                resp ? json_string_value(json_object_get(err, "message"))
                                           ?: "refused"
                                     : "the machine stopped");
        json_decref(sc->id);
        ws_client_unref(sc->c);
        free(sc);
}

/* A process's stdin goes through proc_input (its answer says when the process has
 * 1 MiB unread: stdin_full), so a flood cannot grow the agent. */
static void proc_stdin(struct ws_channel *ch, json_t *id, const void *p, size_t n, int eof)
{
        json_t *data = json_base64(p, n);
        struct stdin_call *sc = calloc(1, sizeof(*sc));
        if (!data || !sc) {
                json_decref(data);
                free(sc);
                ws_client_error(ch->c, id, ch->id, NS_E_INTERNAL, "out of memory");
                return;
        }
        json_t *req = json_pack("{s:s,s:i,s:o,s:b}", "op", "proc_input", "pid", ch->pid, "data",
                                data, "eof", eof);
        *sc = (struct stdin_call){ch->c, id ? json_incref(id) : NULL, ch->id};
        ws_client_ref(ch->c);
        if (!agentconn_call(ch->agent, req, on_stdin_done, sc)) {
                ws_client_error(ch->c, id, ch->id, NS_E_MACHINE_NOT_RUNNING, "the machine stopped");
                json_decref(sc->id);
                ws_client_unref(ch->c);
                free(sc);
        }
        json_decref(req);
}

void ws_channel_stdin(struct ws_channel *ch, json_t *id, const void *p, size_t n, int eof)
{
        if (ch->kind == WCH_PROC) {
                proc_stdin(ch, id, p, n, eof);
        } else if (ch->kind == WCH_EXEC) {
                size_t took = agentconn_send_stdin(ch->agent, ch->achan, p, n);
                if (took < n)
                        ws_client_error(ch->c, id, ch->id, NS_E_STDIN_FULL,
                                        "the command has not read its stdin: %zu bytes dropped",
                                        n - took);
                if (eof)
                        agentconn_send_eof(ch->agent, ch->achan);
        } else {
                ws_client_error(ch->c, id, ch->id, NS_E_INVALID_REQUEST,
                                "channel %u takes no input", ch->id);
        }
}
