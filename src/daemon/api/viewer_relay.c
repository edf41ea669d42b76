/* A desktop viewer's WebSocket relayed to the machine's VNC server (viewer.h).
 *
 * The daemon is nsdesktop's client through a preview connection (preview.c: the
 * --max-connections count, a resume first, the relay, dropped before a checkpoint)
 * whose client socket is one end of a socketpair: it asks GET /vnc, and once nsdesktop
 * answers 101 the socket carries RFB to and from x11vnc on the machine's loopback. Binary
 * WebSocket messages are the RFB stream, in both directions, cut anywhere. A view-only
 * viewer's stream goes through rfb_filter (common/rfb.h): its input never reaches the
 * machine. Errors end the WebSocket with close code 4000 + the error's HTTP status and
 * its code as the reason (4409 desktop_not_available); the desktop going away (the
 * machine stopped or was checkpointed) ends it with 1001. A viewer that leaves ends the
 * machine's side with a half-close, after everything it sent (drain). Reading from the machine
 * stops while WS_LOW_WATER bytes wait for a slow viewer. Loop thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/rfb.h"
#include "../http/ws.h"
#include "api.h"
#include "preview.h"
#include "viewer.h"

#define HEAD_MAX  (16u << 10) /* nsdesktop's answer to GET /vnc, an error's body included */
#define UP_MAX    (4u << 20)  /* viewer bytes not yet taken by the machine */
#define READ_SIZE (64u << 10)

struct viewer {
        struct app *app;
        struct ws_session *ws; /* NULL once the session ended */
        struct loop_io io;     /* our end of the socketpair; fd -1 once closed */
        char machine[MACHINE_ID_MAX];
        int view_only;
        struct rfb_filter rfb;
        struct buf answer; /* nsdesktop's answer until its 101 */
        int upgraded;
        struct buf up; /* bytes for the machine, from up_off on not yet written */
        size_t up_off;
        int ended;    /* the close is under way: nothing more goes either way */
        int draining; /* the viewer left: its last input goes on to the machine (drain) */
        int shut;     /* ... and was all written: our end is half-closed */
};

static struct loop *loop_of(struct viewer *v)
{
        return &v->app->core.loop;
}

static void drop_socket(struct viewer *v)
{
        if (v->io.fd < 0)
                return;
        loop_io_del(loop_of(v), &v->io);
        close(v->io.fd);
        v->io.fd = -1;
}

/* Ends the session (once): code and reason to the viewer, the machine's side closed. */
static void end(struct viewer *v, uint16_t code, const char *reason)
{
        if (v->ended)
                return;
        v->ended = 1;
        drop_socket(v);
        char r[121]; /* a close frame's reason is at most 123 bytes */
        snprintf(r, sizeof(r), "%s", reason);
        if (v->ws) {
                ws_close(v->ws, code, r);
                ws_kick(v->ws);
        }
        log_info("desktop_viewer_end", "machine=%s code=%u reason=\"%s\" dropped_input=%llu",
                 v->machine, code, r, (unsigned long long)v->rfb.dropped);
}

static void pump(struct viewer *v)
{
        if (v->io.fd < 0)
                return;
        uint32_t ev = 0;
        if (v->ws && ws_queued(v->ws) < WS_LOW_WATER)
                ev |= EPOLLIN;
        if (v->upgraded && v->up_off < v->up.len)
                ev |= EPOLLOUT;
        loop_io_mod(loop_of(v), &v->io, ev);
}

/* nsdesktop's answer so far: 1 once it is a 101 (what follows it went to the viewer),
 * 0 while it is incomplete, -1 after ending the session (an error answer, complete at
 * eof). */
static int take_answer(struct viewer *v, int eof)
{
        const char *a = v->answer.data ? v->answer.data : "";
        const char *head_end = memmem(a, v->answer.len, "\r\n\r\n", 4);
        if (head_end && strncmp(a, "HTTP/1.1 101 ", 13) == 0) {
                size_t used = (size_t)(head_end + 4 - a);
                v->upgraded = 1;
                if (v->answer.len > used &&
                    ws_send_binary(v->ws, a + used, v->answer.len - used, NULL, 0) < 0)
                        return end(v, 1008, "the viewer is too slow"), -1;
                ws_kick(v->ws);
                buf_fini(&v->answer);
                return 1;
        }
        if (!eof && v->answer.len < HEAD_MAX)
                return 0;
        char msg[300] = "", reason[200];
        enum ns_code code = NS_E_UPSTREAM_UNREACHABLE;
        if (head_end)
                code = api_agent_error((const unsigned char *)head_end + 4,
                                       v->answer.len - (size_t)(head_end + 4 - a), NS_E_INTERNAL,
                                       msg, sizeof(msg));
        snprintf(reason, sizeof(reason), "%s: %s", ns_code_def(code)->name,
                 msg[0] ? msg : "the desktop did not answer");
        end(v, (uint16_t)(4000 + ns_code_def(code)->http_status), reason);
        return -1;
}

/* Reads what the machine sent (once per readiness). */
static void read_some(struct viewer *v)
{
        static char chunk[READ_SIZE];
        ssize_t n = recv(v->io.fd, chunk, sizeof(chunk), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                if (!v->upgraded)
                        take_answer(v, 1);
                else
                        end(v, 1001, "the desktop went away (the machine stopped or hibernated)");
                return;
        }
        if (!v->upgraded) {
                if (buf_append(&v->answer, chunk, (size_t)n) < 0)
                        take_answer(v, 1); /* too long for a 101: an error's body */
                else
                        take_answer(v, 0);
                return;
        }
        if (ws_send_binary(v->ws, chunk, (size_t)n, NULL, 0) < 0)
                end(v, 1008, "the viewer is too slow");
        else
                ws_kick(v->ws);
}

static void write_some(struct viewer *v)
{
        ssize_t n = send(v->io.fd, v->up.data + v->up_off, v->up.len - v->up_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
                end(v, 1001, "the desktop went away (the machine stopped or hibernated)");
                return;
        }
        if (n > 0)
                v->up_off += (size_t)n;
        if (v->up_off == v->up.len) {
                buf_reset(&v->up);
                v->up_off = 0;
        }
}

static void free_viewer(struct viewer *v)
{
        drop_socket(v);
        buf_fini(&v->answer);
        buf_fini(&v->up);
        free(v);
}

/* After the viewer left: what it sent last goes on to the machine, then a half-close;
 * what comes back is dropped until the machine's side ends (nsdesktop gives the VNC
 * server DRAIN_S to read it all and close: keys typed just before a viewer leaves still
 * arrive), and v is freed. A reset or a checkpoint ends it at once. */
static void drain(struct viewer *v, uint32_t events)
{
        if ((events & EPOLLOUT) && v->up_off < v->up.len) {
                ssize_t n = send(v->io.fd, v->up.data + v->up_off, v->up.len - v->up_off,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n > 0)
                        v->up_off += (size_t)n;
                else if (n < 0 && errno != EAGAIN && errno != EINTR)
                        drop_socket(v);
        }
        if (v->io.fd >= 0 && v->up_off == v->up.len && !v->shut) {
                shutdown(v->io.fd, SHUT_WR);
                v->shut = 1;
        }
        if (v->io.fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                static char sink[READ_SIZE];
                ssize_t n = recv(v->io.fd, sink, sizeof(sink), MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        drop_socket(v);
        }
        if (v->io.fd < 0) {
                free_viewer(v);
                return;
        }
        loop_io_mod(loop_of(v), &v->io, EPOLLIN | (v->shut ? 0 : EPOLLOUT));
}

static void on_io(struct loop_io *io, uint32_t events)
{
        struct viewer *v = (struct viewer *)((char *)io - offsetof(struct viewer, io));
        if (v->draining) {
                drain(v, events);
                return;
        }
        if ((events & EPOLLOUT) && v->upgraded && v->up_off < v->up.len)
                write_some(v);
        if (!v->ended && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                read_some(v);
        if (!v->ended)
                pump(v);
}

/* RFB from the viewer: filtered when view-only, queued for the machine. */
static void on_binary(struct ws_session *ws, const char *data, size_t len, void *user)
{
        (void)ws;
        struct viewer *v = user;
        if (v->ended)
                return;
        const char *why = "the viewer sends faster than the desktop takes";
        int rc = v->view_only
                     ? rfb_filter_feed(&v->rfb, (const unsigned char *)data, len, &v->up, &why)
                 : buf_append(&v->up, data, len) < 0 ? -2
                                                     : 0;
        if (rc < 0) {
                end(v, 1008, why);
                return;
        }
        pump(v);
}

static void on_text(struct ws_session *ws, const char *data, size_t len, void *user)
{
        (void)ws, (void)data, (void)len;
        end(user, 1003, "the viewer's messages are binary (RFB)");
}

static void on_writable(struct ws_session *ws, void *user)
{
        (void)ws;
        struct viewer *v = user;
        if (!v->ended)
                pump(v);
}

static void on_close(struct ws_session *ws, void *user)
{
        (void)ws;
        struct viewer *v = user;
        v->ws = NULL;
        if (!v->ended)
                log_info("desktop_viewer_end", "machine=%s by=viewer dropped_input=%llu",
                         v->machine, (unsigned long long)v->rfb.dropped);
        if (!v->ended && v->upgraded && v->io.fd >= 0) {
                v->draining = 1;
                drain(v, EPOLLOUT);
                return;
        }
        free_viewer(v);
}

static const struct ws_handlers handlers = {
    .on_text = on_text,
    .on_binary = on_binary,
    .on_writable = on_writable,
    .on_close = on_close,
};

void viewer_relay_start(struct http_exchange *ex, struct machine *m, int view_only)
{
        struct viewer *v = calloc(1, sizeof(*v));
        if (!v) {
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        v->app = ex->app;
        v->view_only = view_only;
        v->io = (struct loop_io){.fd = -1, .cb = on_io};
        snprintf(v->machine, sizeof(v->machine), "%s", m->id);
        rfb_filter_init(&v->rfb);
        buf_init(&v->answer, HEAD_MAX);
        buf_init(&v->up, UP_MAX);
        if (http_ws_accept(ex, &handlers, v, &v->ws) < 0) { /* answered */
                free(v);
                return;
        }
        char head[200];
        int hn = snprintf(head, sizeof(head),
                          "GET /vnc HTTP/1.1\r\nHost: nsdesktop\r\nX-Request-Id: %s\r\n\r\n",
                          ex->request_id);
        int sv[2];
        struct err e = {0};
        struct preview_conn *pc = NULL;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
                end(v, 1011, "cannot open the viewer: no socket");
                return;
        }
        v->io.fd = sv[0];
        if (loop_io_add(loop_of(v), &v->io, EPOLLIN, &e) < 0) {
                close(sv[0]);
                close(sv[1]);
                v->io.fd = -1;
                end(v, 1011, "cannot open the viewer: the event loop refused its socket");
                return;
        }
        /* the request waits in the socketpair until the relay connects */
        if (send(sv[0], head, (size_t)hn, MSG_NOSIGNAL) != hn ||
            !(pc = preview_conn_open(v->app, m, DESKTOP_PORT, sv[1], ex->request_id))) {
                close(sv[1]);
                end(v, 1011, "cannot open the viewer: out of memory");
                return;
        }
        /* not abortive: the viewer's last input must reach the machine (a checkpoint
         * resets the connection while it is listed, preview_drop_machine) */
        pc->refused = api_service_refused; /* answers 409 desktop_not_available */
        log_info("desktop_viewer_start", "machine=%s view_only=%d request_id=%s", m->id, view_only,
                 ex->request_id);
        preview_conn_start(pc, m, preview_conn_connect);
}
