/* One HTTP/1.1 connection: reading and parsing requests, dispatching them to route
 * handlers in order, and writing responses (whole or chunked) with bounded buffers. */
#include "conn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/util.h"

#define DISCARD_LIMIT (64u << 10) /* body bytes read and dropped after an early error */

static int process_input(struct http_conn *c);
static void exchange_done(struct http_conn *c);

/* "req_" + 8 random hex digits fixed per server + a 12-digit hex counter: unique
 * across restarts, cheap per request. */
static void next_request_id(struct http_server *s, char *out, size_t cap)
{
        if (!s->rid_prefix[0] && rand_id("req_", 4, s->rid_prefix, sizeof(s->rid_prefix)) < 0)
                snprintf(s->rid_prefix, sizeof(s->rid_prefix), "req_%08x", (unsigned)getpid());
        uint64_t v = ++s->rid_counter;
        size_t p = strlen(s->rid_prefix);
        if (cap < p + 13)
                return;
        memcpy(out, s->rid_prefix, p);
        for (int i = 11; i >= 0; i--, v >>= 4)
                out[p + (size_t)i] = "0123456789abcdef"[v & 15];
        out[p + 12] = '\0';
}

static int json_content_type(const char *ct)
{
        if (!ct)
                return 1;
        size_t n = strcspn(ct, "; \t");
        if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
                return 1;
        return n >= 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* Decides, from the head alone, how the request will be answered. Returns an error
 * code only when the connection must close (the body cannot be skipped). */
static enum ns_code on_head(void *ud, struct http_req *req)
{
        struct http_conn *c = ud;
        struct http_exchange *ex = &c->ex;
        struct http_server *s = c->srv;
        ex->req = req;
        ex->start_ns = time_mono_ns();
        const char *rid = http_req_header(req, "X-Request-Id");
        if (rid && is_safe_token(rid, 64))
                snprintf(ex->request_id, sizeof(ex->request_id), "%s", rid);
        else
                next_request_id(c->srv, ex->request_id, sizeof(ex->request_id));
        if (!req->keep_alive || s->draining)
                c->close_after = 1;
        const struct route *taken = s->app.intercept && !s->draining ? s->app.intercept(ex) : NULL;
        if (taken) { /* the head goes to taken->handler, the connection with it */
                ex->match.route = taken;
                req->upgrade = 1;
                c->close_after = 1; /* unless taken, it ends with an error answer */
                return NS_OK;
        }

        enum ns_code m =
            router_match(s->app.routes, s->app.nroutes, req->method, req->path, &ex->match);
        const struct route *r = ex->match.route;
        if (req->upgrade && (m != NS_OK || !(r->flags & (ROUTE_WEBSOCKET | ROUTE_UPGRADE))))
                return m == NS_OK ? NS_E_INVALID_REQUEST : m;
        if (m != NS_OK) {
                ex->pending = m;
                return NS_OK;
        }
        if (s->draining)
                ex->pending = NS_E_SHUTTING_DOWN;
        else if (!(r->flags & ROUTE_PUBLIC))
                ex->pending = s->app.authenticate(ex);
        if (ex->pending != NS_OK)
                return req->upgrade ? ex->pending : NS_OK;
        ex->body.limit = r->max_body;
        if (req->content_length >= 0 && (uint64_t)req->content_length > r->max_body)
                return NS_E_PAYLOAD_TOO_LARGE;
        int has_body = req->content_length > 0 || req->chunked;
        if (has_body && (r->flags & ROUTE_JSON_BODY) &&
            !json_content_type(http_req_header(req, "Content-Type")))
                ex->pending = NS_E_UNSUPPORTED_MEDIA_TYPE;
        if ((r->flags & (ROUTE_WEBSOCKET | ROUTE_UPGRADE)) && !req->upgrade)
                ex->pending = NS_E_INVALID_REQUEST;
        const char *expect = http_req_header(req, "Expect");
        if (ex->pending == NS_OK && expect && strcasecmp(expect, "100-continue") == 0)
                buf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        return NS_OK;
}

static enum ns_code on_body(void *ud, const char *data, size_t len)
{
        struct http_conn *c = ud;
        struct http_exchange *ex = &c->ex;
        if (ex->pending != NS_OK) {
                ex->body.len += len; /* counted, not kept */
                return ex->body.len > DISCARD_LIMIT ? ex->pending : NS_OK;
        }
        const struct route *r = ex->match.route;
        if (r->on_body) {
                ex->body_seen += len;
                if (ex->body_seen > r->max_body)
                        return NS_E_PAYLOAD_TOO_LARGE;
                return r->on_body(ex, data, len);
        }
        if (buf_append(&ex->body, data, len) < 0)
                return NS_E_PAYLOAD_TOO_LARGE;
        return NS_OK;
}

static enum ns_code on_complete(void *ud)
{
        (void)ud;
        return NS_OK;
}

static const struct http_parse_cbs parse_cbs = {on_head, on_body, on_complete};

static void on_io(struct loop_io *io, uint32_t events);

struct http_conn *conn_new(struct http_server *s, int fd, const char *peer)
{
        struct http_conn *c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return NULL;
        }
        c->srv = s;
        c->io.fd = fd;
        c->io.cb = on_io;
        c->state = CONN_READING;
        c->last_ms = s->loop->now_ms;
        snprintf(c->peer, sizeof(c->peer), "%s", peer);
        http_parser_init(&c->parser, s->cfg.max_head, &parse_cbs, c);
        buf_init(&c->out, CONN_OUT_LIMIT);
        buf_init(&c->ex.body, 0);
        buf_init(&c->ex.headers, 4096);
        c->ex.conn = c;
        c->ex.app = s->app.ctx;
        if (loop_io_add(s->loop, &c->io, EPOLLIN | EPOLLRDHUP, NULL) < 0) {
                http_parser_fini(&c->parser);
                close(fd);
                free(c);
                return NULL;
        }
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        return c;
}

int http_take_socket(struct http_exchange *ex, struct buf *rest)
{
        struct http_conn *c = ex->conn;
        size_t used = c->head_used < c->in_len ? c->head_used : c->in_len;
        if (c->out.len || buf_append(rest, c->in + used, c->in_len - used) < 0)
                return -1;
        int fd = c->io.fd;
        loop_io_del(c->srv->loop, &c->io);
        c->io.fd = -1;
        ex->status = 101; /* logged as handed over */
        conn_log_exchange(c);
        conn_close(c);
        return fd;
}

void conn_close(struct http_conn *c)
{
        struct http_server *s = c->srv;
        if (c->dead)
                return;
        c->dead = 1;
        if (c->ex.on_abort) { /* handling, or streaming a request body to someone */
                /* an asynchronous handler still holds the exchange: let it let go */
                void (*abort_cb)(struct http_exchange *) = c->ex.on_abort;
                c->ex.on_abort = NULL;
                abort_cb(&c->ex);
        }
        if (c->io.fd >= 0) {
                loop_io_del(s->loop, &c->io);
                close(c->io.fd);
        }
        if (c->src_active && c->src.free)
                c->src.free(c->src.ctx);
        if (c->ws)
                ws_free(c->ws);
        http_parser_fini(&c->parser);
        buf_fini(&c->out);
        buf_fini(&c->ex.body);
        buf_fini(&c->ex.headers);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->nconns--;
        /* freed from a timer: the current epoll batch may still name this connection,
         * and the caller may be another object's callback */
        c->next = s->graveyard;
        s->graveyard = c;
        loop_timer_arm(s->loop, &s->reap_timer, 0, http_server_reap);
        if (s->draining && s->nconns == 0 && s->on_drained) {
                void (*done)(struct http_server *) = s->on_drained;
                s->on_drained = NULL;
                done(s);
        }
}

void conn_update_events(struct http_conn *c)
{
        if (c->state == CONN_LINGER) {
                loop_io_mod(c->srv->loop, &c->io, EPOLLIN);
                return;
        }
        uint32_t ev = c->peer_closed ? 0 : EPOLLRDHUP;
        int reading =
            c->state == CONN_READING && c->out.len < CONN_OUT_HIGH && c->in_len < CONN_IN_SIZE;
        if (reading)
                ev |= EPOLLIN;
        if (c->out.len > 0 || (c->state == CONN_STREAMING && c->src_active && !c->src_waiting))
                ev |= EPOLLOUT;
        loop_io_mod(c->srv->loop, &c->io, ev);
}

/* Pulls the next chunk of a streamed body into out; 1 when the stream ended. */
static int pull_stream(struct http_conn *c)
{
        char chunk[65536];
        ssize_t n = c->src.read(c->src.ctx, chunk, sizeof(chunk));
        if (n == HTTP_SRC_AGAIN) {
                c->src_waiting = 1; /* the source calls http_stream_wake() */
                return 2;
        }
        if (n < 0)
                return -1;
        if (n == 0) {
                buf_append(&c->out, "0\r\n\r\n", 5);
                if (c->src.free)
                        c->src.free(c->src.ctx);
                c->src_active = 0;
                return 1;
        }
        if (buf_append_uint(&c->out, (size_t)n, 16) < 0 || buf_append(&c->out, "\r\n", 2) < 0 ||
            buf_append(&c->out, chunk, (size_t)n) < 0 || buf_append(&c->out, "\r\n", 2) < 0)
                return -1;
        return 0;
}

int conn_send_some(struct http_conn *c)
{
        size_t done = 0; /* consumed once: a partial send moves the rest only once */
        int r = 0;
        while (done < c->out.len) {
                ssize_t w = send(c->io.fd, c->out.data + done, c->out.len - done, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno == EAGAIN)
                        break;
                if (w <= 0) {
                        r = -1;
                        break;
                }
                done += (size_t)w;
                c->last_ms = c->srv->loop->now_ms;
        }
        buf_consume(&c->out, done);
        return r;
}

int conn_flush(struct http_conn *c)
{
        for (;;) {
                if (conn_send_some(c) < 0) {
                        conn_close(c);
                        return -1;
                }
                if (c->state != CONN_STREAMING || c->out.len >= CONN_OUT_HIGH)
                        break;
                int r = pull_stream(c);
                if (r < 0) {
                        conn_close(c);
                        return -1;
                }
                if (r == 1)
                        exchange_done(c); /* then write the rest, and stop streaming */
                if (r == 2)
                        break;
        }
        if (c->state == CONN_CLOSING && c->out.len == 0) {
                if (c->peer_closed || shutdown(c->io.fd, SHUT_WR) < 0) {
                        conn_close(c);
                        return -1;
                }
                /* closing now would reset the connection if the peer's bytes are still
                 * unread, and the reset can destroy the response before it is read */
                c->state = CONN_LINGER;
                c->last_ms = c->srv->loop->now_ms;
        }
        conn_update_events(c);
        return 0;
}

static void linger_read(struct http_conn *c)
{
        char scratch[16384];
        for (;;) {
                ssize_t n = recv(c->io.fd, scratch, sizeof(scratch), 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                c->lingered += n > 0 ? (size_t)n : 0;
                if (n <= 0 || c->lingered > CONN_LINGER_BYTES) {
                        conn_close(c);
                        return;
                }
        }
}

void conn_refuse(struct http_server *s, int fd, const char *peer)
{
        struct http_conn *c = conn_new(s, fd, peer);
        if (!c)
                return;
        c->close_after = 1;
        c->state = CONN_HANDLING;
        http_respond_error(&c->ex, NS_E_TOO_MANY_CONNECTIONS,
                           "the daemon is at its connection limit (%u); retry later",
                           s->cfg.max_conns);
}

void conn_log_exchange(struct http_conn *c)
{
        struct http_exchange *ex = &c->ex;
        if (!log_enabled(LOG_LVL_INFO) || !ex->req)
                return;
        char path[512];
        uint64_t us = (time_mono_ns() - ex->start_ns) / 1000;
        log_info("request", "request_id=%s method=%s path=%s status=%d dur_us=%llu key=%s peer=%s",
                 ex->request_id, ex->req->method,
                 log_quote(path, sizeof(path), ex->req->path ? ex->req->path : ""), ex->status,
                 (unsigned long long)us, ex->key_id[0] ? ex->key_id : "-", c->peer);
}

/* Calls the route's handler, through the application's dispatch when it has one. */
static void conn_run_handler(struct http_conn *c)
{
        const struct http_app *a = &c->srv->app;
        if (a->dispatch)
                a->dispatch(&c->ex);
        else
                c->ex.match.route->handler(&c->ex);
}

/* The current response is fully queued: get ready for the next request. */
static void exchange_done(struct http_conn *c)
{
        struct http_exchange *ex = &c->ex;
        conn_log_exchange(c);
        if (c->srv->app.done && ex->req)
                c->srv->app.done(ex);
        buf_fini(&ex->body);
        buf_reset(&ex->headers);
        ex->req = NULL;
        ex->pending = NS_OK;
        ex->body_seen = 0;
        ex->input_paused = 0;
        ex->on_abort = NULL;
        ex->owner = NULL;
        ex->responded = 0;
        ex->status = 0;
        ex->key_id[0] = '\0';
        ex->request_id[0] = '\0';
        http_parser_next(&c->parser);
        c->state = c->close_after || c->peer_closed ? CONN_CLOSING : CONN_READING;
}

/* Formats the status line and headers without printf: this runs for every response. */
static void queue_head(struct http_conn *c, int status, const char *ctype, const char *framing,
                       size_t length)
{
        struct http_exchange *ex = &c->ex;
        struct buf *o = &c->out;
        buf_append(o, "HTTP/1.1 ", 9);
        buf_append_uint(o, (unsigned)status, 10);
        buf_append(o, " ", 1);
        buf_append_str(o, http_status_text(status));
        buf_append(o, "\r\nX-Request-Id: ", 16);
        buf_append_str(o, ex->request_id[0] ? ex->request_id : "-");
        if (ctype) {
                buf_append(o, "\r\nContent-Type: ", 16);
                buf_append_str(o, ctype);
        }
        buf_append(o, "\r\n", 2);
        buf_append_str(o, framing);
        if (!strcmp(framing, "Content-Length: "))
                buf_append_uint(o, length, 10);
        buf_append(o, "\r\n", 2);
        if (ex->headers.len)
                buf_append(o, ex->headers.data, ex->headers.len);
        if (c->close_after || c->srv->draining)
                buf_append(o, "Connection: close\r\n", 19);
        buf_append(o, "\r\n", 2);
}

void http_stream_wake(struct http_exchange *ex)
{
        struct http_conn *c = ex->conn;
        if (c->dead || c->state != CONN_STREAMING)
                return;
        c->src_waiting = 0;
        c->last_ms = c->srv->loop->now_ms; /* its quiet time was the source's */
        if (!c->in_process)
                conn_flush(c);
}

void http_pause_input(struct http_exchange *ex)
{
        ex->input_paused = 1;
}

void http_resume_input(struct http_exchange *ex)
{
        struct http_conn *c = ex->conn;
        if (!ex->input_paused)
                return;
        ex->input_paused = 0;
        if (!c->in_process)
                process_input(c);
}

void http_add_header(struct http_exchange *ex, const char *name, const char *value)
{
        buf_printf(&ex->headers, "%s: %s\r\n", name, value);
}

void http_respond(struct http_exchange *ex, int status, const char *content_type, const void *body,
                  size_t len)
{
        struct http_conn *c = ex->conn;
        if (ex->responded)
                return;
        ex->responded = 1;
        ex->status = status;
        if (c->srv->draining)
                c->close_after = 1;
        queue_head(c, status, len ? content_type : NULL, "Content-Length: ", len);
        if (len && buf_append(&c->out, body, len) < 0)
                c->close_after = 1;
        exchange_done(c);
        if (!c->in_process)
                process_input(c);
}

void http_respond_json(struct http_exchange *ex, int status, json_t *doc)
{
        char small[4096]; /* most documents fit: no allocation */
        size_t n = json_dumpb(doc, small, sizeof(small), JSON_COMPACT);
        char *text = n <= sizeof(small) ? small : json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!text || n == 0) {
                http_respond_error(ex, NS_E_INTERNAL, "could not serialise the response");
                return;
        }
        http_respond(ex, status, "application/json", text, n);
        if (text != small)
                free(text);
}

void http_respond_error(struct http_exchange *ex, enum ns_code code, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (!ex->request_id[0])
                next_request_id(ex->conn->srv, ex->request_id, sizeof(ex->request_id));
        const struct http_app *app = &ex->conn->srv->app;
        json_t *doc = app->error_doc && ex->req ? app->error_doc(ex, code, msg) : NULL;
        http_respond_json(ex, ns_code_def(code)->http_status,
                          doc ? doc : http_error_doc(code, msg, ex->request_id));
}

json_t *http_error_doc(enum ns_code code, const char *msg, const char *request_id)
{
        return json_pack("{s:{s:s,s:s,s:s}}", "error", "code", ns_code_def(code)->name, "message",
                         msg, "request_id", request_id);
}

void http_respond_stream(struct http_exchange *ex, int status, const char *content_type,
                         struct http_body_src src)
{
        struct http_conn *c = ex->conn;
        ex->responded = 1;
        ex->status = status;
        queue_head(c, status, content_type, "Transfer-Encoding: chunked", 0);
        c->src = src;
        c->src_active = 1;
        c->src_waiting = 0;
        c->state = CONN_STREAMING;
        if (!c->in_process)
                conn_flush(c);
}

static const char *default_message(enum ns_code code, const struct http_exchange *ex)
{
        switch (code) {
        case NS_E_NOT_FOUND:
                return "no route matches this path";
        case NS_E_METHOD_NOT_ALLOWED:
                return "this path does not accept this method";
        case NS_E_INVALID_SIGNATURE:
                return "the URL's signature is not valid for this request";
        case NS_E_URL_EXPIRED:
                return "the signed URL has expired";
        case NS_E_UNAUTHORIZED:
                return "a valid API key is required (Authorization: Bearer KEY or X-API-Key)";
        case NS_E_UNSUPPORTED_MEDIA_TYPE:
                return "send the body as Content-Type: application/json";
        case NS_E_PAYLOAD_TOO_LARGE:
                return "the request body is larger than this operation accepts";
        case NS_E_HEADERS_TOO_LARGE:
                return "the request line and headers are too large";
        case NS_E_SHUTTING_DOWN:
                return "the daemon is shutting down";
        case NS_E_REQUEST_TIMEOUT:
                return "the request did not arrive in time";
        case NS_E_INVALID_REQUEST:
                if (ex->match.route && (ex->match.route->flags & ROUTE_WEBSOCKET))
                        return "this endpoint needs a WebSocket upgrade";
                return "malformed HTTP request";
        default:
                return ns_code_def(code)->meaning;
        }
}

static void respond_code(struct http_conn *c, enum ns_code code)
{
        struct http_exchange *ex = &c->ex;
        if (code == NS_E_METHOD_NOT_ALLOWED && ex->match.allow[0])
                http_add_header(ex, "Allow", ex->match.allow);
        http_respond_error(ex, code, "%s", default_message(code, ex));
}

static void dispatch(struct http_conn *c)
{
        struct http_exchange *ex = &c->ex;
        c->state = CONN_HANDLING;
        c->partial = 0;
        if (ex->pending != NS_OK) {
                respond_code(c, ex->pending);
                return;
        }
        conn_run_handler(c);
}

/* A request that cannot be parsed (or whose body cannot be skipped) gets its error and
 * the connection closes after it. */
static void fail_request(struct http_conn *c, enum ns_code code)
{
        c->close_after = 1;
        c->in_len = 0;
        c->state = CONN_HANDLING;
        if (c->ex.pending == NS_OK || code == NS_E_PAYLOAD_TOO_LARGE)
                c->ex.pending = code;
        respond_code(c, c->ex.pending);
}

static int start_upgrade(struct http_conn *c, size_t consumed)
{
        c->state = CONN_HANDLING;
        c->in_process = 1;
        c->head_used = consumed;
        /* refused, the connection ends: what follows the head is in a protocol we did
         * not switch to (and the parser would hand the same head over again) */
        c->close_after = 1;
        conn_run_handler(c); /* switches to CONN_WS through http_ws_accept, or errs */
        c->in_process = 0;
        if (c->dead) /* taken over (http_take_socket) */
                return -1;
        if (c->state != CONN_WS)
                return conn_flush(c);
        conn_log_exchange(c);
        return ws_start(c, c->in + consumed, c->in_len - consumed);
}

/* Parses and dispatches buffered requests in order, then writes. Returns -1 when the
 * connection was closed. Never re-entered: responses given during it only queue. */
static int process_input(struct http_conn *c)
{
        c->in_process = 1;
        while (c->state == CONN_READING && c->in_len > 0 && c->out.len < CONN_OUT_HIGH &&
               !c->ex.input_paused) {
                if (!c->partial) {
                        c->partial = 1;
                        c->start_ms = c->srv->loop->now_ms;
                }
                size_t used = 0;
                enum http_feed_result r = http_parser_feed(&c->parser, c->in, c->in_len, &used);
                if (r == HTTP_FEED_ERROR) {
                        fail_request(c, c->parser.err);
                        break;
                }
                if (r == HTTP_FEED_UPGRADE) {
                        c->partial = 0;
                        c->in_process = 0;
                        return start_upgrade(c, used);
                }
                memmove(c->in, c->in + used, c->in_len - used);
                c->in_len -= used;
                if (r == HTTP_FEED_DONE)
                        dispatch(c);
        }
        c->in_process = 0;
        return conn_flush(c);
}

static void read_input(struct http_conn *c)
{
        while (c->in_len < CONN_IN_SIZE) {
                ssize_t n = recv(c->io.fd, c->in + c->in_len, CONN_IN_SIZE - c->in_len, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n <= 0) {
                        c->peer_closed = 1;
                        break;
                }
                c->in_len += (size_t)n;
                c->last_ms = c->srv->loop->now_ms;
                if ((size_t)n < CONN_IN_SIZE)
                        break;
        }
}

static void on_io(struct loop_io *io, uint32_t events)
{
        struct http_conn *c = (struct http_conn *)io;
        if (c->dead)
                return;
        if (c->state == CONN_WS) {
                ws_on_io(c, events);
                return;
        }
        if (c->state == CONN_LINGER) {
                linger_read(c);
                return;
        }
        if (events & EPOLLERR) {
                conn_close(c);
                return;
        }
        if ((events & EPOLLOUT) && conn_flush(c) < 0)
                return;
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
                if (c->state == CONN_READING)
                        read_input(c);
                else if (events & (EPOLLRDHUP | EPOLLHUP))
                        c->peer_closed = 1;
        }
        if (c->peer_closed && c->state == CONN_READING && c->in_len == 0) {
                conn_close(c);
                return;
        }
        if (c->peer_closed && c->state == CONN_READING)
                c->close_after = 1;
        if (process_input(c) < 0)
                return;
        if (c->peer_closed && c->state == CONN_READING)
                conn_close(c); /* an unfinished request that can no longer finish */
}

void conn_check_timeouts(struct http_conn *c, uint64_t now_ms)
{
        const struct http_server_cfg *cfg = &c->srv->cfg;
        if (c->state == CONN_READING && c->partial &&
            now_ms - c->start_ms > cfg->request_timeout_ms) {
                fail_request(c, NS_E_REQUEST_TIMEOUT);
                return;
        }
        if (c->state == CONN_LINGER && now_ms - c->last_ms > CONN_LINGER_MS) {
                conn_close(c);
                return;
        }
        if (c->state == CONN_WS || c->state == CONN_HANDLING)
                return;
        /* a streamed answer whose source is quiet (a command printing nothing for a
         * while) is not an idle connection; one the peer stopped reading is */
        if (c->state == CONN_STREAMING && c->src_waiting && c->out.len == 0)
                return;
        if (now_ms - c->last_ms > cfg->idle_timeout_ms)
                conn_close(c);
}
