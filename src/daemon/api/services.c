/* Servers inside machines of built-in templates, reached through our API only: the code
 * interpreter (/v1/machines/{id}/code/..., templates/code-interpreter: contexts, runs,
 * kernels, results on CODE_PORT) and the desktop's automation server
 * (/v1/machines/{id}/desktop/..., templates/desktop on DESKTOP_PORT). These requests are
 * authenticated here and then forwarded whole, at their head, so a streamed run (NDJSON)
 * or a screenshot flows through as it comes and a client that leaves ends a run (the
 * server interrupts it). The API key never enters the machine; a hibernated machine
 * resumes first. The preview proxy never reaches these ports (preview.c). */
#include <stdio.h>
#include <string.h>

#include "../../common/log.h"
#include "../auth.h"
#include "api.h"
#include "preview.h"

static void take(struct http_exchange *ex);
static const struct route service_route = {
    "*", "/v1/machines/{id}/{service}/...", take, ROUTE_PUBLIC, 0, NULL};

#define PREFIX "/v1/machines/"

/* What each server serves: a request for anything else is answered here (404 or 405)
 * and never reaches the machine. Handlers unused: take() forwards them all. */
static const struct route code_routes[] = {
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

static const struct route desktop_routes[] = {
    {"GET", "/v1/machines/{id}/desktop/screen", NULL, 0, 0, NULL},
    {"PUT", "/v1/machines/{id}/desktop/screen", NULL, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/desktop/screenshot", NULL, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/desktop/mouse", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/desktop/mouse/move", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/desktop/mouse/click", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/desktop/mouse/down", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/desktop/mouse/up", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/desktop/mouse/drag", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/desktop/mouse/scroll", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/desktop/keyboard/type", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/desktop/keyboard/key", NULL, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/desktop/windows", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/desktop/windows/{window_id}/focus", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/desktop/windows/{window_id}/close", NULL, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/desktop/clipboard", NULL, 0, 0, NULL},
    {"PUT", "/v1/machines/{id}/desktop/clipboard", NULL, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/desktop/launch", NULL, 0, 0, NULL},
};

/* served by the daemon itself: api/viewer.c, api/recordings.c */
static const char *const desktop_own[] = {"/viewer", "/recordings", NULL};

#define N(a) (sizeof(a) / sizeof((a)[0]))
const struct machine_service api_services[] = {
    {"code", CODE_PORT, code_routes, N(code_routes), NS_E_CODE_INTERPRETER_NOT_AVAILABLE,
     "runs no code interpreter (create it from the code-interpreter template)", NULL},
    {"desktop", DESKTOP_PORT, desktop_routes, N(desktop_routes), NS_E_DESKTOP_NOT_AVAILABLE,
     "has no desktop (create it from the desktop template)", desktop_own},
};
const size_t api_nservices = N(api_services);

/* The service, machine id and the server's path ("/run", "/mouse/click") of a request's
 * path; NULL when the path is not one. IDs and segments: [A-Za-z0-9_-]. */
static const struct machine_service *split(const char *path, char *id, size_t idcap,
                                           const char **rest)
{
        static const char seg[] =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        if (strncmp(path, PREFIX, strlen(PREFIX)) != 0)
                return NULL;
        const char *p = path + strlen(PREFIX);
        size_t n = strspn(p, seg);
        if (n == 0 || n >= idcap || p[n] != '/')
                return NULL;
        const struct machine_service *s = NULL;
        for (size_t i = 0; i < api_nservices && !s; i++) {
                size_t k = strlen(api_services[i].segment);
                if (strncmp(p + n + 1, api_services[i].segment, k) == 0 && p[n + 1 + k] == '/')
                        s = &api_services[i];
        }
        if (!s)
                return NULL;
        memcpy(id, p, n);
        id[n] = '\0';
        *rest = p + n + 1 + strlen(s->segment); /* "/run" ... */
        for (const char *const *o = s->own; o && *o; o++) {
                size_t k = strlen(*o);
                if (strncmp(*rest, *o, k) == 0 && ((*rest)[k] == '\0' || (*rest)[k] == '/'))
                        return NULL; /* routed as the daemon's own */
        }
        for (const char *c = *rest; *c; c++)
                if (*c != '/' && !strchr(seg, *c))
                        return NULL;
        return strstr(*rest, "//") || (*rest)[1] == '\0' ? NULL : s;
}

const struct route *api_service_intercept(struct http_exchange *ex)
{
        char id[64];
        const char *rest;
        return split(ex->req->path, id, sizeof(id), &rest) ? &service_route : NULL;
}

void api_service_refused(struct preview_conn *pc)
{
        for (size_t i = 0; i < api_nservices; i++)
                if (api_services[i].port == pc->port) {
                        char msg[200];
                        snprintf(msg, sizeof(msg), "machine %s %s", pc->id,
                                 api_services[i].missing);
                        preview_conn_fail(pc, api_services[i].code, msg);
                        return;
                }
        preview_conn_fail(pc, NS_E_UPSTREAM_UNREACHABLE, "nothing listens on the port");
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
        const struct machine_service *s = split(ex->req->path, id, sizeof(id), &rest);
        if (!s) { /* intercepted: it splits */
                http_respond_error(ex, NS_E_NOT_FOUND, "no such route");
                return;
        }
        struct route_match rm;
        enum ns_code rc = router_match(s->routes, s->nroutes, ex->req->method, ex->req->path, &rm);
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
        if (preview_forward(ex, m, s->port, target, api_service_refused) == 0)
                log_info("service_request", "machine=%s service=%s method=%s target=%s", m->id,
                         s->segment, method, target);
}
