/* E2B's GET /sandboxes/{id}/metrics?start=&end= (unix seconds): the machine's usage over
 * time from the core's ring (core/monitor.c) as E2B's SandboxMetric list; and
 * GET /sandboxes/{id}/logs: its lifecycle events (the event log) as E2B's SandboxLogs.
 * Loop thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../core/monitor.h"
#include "api.h"
#include "e2b.h"

/* A unix-seconds bound (absent: dflt); -1 when malformed. */
static int seconds_param(const struct query_param *p, long long dflt, long long *out)
{
        char *end;
        *out = dflt;
        if (!p->present)
                return 0;
        *out = strtoll(p->value, &end, 10);
        return *end || end == p->value || *out < 0 ? -1 : 0;
}

static json_t *metric_json(const struct usage_point *p, const struct usage_point *before,
                           unsigned vcpus)
{
        double pct = 0;
        if (before && p->cpu_ns >= 0 && before->cpu_ns >= 0 && p->ts > before->ts)
                pct = (double)(p->cpu_ns - before->cpu_ns) / 1e4 / (double)(p->ts - before->ts) /
                      (vcpus ? vcpus : 1);
        return json_pack(
            "{s:o,s:I,s:i,s:f,s:I,s:I,s:I,s:I}", "timestamp", e2b_iso_time(p->ts), "timestampUnix",
            (json_int_t)(p->ts / 1000), "cpuCount", (int)vcpus, "cpuUsedPct", pct < 0 ? 0 : pct,
            "memUsed", (json_int_t)(p->mem_bytes > 0 ? p->mem_bytes : 0), "memTotal",
            (json_int_t)(p->mem_limit > 0 ? p->mem_limit : 0), "diskUsed",
            (json_int_t)(p->disk_bytes > 0 ? p->disk_bytes : 0), "diskTotal", (json_int_t)0);
}

void e2b_sandboxes_metrics(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "start"}, {.name = "end"}};
        char msg[160];
        long long start, end;
        if (query_parse(ex->req->query, q, 2, msg, sizeof(msg)) < 0 ||
            seconds_param(&q[0], 0, &start) < 0 ||
            seconds_param(&q[1], INT64_MAX / 1000, &end) < 0) {
                e2b_error(ex, 400, "start and end are unix seconds");
                return;
        }
        e2b_path_machine(ex);
        struct machine *m = machine_find(api_core(ex), ex->match.params[0]);
        if (!m) {
                e2b_error(ex, 404, "sandbox %s not found", e2b_sandbox_id(ex->match.params[0]));
                return;
        }
        _cleanup_free_ struct usage_point *v = calloc(USAGE_RING_N, sizeof(*v));
        if (!v) {
                e2b_error(ex, 500, "out of memory");
                return;
        }
        /* one point before start too: the first one's CPU share needs it */
        size_t n = usage_series(m, 0, v, USAGE_RING_N);
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                if (v[i].ts >= start * 1000 && v[i].ts <= end * 1000)
                        json_array_append_new(
                            arr, metric_json(&v[i], i ? &v[i - 1] : NULL, m->conf.vcpus));
        http_respond_json(ex, 200, arr);
}

/* One lifecycle event as E2B's log line and structured entry. */
static void log_event(const struct event_rec *ev, json_t *lines, json_t *entries)
{
        char line[256];
        snprintf(line, sizeof(line), "%s%s%s", ev->kind, ev->reason[0] ? " reason=" : "",
                 ev->reason);
        json_array_append_new(
            lines, json_pack("{s:o,s:s}", "timestamp", e2b_iso_time(ev->ts), "line", line));
        json_t *fields = json_pack("{s:s}", "event_id", ev->id);
        if (ev->reason[0])
                json_object_set_new(fields, "reason", json_string(ev->reason));
        json_array_append_new(entries,
                              json_pack("{s:o,s:s,s:s,s:o}", "timestamp", e2b_iso_time(ev->ts),
                                        "level", strstr(ev->kind, "failed") ? "error" : "info",
                                        "message", ev->kind, "fields", fields));
}

void e2b_sandboxes_logs(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "start"}, {.name = "limit"}};
        char msg[160];
        long long start = 0, limit = 1000;
        if (query_parse(ex->req->query, q, 2, msg, sizeof(msg)) < 0 ||
            (q[0].present && e2b_whole(q[0].value, 0, INT64_MAX, &start) < 0) ||
            (q[1].present && e2b_whole(q[1].value, 1, 1000, &limit) < 0)) {
                e2b_error(ex, 400, "start is unix milliseconds, limit 1 to 1000");
                return;
        }
        struct machine_rec r;
        struct err e = {0};
        e2b_path_machine(ex);
        if (store_machine_get(api_core(ex)->store, ex->match.params[0], &r, &e) < 0) {
                e2b_error(ex, 404, "sandbox %s not found", e2b_sandbox_id(ex->match.params[0]));
                return;
        }
        store_machine_rec_free(&r);
        struct event_filter f = {
            .subject_type = "machine", .subject_id = ex->match.params[0], .since_ts = start};
        struct event_rec *v;
        size_t n;
        if (store_event_query(api_core(ex)->store, &f, (unsigned)limit, &v, &n, &e) < 0) {
                e2b_error(ex, 500, "%s", e.msg);
                return;
        }
        json_t *lines = json_array(), *entries = json_array();
        for (size_t i = 0; i < n; i++) {
                log_event(&v[i], lines, entries);
                store_event_rec_free(&v[i]);
        }
        free(v);
        http_respond_json(ex, 200, json_pack("{s:o,s:o}", "logs", lines, "logEntries", entries));
}
