/* E2B's fork and snapshots over ours: POST /sandboxes/{id}/fork {timeout, count} (an
 * array with one {sandbox} or {error} per child), POST /sandboxes/{id}/snapshots
 * {name}, GET /snapshots, DELETE /templates/{id} of a snapshot; a snapshot's ID or name
 * is a templateID Sandbox.create spawns from. Loop thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "api.h"
#include "e2b.h"

#define E2B_SNAPSHOTS_MAX 1000

/* The E2B view of a snapshot: {snapshotID, names}. */
static json_t *snapshot_json(const struct snapshot_rec *r)
{
        json_t *names = json_array();
        if (r->name[0])
                json_array_append_new(names, json_string(r->name));
        return json_pack("{s:s,s:o}", "snapshotID", r->id, "names", names);
}

int e2b_snapshot_find(struct app *app, const char *ref, char *id, size_t cap)
{
        struct snapshot_rec r;
        struct err e = {0};
        if (store_snapshot_get(app->core.store, ref, &r, &e) < 0 &&
            store_snapshot_find_name(app->core.store, "user", ref, &r, &e) < 0)
                return -1;
        snprintf(id, cap, "%s", r.id);
        store_snapshot_rec_free(&r);
        return 0;
}

/* ---- fork ---- */

struct e2b_fork {
        struct http_exchange *ex;
        struct capture *capture;
        int64_t timeout; /* the children's, seconds; -1: the parent's */
        unsigned count;
};

static void on_forked(void *ud, enum ns_code code, const char *error, json_t *children,
                      const char *snapshot_id, int64_t pause_ms)
{
        (void)snapshot_id;
        (void)pause_ms;
        struct e2b_fork *f = ud;
        struct http_exchange *ex = f->ex;
        int64_t timeout = f->timeout;
        free(f);
        ex->on_abort = NULL;
        if (code && json_array_size(children) == 0) {
                e2b_fail(ex, code, error);
                return;
        }
        json_t *arr = json_array();
        size_t i;
        json_t *id;
        json_array_foreach(children, i, id)
        {
                struct machine *m = machine_find(api_core(ex), json_string_value(id));
                struct err e = {0};
                if (m && timeout >= 0)
                        (void)machine_set_timeout(m, timeout, &e);
                json_t *sbx = e2b_sandbox_of(ex->app, json_string_value(id));
                json_array_append_new(arr, sbx ? json_pack("{s:o}", "sandbox", sbx)
                                               : json_pack("{s:{s:i,s:s}}", "error", "code", 500,
                                                           "message", "the child is gone"));
        }
        http_respond_json(ex, 200, arr);
}

static void abort_fork(struct http_exchange *ex)
{
        struct e2b_fork *f = ex->owner;
        machine_capture_forget(f->capture);
        free(f);
}

static void start_fork(struct http_exchange *ex, struct machine *m, void *ctx)
{
        struct e2b_fork *f = ctx;
        f->ex = ex;
        ex->on_abort = abort_fork;
        ex->owner = NULL;
        struct capture *c = machine_fork(m, f->count, NULL, on_forked, f);
        if (c && ex->on_abort == abort_fork) { /* under way: f lives until its answer */
                f->capture = c;
                ex->owner = f;
        }
}

void e2b_sandboxes_fork(struct http_exchange *ex)
{
        json_t *in = e2b_body_object(ex);
        if (!in)
                return;
        json_t *n = json_object_get(in, "count");
        json_int_t count = json_is_integer(n) ? json_integer_value(n) : 1;
        int64_t timeout;
        struct e2b_fork *f = NULL;
        if (e2b_seconds(json_object_get(in, "timeout"), -1, &timeout) < 0 ||
            (n && !json_is_null(n) && !json_is_integer(n)) || count < 1 ||
            count > MACHINE_MAX_FORK) {
                e2b_error(ex, 400, "the body is {timeout: seconds (0 to 604800), count: 1 to %d}",
                          MACHINE_MAX_FORK);
        } else if (!(f = calloc(1, sizeof(*f)))) {
                e2b_error(ex, 500, "out of memory");
        } else {
                f->timeout = timeout;
                f->count = (unsigned)count;
                e2b_path_machine(ex);
                api_when_in_memory(ex, start_fork, f, free);
        }
        json_decref(in);
}

/* ---- snapshots ---- */

static void on_snapshotted(void *ud, enum ns_code code, const char *error, json_t *children,
                           const char *snapshot_id, int64_t pause_ms)
{
        (void)children;
        (void)pause_ms;
        struct http_exchange *ex = ud;
        struct snapshot_rec r;
        struct err e = {0};
        ex->on_abort = NULL;
        if (code) {
                e2b_fail(ex, code, error);
        } else if (store_snapshot_get(api_core(ex)->store, snapshot_id, &r, &e) < 0) {
                e2b_error(ex, 500, "%s", e.msg);
        } else {
                http_respond_json(ex, 201, snapshot_json(&r));
                store_snapshot_rec_free(&r);
        }
}

static void start_snapshot(struct http_exchange *ex, struct machine *m, void *ctx)
{
        ex->on_abort = api_abort_capture;
        ex->owner = NULL;
        struct capture *c = machine_snapshot(m, ctx, "user", on_snapshotted, ex);
        free(ctx);
        if (c && ex->on_abort == api_abort_capture)
                ex->owner = c;
}

void e2b_sandboxes_snapshot(struct http_exchange *ex)
{
        json_t *in = e2b_body_object(ex);
        if (!in)
                return;
        json_t *name = json_object_get(in, "name");
        const char *s = json_is_string(name) ? json_string_value(name) : "";
        char *copy = NULL;
        if ((name && !json_is_null(name) && !json_is_string(name)) || strlen(s) > SNAPSHOT_NAME_MAX)
                e2b_error(ex, 400, "the body is {name: at most %d characters}", SNAPSHOT_NAME_MAX);
        else if (!(copy = strdup(s)))
                e2b_error(ex, 500, "out of memory");
        else {
                e2b_path_machine(ex);
                api_when_in_memory(ex, start_snapshot, copy, free);
        }
        json_decref(in);
}

void e2b_snapshots_list(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct query_param q[] = {
            {.name = "sandboxID"}, {.name = "name"}, {.name = "limit"}, {.name = "nextToken"}};
        char msg[160] = "", machine[40] = "";
        long long limit = 100, after = 0;
        if (query_parse(ex->req->query, q, ARRAY_SIZE(q), msg, sizeof(msg)) < 0 ||
            (q[2].present && e2b_whole(q[2].value, 1, E2B_SNAPSHOTS_MAX, &limit) < 0) ||
            (q[3].present && e2b_whole(q[3].value, 0, INT64_MAX, &after) < 0)) {
                e2b_error(ex, 400, "bad query%s%s: limit 1..%d, nextToken as given",
                          msg[0] ? " " : "", msg, E2B_SNAPSHOTS_MAX);
                return;
        }
        if (q[0].present)
                e2b_machine_id(q[0].value, machine, sizeof(machine));
        json_t *arr = json_array();
        int64_t last = after, next = 0;
        for (int more = 1; more && !next;) {
                struct snapshot_rec *v;
                size_t n;
                struct err e = {0};
                if (store_snapshot_list(app->core.store, "user", last, 200, &v, &n, &e) < 0) {
                        json_decref(arr);
                        e2b_error(ex, 500, "%s", e.msg);
                        return;
                }
                for (size_t i = 0; i < n; i++) {
                        int want = strcmp(v[i].state, "ready") == 0 &&
                                   (!machine[0] || strcmp(v[i].machine_id, machine) == 0) &&
                                   (!q[1].present || strcmp(v[i].name, q[1].value) == 0);
                        if (want && !next && json_array_size(arr) == (size_t)limit)
                                next = last;
                        else if (want && !next)
                                json_array_append_new(arr, snapshot_json(&v[i]));
                        if (!next)
                                last = v[i].seq;
                        store_snapshot_rec_free(&v[i]);
                }
                free(v);
                more = n == 200;
        }
        e2b_respond_page(ex, arr, next);
}

void e2b_templates_delete(struct http_exchange *ex)
{
        char id[MACHINE_ID_MAX];
        struct err e = {0};
        if (e2b_snapshot_find(ex->app, ex->match.params[0], id, sizeof(id)) < 0)
                e2b_error(ex, 404, "no snapshot '%s' (templates are deleted with nullspace)",
                          ex->match.params[0]);
        else if (snapshot_delete(api_core(ex), id, &e) < 0)
                e2b_fail(ex, err_code_of(&e), e.msg);
        else
                http_respond(ex, 204, NULL, NULL, 0);
}
