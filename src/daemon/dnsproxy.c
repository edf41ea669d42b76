/* The machines' resolver proxy (see dnsproxy.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../core/machine.h"
#include "app.h"
#include "dnsproxy.h"

#define QUERY_MS  5000
#define MAX_ADDRS 32

/* The first nameserver of /etc/resolv.conf ("IP:53"), or 127.0.0.1:53. */
static void host_resolver(char *out, size_t cap)
{
        FILE *f = fopen("/etc/resolv.conf", "re");
        char line[256], ip[48];
        snprintf(out, cap, "127.0.0.1:53");
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, " nameserver %47s", ip) == 1 && strchr(ip, '.')) {
                        snprintf(out, cap, "%s:53", ip);
                        break;
                }
        if (f)
                fclose(f);
}

static int parse_hostport(const char *s, struct sockaddr_in *a)
{
        char ip[64];
        unsigned port = 53;
        if (sscanf(s, "%63[0-9.]:%u", ip, &port) < 1 || port == 0 || port > 65535)
                return -1;
        memset(a, 0, sizeof(*a));
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        return inet_pton(AF_INET, ip, &a->sin_addr) == 1 ? 0 : -1;
}

static void answer_error(struct dnsproxy *p, const unsigned char *q, size_t n,
                         const struct sockaddr_in *to, unsigned rcode)
{
        unsigned char out[DNS_MSG_MAX];
        size_t len = dns_error_reply(q, n, rcode, out, sizeof(out));
        if (len)
                sendto(p->io.fd, out, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to));
}

static struct dns_pending *free_slot(struct dnsproxy *p, uint64_t now)
{
        for (int i = 0; i < DNSPROXY_PENDING; i++)
                if (!p->pend[i].used || p->pend[i].expires_ms < now)
                        return &p->pend[i];
        return NULL;
}

/* One query from a machine. */
static void on_query(struct dnsproxy *p, unsigned char *msg, size_t n,
                     const struct sockaddr_in *from)
{
        struct dns_query q;
        char addr[16];
        inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
        struct machine *m = machine_by_address(&p->app->core, addr);
        if (!m || dns_parse_query(msg, n, &q) < 0)
                return; /* not ours, or not a query: dropped */
        int verdict = machine_dns_verdict(m, q.name);
        struct dns_pending *slot = free_slot(p, p->app->core.loop.now_ms);
        if (verdict < 0 || !slot) {
                log_debug("dns_refused", "machine=%s name=%s", m->id, q.name);
                answer_error(p, msg, n, from, DNS_RCODE_REFUSED);
                return;
        }
        *slot = (struct dns_pending){.used = 1,
                                     .up_id = p->next_id++,
                                     .client_id = q.id,
                                     .client = *from,
                                     .learn = verdict > 0,
                                     .expires_ms = p->app->core.loop.now_ms + QUERY_MS};
        snprintf(slot->machine, sizeof(slot->machine), "%s", m->id);
        msg[0] = (unsigned char)(slot->up_id >> 8);
        msg[1] = (unsigned char)slot->up_id;
        if (send(p->up.fd, msg, n, MSG_DONTWAIT) < 0)
                slot->used = 0;
}

/* One answer from upstream. */
static void on_answer(struct dnsproxy *p, unsigned char *msg, size_t n)
{
        if (n < 12)
                return;
        uint16_t id = (uint16_t)(msg[0] << 8 | msg[1]);
        struct dns_pending *s = NULL;
        for (int i = 0; i < DNSPROXY_PENDING && !s; i++)
                if (p->pend[i].used && p->pend[i].up_id == id)
                        s = &p->pend[i];
        if (!s)
                return;
        s->used = 0;
        struct machine *m = machine_find(&p->app->core, s->machine);
        if (!m)
                return;
        if (s->learn) {
                uint32_t addrs[MAX_ADDRS], ttls[MAX_ADDRS];
                int got = dns_answer_a(msg, n, addrs, ttls, MAX_ADDRS);
                if (got > 0)
                        machine_dns_learn(m, addrs, ttls, got);
        }
        msg[0] = (unsigned char)(s->client_id >> 8);
        msg[1] = (unsigned char)s->client_id;
        sendto(p->io.fd, msg, n, MSG_DONTWAIT, (const struct sockaddr *)&s->client,
               sizeof(s->client));
}

static void on_io(struct loop_io *io, uint32_t events)
{
        (void)events;
        struct dnsproxy *p = (struct dnsproxy *)((char *)io - offsetof(struct dnsproxy, io));
        unsigned char msg[DNS_MSG_MAX];
        for (int k = 0; k < 64; k++) {
                struct sockaddr_in from;
                socklen_t fl = sizeof(from);
                ssize_t n =
                    recvfrom(io->fd, msg, sizeof(msg), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
                if (n < 0)
                        break;
                on_query(p, msg, (size_t)n, &from);
        }
}

static void on_up(struct loop_io *io, uint32_t events)
{
        (void)events;
        struct dnsproxy *p = (struct dnsproxy *)((char *)io - offsetof(struct dnsproxy, up));
        unsigned char msg[DNS_MSG_MAX];
        for (int k = 0; k < 64; k++) {
                ssize_t n = recv(io->fd, msg, sizeof(msg), MSG_DONTWAIT);
                if (n < 0)
                        break;
                on_answer(p, msg, (size_t)n);
        }
}

int dnsproxy_start(struct dnsproxy *p, struct app *app, const char *upstream, struct err *e)
{
        memset(p, 0, sizeof(*p));
        p->app = app;
        p->io.fd = p->up.fd = -1;
        rand_bytes(&p->next_id, sizeof(p->next_id));
        if (upstream)
                snprintf(p->upstream, sizeof(p->upstream), "%s", upstream);
        else
                host_resolver(p->upstream, sizeof(p->upstream));
        struct sockaddr_in any = {.sin_family = AF_INET}, up;
        if (parse_hostport(p->upstream, &up) < 0)
                return err_set(e, EINVAL, "DNS upstream %s: want IP[:PORT]", p->upstream);
        socklen_t l = sizeof(any);
        p->io.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        p->up.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->io.fd < 0 || p->up.fd < 0 || bind(p->io.fd, (struct sockaddr *)&any, l) < 0 ||
            getsockname(p->io.fd, (struct sockaddr *)&any, &l) < 0 ||
            connect(p->up.fd, (struct sockaddr *)&up, sizeof(up)) < 0) {
                int saved = errno;
                dnsproxy_stop(p);
                return err_set(e, saved, "DNS proxy sockets");
        }
        p->port = ntohs(any.sin_port);
        p->io.cb = on_io;
        p->up.cb = on_up;
        if (loop_io_add(&app->core.loop, &p->io, EPOLLIN, e) < 0 ||
            loop_io_add(&app->core.loop, &p->up, EPOLLIN, e) < 0) {
                dnsproxy_stop(p);
                return -EIO;
        }
        return 0;
}

void dnsproxy_stop(struct dnsproxy *p)
{
        if (p->io.fd >= 0)
                close(p->io.fd);
        if (p->up.fd >= 0)
                close(p->up.fd);
        p->io.fd = p->up.fd = -1;
}
