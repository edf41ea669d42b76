/* GET /v1/machines/{id}/metrics: the machine's usage as the core samples it
 * (machine_sample: CPU, memory, its writable layer's bytes on disk). */
#include "api.h"

static json_t *num_or_null(long long v)
{
        return v >= 0 ? json_integer(v) : json_null();
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

void api_machines_metrics(struct http_exchange *ex)
{
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
