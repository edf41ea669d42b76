/* Health, readiness, the API description and daemon information. */
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../core/pools.h"
#include "api.h"

/* specs/openapi.yaml, embedded at build time (generated openapi_spec.c). */
extern const char openapi_spec[];
extern const unsigned long openapi_spec_len;

void api_healthz(struct http_exchange *ex)
{
        http_respond_json(ex, 200, json_pack("{s:s}", "status", "ok"));
}

/* A prep task (core/prep.h) as clients see it: what it is, how far, how long. */
static json_t *prep_json(const struct prep *p)
{
        struct prep_progress pr;
        prep_progress(p, &pr);
        json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:I}", "name", p->desc->name, "label",
                              p->desc->label, "state", prep_state_name(p), "step", (int)pr.step,
                              "steps", (int)pr.steps, "stage", pr.stage, "elapsed_s",
                              (json_int_t)(pr.elapsed_ms / 1000));
        if (pr.detail[0])
                json_object_set_new(o, "detail", json_string(pr.detail));
        if (pr.items)
                json_object_set_new(o, "items", json_integer(pr.items));
        if (p->state == PREP_FAILED)
                json_object_set_new(o, "error", json_string(p->error));
        return o;
}

/* The prep tasks: with only_needed, those default machines need (readiness: the base,
 * and the VM guest when VMs are the default); else every one this host runs (the VM
 * guest where QEMU is installed). */
static json_t *prep_list(struct app *app, int only_needed)
{
        json_t *arr = json_array();
        json_array_append_new(arr, prep_json(&app->core.templates.base));
        struct err e = {0};
        int vm = only_needed ? app->core.driver == &qemu_driver
                             : app->core.vm_guest.state != PREP_MISSING ||
                                   qemu_driver.probe(&app->core.driver_ctx, &e) == 0;
        if (vm)
                json_array_append_new(arr, prep_json(&app->core.vm_guest));
        return arr;
}

void api_readyz(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct err e = {0};
        if (app->core.shutting_down || store_ping(app->core.store, &e) < 0) {
                http_respond_error(ex, NS_E_SHUTTING_DOWN, "not ready");
                return;
        }
        /* ready once what default machines start from is there */
        json_t *needed = prep_list(app, 1), *waiting = json_array();
        size_t i;
        json_t *t;
        json_array_foreach(needed, i, t)
        {
                if (strcmp(json_string_value(json_object_get(t, "state")), "ready") != 0)
                        json_array_append(waiting, t);
        }
        json_decref(needed);
        if (json_array_size(waiting) == 0) {
                json_decref(waiting);
                http_respond_json(ex, 200, json_pack("{s:s}", "status", "ready"));
                return;
        }
        http_respond_json(ex, 503,
                          json_pack("{s:s,s:o}", "status", "preparing", "waiting_for", waiting));
}

/* The spec is streamed (chunked) from memory: the same path large downloads take. */
struct mem_src {
        const char *p;
        size_t left;
};

static ssize_t mem_read(void *ctx, char *dst, size_t cap)
{
        struct mem_src *m = ctx;
        size_t n = m->left < cap ? m->left : cap;
        memcpy(dst, m->p, n);
        m->p += n;
        m->left -= n;
        return (ssize_t)n;
}

void api_openapi(struct http_exchange *ex)
{
        struct mem_src *m = malloc(sizeof(*m));
        if (!m) {
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        m->p = openapi_spec;
        m->left = openapi_spec_len;
        struct http_body_src src = {mem_read, free, m};
        http_respond_stream(ex, 200, "application/yaml", src);
}

/* The runtimes this host can run, with the base template's state. */
static json_t *runtimes(struct app *app)
{
        json_t *arr = json_array();
        for (size_t i = 0; i < app->core.ndrivers; i++) {
                const struct driver *d = app->core.drivers[i];
                struct err e = {0};
                if (d->probe(&app->core.driver_ctx, &e) < 0)
                        continue;
                int vm = strcmp(d->name, "vm") == 0;
                json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:b}", "name", d->name, "isolation",
                                      vm ? "virtual machine (QEMU)" : "gvisor (user-space kernel)",
                                      "base_template", prep_state_name(&app->core.templates.base),
                                      "default", d == app->core.driver, "network", d->networking);
                if (vm) /* hardware-accelerated (kvm) or emulated (tcg) */
                        json_object_set_new(o, "accel",
                                            json_string(qemu_accel(&app->core.driver_ctx)));
                json_array_append_new(arr, o);
        }
        return arr;
}

void api_info(struct http_exchange *ex)
{
        struct app *app = ex->app;
        const struct http_server_cfg *c = &app->http.cfg;
        int64_t now = time_wall_ms();
        json_t *doc = json_pack(
            "{s:s,s:s,s:I,s:I,s:i,s:s,s:s?,s:o,s:{s:I,s:I,s:I,s:I}}", "version", NS_VERSION,
            "api_version", "v1", "started_at", (json_int_t)app->started_ms, "uptime_s",
            (json_int_t)((now - app->started_ms) / 1000), "schema_version",
            store_schema_version(app->core.store), "state_dir", app->core.state_dir, "cache_dir",
            app->core.cache_dir[0] ? app->core.cache_dir : NULL, "runtimes", runtimes(app),
            "limits", "max_connections", (json_int_t)c->max_conns, "max_header_bytes",
            (json_int_t)c->max_head, "idle_timeout_ms", (json_int_t)c->idle_timeout_ms,
            "request_timeout_ms", (json_int_t)c->request_timeout_ms);
        json_object_set_new(doc, "prepare", prep_list(app, 0));
        json_object_set_new(doc, "base_pool",
                            pool_view(&app->core, "base", (int)app->core.base_pool_size));
        const struct netns_pool *np = &app->core.netns_pool;
        json_object_set_new(doc, "network",
                            json_pack("{s:b,s:s?,s:s,s:s,s:{s:i,s:i,s:i}}", "enabled",
                                      app->core.net.enabled, "reason",
                                      app->core.net.enabled ? NULL : app->core.net.reason,
                                      "preview_domain", app->preview_domain, "nftables_table",
                                      app->core.net.table, "netns_pool", "size", (int)np->want,
                                      "ready", (int)np->nready, "creating", (int)np->nbuilding));
        http_respond_json(ex, 200, doc);
}
