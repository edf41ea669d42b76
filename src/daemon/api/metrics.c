/* GET /v1/machines/{id}/metrics: the machine's usage now as the core samples it
 * (machine_sample: CPU, memory, its writable layer's bytes on disk), or with ?since= its
 * usage over time from the core's ring (core/monitor.c). */
#include <stdlib.h>

#include "../../common/cleanup.h"
#include "../../core/monitor.h"
#include "api.h"
#include "monitor.h"

static json_t *num_or_null(long long v)
{
        return v >= 0 ? json_integer(v) : json_null();
}

json_t *usage_point_json(const struct usage_point *p)
{
        json_t *d = json_pack("{s:I}", "ts", (json_int_t)p->ts);
        json_object_set_new(d, "cpu_ns", num_or_null(p->cpu_ns));
        json_object_set_new(d, "memory_bytes", num_or_null(p->mem_bytes));
        json_object_set_new(d, "memory_limit_bytes", num_or_null(p->mem_limit));
        json_object_set_new(d, "disk_bytes", num_or_null(p->disk_bytes));
        json_object_set_new(d, "net_rx_bytes", num_or_null(p->net_rx_bytes));
        json_object_set_new(d, "net_tx_bytes", num_or_null(p->net_tx_bytes));
        return d;
}

static void on_sample(void *ud, const struct machine_sample *s)
{
        struct http_exchange *ex = ud;
        ex->on_abort = NULL;
        json_t *doc = json_pack("{s:s,s:I}", "id", s->id, "sampled_at", (json_int_t)s->sampled_at);
        json_object_set_new(doc, "cpu_ns", num_or_null(s->cpu_ns));
        json_object_set_new(doc, "memory_bytes", num_or_null(s->mem_bytes));
        json_object_set_new(doc, "memory_limit_bytes", num_or_null(s->mem_limit));
        json_object_set_new(doc, "disk_bytes", num_or_null(s->disk_bytes));
        http_respond_json(ex, 200, doc);
}

static void abort_metrics(struct http_exchange *ex)
{
        machine_sample_forget(ex->owner);
}

/* The points newer than `since` (ms since epoch) the core kept of a live machine. */
static void series(struct http_exchange *ex, const struct query_param *since)
{
        long long after = 0;
        if (api_query_int(ex, since, 0, INT64_MAX, &after) < 0)
                return;
        struct machine *m = api_live_machine(ex);
        if (!m)
                return;
        _cleanup_free_ struct usage_point *v = calloc(USAGE_RING_N, sizeof(*v));
        if (!v) {
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        size_t n = usage_series(m, after, v, USAGE_RING_N);
        json_t *points = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(points, usage_point_json(&v[i]));
        http_respond_json(ex, 200,
                          json_pack("{s:s,s:i,s:i,s:o}", "id", m->id, "interval_ms",
                                    (int)usage_interval_ms(api_core(ex)), "capacity", USAGE_RING_N,
                                    "points", points));
}

void api_machines_metrics(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "since"}};
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0)
                return;
        if (q[0].present) {
                series(ex, &q[0]);
                return;
        }
        struct machine *m = api_running_machine(ex);
        if (!m)
                return;
        struct err e = {0};
        struct machine_sampling *op = machine_sample(m, on_sample, ex, &e);
        if (!op) {
                http_respond_error(ex, NS_E_INTERNAL, "%s", e.msg);
                return;
        }
        ex->owner = op;
        ex->on_abort = abort_metrics;
}
