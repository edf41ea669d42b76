/* The HTTP server in-process, with its own routes, driven by a client thread over
 * loopback: a streamed upload much larger than any buffer (with input paused and
 * resumed by the consumer) and a streamed chunked download, both with bounded memory. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/daemon/http/server.h"
#include "tap.h"

#define UPLOAD_BYTES   (64ull << 20)
#define DOWNLOAD_BYTES (64ull << 20)

struct test_app {
        struct loop loop;
        struct http_server srv;
        uint64_t got, sum;
        unsigned pauses;
        struct loop_timer resume;
        struct http_exchange *paused;
};

static struct test_app T;

static void on_resume(struct loop_timer *t)
{
        (void)t;
        http_resume_input(T.paused);
}

static enum ns_code sink_body(struct http_exchange *ex, const char *d, size_t n)
{
        for (size_t i = 0; i < n; i++)
                T.sum += (unsigned char)d[i];
        T.got += n;
        if (T.got / (1u << 20) != (T.got - n) / (1u << 20)) {
                /* every MiB the consumer is "full" for a moment */
                T.pauses++;
                T.paused = ex;
                http_pause_input(ex);
                loop_timer_arm(&T.loop, &T.resume, 0, on_resume);
        }
        return NS_OK;
}

static void sink_done(struct http_exchange *ex)
{
        char body[128];
        int n = snprintf(body, sizeof(body), "%llu %llu", (unsigned long long)T.got,
                         (unsigned long long)T.sum);
        http_respond(ex, 200, "text/plain", body, (size_t)n);
}

struct gen {
        uint64_t left;
};

static ssize_t gen_read(void *ctx, char *dst, size_t cap)
{
        struct gen *g = ctx;
        size_t n = g->left < cap ? (size_t)g->left : cap;
        memset(dst, 'z', n);
        g->left -= n;
        return (ssize_t)n;
}

static void source(struct http_exchange *ex)
{
        struct gen *g = malloc(sizeof(*g));
        g->left = DOWNLOAD_BYTES;
        struct http_body_src src = {gen_read, free, g};
        http_respond_stream(ex, 200, "application/octet-stream", src);
}

static void stop(struct http_exchange *ex)
{
        http_respond(ex, 200, "text/plain", "bye", 3);
        loop_stop(&T.loop);
}

static enum ns_code no_auth(struct http_exchange *ex)
{
        (void)ex;
        return NS_OK;
}

static const struct route routes[] = {
    {"POST", "/sink", sink_done, ROUTE_PUBLIC, SIZE_MAX, sink_body},
    {"GET", "/source", source, ROUTE_PUBLIC, 0, NULL},
    {"POST", "/stop", stop, ROUTE_PUBLIC, 0, NULL},
};

static int port;
static uint64_t client_sent, client_sum, client_downloaded;
static char sink_reply[128];
static int download_ok;

static int dial(void)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
                return -1;
        return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
        const char *c = p;
        while (n) {
                ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
                if (w <= 0)
                        return;
                c += w;
                n -= (size_t)w;
        }
}

static size_t read_all(int fd, char *buf, size_t cap)
{
        size_t got = 0;
        ssize_t r;
        while (got < cap && (r = recv(fd, buf + got, cap - got, 0)) > 0)
                got += (size_t)r;
        return got;
}

/* Reads a chunked response after its head, counting payload bytes. */
static uint64_t read_chunked(int fd)
{
        static char buf[1 << 16];
        size_t len = 0, off = 0;
        uint64_t payload = 0, want = 0;
        int in_head = 1, done = 0;
        while (!done) {
                ssize_t r = recv(fd, buf + len, sizeof(buf) - len, 0);
                if (r <= 0)
                        break;
                len += (size_t)r;
                for (;;) {
                        if (in_head) {
                                char *e = memmem(buf + off, len - off, "\r\n\r\n", 4);
                                if (!e)
                                        break;
                                off = (size_t)(e - buf) + 4;
                                in_head = 0;
                        } else if (want == 0) {
                                char *e = memmem(buf + off, len - off, "\r\n", 2);
                                if (!e)
                                        break;
                                want = strtoull(buf + off, NULL, 16);
                                off = (size_t)(e - buf) + 2;
                                if (want == 0) {
                                        done = 1;
                                        break;
                                }
                                want += 2; /* the chunk's CRLF */
                        } else {
                                size_t n = len - off < want ? len - off : (size_t)want;
                                if (n == 0)
                                        break;
                                payload += want > 2 ? (n < want - 2 ? n : want - 2) : 0;
                                want -= n;
                                off += n;
                        }
                }
                memmove(buf, buf + off, len - off);
                len -= off;
                off = 0;
        }
        return payload;
}

static void *client(void *arg)
{
        (void)arg;
        int fd = dial();
        const char head[] = "POST /sink HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        send_all(fd, head, sizeof(head) - 1);
        static char chunk[100000];
        for (size_t i = 0; i < sizeof(chunk); i++)
                chunk[i] = (char)(i * 7);
        while (client_sent < UPLOAD_BYTES) {
                size_t n = UPLOAD_BYTES - client_sent < sizeof(chunk)
                               ? (size_t)(UPLOAD_BYTES - client_sent)
                               : sizeof(chunk);
                char sz[32];
                int k = snprintf(sz, sizeof(sz), "%zx\r\n", n);
                send_all(fd, sz, (size_t)k);
                send_all(fd, chunk, n);
                send_all(fd, "\r\n", 2);
                for (size_t i = 0; i < n; i++)
                        client_sum += (unsigned char)chunk[i];
                client_sent += n;
        }
        send_all(fd, "0\r\n\r\n", 5);
        char resp[512] = {0};
        size_t got = 0;
        while (got < sizeof(resp) - 1 && !strstr(resp, "\r\n\r\n")) {
                ssize_t r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
                if (r <= 0)
                        break;
                got += (size_t)r;
        }
        char *body = strstr(resp, "\r\n\r\n");
        if (body) {
                while (strlen(body + 4) < 3 && got < sizeof(resp) - 1) {
                        ssize_t r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
                        if (r <= 0)
                                break;
                        got += (size_t)r;
                }
                snprintf(sink_reply, sizeof(sink_reply), "%s", body + 4);
        }
        const char get[] = "GET /source HTTP/1.1\r\nHost: t\r\n\r\n";
        send_all(fd, get, sizeof(get) - 1);
        client_downloaded = read_chunked(fd);
        download_ok = 1;
        const char bye[] = "POST /stop HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        send_all(fd, bye, sizeof(bye) - 1);
        char tail[512];
        read_all(fd, tail, sizeof(tail));
        close(fd);
        return NULL;
}

static long max_rss_kib(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_maxrss;
}

int main(void)
{
        struct err e;
        struct http_server_cfg cfg;
        http_server_cfg_defaults(&cfg);
        struct http_app app = {.routes = routes, .nroutes = 3, .authenticate = no_auth, .ctx = &T};
        ok(loop_init(&T.loop, &e) == 0, "loop");
        ok(http_server_start(&T.srv, &T.loop, "127.0.0.1:0", &cfg, &app, &e) == 0,
           "server listens on %s", T.srv.bound);
        port = atoi(strrchr(T.srv.bound, ':') + 1);
        long rss0 = max_rss_kib();
        pthread_t th;
        pthread_create(&th, NULL, client, NULL);
        loop_run(&T.loop);
        pthread_join(th, NULL);
        long grown = max_rss_kib() - rss0;

        is_int(T.got, UPLOAD_BYTES, "the streamed upload arrived whole");
        ok(T.sum == client_sum, "... byte for byte (checksum)");
        ok(T.pauses >= 60, "the consumer paused and resumed input %u times", T.pauses);
        char want[64];
        snprintf(want, sizeof(want), "%llu %llu", (unsigned long long)UPLOAD_BYTES,
                 (unsigned long long)client_sum);
        is_str(sink_reply, want, "the handler answered after the body");
        ok(download_ok, "download finished");
        is_int(client_downloaded, DOWNLOAD_BYTES, "the chunked download arrived whole");
        ok(grown < 16 * 1024, "memory stayed bounded: max RSS grew %ld KiB for 128 MiB moved",
           grown);
        http_server_fini(&T.srv);
        loop_fini(&T.loop);
        return tap_done();
}
