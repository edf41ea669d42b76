/* The bounded HTTP request parser: byte-by-byte input, pipelining, chunked bodies,
 * header limits and malformed input. */
#include <stdlib.h>

#include "../../src/daemon/http/parse.h"
#include "tap.h"

struct sink {
        int heads, completes;
        char body[4096];
        size_t body_len;
        char method[16], path[256], query[256], host[64];
        int chunked, keep_alive, upgrade;
};

static enum ns_code on_head(void *ud, struct http_req *r)
{
        struct sink *s = ud;
        s->heads++;
        snprintf(s->method, sizeof(s->method), "%s", r->method);
        snprintf(s->path, sizeof(s->path), "%s", r->path);
        snprintf(s->query, sizeof(s->query), "%s", r->query);
        const char *h = http_req_header(r, "host");
        snprintf(s->host, sizeof(s->host), "%s", h ? h : "");
        s->chunked = r->chunked;
        s->keep_alive = r->keep_alive;
        s->upgrade = r->upgrade;
        return NS_OK;
}

static enum ns_code on_body(void *ud, const char *d, size_t n)
{
        struct sink *s = ud;
        if (s->body_len + n > sizeof(s->body))
                return NS_E_PAYLOAD_TOO_LARGE;
        memcpy(s->body + s->body_len, d, n);
        s->body_len += n;
        return NS_OK;
}

static enum ns_code on_complete(void *ud)
{
        ((struct sink *)ud)->completes++;
        return NS_OK;
}

static const struct http_parse_cbs cbs = {on_head, on_body, on_complete};

/* Feeds `in` whole (step 0) or `step` bytes at a time, resuming after each message. */
static int feed(struct http_parser *p, const char *in, size_t len, size_t step)
{
        size_t off = 0;
        while (off < len) {
                size_t n = step ? (len - off < step ? len - off : step) : len - off;
                size_t used = 0;
                enum http_feed_result r = http_parser_feed(p, in + off, n, &used);
                if (r == HTTP_FEED_ERROR)
                        return -1;
                if (r == HTTP_FEED_UPGRADE)
                        return 2;
                off += used;
                if (r == HTTP_FEED_DONE)
                        http_parser_next(p);
        }
        return 0;
}

static int run(const char *in, size_t step, struct sink *s, struct http_parser *p, size_t max_head)
{
        memset(s, 0, sizeof(*s));
        http_parser_init(p, max_head, &cbs, s);
        return feed(p, in, strlen(in), step);
}

int main(void)
{
        struct sink s;
        struct http_parser p;
        const char *get = "GET /v1/keys?limit=2 HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n";
        for (size_t step = 0; step <= 1; step++) {
                is_int(run(get, step, &s, &p, 1024), 0, "GET parses (step %zu)", step);
                is_int(s.completes, 1, "one message complete");
                is_str(s.method, "GET", "method");
                is_str(s.path, "/v1/keys", "path without query");
                is_str(s.query, "limit=2", "query");
                is_str(s.host, "a", "header lookup is case-insensitive");
                ok(s.keep_alive, "HTTP/1.1 keeps alive by default");
                http_parser_fini(&p);
        }
        const char *chunked = "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        is_int(run(chunked, 1, &s, &p, 1024), 0, "chunked body parses byte by byte");
        ok(s.chunked, "chunked flagged");
        is_int(s.body_len, 11, "body reassembled");
        ok(memcmp(s.body, "hello world", 11) == 0, "body content");
        http_parser_fini(&p);

        const char *pipe = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\n"
                           "Content-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\nHost: a\r\n\r\n";
        is_int(run(pipe, 0, &s, &p, 1024), 0, "three pipelined requests parse");
        is_int(s.completes, 3, "each completes in turn");
        is_str(s.path, "/c", "last path seen");
        is_int(s.body_len, 3, "middle body kept");
        http_parser_fini(&p);

        char big[2048];
        snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX-Big: %0900d\r\n\r\n", 0);
        is_int(run(big, 0, &s, &p, 512), -1, "headers over the limit fail");
        is_int(p.err, NS_E_HEADERS_TOO_LARGE, "... with headers_too_large");
        http_parser_fini(&p);

        char many[8192] = "GET / HTTP/1.1\r\n";
        for (int i = 0; i < 70; i++)
                snprintf(many + strlen(many), sizeof(many) - strlen(many), "H%d: v\r\n", i);
        strcat(many, "\r\n");
        is_int(run(many, 0, &s, &p, 8192), -1, "more than 64 headers fail");
        is_int(p.err, NS_E_HEADERS_TOO_LARGE, "... with headers_too_large");
        http_parser_fini(&p);

        const char *bad[] = {
            "GARBAGE\r\n\r\n",
            "GET / HTTP/9.9\r\n\r\n",
            "GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "GET /\x01 HTTP/1.1\r\n\r\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                is_int(run(bad[i], 0, &s, &p, 1024), -1, "malformed request %zu is rejected", i);
                http_parser_fini(&p);
        }
        const char *up = "GET /v1/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                         "Upgrade: websocket\r\n\r\n\x81\x80";
        is_int(run(up, 0, &s, &p, 1024), 2, "upgrade stops the HTTP parse");
        ok(s.upgrade, "upgrade flagged");
        http_parser_fini(&p);
        return tap_done();
}
