/* Monitor subscriptions: a timer per subscription sampling its machines (core/monitor.c)
 * and the events of the machines it watches; sinks for WebSocket and SSE (monitor.h). */
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "../../core/monitor.h"
#include "api.h"
#include "monitor.h"

struct prev {
        char id[MACHINE_ID_MAX];
        int64_t cpu_ns, ts;
};

struct monitor_sub {
        struct app *app;
        char (*machines)[MACHINE_ID_MAX];
        size_t n;
        unsigned interval_ms;
        struct loop_timer timer;
        monitor_sink sink;
        void *ud;
        struct prev *prev; /* the last CPU reading per machine, for cpu_percent */
        size_t nprev;
        struct monitor_sub *next;
};

static int watches(const struct monitor_sub *s, const char *id)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->machines[i], id) == 0)
                        return 1;
        return s->n == 0;
}

/* CPU use since the last sample of id, in percent of one core (-1 on the first). */
static double cpu_percent(struct monitor_sub *s, const char *id, const struct usage_point *p)
{
        size_t i = 0;
        while (i < s->nprev && strcmp(s->prev[i].id, id) != 0)
                i++;
        if (i == s->nprev) {
                struct prev *g = realloc(s->prev, (s->nprev + 1) * sizeof(*g));
                if (!g)
                        return -1;
                s->prev = g;
                snprintf(g[i].id, sizeof(g[i].id), "%s", id);
                g[i].ts = 0;
                s->nprev++;
        }
        struct prev *q = &s->prev[i];
        double pct = -1;
        if (q->ts && p->ts > q->ts && p->cpu_ns >= q->cpu_ns)
                pct = (double)(p->cpu_ns - q->cpu_ns) / 1e6 / (double)(p->ts - q->ts) * 100.0;
        q->cpu_ns = p->cpu_ns;
        q->ts = p->ts;
        return pct;
}

static void sample_one(struct monitor_sub *s, struct machine *m)
{
        struct usage_point p;
        usage_now(m, &p);
        json_t *d = usage_point_json(&p);
        json_object_set_new(d, "machine", json_string(m->id));
        double pct = cpu_percent(s, m->id, &p);
        json_object_set_new(d, "cpu_percent", pct >= 0 ? json_real(pct) : json_null());
        s->sink(s->ud, "sample", d);
        json_decref(d);
}

static void progress_one(void *ud, const struct op_progress *p)
{
        struct monitor_sub *s = ud;
        if (strcmp(p->subject_type, "machine") == 0 && !watches(s, p->id))
                return;
        json_t *d = json_pack("{s:s,s:s,s:s}", "subject_type", p->subject_type, "id", p->id,
                              "operation", p->operation);
        if (p->ref)
                json_object_set_new(d, "ref", json_string(p->ref));
        if (p->bytes_done >= 0)
                json_object_set_new(d, "bytes_done", json_integer(p->bytes_done));
        if (p->elapsed_ms >= 0)
                json_object_set_new(d, "elapsed_ms", json_integer(p->elapsed_ms));
        if (p->step >= 0) {
                json_object_set_new(d, "step", json_integer(p->step));
                json_object_set_new(d, "steps", json_integer(p->steps));
        }
        s->sink(s->ud, "progress", d);
        json_decref(d);
}

static void on_tick(struct loop_timer *t)
{
        struct monitor_sub *s =
            (struct monitor_sub *)((char *)t - offsetof(struct monitor_sub, timer));
        struct core *core = &s->app->core;
        for (struct machine *m = core->machines; m; m = m->next)
                if (m->state == M_RUNNING && m->rt.drv->usage && watches(s, m->id))
                        sample_one(s, m);
        monitor_progress(core, progress_one, s);
        loop_timer_arm(&core->loop, &s->timer, s->interval_ms, on_tick);
}

struct monitor_sub *monitor_sub_new(struct app *app, const char *const *machines, size_t n,
                                    unsigned interval_ms, monitor_sink sink, void *ud)
{
        struct monitor_sub *s = calloc(1, sizeof(*s));
        if (!s || (n && !(s->machines = calloc(n, sizeof(*s->machines))))) {
                free(s);
                return NULL;
        }
        for (size_t i = 0; i < n; i++)
                snprintf(s->machines[i], sizeof(s->machines[i]), "%s", machines[i]);
        s->n = n;
        s->app = app;
        s->interval_ms = interval_ms;
        s->sink = sink;
        s->ud = ud;
        s->next = app->monitors;
        app->monitors = s;
        loop_timer_arm(&app->core.loop, &s->timer, 0, on_tick);
        return s;
}

void monitor_sub_free(struct monitor_sub *s)
{
        if (!s)
                return;
        for (struct monitor_sub **pp = &s->app->monitors; *pp; pp = &(*pp)->next)
                if (*pp == s) {
                        *pp = s->next;
                        break;
                }
        loop_timer_cancel(&s->app->core.loop, &s->timer);
        free(s->machines);
        free(s->prev);
        free(s);
}

void monitor_broadcast_event(struct app *app, const struct event_rec *ev)
{
        json_t *view = NULL;
        /* builds and snapshots are progress every watcher sees; machines only theirs */
        int any_subject =
            strcmp(ev->subject_type, "build") == 0 || strcmp(ev->subject_type, "snapshot") == 0;
        if (!any_subject && strcmp(ev->subject_type, "machine") != 0)
                return;
        for (struct monitor_sub *s = app->monitors, *next; s; s = next) {
                next = s->next; /* a sink may end its subscription */
                if (!any_subject && !watches(s, ev->subject_id))
                        continue;
                if (!view)
                        view = event_view(ev);
                s->sink(s->ud, "event", view);
        }
        json_decref(view);
}

void monitor_broadcast_process(struct app *app, const char *machine_id, json_t *note)
{
        json_t *doc = NULL;
        for (struct monitor_sub *s = app->monitors, *next; s; s = next) {
                next = s->next;
                if (!watches(s, machine_id))
                        continue;
                if (!doc) {
                        doc = json_deep_copy(note);
                        json_object_set_new(doc, "machine", json_string(machine_id));
                }
                s->sink(s->ud, "process", doc);
        }
        json_decref(doc);
}

/* ---- Server-Sent Events ------------------------------------------------------------------ */

#define SSE_PENDING_MAX (1u << 20) /* a client this far behind misses samples */

struct sse {
        struct http_exchange *ex;
        struct monitor_sub *sub;
        struct buf out;
};

static void sse_sink(void *ud, const char *kind, json_t *doc)
{
        struct sse *c = ud;
        if (c->out.len > SSE_PENDING_MAX && strcmp(kind, "sample") == 0)
                return;
        char *text = json_dumps(doc, JSON_COMPACT);
        if (text && buf_printf(&c->out, "event: %s\ndata: %s\n\n", kind, text) == 0)
                http_stream_wake(c->ex);
        free(text);
}

static ssize_t sse_read(void *ctx, char *dst, size_t cap)
{
        struct sse *c = ctx;
        if (!c->out.len)
                return HTTP_SRC_AGAIN;
        size_t n = c->out.len < cap ? c->out.len : cap;
        memcpy(dst, c->out.data, n);
        buf_consume(&c->out, n);
        return (ssize_t)n;
}

static void sse_free(void *ctx)
{
        struct sse *c = ctx;
        monitor_sub_free(c->sub);
        buf_fini(&c->out);
        free(c);
}

/* Splits "a,b" into at most MONITOR_MACHINES_MAX IDs (in place); -1 when too many. */
static int split_ids(char *list, const char **ids, size_t *n)
{
        *n = 0;
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
             t = strtok_r(NULL, ",", &save)) {
                if (*n == MONITOR_MACHINES_MAX)
                        return -1;
                ids[(*n)++] = t;
        }
        return 0;
}

void api_monitor_sse(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "machines"}, {.name = "interval_ms"}};
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0)
                return;
        long long interval = 1000;
        if (q[1].present && api_query_int(ex, &q[1], MONITOR_INTERVAL_MIN_MS,
                                          MONITOR_INTERVAL_MAX_MS, &interval) < 0)
                return;
        const char *ids[MONITOR_MACHINES_MAX];
        size_t n = 0;
        if (q[0].present && split_ids(q[0].value, ids, &n) < 0) {
                http_respond_error(ex, NS_E_INVALID_REQUEST, "query 'machines': at most %d IDs",
                                   MONITOR_MACHINES_MAX);
                return;
        }
        struct sse *c = calloc(1, sizeof(*c));
        if (!c) {
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        c->ex = ex;
        buf_init(&c->out, SSE_PENDING_MAX * 2);
        buf_printf(&c->out, ": nullspace monitor, every %lld ms\n\n", interval);
        c->sub = monitor_sub_new(ex->app, ids, n, (unsigned)interval, sse_sink, c);
        if (!c->sub) {
                buf_fini(&c->out);
                free(c);
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        http_add_header(ex, "Cache-Control", "no-store");
        http_respond_stream(ex, 200, "text/event-stream",
                            (struct http_body_src){.read = sse_read, .free = sse_free, .ctx = c});
}
