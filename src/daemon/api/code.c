/* /v1/machines/{id}/code/...: the code interpreter. It is a server inside machines of
 * the code-interpreter template (templates/code-interpreter: contexts, runs, kernels,
 * results), listening on CODE_PORT; these requests are authenticated here and then
 * forwarded to it whole, at their head, so a streamed run (NDJSON) flows through as
 * it happens and a client that leaves ends the run (the server interrupts it). The
 * API key never enters the machine; a hibernated machine resumes first. */
#include <stdio.h>
#include <string.h>

#include "../../common/log.h"
#include "../auth.h"
#include "api.h"
#include "preview.h"

static void take(struct http_exchange *ex);
static const struct route code_route = {"*", "/v1/machines/{id}/code/...", take, ROUTE_PUBLIC, 0,
                                        NULL};

#define PREFIX "/v1/machines/"

/* What the interpreter serves: a request for anything else is answered here (404 or
 * 405) and never reaches the machine. Handlers unused: take() forwards them all. */
const struct route api_code_routes[] = {
    {"POST", "/v1/machines/{id}/code/run", NULL, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/code/contexts", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/code/contexts", NULL, 0, 0, NULL},
    {"DELETE", "/v1/machines/{id}/code/contexts/{context_id}", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/code/contexts/{context_id}/restart", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/code/contexts/{context_id}/interrupt", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/code/runs", NULL, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/code/runs", NULL, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/code/runs/{run_id}", NULL, 0, 0, NULL},
    {"DELETE", "/v1/machines/{id}/code/runs/{run_id}", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/code/runs/{run_id}/cancel", NULL, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/code/runs/{run_id}/artifacts", NULL, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/code/runs/{run_id}/artifacts/{artifact_id}", NULL, 0, 0, NULL},
};
const size_t api_code_nroutes = sizeof(api_code_routes) / sizeof(api_code_routes[0]);

/* The machine id and the server's path ("/run", "/contexts/ID/restart") of a code
 * request's path; 0, or -1 when the path is not one. IDs and segments: [A-Za-z0-9_-]. */
static int split(const char *path, char *id, size_t idcap, const char **rest)
{
        if (strncmp(path, PREFIX, strlen(PREFIX)) != 0)
                return -1;
        const char *p = path + strlen(PREFIX);
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
        if (n == 0 || n >= idcap || strncmp(p + n, "/code/", 6) != 0)
                return -1;
        memcpy(id, p, n);
        id[n] = '\0';
        *rest = p + n + 5; /* "/run" ... */
        for (const char *s = *rest; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/",
                            *s))
                        return -1;
        return strstr(*rest, "//") || (*rest)[1] == '\0' ? -1 : 0;
}

const struct route *api_code_intercept(struct http_exchange *ex)
{
        char id[64];
        const char *rest;
        return split(ex->req->path, id, sizeof(id), &rest) == 0 ? &code_route : NULL;
}

/* Nothing listens on the port: the machine is not from the code-interpreter template
 * (or its server died). */
void api_code_refused(struct preview_conn *pc)
{
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "machine %s runs no code interpreter (create it from the code-interpreter "
                 "template)",
                 pc->id);
        preview_conn_fail(pc, NS_E_CODE_INTERPRETER_NOT_AVAILABLE, msg);
}

static void take(struct http_exchange *ex)
{
        struct app *app = ex->app;
        enum ns_code c = auth_authenticate(ex);
        if (c != NS_OK) {
                http_respond_error(ex, c, "%s", ns_code_def(c)->meaning);
                return;
        }
        char id[64];
        const char *rest;
        if (split(ex->req->path, id, sizeof(id), &rest) < 0) { /* intercepted: it splits */
                http_respond_error(ex, NS_E_NOT_FOUND, "no such route");
                return;
        }
        struct route_match rm;
        enum ns_code rc =
            router_match(api_code_routes, api_code_nroutes, ex->req->method, ex->req->path, &rm);
        if (rc == NS_E_METHOD_NOT_ALLOWED) {
                http_respond_error(ex, rc, "%s is not allowed here (%s are)", ex->req->method,
                                   rm.allow);
                return;
        }
        if (rc != NS_OK) {
                http_respond_error(ex, NS_E_NOT_FOUND, "no route matches this path");
                return;
        }
        struct machine *m = machine_find(&app->core, id);
        if (!m) {
                http_respond_error(ex, NS_E_MACHINE_NOT_FOUND, "no machine %s", id);
                return;
        }
        /* the server's path and the query as the client sent it */
        const char *query = strchr(ex->req->target, '?');
        char target[512];
        if ((size_t)snprintf(target, sizeof(target), "%s%s", rest, query ? query : "") >=
            sizeof(target)) {
                http_respond_error(ex, NS_E_INVALID_REQUEST, "the request target is too long");
                return;
        }
        /* forwarding hands the socket over and frees the request: log what it names first */
        char method[16];
        snprintf(method, sizeof(method), "%s", ex->req->method);
        if (preview_forward(ex, m, CODE_PORT, target, api_code_refused) == 0)
                log_info("code_request", "machine=%s method=%s target=%s", m->id, method, target);
}
