/* Route table: method + path pattern → handler. Patterns are literal segments and
 * `{name}` segments that match one segment of [A-Za-z0-9._-], at most 128 bytes.
 * The table is static data; matching is thread-safe. */
#ifndef NS_HTTP_ROUTER_H
#define NS_HTTP_ROUTER_H

#include <stddef.h>

#include "../../common/errcodes.h"

struct http_exchange;

enum route_flags {
        ROUTE_PUBLIC = 1u << 0,    /* no API key needed */
        ROUTE_JSON_BODY = 1u << 1, /* body, when any, must be application/json */
        ROUTE_WEBSOCKET = 1u << 2, /* a WebSocket upgrade endpoint */
        ROUTE_SIGNED = 1u << 3,    /* a signed URL (?expires=&signature=) replaces the key */
        ROUTE_UPGRADE = 1u << 4,   /* takes another HTTP upgrade (its handler takes the socket) */
        ROUTE_VOLUME_TOKEN = 1u << 5, /* the {id} volume's token (Bearer) replaces the key */
};

#define ROUTE_MAX_PARAMS 4
#define ROUTE_PARAM_MAX  128

struct route {
        const char *method;
        const char *pattern;
        void (*handler)(struct http_exchange *ex);
        unsigned flags;
        size_t max_body; /* bytes; 0 means the route takes no body */
        /* Streaming body: when set, each piece of the body goes here as it arrives
         * (at most 16 KiB at a time) instead of being buffered in ex->body; `handler`
         * runs once the body is complete. Returning an error code answers it and
         * closes the connection. */
        enum ns_code (*on_body)(struct http_exchange *ex, const char *data, size_t len);
};

struct route_match {
        const struct route *route;
        unsigned nparams;
        char params[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX + 1];
        char allow[64]; /* on NS_E_METHOD_NOT_ALLOWED: "GET, DELETE" */
};

/* Finds the route for method+path. Returns NS_OK (m->route set), NS_E_NOT_FOUND or
 * NS_E_METHOD_NOT_ALLOWED (m->allow lists the methods the path has). */
enum ns_code router_match(const struct route *routes, size_t n, const char *method,
                          const char *path, struct route_match *m);

#endif
