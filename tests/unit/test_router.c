/* The router: literal and {param} segments, 404 versus 405 with Allow. */
#include "../../src/daemon/http/router.h"
#include "tap.h"

static void h(struct http_exchange *ex)
{
        (void)ex;
}

static const struct route routes[] = {
    {"GET", "/healthz", h, 0, 0, NULL},
    {"GET", "/v1/keys", h, 0, 0, NULL},
    {"POST", "/v1/keys", h, 0, 0, NULL},
    {"GET", "/v1/keys/{id}", h, 0, 0, NULL},
    {"DELETE", "/v1/keys/{id}", h, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/files/{name}", h, 0, 0, NULL},
};

int main(void)
{
        struct route_match m;
        is_int(router_match(routes, 6, "GET", "/healthz", &m), NS_OK, "literal path matches");
        ok(m.route == &routes[0], "the matching route is returned");
        is_int(router_match(routes, 6, "POST", "/v1/keys", &m), NS_OK, "method selects the route");
        ok(m.route == &routes[2], "POST /v1/keys is the create route");
        is_int(router_match(routes, 6, "GET", "/v1/keys/key_abc", &m), NS_OK, "param matches");
        is_str(m.params[0], "key_abc", "param captured");
        is_int(router_match(routes, 6, "GET", "/v1/machines/m1/files/a.txt", &m), NS_OK,
               "two params match");
        is_str(m.params[1], "a.txt", "second param captured");
        is_int(router_match(routes, 6, "PUT", "/v1/keys/k", &m), NS_E_METHOD_NOT_ALLOWED,
               "known path, unknown method is 405");
        is_str(m.allow, "GET, DELETE", "Allow lists the path's methods");
        is_int(router_match(routes, 6, "GET", "/v1/nope", &m), NS_E_NOT_FOUND, "unknown path 404");
        is_int(router_match(routes, 6, "GET", "/v1/keys/", &m), NS_E_NOT_FOUND,
               "empty param segment does not match");
        is_int(router_match(routes, 6, "GET", "/v1/keys/a/b", &m), NS_E_NOT_FOUND,
               "extra segment does not match");
        is_int(router_match(routes, 6, "GET", "/v1/keys/a%2e", &m), NS_E_NOT_FOUND,
               "param with characters outside [A-Za-z0-9._-] does not match");
        is_int(router_match(routes, 6, "GET", "/healthz/", &m), NS_E_NOT_FOUND,
               "trailing slash is a different path");
        is_int(router_match(routes, 6, "GET", "", &m), NS_E_NOT_FOUND, "empty path");
        char longp[300] = "/v1/keys/";
        memset(longp + 9, 'a', 200);
        longp[209] = '\0';
        is_int(router_match(routes, 6, "GET", longp, &m), NS_E_NOT_FOUND,
               "param longer than the limit does not match");
        return tap_done();
}
