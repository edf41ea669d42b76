/* Byte relay between two sockets (see relay.h). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

static void reap(struct loop_timer *t)
{
        struct relay *r = (struct relay *)((char *)t - offsetof(struct relay, reap));
        free(r->s[0].buf);
        free(r->s[1].buf);
        free(r);
}

static void finish(struct relay *r, int connected)
{
        if (r->ended)
                return;
        r->ended = 1;
        loop_timer_cancel(r->loop, &r->timer);
        int client = r->s[0].io.fd;
        for (int i = 0; i < 2; i++)
                loop_io_del(r->loop, &r->s[i].io);
        /* a reset: no TIME_WAIT on either side; when the upstream closed first, our reset
         * ends its FIN_WAIT instead of the FIN that would leave it in TIME_WAIT */
        if ((r->abort_upstream || r->upstream_closed_first) && !r->connecting) {
                struct linger l = {1, 0};
                setsockopt(r->s[1].io.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        }
        close(r->s[1].io.fd);
        if (connected)
                close(client);
        if (r->on_end)
                r->on_end(r->ud, connected, &client);
        else if (!connected)
                close(client);
        loop_timer_arm(r->loop, &r->reap, 0, reap);
}

void relay_reply(struct relay *r, const void *p, size_t n)
{
        if (n > RELAY_BUF)
                n = RELAY_BUF;
        memcpy(r->s[1].buf, p, n); /* as if the upstream had sent it */
        r->s[1].len = n;
}

void relay_abortive(struct relay *r)
{
        r->abort_upstream = 1;
}

void relay_stop(struct relay *r)
{
        finish(r, !r->connecting);
}

/* Epoll interest of side i: read while its buffer has room and it has not ended;
 * write while the other side's bytes wait for it (or the connect is pending). */
static void update(struct relay *r)
{
        for (int i = 0; i < 2; i++) {
                struct relay_side *me = &r->s[i], *other = &r->s[1 - i];
                uint32_t ev = 0;
                if (!r->connecting && !me->eof && me->len < RELAY_BUF)
                        ev |= EPOLLIN;
                if ((i == 1 && r->connecting) || other->len > other->off)
                        ev |= EPOLLOUT;
                loop_io_mod(r->loop, &me->io, ev | EPOLLRDHUP);
        }
}

/* Writes what side `from` read to the other side. -1 on a socket error. */
static int flush_to(struct relay *r, int from)
{
        struct relay_side *src = &r->s[from], *dst = &r->s[1 - from];
        while (src->off < src->len) {
                ssize_t n = send(dst->io.fd, src->buf + src->off, src->len - src->off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n < 0)
                        return -1;
                src->off += (size_t)n;
        }
        src->off = src->len = 0;
        /* never a FIN upstream when it will be reset: a FIN would put an upstream that
         * closed first into TIME_WAIT, where it ignores the reset */
        if (src->eof && !dst->shut &&
            !(from == 0 && (r->abort_upstream || r->upstream_closed_first))) {
                shutdown(dst->io.fd, SHUT_WR);
                dst->shut = 1;
        }
        return 0;
}

/* Our end's state when the peer's FIN arrived tells who closed first: CLOSE_WAIT or
 * LAST_ACK (we had sent none) or CLOSING (both at once) leave the peer in TIME_WAIT. */
static int closed_first(int fd)
{
        struct tcp_info ti;
        socklen_t l = sizeof(ti);
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
                return 1; /* unknown: assume the worst */
        return ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_LAST_ACK ||
               ti.tcpi_state == TCP_CLOSING;
}

static int fill(struct relay *r, int i)
{
        struct relay_side *me = &r->s[i];
        while (!me->eof && me->len < RELAY_BUF) {
                ssize_t n = recv(me->io.fd, me->buf + me->len, RELAY_BUF - me->len, MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0)
                        return -1;
                if (n == 0) {
                        me->eof = 1;
                        if (i == 1 && !r->abort_upstream)
                                r->upstream_closed_first = closed_first(me->io.fd);
                }
                me->len += (size_t)n;
        }
        return 0;
}

static void on_connected(struct relay *r)
{
        int err = 0;
        socklen_t l = sizeof(err);
        if (getsockopt(r->s[1].io.fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
                finish(r, 0);
                return;
        }
        r->connecting = 0;
        loop_timer_arm(r->loop, &r->timer, r->idle_ms, r->timer.cb);
}

static void on_io(struct loop_io *io, uint32_t events)
{
        struct relay_side *me = (struct relay_side *)io;
        struct relay *r = me->r;
        int i = me == &r->s[0] ? 0 : 1;
        if (r->connecting) {
                if (i == 1 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
                        on_connected(r);
                if (r->ended || r->connecting)
                        return;
        }
        r->last_ms = r->loop->now_ms;
        if (fill(r, i) < 0 || flush_to(r, i) < 0 || flush_to(r, 1 - i) < 0) {
                finish(r, 1);
                return;
        }
        int done = 1;
        for (int k = 0; k < 2; k++)
                done &= r->s[k].eof && r->s[k].len == 0;
        if (r->abort_upstream && r->s[0].eof && r->s[0].len == 0)
                done = 1; /* the client is through: reset the upstream (finish) */
        if (done || (events & EPOLLERR)) {
                finish(r, 1);
                return;
        }
        update(r);
}

static void on_timer(struct loop_timer *t)
{
        struct relay *r = (struct relay *)((char *)t - offsetof(struct relay, timer));
        if (r->connecting) {
                finish(r, 0);
                return;
        }
        uint64_t quiet = r->loop->now_ms - r->last_ms;
        if (quiet >= r->idle_ms) {
                finish(r, 1);
                return;
        }
        loop_timer_arm(r->loop, &r->timer, r->idle_ms - quiet, on_timer);
}

struct relay *relay_start(struct loop *loop, int client, int upstream, const void *pre, size_t len,
                          unsigned connect_ms, unsigned idle_ms, relay_end_cb on_end, void *ud)
{
        if (len > RELAY_BUF)
                return NULL;
        struct relay *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        r->s[0].buf = malloc(RELAY_BUF);
        r->s[1].buf = malloc(RELAY_BUF);
        if (!r->s[0].buf || !r->s[1].buf) {
                free(r->s[0].buf);
                free(r->s[1].buf);
                free(r);
                return NULL;
        }
        r->loop = loop;
        r->connecting = 1;
        r->idle_ms = idle_ms;
        r->last_ms = loop->now_ms;
        r->on_end = on_end;
        r->ud = ud;
        if (len)                               /* (pre may be NULL when len is 0) */
                memcpy(r->s[0].buf, pre, len); /* as if the client had sent it */
        r->s[0].len = len;
        int fds[2] = {client, upstream};
        for (int i = 0; i < 2; i++) {
                r->s[i].r = r;
                r->s[i].io.fd = fds[i];
                r->s[i].io.cb = on_io;
                struct err e = {0};
                if (loop_io_add(loop, &r->s[i].io, i ? EPOLLOUT : EPOLLRDHUP, &e) < 0) {
                        if (i)
                                loop_io_del(loop, &r->s[0].io);
                        free(r->s[0].buf);
                        free(r->s[1].buf);
                        free(r);
                        return NULL;
                }
        }
        r->timer.cb = on_timer;
        loop_timer_arm(loop, &r->timer, connect_ms, on_timer);
        return r;
}
