/* Prometheus counters and the /metrics page (metrics_prom.h). */
#include <stdio.h>
#include <string.h>

#include "metrics_prom.h"
#include "../common/cleanup.h"
#include "../common/prom.h"
#include "../common/util.h"
#include "../core/webhooks.h"
#include "api/api.h"
#include "api/wsapi.h"
#include "app.h"

#define MAX_ROUTES   256
#define MAX_TYPES    128
#define MAX_STATUSES 8

static const char *const op_names[] = {"create", "hibernate", "resume",
                                       "fork",   "snapshot",  "destroy"};

/* The daemon's counters: one daemon per process, its loop thread the only user. */
static struct {
        struct {
                const struct route *route; /* NULL: not routed (404, 405, early errors) */
                struct prom_hist latency;
                int status[MAX_STATUSES];
                uint64_t count[MAX_STATUSES];
        } routes[MAX_ROUTES];
        size_t nroutes;
        struct {
                char type[EVENT_TYPE_MAX];
                uint64_t count;
        } types[MAX_TYPES];
        size_t ntypes;
        struct prom_hist ops[ARRAY_SIZE(op_names)];
        uint64_t op_failed[ARRAY_SIZE(op_names)];
} reg;

void prom_count_event(const struct event_rec *ev)
{
        size_t i = 0;
        while (i < reg.ntypes && strcmp(reg.types[i].type, ev->kind) != 0)
                i++;
        if (i == reg.ntypes) {
                if (i == MAX_TYPES)
                        return;
                snprintf(reg.types[i].type, sizeof(reg.types[i].type), "%s", ev->kind);
                reg.ntypes++;
        }
        reg.types[i].count++;
}

void prom_count_request(const struct http_exchange *ex)
{
        const struct route *r = ex->match.route;
        size_t i = 0;
        while (i < reg.nroutes && reg.routes[i].route != r)
                i++;
        if (i == reg.nroutes) {
                if (i == MAX_ROUTES)
                        return;
                reg.routes[i].route = r;
                reg.nroutes++;
        }
        prom_hist_observe(&reg.routes[i].latency, (double)(time_mono_ns() - ex->start_ns) / 1e9);
        for (int k = 0; k < MAX_STATUSES; k++) {
                if (reg.routes[i].status[k] == 0)
                        reg.routes[i].status[k] = ex->status;
                if (reg.routes[i].status[k] == ex->status) {
                        reg.routes[i].count[k]++;
                        return;
                }
        }
}

void prom_count_operation(struct core *core, const char *op, int ok, uint64_t ns)
{
        (void)core;
        for (size_t i = 0; i < ARRAY_SIZE(op_names); i++)
                if (strcmp(op_names[i], op) == 0) {
                        prom_hist_observe(&reg.ops[i], (double)ns / 1e9);
                        reg.op_failed[i] += !ok;
                }
}

/* Machines by runtime and state, and agent channels: one pass over the machines. */
static void write_machines(struct buf *b, struct core *core)
{
        unsigned count[ARRAY_SIZE(core->drivers)][M_STATE_COUNT] = {{0}}, chans = 0;
        for (struct machine *m = core->machines; m; m = m->next) {
                for (size_t d = 0; d < core->ndrivers; d++)
                        if (m->rt.drv == core->drivers[d] && m->state < M_STATE_COUNT)
                                count[d][m->state]++;
                for (struct agent_chan *c = m->rt.agent_open ? m->rt.agent.chans : NULL; c;
                     c = c->next)
                        chans++;
        }
        prom_head(b, "nullspace_machines", "gauge",
                  "Machines the daemon holds, by state and runtime.");
        for (size_t d = 0; d < core->ndrivers; d++)
                for (int s = M_CREATING; s < M_STATE_COUNT; s++) {
                        if (s == M_DESTROYED)
                                continue;
                        char l1[64], l2[64], labels[140];
                        prom_label(l1, sizeof(l1), "state", machine_state_name(s));
                        prom_label(l2, sizeof(l2), "runtime", core->drivers[d]->name);
                        snprintf(labels, sizeof(labels), "%s,%s", l1, l2);
                        prom_sample(b, "nullspace_machines", labels, count[d][s]);
                }
        prom_head(b, "nullspace_agent_channels_open", "gauge",
                  "Channels open to machines' agents (exec, files, watch, PTY).");
        prom_sample(b, "nullspace_agent_channels_open", "", chans);
}

static void write_operations(struct buf *b)
{
        prom_head(b, "nullspace_machine_operation_duration_seconds", "histogram",
                  "Machine operations from their start to the state they end in.");
        for (size_t i = 0; i < ARRAY_SIZE(op_names); i++) {
                char l[64];
                prom_label(l, sizeof(l), "operation", op_names[i]);
                prom_hist_write(b, "nullspace_machine_operation_duration_seconds", l, &reg.ops[i]);
        }
        prom_head(b, "nullspace_machine_operation_failures_total", "counter",
                  "Machine operations that left the machine failed.");
        for (size_t i = 0; i < ARRAY_SIZE(op_names); i++) {
                char l[64];
                prom_label(l, sizeof(l), "operation", op_names[i]);
                prom_sample(b, "nullspace_machine_operation_failures_total", l, reg.op_failed[i]);
        }
}

static void route_labels(char *out, size_t cap, const struct route *r)
{
        char l1[300], l2[64];
        prom_label(l1, sizeof(l1), "route", r ? r->pattern : "unrouted");
        prom_label(l2, sizeof(l2), "method", r ? r->method : "any");
        snprintf(out, cap, "%s,%s", l1, l2);
}

static void write_http(struct buf *b)
{
        prom_head(b, "nullspace_http_requests_total", "counter",
                  "HTTP requests answered, by route, method and status.");
        for (size_t i = 0; i < reg.nroutes; i++)
                for (int k = 0; k < MAX_STATUSES && reg.routes[i].status[k]; k++) {
                        char rl[400], labels[420];
                        route_labels(rl, sizeof(rl), reg.routes[i].route);
                        snprintf(labels, sizeof(labels), "%s,status=\"%d\"", rl,
                                 reg.routes[i].status[k]);
                        prom_sample(b, "nullspace_http_requests_total", labels,
                                    reg.routes[i].count[k]);
                }
        prom_head(b, "nullspace_http_request_duration_seconds", "histogram",
                  "Time from a request's arrival to its response queued in full, by route.");
        for (size_t i = 0; i < reg.nroutes; i++) {
                char rl[400];
                route_labels(rl, sizeof(rl), reg.routes[i].route);
                prom_hist_write(b, "nullspace_http_request_duration_seconds", rl,
                                &reg.routes[i].latency);
        }
}

static void write_events(struct buf *b, struct core *core)
{
        prom_head(b, "nullspace_events_total", "counter", "Lifecycle events recorded, by type.");
        for (size_t i = 0; i < reg.ntypes; i++) {
                char l[80];
                prom_label(l, sizeof(l), "type", reg.types[i].type);
                prom_sample(b, "nullspace_events_total", l, reg.types[i].count);
        }
        struct webhook_stats w = webhooks_stats(core);
        prom_head(b, "nullspace_webhook_deliveries_total", "counter",
                  "Webhook deliveries ended (delivered, failed) or retried.");
        prom_sample(b, "nullspace_webhook_deliveries_total", "outcome=\"delivered\"", w.delivered);
        prom_sample(b, "nullspace_webhook_deliveries_total", "outcome=\"failed\"", w.failed);
        prom_sample(b, "nullspace_webhook_deliveries_total", "outcome=\"retried\"", w.retried);
        prom_head(b, "nullspace_webhook_attempts_total", "counter", "Webhook requests sent.");
        prom_sample(b, "nullspace_webhook_attempts_total", "", w.attempts);
        prom_head(b, "nullspace_webhook_inflight", "gauge", "Webhook requests in flight.");
        prom_sample(b, "nullspace_webhook_inflight", "", w.inflight);
        prom_head(b, "nullspace_store_write_duration_seconds", "histogram",
                  "SQLite statements that write, COMMIT (with its fsync) included.");
        prom_hist_write(b, "nullspace_store_write_duration_seconds", "",
                        store_write_latency(core->store));
}

void api_prom_metrics(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct buf b;
        buf_init(&b, 8u << 20);
        prom_head(&b, "nullspace_build_info", "gauge", "The daemon's version.");
        prom_sample(&b, "nullspace_build_info", "version=\"" NS_VERSION "\"", 1);
        prom_head(&b, "nullspace_start_time_seconds", "gauge", "When the daemon started.");
        prom_sample(&b, "nullspace_start_time_seconds", "", (double)app->started_ms / 1000.0);
        write_machines(&b, &app->core);
        write_operations(&b);
        write_http(&b);
        write_events(&b, &app->core);
        unsigned clients = 0;
        for (struct ws_client *c = app->ws_clients; c; c = c->next)
                clients += c->ws != NULL;
        prom_head(&b, "nullspace_websocket_clients", "gauge", "WebSocket API clients connected.");
        prom_sample(&b, "nullspace_websocket_clients", "", clients);
        http_respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
        buf_fini(&b);
}
