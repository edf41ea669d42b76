/* Listening socket, accept with a connection limit, the timeout sweep and the
 * graceful drain on SIGTERM. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/log.h"
#include "conn.h"

#define SWEEP_MS     1000
#define REFUSE_SLOTS 64

void http_server_cfg_defaults(struct http_server_cfg *cfg)
{
        cfg->max_conns = 1024;
        cfg->max_head = 16384;
        cfg->idle_timeout_ms = 60000;
        cfg->request_timeout_ms = 30000;
        cfg->drain_timeout_ms = 10000;
}

static int split_hostport(const char *hostport, char *host, size_t hcap, char *port, size_t pcap)
{
        const char *colon = strrchr(hostport, ':');
        if (!colon || colon == hostport || colon[1] == '\0')
                return -1;
        size_t hl = (size_t)(colon - hostport);
        if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']') {
                hostport++;
                hl -= 2;
        }
        if (hl >= hcap || strlen(colon + 1) >= pcap)
                return -1;
        memcpy(host, hostport, hl);
        host[hl] = '\0';
        snprintf(port, pcap, "%s", colon + 1);
        return 0;
}

static void describe_addr(const struct sockaddr_storage *ss, char *out, size_t cap)
{
        char host[INET6_ADDRSTRLEN] = "?";
        unsigned port = 0;
        if (ss->ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
                inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
                port = ntohs(a->sin_port);
                snprintf(out, cap, "%s:%u", host, port);
        } else if (ss->ss_family == AF_INET6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
                inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
                port = ntohs(a->sin6_port);
                snprintf(out, cap, "[%s]:%u", host, port);
        } else {
                snprintf(out, cap, "unix");
        }
}

static int open_listener(const char *hostport, char *bound, size_t bcap, struct err *e)
{
        char host[256], port[16];
        if (split_hostport(hostport, host, sizeof(host), port, sizeof(port)) < 0)
                return err_set(e, EINVAL, "listen address '%s' is not HOST:PORT", hostport);
        struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *ai = NULL;
        int gr = getaddrinfo(host, port, &hints, &ai);
        if (gr != 0)
                return err_set(e, EINVAL, "listen address '%s': %s", hostport, gai_strerror(gr));
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                freeaddrinfo(ai);
                return err_set(e, errno, "socket");
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0) {
                int saved = errno;
                freeaddrinfo(ai);
                close(fd);
                return err_set(e, saved, "listen on %s", hostport);
        }
        freeaddrinfo(ai);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        describe_addr(&ss, bound, bcap);
        return fd;
}

static void on_accept(struct loop_io *io, uint32_t events)
{
        (void)events;
        struct http_server *s =
            (struct http_server *)((char *)io - offsetof(struct http_server, lio));
        for (int i = 0; i < 64; i++) {
                struct sockaddr_storage ss;
                socklen_t sl = sizeof(ss);
                int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warn("accept_failed", "errno=%d", errno);
                        return;
                }
                /* a few connections past the limit get a 503 answer; beyond, a close */
                if (s->nconns >= s->cfg.max_conns + REFUSE_SLOTS) {
                        close(fd);
                        continue;
                }
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                char peer[64];
                describe_addr(&ss, peer, sizeof(peer));
                if (s->nconns >= s->cfg.max_conns)
                        conn_refuse(s, fd, peer);
                else
                        conn_new(s, fd, peer);
        }
}

static void on_sweep(struct loop_timer *t)
{
        struct http_server *s =
            (struct http_server *)((char *)t - offsetof(struct http_server, sweep));
        uint64_t now = s->loop->now_ms;
        struct http_conn *c = s->conns;
        while (c) {
                struct http_conn *next = c->next;
                conn_check_timeouts(c, now);
                c = next;
        }
        if (s->lio.fd >= 0 || s->nconns > 0)
                loop_timer_arm(s->loop, &s->sweep, SWEEP_MS, on_sweep);
}

int http_server_start(struct http_server *s, struct loop *loop, const char *hostport,
                      const struct http_server_cfg *cfg, const struct http_app *app, struct err *e)
{
        memset(s, 0, sizeof(*s));
        s->loop = loop;
        s->cfg = *cfg;
        s->app = *app;
        int fd = open_listener(hostport, s->bound, sizeof(s->bound), e);
        if (fd < 0)
                return fd;
        s->lio.fd = fd;
        s->lio.cb = on_accept;
        int r = loop_io_add(loop, &s->lio, EPOLLIN, e);
        if (r < 0) {
                close(fd);
                s->lio.fd = -1;
                return r;
        }
        loop_timer_arm(loop, &s->sweep, SWEEP_MS, on_sweep);
        return 0;
}

static void close_listener(struct http_server *s)
{
        if (s->lio.fd < 0)
                return;
        loop_io_del(s->loop, &s->lio);
        close(s->lio.fd);
        s->lio.fd = -1;
}

static void on_drain_timeout(struct loop_timer *t)
{
        struct http_server *s =
            (struct http_server *)((char *)t - offsetof(struct http_server, drain_timer));
        log_warn("drain_timeout", "open_connections=%u", s->nconns);
        while (s->conns)
                conn_close(s->conns); /* the last one calls on_drained */
}

void http_server_drain(struct http_server *s, void (*done)(struct http_server *s))
{
        s->draining = 1;
        s->on_drained = done;
        close_listener(s);
        struct http_conn *c = s->conns;
        while (c) {
                struct http_conn *next = c->next;
                int idle = c->state == CONN_READING && !c->partial && c->out.len == 0;
                if (idle || c->state == CONN_WS || c->state == CONN_LINGER)
                        conn_close(c);
                else
                        c->close_after = 1;
                c = next;
        }
        if (s->nconns == 0) {
                s->on_drained = NULL;
                done(s);
                return;
        }
        loop_timer_arm(s->loop, &s->drain_timer, s->cfg.drain_timeout_ms, on_drain_timeout);
}

void http_server_reap(struct loop_timer *t)
{
        struct http_server *s =
            (struct http_server *)((char *)t - offsetof(struct http_server, reap_timer));
        while (s->graveyard) {
                struct http_conn *c = s->graveyard;
                s->graveyard = c->next;
                free(c);
        }
}

void http_server_fini(struct http_server *s)
{
        close_listener(s);
        s->on_drained = NULL;
        while (s->conns)
                conn_close(s->conns);
        loop_timer_cancel(s->loop, &s->sweep);
        loop_timer_cancel(s->loop, &s->drain_timer);
        loop_timer_cancel(s->loop, &s->reap_timer);
        http_server_reap(&s->reap_timer);
}

const char *http_status_text(int status)
{
        switch (status) {
        case 100:
                return "Continue";
        case 101:
                return "Switching Protocols";
        case 200:
                return "OK";
        case 201:
                return "Created";
        case 202:
                return "Accepted";
        case 204:
                return "No Content";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 408:
                return "Request Timeout";
        case 409:
                return "Conflict";
        case 413:
                return "Content Too Large";
        case 415:
                return "Unsupported Media Type";
        case 431:
                return "Request Header Fields Too Large";
        case 500:
                return "Internal Server Error";
        case 503:
                return "Service Unavailable";
        case 507:
                return "Insufficient Storage";
        default:
                return "Unknown";
        }
}
