/* Fork and snapshots: POST /v1/machines/{id}/fork, POST /v1/machines/{id}/snapshots,
 * GET/DELETE /v1/snapshots[/{id}]. Fork and snapshot creation answer once the parent
 * runs again (and, for a fork, every child runs or failed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "api.h"

static json_t *snapshot_json(const void *row)
{
        const struct snapshot_rec *r = row;
        struct machine_conf c;
        if (machine_conf_parse(&c, r->spec) < 0)
                return NULL;
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "id", r->id, "name", r->name,
                              "machine_id", r->machine_id, "state", r->state, "size_bytes",
                              (json_int_t)r->size_bytes, "created_at", (json_int_t)r->created_at);
        json_object_set_new(o, "template", json_string(c.template_name));
        json_object_set_new(o, "layers", json_integer((json_int_t)json_array_size(c.layers)));
        machine_conf_fini(&c);
        return o;
}

static int respond_snapshot(struct http_exchange *ex, int status, const char *id)
{
        struct app *app = ex->app;
        struct snapshot_rec r;
        struct err e = {0};
        int rc = store_snapshot_get(app->core.store, id, &r, &e);
        if (rc == -ENOENT)
                http_respond_error(ex, NS_E_SNAPSHOT_NOT_FOUND, "no snapshot with ID '%s'", id);
        else if (rc < 0)
                api_fail(ex, &e);
        else
                http_respond_json(ex, status, snapshot_json(&r));
        if (rc == 0)
                store_snapshot_rec_free(&r);
        return rc;
}

void api_abort_capture(struct http_exchange *ex)
{
        if (ex->owner)
                machine_capture_forget(ex->owner);
}

static void answer_error(struct http_exchange *ex, enum ns_code code, const char *error)
{
        http_respond_error(ex, (code ? code : NS_E_MACHINE_FAILED), "%s",
                           error ? error : ns_code_name(code));
}

static void on_forked(void *ud, enum ns_code code, const char *error, json_t *children,
                      const char *snapshot_id, int64_t pause_ms)
{
        (void)snapshot_id;
        struct http_exchange *ex = ud;
        ex->on_abort = NULL;
        if (code && json_array_size(children) == 0) {
                answer_error(ex, code, error);
                return;
        }
        struct app *app = ex->app;
        json_t *arr = json_array();
        size_t i;
        json_t *id;
        json_array_foreach(children, i, id)
        {
                struct machine_rec r;
                struct err e = {0};
                if (store_machine_get(app->core.store, json_string_value(id), &r, &e) == 0) {
                        json_array_append_new(arr, api_machine_view(app, &r));
                        store_machine_rec_free(&r);
                }
        }
        http_respond_json(
            ex, 201,
            json_pack("{s:o,s:I}", "machines", arr, "parent_pause_ms", (json_int_t)pause_ms));
}

/* The running machine of the path, auto-resumed when hibernated (like exec and files). */
struct fork_req {
        int64_t count;
        struct jv_strmap metadata;
};

static const struct jv_field fork_fields[] = {
    {"count", JV_INT, 0, offsetof(struct fork_req, count), 0, 1, MACHINE_MAX_FORK},
    {"metadata", JV_STRMAP, 0, offsetof(struct fork_req, metadata), 64, 0, 0},
};

static void start_fork(struct http_exchange *ex, struct machine *m, void *ctx)
{
        struct fork_req *in = ctx;
        json_t *meta = NULL;
        if (in->metadata.n) {
                meta = json_object();
                for (size_t i = 0; i < in->metadata.n; i++)
                        json_object_set_new(meta, in->metadata.keys[i],
                                            json_string(in->metadata.values[i]));
        }
        unsigned count = in->count ? (unsigned)in->count : 1;
        jv_free(fork_fields, ARRAY_SIZE(fork_fields), in);
        free(in);
        ex->on_abort = api_abort_capture;
        ex->owner = NULL;
        struct capture *c = machine_fork(m, count, meta, on_forked, ex);
        json_decref(meta);
        if (c && ex->on_abort == api_abort_capture)
                ex->owner = c;
}

static void free_fork_req(void *ctx)
{
        jv_free(fork_fields, ARRAY_SIZE(fork_fields), ctx);
        free(ctx);
}

void api_machines_fork(struct http_exchange *ex)
{
        struct fork_req *in = calloc(1, sizeof(*in));
        if (!in) {
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        if (ex->body.len && api_decode(ex, fork_fields, ARRAY_SIZE(fork_fields), in, NULL) < 0) {
                free(in);
                return;
        }
        api_when_in_memory(ex, start_fork, in, free_fork_req);
}

static void on_snapshotted(void *ud, enum ns_code code, const char *error, json_t *children,
                           const char *snapshot_id, int64_t pause_ms)
{
        (void)children;
        (void)pause_ms;
        struct http_exchange *ex = ud;
        ex->on_abort = NULL;
        if (code)
                answer_error(ex, code, error);
        else
                respond_snapshot(ex, 201, snapshot_id);
}

struct snapshot_req {
        char *name;
};

static const struct jv_field snapshot_fields[] = {
    {"name", JV_STRING, 0, offsetof(struct snapshot_req, name), SNAPSHOT_NAME_MAX, 0, 0},
};

static void start_snapshot(struct http_exchange *ex, struct machine *m, void *ctx)
{
        struct snapshot_req *in = ctx;
        ex->on_abort = api_abort_capture;
        ex->owner = NULL;
        struct capture *c =
            machine_snapshot(m, in->name ? in->name : "", "user", on_snapshotted, ex);
        jv_free(snapshot_fields, ARRAY_SIZE(snapshot_fields), in);
        free(in);
        if (c && ex->on_abort == api_abort_capture)
                ex->owner = c;
}

static void free_snapshot_req(void *ctx)
{
        jv_free(snapshot_fields, ARRAY_SIZE(snapshot_fields), ctx);
        free(ctx);
}

void api_snapshots_create(struct http_exchange *ex)
{
        struct snapshot_req *in = calloc(1, sizeof(*in));
        if (!in) {
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        if (ex->body.len &&
            api_decode(ex, snapshot_fields, ARRAY_SIZE(snapshot_fields), in, NULL) < 0) {
                free(in);
                return;
        }
        api_when_in_memory(ex, start_snapshot, in, free_snapshot_req);
}

void api_snapshots_list(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        struct api_page page;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 || api_page_parse(ex, &q[0], &q[1], &page) < 0)
                return;
        struct snapshot_rec *v;
        size_t n;
        struct err e = {0};
        if (store_snapshot_list(app->core.store, "user", page.after, (unsigned)page.limit + 1, &v,
                                &n, &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        api_respond_page(ex, &page, "snapshots", v, n, sizeof(*v),
                         offsetof(struct snapshot_rec, seq), snapshot_json);
        for (size_t i = 0; i < n; i++)
                store_snapshot_rec_free(&v[i]);
        free(v);
}

void api_snapshots_get(struct http_exchange *ex)
{
        respond_snapshot(ex, 200, ex->match.params[0]);
}

void api_snapshots_delete(struct http_exchange *ex)
{
        struct err e = {0};
        if (snapshot_delete(api_core(ex), ex->match.params[0], &e) < 0) {
                api_fail_err(ex, &e);
                return;
        }
        http_respond(ex, 204, NULL, NULL, 0);
}
