/* Requests as causes, events to their consumers, pruning (observe.h). */
#include "observe.h"

#include <string.h>

#include "../common/log.h"
#include "../core/monitor.h"
#include "../core/webhooks.h"
#include "api/api.h"
#include "api/monitor.h"
#include "api/wsapi.h"
#include "app.h"
#include "metrics_prom.h"

#define PRUNE_EVERY_MS (3600u * 1000u)

static void on_event(void *ud, const struct event_rec *ev, unsigned fanout)
{
        struct app *app = ud;
        ws_client_broadcast_event(app, ev);
        monitor_broadcast_event(app, ev);
        prom_count_event(ev);
        if (fanout)
                webhooks_kick(&app->core);
}

static void on_process(struct core *core, const char *machine_id, json_t *note)
{
        monitor_broadcast_process(app_of(core), machine_id, note);
}

void observe_install(struct app *app)
{
        struct store_event_hook hook = {on_event, app};
        store_set_event_hook(app->core.store, &hook);
        app->core.hooks.operation = prom_count_operation;
        app->core.hooks.process = on_process;
        app->core.hooks.in_use = preview_machine_in_use;
}

static void on_prune(struct loop_timer *t)
{
        struct app *app = (struct app *)((char *)t - offsetof(struct app, prune_timer));
        core_events_prune(&app->core, app->events_retention_s);
        loop_timer_arm(&app->core.loop, &app->prune_timer, PRUNE_EVERY_MS, on_prune);
}

int observe_start(struct app *app, struct err *e)
{
        loop_timer_arm(&app->core.loop, &app->prune_timer, 0, on_prune);
        monitor_start(&app->core);
        return webhooks_start(&app->core, app->webhook_allow_private, e);
}

/* The metrics listener's one route: no key (the address is the protection). */
static const struct route metrics_routes[] = {
    {"GET", "/metrics", api_prom_metrics, 0, 0, NULL},
};

static enum ns_code open_door(struct http_exchange *ex)
{
        (void)ex;
        return NS_OK;
}

int observe_metrics_listen(struct app *app, const char *hostport, struct err *e)
{
        struct http_server_cfg cfg;
        http_server_cfg_defaults(&cfg);
        cfg.max_conns = 64;
        struct http_app happ = {
            .routes = metrics_routes, .nroutes = 1, .authenticate = open_door, .ctx = app};
        int r = http_server_start(&app->metrics_http, &app->core.loop, hostport, &cfg, &happ, e);
        if (r == 0) {
                app->metrics_listening = 1;
                log_info("metrics_listening", "addr=%s", app->metrics_http.bound);
        }
        return r;
}

void observe_stop(struct app *app)
{
        if (app->metrics_listening)
                http_server_fini(&app->metrics_http);
        app->metrics_listening = 0;
        loop_timer_cancel(&app->core.loop, &app->prune_timer);
        monitor_stop(&app->core);
        webhooks_stop(&app->core);
}

/* Whether a request uses the machine in its path: everything but looking at it (its
 * record, events and metrics), which would otherwise keep a watched machine awake. */
static int uses_machine(const struct http_exchange *ex)
{
        static const char *const looks[] = {"/v1/machines/{id}", "/v1/machines/{id}/events",
                                            "/v1/machines/{id}/metrics"};
        const char *p = ex->match.route->pattern;
        if (strncmp(p, "/v1/machines/{id}", 17) != 0)
                return 0;
        for (size_t i = 0; i < sizeof(looks) / sizeof(looks[0]); i++)
                if (!strcmp(ex->req->method, "GET") && !strcmp(p, looks[i]))
                        return 0;
        return 1;
}

void observe_dispatch(struct http_exchange *ex)
{
        struct app *app = ex->app;
        core_cause_set(&app->core, "user", ex->key_id);
        struct machine *m = uses_machine(ex) ? machine_find(&app->core, ex->match.params[0]) : NULL;
        if (m) /* a request to a machine is a sign of use (its idle time restarts) */
                machine_touch(m);
        ex->match.route->handler(ex);
        core_cause_clear(&app->core);
}

void observe_done(struct http_exchange *ex)
{
        prom_count_request(ex);
}
