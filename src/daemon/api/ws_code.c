/* "code.run" channels (docs/websocket-protocol.md): a run of the machine's code
 * interpreter streamed as {"type":"code","channel","event"} messages, one per NDJSON line
 * the interpreter writes for a streamed POST /run (keep-alives dropped: the session has
 * its own pings), then {"type":"exit","channel"}.
 *
 * The daemon is the interpreter's HTTP client through a preview connection (preview.c:
 * the --max-connections count, the relay, dropped before a checkpoint) whose client
 * socket is one end of a socketpair; the channel holds the other end, writes the request
 * into it and parses the answer with llhttp (which undoes the chunking). A client that
 * closes the channel or the session closes that end: the interpreter sees its client
 * leave and interrupts the run, as for an HTTP client. The channel stops reading while
 * the session has WS_LOW_WATER bytes queued, so a slow client slows the run's output
 * down rather than growing the daemon. Loop thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../third_party/llhttp/llhttp.h"
#include "../../common/log.h"
#include "api.h"
#include "preview.h"
#include "wsapi.h"

#define CODE_LINE_MAX  (16u << 20) /* one event line (a result with its images) */
#define CODE_ERROR_MAX (64u << 10) /* an error answer's body */
#define CODE_READ      (64u << 10) /* read at once, between congestion checks */

struct ws_code {
        struct ws_channel *ch;
        struct loop_io io;
        struct buf out; /* the request, from out_off on not yet written */
        size_t out_off;
        llhttp_t http;
        llhttp_settings_t cbs;
        struct buf line; /* 200: the event line being assembled; else the error body */
        int ended;       /* the answer is complete */
        int failed;      /* an error went to the client: the channel is done */
};

static struct loop *loop_of(struct ws_code *wc)
{
        return &wc->ch->c->app->core.loop;
}

void ws_code_free(struct ws_code *wc)
{
        if (!wc)
                return;
        loop_io_del(loop_of(wc), &wc->io);
        close(wc->io.fd); /* the relay sees its client leave: the run is interrupted */
        buf_fini(&wc->out);
        buf_fini(&wc->line);
        free(wc);
}

/* Ends the channel with an error message (once). */
static void fail(struct ws_code *wc, enum ns_code code, const char *msg)
{
        struct ws_channel *ch = wc->ch;
        if (!wc->failed) /* before the reply it answers the request, after it the channel */
                ws_client_error(ch->c, ch->answered ? NULL : ch->req_id, ch->answered ? ch->id : 0,
                                code, "%s", msg);
        wc->failed = 1;
}

/* One NDJSON line of the stream: an event for the client. */
static int on_line(struct ws_code *wc, const char *p, size_t n)
{
        json_error_t je;
        json_t *ev = json_loadb(p, n, 0, &je);
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (!json_is_object(ev) || !type) {
                json_decref(ev);
                log_warn("code_stream", "machine=%s not an event line: %s", wc->ch->machine,
                         je.text);
                return 0; /* not ours to judge: the interpreter's log says more */
        }
        if (strcmp(type, "keepalive") != 0)
                ws_client_send(wc->ch->c, json_pack("{s:s,s:I,s:o}", "type", "code", "channel",
                                                    (json_int_t)wc->ch->id, "event", ev));
        else
                json_decref(ev);
        return 0;
}

static int on_headers(llhttp_t *h)
{
        struct ws_code *wc = h->data;
        struct ws_channel *ch = wc->ch;
        if (h->status_code != 200) {
                wc->line.limit = CODE_ERROR_MAX;
                return 0;
        }
        json_t *doc = json_pack("{s:s,s:I}", "type", "reply", "channel", (json_int_t)ch->id);
        if (!json_is_null(ch->req_id))
                json_object_set(doc, "id", ch->req_id);
        ws_client_send(ch->c, doc);
        ch->answered = 1;
        return 0;
}

static int on_body(llhttp_t *h, const char *p, size_t n)
{
        struct ws_code *wc = h->data;
        if (h->status_code != 200) { /* an error document: the part that fits */
                size_t room = wc->line.limit - wc->line.len;
                (void)buf_append(&wc->line, p, n < room ? n : room);
                return 0;
        }
        while (n) {
                const char *nl = memchr(p, '\n', n);
                size_t take = nl ? (size_t)(nl - p) : n;
                if (buf_append(&wc->line, p, take) < 0) {
                        fail(wc, NS_E_PAYLOAD_TOO_LARGE,
                             "an event of the run is over 16 MiB (start the run with "
                             "code/runs: larger results become artifacts)");
                        return HPE_USER;
                }
                if (!nl)
                        break;
                on_line(wc, wc->line.data ? wc->line.data : "", wc->line.len);
                buf_reset(&wc->line);
                p += take + 1;
                n -= take + 1;
        }
        return 0;
}

/* The answer ended: the run's end, or the interpreter's error as the channel's error. */
static int on_complete(llhttp_t *h)
{
        struct ws_code *wc = h->data;
        struct ws_channel *ch = wc->ch;
        wc->ended = 1;
        if (h->status_code == 200) {
                ws_client_send(
                    ch->c, json_pack("{s:s,s:I}", "type", "exit", "channel", (json_int_t)ch->id));
                return HPE_PAUSED;
        }
        char msg[512];
        enum ns_code code = api_agent_error((const unsigned char *)wc->line.data, wc->line.len,
                                            NS_E_INTERNAL, msg, sizeof(msg));
        fail(wc, code, msg[0] ? msg : "the code interpreter refused the run");
        return HPE_PAUSED;
}

/* Reads what the interpreter answered (once per readiness: the caller checks the
 * session's queue between reads). 1 when the channel is done, else 0. */
static int read_some(struct ws_code *wc)
{
        static char chunk[CODE_READ];
        ssize_t n = recv(wc->io.fd, chunk, sizeof(chunk), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                (void)llhttp_finish(&wc->http); /* an answer delimited by the close ends */
                if (wc->ended)
                        return 1;
                fail(wc, NS_E_MACHINE_NOT_RUNNING,
                     "the run's stream ended early (the machine stopped, hibernated or was "
                     "checkpointed)");
                return 1;
        }
        llhttp_errno_t rc = llhttp_execute(&wc->http, chunk, (size_t)n);
        if (rc == HPE_OK)
                return 0;
        if (rc != HPE_PAUSED && rc != HPE_USER)
                fail(wc, NS_E_INTERNAL, "the code interpreter's answer is not HTTP");
        return 1;
}

static void on_io(struct loop_io *io, uint32_t events)
{
        struct ws_code *wc = (struct ws_code *)((char *)io - offsetof(struct ws_code, io));
        struct ws_channel *ch = wc->ch;
        if ((events & EPOLLOUT) && wc->out_off < wc->out.len) {
                ssize_t n = send(io->fd, wc->out.data + wc->out_off, wc->out.len - wc->out_off,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n > 0)
                        wc->out_off += (size_t)n;
                if (wc->out_off == wc->out.len) {
                        buf_fini(&wc->out);
                        wc->out_off = 0;
                }
        }
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && read_some(wc)) {
                ws_channel_free(ch); /* frees wc */
                return;
        }
        ws_code_pump(ch);
}

void ws_code_pump(struct ws_channel *ch)
{
        struct ws_code *wc = ch->code;
        uint32_t ev = 0;
        if (ch->c->ws && ws_queued(ch->c->ws) < WS_LOW_WATER)
                ev |= EPOLLIN;
        if (wc->out.len)
                ev |= EPOLLOUT;
        loop_io_mod(loop_of(wc), &wc->io, ev);
}

void ws_code_pump_all(struct ws_client *c)
{
        for (struct ws_channel *ch = c->chans; ch; ch = ch->next)
                if (ch->kind == WCH_CODE)
                        ws_code_pump(ch);
}

/* The request: POST /run with the message's fields and "stream": true. */
static int request(struct ws_code *wc, json_t *fields, const char *request_id)
{
        json_t *body = json_deep_copy(fields);
        json_object_set_new(body, "stream", json_true());
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (!text)
                return -1;
        buf_init(&wc->out, WS_MAX_MESSAGE + 4096);
        int rc =
            buf_printf(&wc->out,
                       "POST /run HTTP/1.1\r\nHost: nscode\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\nX-Request-Id: %s\r\nConnection: close\r\n\r\n",
                       strlen(text), request_id);
        rc = rc < 0 ? rc : buf_append_str(&wc->out, text);
        free(text);
        return rc;
}

void ws_code_open(struct ws_client *c, json_t *id, struct machine *m, json_t *fields)
{
        struct app *app = c->app;
        char msg[200];
        enum ns_code refusal = preview_conn_refusal(app, m, msg, sizeof(msg));
        if (refusal != NS_OK) {
                ws_client_error(c, id, 0, refusal, "%s", msg);
                return;
        }
        struct ws_channel *ch = ws_channel_new(c, id, WCH_CODE, m->id);
        if (!ch)
                return; /* answered */
        struct ws_code *wc = calloc(1, sizeof(*wc));
        int sv[2];
        if (!wc || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
                free(wc);
                ws_channel_free(ch);
                ws_client_error(c, id, 0, NS_E_INTERNAL, "cannot open a channel: %s",
                                strerror(errno));
                return;
        }
        ch->code = wc;
        wc->ch = ch;
        wc->io = (struct loop_io){.fd = sv[0], .cb = on_io};
        buf_init(&wc->line, CODE_LINE_MAX);
        llhttp_settings_init(&wc->cbs);
        wc->cbs.on_headers_complete = on_headers;
        wc->cbs.on_body = on_body;
        wc->cbs.on_message_complete = on_complete;
        llhttp_init(&wc->http, HTTP_RESPONSE, &wc->cbs);
        wc->http.data = wc;
        struct err e = {0};
        struct preview_conn *pc = NULL;
        if (request(wc, fields, ws_request_id(c->ws)) < 0 ||
            loop_io_add(loop_of(wc), &wc->io, EPOLLOUT, &e) < 0 ||
            !(pc = preview_conn_open(app, m, CODE_PORT, sv[1], ws_request_id(c->ws)))) {
                close(sv[1]);
                ws_channel_free(ch); /* frees wc, closes sv[0] */
                ws_client_error(c, id, 0, NS_E_INTERNAL, "cannot open a channel: %s",
                                e.msg[0] ? e.msg : "out of memory");
                return;
        }
        pc->refused = api_service_refused; /* answers 409 code_interpreter_not_available */
        preview_conn_connect(pc, m);
}
