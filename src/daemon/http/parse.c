#include "parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct http_parser *P(llhttp_t *ll)
{
        return ll->data;
}

/* Closes the current string in head with a NUL and opens a new one at the end. */
static int open_string(struct http_parser *p)
{
        if (p->nstr >= sizeof(p->offs) / sizeof(p->offs[0])) {
                p->err = NS_E_HEADERS_TOO_LARGE;
                return -1;
        }
        if (p->nstr > 0 && buf_append(&p->head, "", 1) < 0) {
                p->err = NS_E_HEADERS_TOO_LARGE;
                return -1;
        }
        p->offs[p->nstr++] = p->head.len;
        return 0;
}

static int add_bytes(struct http_parser *p, const char *at, size_t len)
{
        if (buf_append(&p->head, at, len) < 0) {
                p->err = NS_E_HEADERS_TOO_LARGE;
                return -1;
        }
        return 0;
}

static int on_message_begin(llhttp_t *ll)
{
        struct http_parser *p = P(ll);
        buf_reset(&p->head);
        p->nstr = 0;
        p->in_value = 0;
        return open_string(p);
}

static int on_url(llhttp_t *ll, const char *at, size_t len)
{
        return add_bytes(P(ll), at, len);
}

/* llhttp may deliver one field or value in several pieces; a string is opened on its
 * first piece and closed by the matching *_complete callback. */
static int on_header_field(llhttp_t *ll, const char *at, size_t len)
{
        struct http_parser *p = P(ll);
        if (!p->in_value) {
                if (open_string(p) < 0)
                        return -1;
                p->in_value = 1;
        }
        return add_bytes(p, at, len);
}

static int on_piece_complete(llhttp_t *ll)
{
        struct http_parser *p = P(ll);
        if (!p->in_value && open_string(p) < 0) /* an empty value was never opened */
                return -1;
        p->in_value = 0;
        return 0;
}

static char *trim(char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                s[--n] = '\0';
        return s;
}

static int split_target(struct http_req *r)
{
        const char *q = strchr(r->target, '?');
        size_t plen = q ? (size_t)(q - r->target) : strlen(r->target);
        r->path = strndup(r->target, plen);
        r->query = strdup(q ? q + 1 : "");
        return r->path && r->query ? 0 : -1;
}

static int build_request(struct http_parser *p)
{
        struct http_req *r = &p->req;
        if (buf_append(&p->head, "", 1) < 0) {
                p->err = NS_E_HEADERS_TOO_LARGE;
                return -1;
        }
        char *base = p->head.data;
        r->method = llhttp_method_name((llhttp_method_t)p->ll.method);
        r->target = base + p->offs[0];
        if (r->target[0] != '/') {
                p->err = NS_E_INVALID_REQUEST; /* absolute-form and '*' are not served */
                return -1;
        }
        if (split_target(r) < 0) {
                p->err = NS_E_INTERNAL;
                return -1;
        }
        r->nheaders = 0;
        for (unsigned i = 1; i + 1 < p->nstr + 1 && r->nheaders < HTTP_MAX_HEADERS; i += 2) {
                struct http_header *h = &r->headers[r->nheaders++];
                h->name = base + p->offs[i];
                h->value = i + 1 < p->nstr ? trim(base + p->offs[i + 1]) : "";
        }
        r->content_length = (p->ll.flags & F_CONTENT_LENGTH) ? (int64_t)p->ll.content_length : -1;
        r->chunked = (p->ll.flags & F_CHUNKED) != 0;
        r->keep_alive = llhttp_should_keep_alive(&p->ll);
        r->upgrade = r->asked_upgrade = p->ll.upgrade;
        r->http_minor = p->ll.http_minor;
        return 0;
}

static int on_headers_complete(llhttp_t *ll)
{
        struct http_parser *p = P(ll);
        if (build_request(p) < 0)
                return -1;
        p->head_done = 1;
        enum ns_code c = p->cbs->on_head(p->ud, &p->req);
        if (c != NS_OK) {
                p->err = c;
                return -1;
        }
        return p->req.upgrade ? 2 : 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t len)
{
        struct http_parser *p = P(ll);
        enum ns_code c = p->cbs->on_body(p->ud, at, len);
        if (c != NS_OK) {
                p->err = c;
                return HPE_USER;
        }
        return 0;
}

static int on_message_complete(llhttp_t *ll)
{
        struct http_parser *p = P(ll);
        enum ns_code c = p->cbs->on_complete(p->ud);
        if (c != NS_OK) {
                p->err = c;
                return -1;
        }
        /* an upgrade makes llhttp_execute() return HPE_PAUSED_UPGRADE by itself */
        return p->req.upgrade ? 0 : HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_field,
    .on_header_field_complete = on_piece_complete,
    .on_header_value_complete = on_piece_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_parser_init(struct http_parser *p, size_t max_head, const struct http_parse_cbs *cbs,
                      void *ud)
{
        memset(p, 0, sizeof(*p));
        llhttp_init(&p->ll, HTTP_REQUEST, &settings);
        p->ll.data = p;
        buf_init(&p->head, max_head);
        p->cbs = cbs;
        p->ud = ud;
}

static void free_req(struct http_req *r)
{
        free(r->path);
        free(r->query);
        memset(r, 0, sizeof(*r));
}

void http_parser_fini(struct http_parser *p)
{
        free_req(&p->req);
        buf_fini(&p->head);
}

void http_parser_next(struct http_parser *p)
{
        free_req(&p->req);
        p->head_done = 0;
        p->err = NS_OK;
        if (llhttp_get_errno(&p->ll) == HPE_PAUSED)
                llhttp_resume(&p->ll);
}

enum http_feed_result http_parser_feed(struct http_parser *p, const char *data, size_t len,
                                       size_t *consumed)
{
        llhttp_errno_t r = llhttp_execute(&p->ll, data, len);
        if (r == HPE_OK) {
                *consumed = len;
                return HTTP_FEED_MORE;
        }
        const char *pos = llhttp_get_error_pos(&p->ll);
        *consumed = pos && pos >= data ? (size_t)(pos - data) : len;
        if (r == HPE_PAUSED)
                return HTTP_FEED_DONE;
        if (r == HPE_PAUSED_UPGRADE)
                return HTTP_FEED_UPGRADE;
        if (p->err == NS_OK)
                p->err = NS_E_INVALID_REQUEST;
        return HTTP_FEED_ERROR;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
        for (unsigned i = 0; i < r->nheaders; i++)
                if (strcasecmp(r->headers[i].name, name) == 0)
                        return r->headers[i].value;
        return NULL;
}
