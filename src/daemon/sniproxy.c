/* The machines' TLS filter (see sniproxy.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/dns.h"
#include "../common/log.h"
#include "../common/tls.h"
#include "../core/machine.h"
#include "app.h"
#include "http/relay.h"
#include "sniproxy.h"

#define HELLO_MS   10000
#define CONNECT_MS 10000
#define IDLE_MS    600000
#define MAX_CONNS  1024

struct sni_conn {
        struct loop_io io;
        struct sniproxy *p;
        struct sockaddr_in dst; /* where the machine was going */
        char machine[40];
        unsigned char hello[TLS_HELLO_MAX];
        size_t len;
        struct loop_timer timer; /* the hello must come within HELLO_MS */
        struct loop_timer reap;
        struct relay *relay;
        struct sni_conn *next;
};

static void reap(struct loop_timer *t)
{
        free((char *)t - offsetof(struct sni_conn, reap));
}

static void unlink_conn(struct sni_conn *c)
{
        struct sni_conn **pp = &c->p->conns;
        while (*pp && *pp != c)
                pp = &(*pp)->next;
        if (*pp) {
                *pp = c->next;
                c->p->nconns--;
        }
        loop_timer_cancel(&c->p->app->core.loop, &c->timer);
        loop_timer_arm(&c->p->app->core.loop, &c->reap, 0, reap);
}

/* Refuses: a reset, so the client fails at once. */
static void cut(struct sni_conn *c)
{
        struct linger l = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->io.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        loop_io_del(&c->p->app->core.loop, &c->io);
        close(c->io.fd);
        unlink_conn(c);
}

static void on_relay_end(void *ud, int connected, int *client_fd)
{
        struct sni_conn *c = ud;
        if (!connected)
                close(*client_fd);
        unlink_conn(c);
}

static void forward(struct sni_conn *c)
{
        loop_io_del(&c->p->app->core.loop, &c->io);
        loop_timer_cancel(&c->p->app->core.loop, &c->timer);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 ||
            (connect(fd, (struct sockaddr *)&c->dst, sizeof(c->dst)) < 0 && errno != EINPROGRESS)) {
                if (fd >= 0)
                        close(fd);
                cut(c);
                return;
        }
        c->relay = relay_start(&c->p->app->core.loop, c->io.fd, fd, c->hello, c->len, CONNECT_MS,
                               IDLE_MS, on_relay_end, c);
        if (!c->relay) {
                close(fd);
                cut(c);
        }
}

/* The hello is whole (or will never be): judge it. */
static void decide(struct sni_conn *c, int got, const char *sni)
{
        struct machine *m = machine_find(&c->p->app->core, c->machine);
        int allow = m && got >= 0 &&
                    machine_tls_verdict(m, ntohl(c->dst.sin_addr.s_addr), got > 0 ? sni : "");
        char d[16];
        inet_ntop(AF_INET, &c->dst.sin_addr, d, sizeof(d));
        log_debug("tls_filter", "machine=%s sni=%s dst=%s verdict=%s", c->machine,
                  got > 0 ? sni : "-", d, allow ? "allow" : "refuse");
        if (allow)
                forward(c);
        else
                cut(c);
}

static void on_io(struct loop_io *io, uint32_t events)
{
        struct sni_conn *c = (struct sni_conn *)io;
        (void)events;
        ssize_t n = recv(io->fd, c->hello + c->len, sizeof(c->hello) - c->len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                cut(c);
                return;
        }
        c->len += (size_t)n;
        char sni[DNS_NAME_MAX];
        int got = tls_hello_sni(c->hello, c->len, sni, sizeof(sni));
        if (got == -2 && c->len < sizeof(c->hello))
                return;
        decide(c, got == -2 ? -1 : got, sni);
}

static void on_hello_timeout(struct loop_timer *t)
{
        cut((struct sni_conn *)((char *)t - offsetof(struct sni_conn, timer)));
}

static void on_accept(struct loop_io *io, uint32_t events)
{
        (void)events;
        struct sniproxy *p = (struct sniproxy *)((char *)io - offsetof(struct sniproxy, lio));
        for (int k = 0; k < 64; k++) {
                struct sockaddr_in peer;
                socklen_t pl = sizeof(peer);
                int fd =
                    accept4(io->fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                        return;
                char addr[16];
                inet_ntop(AF_INET, &peer.sin_addr, addr, sizeof(addr));
                struct machine *m = machine_by_address(&p->app->core, addr);
                struct sni_conn *c = m && p->nconns < MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
                socklen_t dl = sizeof(c ? c->dst : peer);
                struct err e = {0};
                if (!c || getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &c->dst, &dl) < 0) {
                        free(c);
                        close(fd);
                        continue;
                }
                c->p = p;
                snprintf(c->machine, sizeof(c->machine), "%s", m->id);
                c->io.fd = fd;
                c->io.cb = on_io;
                if (loop_io_add(&p->app->core.loop, &c->io, EPOLLIN, &e) < 0) {
                        free(c);
                        close(fd);
                        continue;
                }
                c->next = p->conns;
                p->conns = c;
                p->nconns++;
                loop_timer_arm(&p->app->core.loop, &c->timer, HELLO_MS, on_hello_timeout);
        }
}

int sniproxy_start(struct sniproxy *p, struct app *app, struct err *e)
{
        memset(p, 0, sizeof(*p));
        p->app = app;
        struct sockaddr_in any = {.sin_family = AF_INET};
        socklen_t l = sizeof(any);
        int one = 1;
        p->lio.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->lio.fd < 0 || setsockopt(p->lio.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
            bind(p->lio.fd, (struct sockaddr *)&any, l) < 0 || listen(p->lio.fd, 256) < 0 ||
            getsockname(p->lio.fd, (struct sockaddr *)&any, &l) < 0) {
                int saved = errno;
                sniproxy_stop(p);
                return err_set(e, saved, "TLS filter socket");
        }
        p->port = ntohs(any.sin_port);
        p->lio.cb = on_accept;
        if (loop_io_add(&app->core.loop, &p->lio, EPOLLIN, e) < 0) {
                sniproxy_stop(p);
                return -EIO;
        }
        return 0;
}

void sniproxy_stop(struct sniproxy *p)
{
        if (p->lio.fd >= 0)
                close(p->lio.fd);
        p->lio.fd = -1;
}
