/* Incremental, bounded HTTP/1.1 request parser on top of llhttp. No I/O: bytes go in,
 * callbacks come out. Limits (header bytes, header count) are enforced here, so the
 * fuzz target exercises exactly what the server runs. One parser per connection;
 * not thread-safe. */
#ifndef NS_HTTP_PARSE_H
#define NS_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "../../../third_party/llhttp/llhttp.h"
#include "../../common/buf.h"
#include "../../common/errcodes.h"

#define HTTP_MAX_HEADERS 64

struct http_header {
        const char *name;  /* NUL-terminated, as sent */
        const char *value; /* NUL-terminated, surrounding blanks trimmed */
};

struct http_req {
        const char *method; /* "GET", ... */
        const char *target; /* raw request target */
        char *path;         /* target up to '?', owned copy */
        char *query;        /* after '?', owned copy ("" when none) */
        struct http_header headers[HTTP_MAX_HEADERS];
        unsigned nheaders;
        int64_t content_length; /* -1 when absent */
        int chunked;
        int keep_alive;
        int upgrade;       /* the rest of the connection is not HTTP (also set when taken) */
        int asked_upgrade; /* the client asked for it (Upgrade header or CONNECT) */
        int http_minor;
};

/* Callbacks, each returning NS_OK to continue or an error code to stop the parse. */
struct http_parse_cbs {
        enum ns_code (*on_head)(void *ud, struct http_req *req);
        enum ns_code (*on_body)(void *ud, const char *data, size_t len);
        enum ns_code (*on_complete)(void *ud);
};

struct http_parser {
        llhttp_t ll;
        struct buf head; /* header storage, bounded by max_head */
        struct http_req req;
        size_t offs[2 * HTTP_MAX_HEADERS + 2]; /* field/value offsets into head */
        unsigned nstr; /* strings recorded in offs (url, then name/value pairs) */
        int in_value;  /* a header name or value string is open */
        int head_done;
        enum ns_code err; /* why the parse stopped, when it did */
        const struct http_parse_cbs *cbs;
        void *ud;
};

enum http_feed_result {
        HTTP_FEED_MORE = 0,    /* all bytes consumed, message not complete */
        HTTP_FEED_DONE = 1,    /* one message complete; *consumed bytes used */
        HTTP_FEED_UPGRADE = 2, /* upgrade request's head complete; the rest is not HTTP */
        HTTP_FEED_ERROR = -1,  /* parse error: p->err says which (400/413/431...) */
};

/* Prepares a parser whose request line + headers may take up to max_head bytes. */
void http_parser_init(struct http_parser *p, size_t max_head, const struct http_parse_cbs *cbs,
                      void *ud);

/* Frees header storage. */
void http_parser_fini(struct http_parser *p);

/* Feeds bytes. Stops after each complete message (so responses stay in order);
 * call http_parser_next() before feeding the next message's bytes. */
enum http_feed_result http_parser_feed(struct http_parser *p, const char *data, size_t len,
                                       size_t *consumed);

/* Resets for the next request on the same connection. */
void http_parser_next(struct http_parser *p);

/* Case-insensitive header lookup; NULL when absent. */
const char *http_req_header(const struct http_req *r, const char *name);

#endif
