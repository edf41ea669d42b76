/* The HTTP/1.1 server: listening socket, connections, limits, timeouts and graceful
 * drain, all on the daemon's event loop (single thread). Handlers receive a
 * `struct http_exchange` and answer it with the http_respond*() family, either
 * before returning or later from the loop (asynchronous handlers). */
#ifndef NS_HTTP_SERVER_H
#define NS_HTTP_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../common/errcodes.h"
#include "../../common/loop.h"
#include "parse.h"
#include "router.h"

struct http_conn;
struct http_server;

struct http_server_cfg {
        unsigned max_conns;          /* open connections; more are answered 503 and closed */
        size_t max_head;             /* request line + headers, bytes (431 past it) */
        unsigned idle_timeout_ms;    /* keep-alive connection with no request in flight */
        unsigned request_timeout_ms; /* a request must arrive whole within this (408) */
        unsigned drain_timeout_ms;   /* SIGTERM: in-flight work gets this long */
};

/* What the daemon plugs into the server. */
struct http_app {
        const struct route *routes;
        size_t nroutes;
        /* Checks the request's credentials; NS_OK or NS_E_UNAUTHORIZED. May set ex->key_id. */
        enum ns_code (*authenticate)(struct http_exchange *ex);
        void *ctx; /* handed to handlers as ex->app */
        /* Optional: looks at a request's head before routing; a route returned takes
         * the request (no API key, no body read) and is expected to take the
         * connection with http_take_socket(). NULL: route as usual. */
        const struct route *(*intercept)(struct http_exchange *ex);
        /* Optional: runs a request's handler (ex->match.route->handler) with whatever
         * context the application wants around it. NULL: the handler is called directly. */
        void (*dispatch)(struct http_exchange *ex);
        /* Optional: the error document of `code` for ex (new reference), for requests
         * whose clients expect another shape than ours (http_error_doc); NULL: ours. */
        json_t *(*error_doc)(struct http_exchange *ex, enum ns_code code, const char *msg);
        /* Optional: told when a response has been queued in full (status, route, time). */
        void (*done)(struct http_exchange *ex);
};

/* One request/response pair. Owned by its connection; valid from the handler call
 * until the response is complete (http_respond*), which may happen later. */
struct http_exchange {
        struct http_conn *conn;
        struct http_req *req;
        struct route_match match;
        void *app;
        char request_id[48];
        char key_id[48];
        struct buf body;      /* the request body (bounded by route->max_body) */
        struct buf headers;   /* extra response headers, "Name: value\r\n" each */
        enum ns_code pending; /* error found in the head, answered once the body is read */
        size_t body_seen;     /* streamed body bytes so far */
        /* Asynchronous handlers: called if the connection closes before the response;
         * the exchange must not be used afterwards. `owner` is the handler's. */
        void (*on_abort)(struct http_exchange *ex);
        void *owner;
        int input_paused; /* http_pause_input() in force */
        uint64_t start_ns;
        int status;
        int responded;
};

#define HTTP_SRC_AGAIN (-2)

/* A pull source for a streamed (chunked) response body. */
struct http_body_src {
        /* Fills up to cap bytes; returns >0 bytes, 0 at the end, HTTP_SRC_AGAIN when
         * nothing is ready yet (the source then calls http_stream_wake), or -1 on failure
         * (the connection is then closed, since the status line is already out). */
        ssize_t (*read)(void *ctx, char *dst, size_t cap);
        void (*free)(void *ctx);
        void *ctx;
};

struct http_server {
        struct loop *loop;
        struct loop_io lio;
        struct http_server_cfg cfg;
        struct http_app app;
        struct http_conn *conns; /* doubly linked */
        unsigned nconns;
        struct loop_timer sweep;
        struct loop_timer drain_timer;
        struct loop_timer reap_timer;
        struct http_conn *graveyard; /* closed connections, freed by reap_timer */
        int draining;
        void (*on_drained)(struct http_server *s);
        char bound[80];      /* "127.0.0.1:7700" once listening */
        char rid_prefix[16]; /* request IDs: prefix + counter */
        uint64_t rid_counter;
};

/* Fills cfg with the defaults (1024 conns, 16 KiB head, 60 s idle, 30 s request,
 * 10 s drain). */
void http_server_cfg_defaults(struct http_server_cfg *cfg);

/* Binds and listens on "HOST:PORT" (PORT 0 picks a free port; s->bound says which).
 * Returns 0 or -errno with `e` set. Loop thread only. */
int http_server_start(struct http_server *s, struct loop *loop, const char *hostport,
                      const struct http_server_cfg *cfg, const struct http_app *app, struct err *e);

/* Stops accepting, closes idle connections, lets in-flight requests finish (each
 * connection closes after its response), then calls done(s). After drain_timeout_ms
 * the rest are closed. Call from a timer callback (it frees connections). */
void http_server_drain(struct http_server *s, void (*done)(struct http_server *s));

/* Closes everything. */
void http_server_fini(struct http_server *s);

/* Stops reading the request (a streaming body's consumer is full); at most the
 * bytes already read are still delivered. Loop thread only. */
void http_pause_input(struct http_exchange *ex);

/* Resumes reading after http_pause_input() (safe from any loop callback, including
 * the route's own on_body). */
void http_resume_input(struct http_exchange *ex);

/* Adds a response header to ex (before responding). */
void http_add_header(struct http_exchange *ex, const char *name, const char *value);

/* Completes ex with a whole body (copied). Loop thread only. */
void http_respond(struct http_exchange *ex, int status, const char *content_type, const void *body,
                  size_t len);

/* Completes ex with `doc` serialised compactly; steals the reference. */
void http_respond_json(struct http_exchange *ex, int status, json_t *doc);

/* Completes ex with the standard error body for `code` and a formatted message. */
void http_respond_error(struct http_exchange *ex, enum ns_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The standard error document {"error":{"code","message","request_id"}} (new
 * reference), for answers written outside an exchange. Thread-safe. */
json_t *http_error_doc(enum ns_code code, const char *msg, const char *request_id);

/* Starts a chunked response pulled from src (owned by the server from now on). */
void http_respond_stream(struct http_exchange *ex, int status, const char *content_type,
                         struct http_body_src src);

/* A source that answered HTTP_SRC_AGAIN has data (or its end) now. Loop thread. */
void http_stream_wake(struct http_exchange *ex);

/* From an intercepted request's handler (http_app.intercept): takes the client's
 * socket away from the server (the connection is closed without closing the fd).
 * Bytes read past the request head are appended to rest. Returns the fd (caller
 * owns it, non-blocking) or -1 (the connection stays the server's; answer ex). */
int http_take_socket(struct http_exchange *ex, struct buf *rest);

/* Status line text for a code ("Not Found"). */
const char *http_status_text(int status);

#endif
