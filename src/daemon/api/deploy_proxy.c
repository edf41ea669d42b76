/* Deployed services reached through the daemon: http://NAME.DOMAIN/... (the preview
 * domain) or http://DAEMON/deploy/NAME/... relayed to the port of the service's live
 * machine, which resumes first when it sleeps. No API key: a service is public, and its
 * own Authorization header reaches it untouched. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../core/deploy.h"
#include "api.h"
#include "preview.h"

#define PREFIX "/deploy/"

static void take(struct http_exchange *ex);
static const struct route deploy_route = {"*", "(deployment)", take, ROUTE_PUBLIC, 0, NULL};

/* The service's name from the host (NAME.DOMAIN[:port]) or the path (/deploy/NAME/...)
 * into name; *target the path to send on ("" for /deploy/NAME). 0, or -1 when neither
 * names one. */
static int service_name(struct http_exchange *ex, char *name, size_t cap, const char **target)
{
        struct app *app = ex->app;
        const char *host = http_req_header(ex->req, "Host");
        size_t dl = strlen(app->preview_domain);
        if (host) {
                size_t hl = strcspn(host, ":");
                const char *dot = memchr(host, '.', hl);
                size_t n = dot ? (size_t)(dot - host) : 0;
                if (dot && n < cap && hl - n - 1 == dl &&
                    strncasecmp(dot + 1, app->preview_domain, dl) == 0 && n >= 1) {
                        for (size_t i = 0; i < n; i++)
                                name[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32
                                                                                  : host[i]);
                        name[n] = '\0';
                        *target = ex->req->target;
                        return deploy_name_valid(name) ? 0 : -1;
                }
        }
        if (strncmp(ex->req->target, PREFIX, strlen(PREFIX)) != 0)
                return -1;
        const char *p = ex->req->target + strlen(PREFIX);
        size_t n = strcspn(p, "/?");
        if (n == 0 || n >= cap)
                return -1;
        memcpy(name, p, n);
        name[n] = '\0';
        *target = p + n;
        return deploy_name_valid(name) ? 0 : -1;
}

const struct route *api_deploy_intercept(struct http_exchange *ex)
{
        char name[DEPLOY_NAME_MAX + 1];
        const char *target;
        if (service_name(ex, name, sizeof(name), &target) < 0)
                return NULL;
        /* a host label that is a machine's preview (PORT-ID...) is never a service's:
         * names of services can look alike, so only a service that exists is taken */
        json_t *dep = NULL;
        struct err e = {0};
        if (store_deploy_get(api_core(ex)->store, name, &dep, &e) < 0)
                return NULL;
        const char *kind = json_string_value(json_object_get(dep, "kind"));
        int service = kind && !strcmp(kind, "service");
        json_decref(dep);
        return service ? &deploy_route : NULL;
}

static void take(struct http_exchange *ex)
{
        char name[DEPLOY_NAME_MAX + 1];
        const char *target;
        unsigned port = 0;
        if (service_name(ex, name, sizeof(name), &target) < 0) {
                http_respond_error(ex, NS_E_NOT_FOUND, "not a deployment's URL");
                return;
        }
        int by_path = target != ex->req->target;
        struct machine *m = deploy_service_machine(api_core(ex), name, &port);
        if (!m) {
                http_respond_error(ex, NS_E_MACHINE_NOT_RUNNING,
                                   "service '%s' has no live machine yet (its revision is being "
                                   "brought up, or failed): see nullspace deployments get %s",
                                   name, name);
                return;
        }
        char path[8200];
        snprintf(path, sizeof(path), "%s", target);
        preview_relay(ex, m, port, path, by_path);
}

void api_deploy_urls(struct http_exchange *ex, json_t *dep)
{
        struct app *app = ex->app;
        const char *name = json_string_value(json_object_get(dep, "name"));
        const char *kind = json_string_value(json_object_get(dep, "kind"));
        if (!name || !kind || strcmp(kind, "service") != 0)
                return;
        char domain[300], url[400];
        preview_domain(app, domain, sizeof(domain));
        snprintf(url, sizeof(url), "http://%s.%s/", name, domain);
        json_object_set_new(dep, "url", json_string(url));
        snprintf(url, sizeof(url), "http://%s" PREFIX "%s/", app->http.bound, name);
        json_object_set_new(dep, "path_url", json_string(url));
}
