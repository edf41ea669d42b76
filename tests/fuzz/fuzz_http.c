/* libFuzzer target: the HTTP request parser with the daemon's route table, query
 * decoding and body limits, fed in pieces whose size comes from the first byte. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/daemon/app.h"
#include "../../src/daemon/http/parse.h"
#include "../../src/daemon/http/query.h"

struct sink {
        size_t body;
};

static enum ns_code on_head(void *ud, struct http_req *r)
{
        (void)ud;
        struct route_match m;
        router_match(api_routes, api_nroutes, r->method, r->path, &m);
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        char msg[128];
        query_parse(r->query, q, 2, msg, sizeof(msg));
        for (unsigned i = 0; i < r->nheaders; i++)
                if (strlen(r->headers[i].name) > 16384)
                        __builtin_trap();
        http_req_header(r, "authorization");
        return NS_OK;
}

static enum ns_code on_body(void *ud, const char *d, size_t n)
{
        (void)d;
        struct sink *s = ud;
        s->body += n;
        return s->body > 65536 ? NS_E_PAYLOAD_TOO_LARGE : NS_OK;
}

static enum ns_code on_complete(void *ud)
{
        (void)ud;
        return NS_OK;
}

static const struct http_parse_cbs cbs = {on_head, on_body, on_complete};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        size_t step = data[0] ? data[0] : size;
        data++;
        size--;
        struct sink s = {0};
        struct http_parser p;
        http_parser_init(&p, 4096, &cbs, &s);
        size_t off = 0;
        while (off < size) {
                size_t n = size - off < step ? size - off : step;
                size_t used = 0;
                enum http_feed_result r = http_parser_feed(&p, (const char *)data + off, n, &used);
                if (r == HTTP_FEED_ERROR || r == HTTP_FEED_UPGRADE)
                        break;
                if (used > n)
                        __builtin_trap();
                off += used;
                if (r == HTTP_FEED_DONE) {
                        http_parser_next(&p);
                        s.body = 0;
                }
        }
        http_parser_fini(&p);
        return 0;
}
