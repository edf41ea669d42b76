/* /v1/machines: create (asynchronous: answered when the machine is ready), list, get,
 * destroy, and the timeout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "../../core/builtin.h"
#include "../../core/secrets.h"
#include "../../core/volumes.h"
#include "api.h"

struct create_req {
        char *template_name;
        int64_t vcpus, memory_mb, timeout_s;
        struct jv_strmap env, metadata;
        char *user, *cwd;
        int auto_resume;
        char *timeout_action;
        char *snapshot;
        json_t *network;
        char *pool;
        char *runtime;
        json_t *volumes;
        json_t *idle;
        json_t *desktop;
        json_t *secrets;
};

static const struct jv_field create_fields[] = {
    {"template", JV_STRING, 0, offsetof(struct create_req, template_name), 128, 0, 0},
    {"vcpus", JV_INT, 0, offsetof(struct create_req, vcpus), 0, 1, 16},
    {"memory_mb", JV_INT, 0, offsetof(struct create_req, memory_mb), 0, 128, 65536},
    {"timeout_s", JV_INT, 0, offsetof(struct create_req, timeout_s), 0, 0, 7 * 86400},
    {"env", JV_STRMAP, 0, offsetof(struct create_req, env), 256, 0, 0},
    {"metadata", JV_STRMAP, 0, offsetof(struct create_req, metadata), 64, 0, 0},
    {"user", JV_STRING, 0, offsetof(struct create_req, user), 64, 0, 0},
    {"cwd", JV_STRING, 0, offsetof(struct create_req, cwd), 4096, 0, 0},
    {"auto_resume", JV_BOOL, 0, offsetof(struct create_req, auto_resume), 0, 0, 0},
    {"timeout_action", JV_STRING, 0, offsetof(struct create_req, timeout_action), 16, 0, 0},
    {"snapshot", JV_STRING, 0, offsetof(struct create_req, snapshot), 64, 0, 0},
    {"network", JV_OBJECT, 0, offsetof(struct create_req, network), 0, 0, 0},
    {"pool", JV_STRING, 0, offsetof(struct create_req, pool), 16, 0, 0},
    {"runtime", JV_STRING, 0, offsetof(struct create_req, runtime), 16, 0, 0},
    {"volumes", JV_ARRAY, 0, offsetof(struct create_req, volumes), 0, 0, 0},
    {"idle", JV_OBJECT, 0, offsetof(struct create_req, idle), 0, 0, 0},
    {"desktop", JV_OBJECT, 0, offsetof(struct create_req, desktop), 0, 0, 0},
    {"secrets", JV_ARRAY, 0, offsetof(struct create_req, secrets), 0, 0, 0},
};

/* The create's secrets exist, and none is a name its env sets too. */
static int secrets_check(struct app *app, const struct create_req *in, struct err *e)
{
        if (core_secrets_check(&app->core, in->secrets, e) < 0)
                return -1;
        for (size_t i = 0; i < in->env.n; i++) {
                size_t j;
                json_t *v;
                json_array_foreach(in->secrets, j, v)
                {
                        if (strcmp(json_string_value(v), in->env.keys[i]) == 0)
                                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                                 "field 'secrets': '%s' is set by 'env' too",
                                                 in->env.keys[i]);
                }
        }
        return 0;
}

json_t *api_strmap_json(const struct jv_strmap *m)
{
        json_t *o = json_object();
        for (size_t i = 0; i < m->n; i++)
                json_object_set_new(o, m->keys[i], json_string(m->values[i]));
        return o;
}

json_t *api_machine_view(struct app *app, const struct machine_rec *r)
{
        json_t *o = machine_rec_json(r);
        char **kids = NULL;
        size_t n = 0;
        struct err e = {0};
        json_t *arr = json_array();
        if (store_machine_children(app->core.store, r->id, &kids, &n, &e) == 0)
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(arr, json_string(kids[i]));
        strv_free(kids);
        json_object_set_new(o, "children", arr);
        return o;
}

void api_respond_machine(struct http_exchange *ex, int status, const char *id)
{
        struct app *app = ex->app;
        struct machine_rec r;
        struct err e = {0};
        if (store_machine_get(app->core.store, id, &r, &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        http_respond_json(ex, status, api_machine_view(app, &r));
        store_machine_rec_free(&r);
}

/* Completion of a machine operation an exchange waited for: the machine (status) or
 * the operation's error. */
static void answer(struct http_exchange *ex, struct machine *m, int status, enum ns_code code,
                   const char *error)
{
        ex->on_abort = NULL;
        if (!code)
                api_respond_machine(ex, status, m->id);
        else
                http_respond_error(ex, (code ? code : NS_E_MACHINE_FAILED), "machine %s: %s", m->id,
                                   error ? error : ns_code_name(code));
}

static void created(struct http_exchange *ex, struct machine *m, enum ns_code code,
                    const char *error)
{
        answer(ex, m, 201, code, error);
}

/* The machine runs: its desktop is sized first when the request asks (checked already). */
static void on_created(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        struct http_exchange *ex = ud;
        int w = 0, h = 0;
        if (!code) {
                json_t *doc = json_loadb(ex->body.data ? ex->body.data : "", ex->body.len, 0, NULL);
                struct err e = {0};
                (void)api_desktop_size_check(json_object_get(doc, "desktop"), &w, &h, &e);
                json_decref(doc);
        }
        if (w) {
                ex->on_abort = NULL;
                api_desktop_size_apply(ex, m, w, h, created);
                return;
        }
        created(ex, m, code, error);
}

static void abort_machine_wait(struct http_exchange *ex)
{
        if (ex->owner)
                machine_forget_callbacks(ex->owner, ex);
}

static void create(struct http_exchange *ex, int may_build);

/* A create waiting for a built-in template's first build (core/builtin.h). */
struct builtin_create {
        struct builtin_wait w;
        struct http_exchange *ex;
        void (*again)(struct http_exchange *ex);
        void (*failed)(struct http_exchange *ex, const char *msg);
        int starting; /* inside builtin_template_need: an answer now is handled after */
        int told;
        char error[256];
};

static void abort_builtin_wait(struct http_exchange *ex)
{
        struct builtin_create *bc = ex->owner;
        builtin_wait_cancel(&bc->w);
        free(bc);
}

/* Has failed answer that built-in template name could not be built (why: error). */
static void build_failed(struct http_exchange *ex,
                         void (*failed)(struct http_exchange *ex, const char *msg),
                         const char *name, const char *error)
{
        char msg[768];
        snprintf(msg, sizeof(msg), "template %.160s could not be built: %.512s", name, error);
        failed(ex, msg);
}

static void builtin_done(struct builtin_create *bc)
{
        struct http_exchange *ex = bc->ex;
        ex->on_abort = NULL;
        ex->owner = NULL;
        if (bc->error[0]) {
                build_failed(ex, bc->failed, bc->w.name, bc->error);
        } else {
                bc->again(ex); /* now that the template exists */
        }
        free(bc);
}

static void on_builtin(struct builtin_wait *w, const char *error)
{
        struct builtin_create *bc = (struct builtin_create *)w;
        snprintf(bc->error, sizeof(bc->error), "%s", error ? error : "");
        bc->told = 1;
        if (!bc->starting)
                builtin_done(bc);
}

void api_builtin_wait(struct http_exchange *ex, const char *ref,
                      void (*again)(struct http_exchange *ex),
                      void (*failed)(struct http_exchange *ex, const char *msg))
{
        struct builtin_create *bc = calloc(1, sizeof(*bc));
        if (!bc) {
                failed(ex, "out of memory");
                return;
        }
        *bc = (struct builtin_create){
            .w.done = on_builtin, .ex = ex, .again = again, .failed = failed, .starting = 1};
        struct err e = {0};
        log_info("machine_create_waits", "template=%s: building it first", ref);
        if (builtin_template_need(&((struct app *)ex->app)->core, ref, &bc->w, &e) < 0) {
                free(bc);
                build_failed(ex, failed, ref, e.msg);
                return;
        }
        bc->starting = 0;
        if (bc->told) {
                builtin_done(bc);
                return;
        }
        ex->owner = bc;
        ex->on_abort = abort_builtin_wait;
}

static void create_again(struct http_exchange *ex)
{
        create(ex, 0);
}

static void builtin_failed(struct http_exchange *ex, const char *msg)
{
        http_respond_error(ex, NS_E_TEMPLATE_NOT_READY, "%s", msg);
}

void api_machines_create(struct http_exchange *ex)
{
        create(ex, 1);
}

static void create(struct http_exchange *ex, int may_build)
{
        struct app *app = ex->app;
        struct create_req in = {0};
        uint64_t present;
        if (api_decode(ex, create_fields, ARRAY_SIZE(create_fields), &in, &present) < 0)
                return;
        if (in.timeout_action && strcmp(in.timeout_action, "destroy") &&
            strcmp(in.timeout_action, "hibernate")) {
                jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
                http_respond_error(ex, NS_E_INVALID_FIELD,
                                   "field 'timeout_action': destroy or hibernate");
                return;
        }
        static const char *const modes[] = {"prefer", "require", "skip"};
        int pool = 0;
        while (in.pool && pool < 3 && strcmp(in.pool, modes[pool]) != 0)
                pool++;
        if (pool == 3) {
                jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'pool': prefer, require or skip");
                return;
        }
        struct err re = {0};
        int rr = core_driver_check(&app->core, in.runtime, &re);
        if (rr < 0) {
                jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
                http_respond_error(ex,
                                   rr == -EINVAL ? NS_E_INVALID_FIELD : NS_E_RUNTIME_UNSUPPORTED,
                                   "%s", re.msg);
                return;
        }
        struct err ne = {0};
        if (machine_net_check(in.network, &ne) < 0) {
                jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
                http_respond_error(ex, ne.code ? ne.code : NS_E_INVALID_FIELD, "%s", ne.msg);
                return;
        }
        if (machine_idle_check(in.idle, &ne) < 0) {
                jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
                api_fail_err(ex, &ne);
                return;
        }
        for (size_t i = 0; i < in.env.n; i++)
                if (strchr(in.env.keys[i], '=')) {
                        jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
                        http_respond_error(ex, NS_E_INVALID_FIELD,
                                           "field 'env': a name cannot contain '='");
                        return;
                }
        if (secrets_check(app, &in, &ne) < 0) {
                jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
                api_fail_err(ex, &ne);
                return;
        }
        int dw, dh;
        if (api_desktop_size_check(in.desktop, &dw, &dh, &ne) < 0) {
                jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
                api_fail_err(ex, &ne);
                return;
        }
        json_t *vols = NULL;
        if (volume_mounts_check(&app->core, in.volumes, &vols, &ne) < 0) {
                jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
                api_fail_err(ex, &ne);
                return;
        }
        json_t *env = api_strmap_json(&in.env), *meta = api_strmap_json(&in.metadata);
        struct machine_params p = {
            .template_name = in.template_name ? in.template_name : "base",
            .vcpus = (unsigned)(present & (1u << 1) ? in.vcpus : 1),
            .memory_mb = (unsigned)(present & (1u << 2) ? in.memory_mb : 512),
            .timeout_s = present & (1u << 3) ? in.timeout_s : app->core.machine_timeout_s,
            .env = env,
            .metadata = meta,
            .user = in.user,
            .cwd = in.cwd,
            .auto_resume = present & (1u << 8) ? in.auto_resume : 1,
            .timeout_hibernate = in.timeout_action && !strcmp(in.timeout_action, "hibernate"),
            .snapshot = in.snapshot,
            .network = in.network,
            .pool = pool,
            .runtime = in.runtime,
            .volumes = vols,
            .idle = in.idle,
            .secrets = in.secrets,
        };
        struct err e = {0};
        /* the callback may answer before machine_create returns; answering resets the
         * exchange, which is how we can tell afterwards */
        ex->on_abort = abort_machine_wait;
        ex->owner = NULL;
        struct machine *m = machine_create(&app->core, &p, on_created, ex, &e);
        json_decref(env);
        json_decref(meta);
        json_decref(vols);
        int build = !m && may_build && e.code == NS_E_TEMPLATE_NOT_FOUND && !in.snapshot &&
                    builtin_template_known(&app->core, p.template_name);
        char ref[160];
        snprintf(ref, sizeof(ref), "%s", p.template_name);
        jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
        if (!m) {
                ex->on_abort = NULL;
                if (build)
                        api_builtin_wait(ex, ref, create_again, builtin_failed);
                else
                        api_fail_err(ex, &e);
                return;
        }
        if (ex->on_abort == abort_machine_wait) /* still creating: wait */
                ex->owner = m;
}

static json_t *machine_row_json(const void *row)
{
        return machine_rec_json(row);
}

void api_machines_list(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct query_param q[] = {
            {.name = "limit"}, {.name = "cursor"}, {.name = "state"}, {.name = "metadata"}};
        struct api_page page;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 || api_page_parse(ex, &q[0], &q[1], &page) < 0)
                return;
        const char *state = NULL;
        for (int i = 0; q[2].present && i < M_STATE_COUNT; i++)
                if (strcmp(q[2].value, machine_state_name((enum machine_state)i)) == 0)
                        state = machine_state_name((enum machine_state)i);
        if (q[2].present && !state) {
                http_respond_error(ex, NS_E_INVALID_REQUEST,
                                   "query parameter 'state' must be one of creating, running, "
                                   "destroying, destroyed, failed, hibernating, hibernated, "
                                   "resuming, forking, snapshotting, paused");
                return;
        }
        struct machine_filter f = {.state = state};
        char *eq = q[3].present ? strchr(q[3].value, '=') : NULL;
        if (q[3].present) {
                if (eq)
                        *eq = '\0';
                if (!eq || !is_safe_token(q[3].value, 64)) {
                        http_respond_error(ex, NS_E_INVALID_REQUEST,
                                           "query parameter 'metadata' is KEY=VALUE (URL-encoded), "
                                           "KEY of [A-Za-z0-9._-]");
                        return;
                }
                f.meta_key = q[3].value;
                f.meta_value = eq + 1;
        }
        struct machine_rec *v;
        size_t n;
        struct err e = {0};
        if (store_machine_list(app->core.store, &f, page.after, (unsigned)page.limit + 1, &v, &n,
                               &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        api_respond_page(ex, &page, "machines", v, n, sizeof(*v), offsetof(struct machine_rec, seq),
                         machine_row_json);
        for (size_t i = 0; i < n; i++)
                store_machine_rec_free(&v[i]);
        free(v);
}

/* Reads the stored record of the path's machine; answers 404 and returns -1 if none. */
static int stored(struct http_exchange *ex, struct machine_rec *r)
{
        struct app *app = ex->app;
        struct err e = {0};
        int rc = store_machine_get(app->core.store, ex->match.params[0], r, &e);
        if (rc == -ENOENT)
                http_respond_error(ex, NS_E_MACHINE_NOT_FOUND, "no machine with ID '%s'",
                                   ex->match.params[0]);
        else if (rc < 0)
                api_fail(ex, &e);
        return rc;
}

void api_machines_get(struct http_exchange *ex)
{
        struct machine_rec r;
        if (stored(ex, &r) < 0)
                return;
        http_respond_json(ex, 200, api_machine_view(ex->app, &r));
        store_machine_rec_free(&r);
}

static void on_destroyed(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        (void)code;
        (void)error;
        struct http_exchange *ex = ud;
        ex->on_abort = NULL;
        api_respond_machine(ex, 200, m->id);
}

void api_machines_destroy(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct machine_rec r;
        if (stored(ex, &r) < 0)
                return;
        store_machine_rec_free(&r);
        struct machine *m = machine_find(&app->core, ex->match.params[0]);
        if (!m) { /* failed or destroyed already: nothing runs */
                struct err e = {0};
                if (strcmp(r.state, "destroyed") != 0 &&
                    machine_record_state(&app->core, r.id, M_DESTROYED, NULL, &e) < 0) {
                        api_fail(ex, &e);
                        return;
                }
                api_respond_machine(ex, 200, r.id);
                return;
        }
        ex->owner = m;
        ex->on_abort = abort_machine_wait;
        machine_destroy(m, on_destroyed, ex); /* may answer at once */
}

struct timeout_req {
        int64_t timeout_s;
};

static const struct jv_field timeout_fields[] = {
    {"timeout_s", JV_INT, JV_REQUIRED, offsetof(struct timeout_req, timeout_s), 0, 0, 7 * 86400},
};

void api_machines_timeout(struct http_exchange *ex)
{
        struct timeout_req in = {0};
        if (api_decode(ex, timeout_fields, 1, &in, NULL) < 0)
                return;
        struct machine *m = api_live_machine(ex);
        if (!m)
                return;
        struct err e = {0};
        if (machine_set_timeout(m, in.timeout_s, &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        api_respond_machine(ex, 200, m->id);
}

/* ---- hibernate / pause / resume ----------------------------------------------------------- */

static void on_state_op(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        answer(ud, m, 200, code, error);
}

static void state_op(struct http_exchange *ex,
                     void (*op)(struct machine *, machine_done_cb, void *))
{
        struct app *app = ex->app;
        struct machine *m = machine_find(&app->core, ex->match.params[0]);
        if (!m) {
                struct machine_rec r;
                if (stored(ex, &r) < 0)
                        return;
                http_respond_error(ex, NS_E_MACHINE_NOT_RUNNING, "machine %s is %s", r.id, r.state);
                store_machine_rec_free(&r);
                return;
        }
        ex->owner = m;
        ex->on_abort = abort_machine_wait;
        op(m, on_state_op, ex); /* may answer at once */
}

void api_machines_hibernate(struct http_exchange *ex)
{
        state_op(ex, machine_hibernate);
}

void api_machines_resume(struct http_exchange *ex)
{
        state_op(ex, machine_resume);
}

void api_machines_pause(struct http_exchange *ex)
{
        state_op(ex, machine_pause);
}

/* GET /v1/machines/{id}/events: the machine's lifecycle, oldest first. */
void api_machines_events(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        struct api_page page;
        struct machine_rec r;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 || api_page_parse(ex, &q[0], &q[1], &page) < 0 ||
            stored(ex, &r) < 0)
                return;
        store_machine_rec_free(&r);
        struct event_filter f = {.subject_type = "machine", .subject_id = ex->match.params[0]};
        api_events_page(ex, &f, &page);
}

/* ---- auto-resume ------------------------------------------------------------------ */

struct resume_wait {
        struct http_exchange *ex;
        struct machine *m;
        api_running_cb then;
        void *ctx;
        void (*free_ctx)(void *ctx);
};

static void on_auto_resumed(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        struct resume_wait *w = ud;
        struct http_exchange *ex = w->ex;
        ex->on_abort = NULL;
        if (!code) {
                w->then(ex, m, w->ctx);
        } else {
                if (w->free_ctx)
                        w->free_ctx(w->ctx);
                http_respond_error(ex, (code ? code : NS_E_MACHINE_FAILED),
                                   "machine %s could not be resumed: %s", m->id,
                                   error ? error : ns_code_name(code));
        }
        free(w);
}

static void abort_resume_wait(struct http_exchange *ex)
{
        struct resume_wait *w = ex->owner;
        machine_forget_callbacks(w->m, w); /* the resume goes on; nobody waits for it */
        if (w->free_ctx)
                w->free_ctx(w->ctx);
        free(w);
}

void api_when_running(struct http_exchange *ex, api_running_cb then, void *ctx,
                      void (*free_ctx)(void *ctx))
{
        struct app *app = ex->app;
        if (api_is_volume_route(ex)) {
                then(ex, NULL, ctx);
                return;
        }
        struct machine *m = machine_find(&app->core, ex->match.params[0]);
        if (m && m->state == M_RUNNING) {
                then(ex, m, ctx);
                return;
        }
        struct resume_wait *w = NULL;
        if (m && machine_wakeable(m) && (w = calloc(1, sizeof(*w)))) {
                *w = (struct resume_wait){ex, m, then, ctx, free_ctx};
                ex->owner = w;
                ex->on_abort = abort_resume_wait;
                log_info("machine_auto_resume", "machine=%s request_id=%s", m->id, ex->request_id);
                machine_resume(m, on_auto_resumed, w); /* may answer at once */
                return;
        }
        if (free_ctx)
                free_ctx(ctx);
        if (api_running_machine(ex))
                http_respond_error(ex, NS_E_MACHINE_NOT_RUNNING,
                                   "machine %s is busy changing state", ex->match.params[0]);
}

void api_when_in_memory(struct http_exchange *ex, api_running_cb then, void *ctx,
                        void (*free_ctx)(void *ctx))
{
        struct machine *m = machine_find(api_core(ex), ex->match.params[0]);
        if (m && m->state == M_PAUSED)
                then(ex, m, ctx); /* the operation continues it itself */
        else
                api_when_running(ex, then, ctx, free_ctx);
}

void api_machines_network(struct http_exchange *ex)
{
        struct machine *m = api_live_machine(ex);
        if (!m)
                return;
        json_error_t je;
        json_t *req = ex->body.len
                          ? json_loadb(ex->body.data, ex->body.len, JSON_REJECT_DUPLICATES, &je)
                          : json_object();
        if (!json_is_object(req)) {
                json_decref(req);
                http_respond_error(ex, NS_E_INVALID_JSON, "the body must be a JSON object");
                return;
        }
        struct err e = {0};
        int r = machine_net_update(m, req, &e);
        json_decref(req);
        if (r < 0)
                http_respond_error(ex, err_code_of(&e), "%s", e.msg);
        else
                api_respond_machine(ex, 200, m->id);
}
