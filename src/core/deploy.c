/* Deployments and their revisions: a deploy starts a template build and records a
 * revision; the build's end settles it and makes it live. Runs are deploy_run.c's,
 * schedules deploy_sched.c's. */
#include "deploy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "build.h"
#include "build_spec.h"
#include "core.h"
#include "deploy_internal.h"
#include "machine.h"
#include "pools.h"
#include "templates.h"

/* A revision's build, awaited. */
struct deploy_build {
        struct build_waiter w; /* first: the waiter is the build's handle on us */
        struct core *core;
        char name[DEPLOY_NAME_MAX + 1];
        int64_t number;
        struct deploy_build *next;
};

int deploy_name_valid(const char *name)
{
        size_t n = strlen(name);
        return n >= 1 && n <= DEPLOY_NAME_MAX &&
               strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == n && name[0] != '-' &&
               name[n - 1] != '-';
}

json_t *deploy_get(struct core *core, const char *name, struct err *e)
{
        json_t *doc = NULL;
        int r = store_deploy_get(core->store, name, &doc, e);
        if (r == -ENOENT)
                err_coded(e, NS_E_DEPLOYMENT_NOT_FOUND, ENOENT, "no deployment named '%s'", name);
        return r < 0 ? NULL : doc;
}

json_t *deploy_revision(struct core *core, const char *name, int64_t number, struct err *e)
{
        json_t *doc = NULL;
        int r = store_revision_get(core->store, name, number, &doc, e);
        if (r == -ENOENT)
                err_coded(e, NS_E_REVISION_NOT_FOUND, ENOENT,
                          "deployment '%s' has no revision %lld", name, (long long)number);
        return r < 0 ? NULL : doc;
}

void deploy_set_int(json_t *doc, const char *key, int64_t v)
{
        json_object_set_new(doc, key, json_integer(v));
}

/* Records revision rev ready or failed (error) and, when ready, live. */
static void settle(struct core *core, const char *name, int64_t number, const char *error)
{
        struct err e = {0};
        json_t *rev = deploy_revision(core, name, number, &e);
        json_t *dep = rev ? deploy_get(core, name, &e) : NULL;
        if (!dep) {
                json_decref(rev);
                log_warn("deploy_settle", "deployment=%s revision=%lld error=\"%s\"", name,
                         (long long)number, e.msg);
                return;
        }
        int64_t now = time_wall_ms();
        json_object_set_new(rev, "state", json_string(error ? "failed" : "ready"));
        if (error)
                json_object_set_new(rev, "error", json_string(error));
        else
                deploy_set_int(rev, "ready_at", now);
        const char *kind = json_string_value(json_object_get(dep, "kind"));
        int service = kind && !strcmp(kind, "service");
        if (store_revision_put(core->store, name, number, rev, &e) == 0 && !error && !service) {
                deploy_set_int(dep, "revision", number);
                deploy_set_int(dep, "updated_at", now);
                store_deploy_put(core->store, name, dep, &e);
        }
        json_t *data = json_pack("{s:s,s:I}", "deployment", name, "revision", (json_int_t)number);
        if (error)
                json_object_set_new(data, "error", json_string(error));
        core_event(core, error ? "deployment.revision_failed" : "deployment.revision_ready",
                   "deployment", name, NULL, data);
        json_decref(rev);
        json_decref(dep);
        if (service && !error) /* live once its machine is healthy */
                deploy_service_start(core, name, number);
        deploy_sched_reload(core);
}

static void build_done(struct build_waiter *w, const char *error)
{
        struct deploy_build *b = (struct deploy_build *)w;
        struct core *core = b->core;
        for (struct deploy_build **p = &core->deploy_builds; *p; p = &(*p)->next)
                if (*p == b) {
                        *p = b->next;
                        break;
                }
        settle(core, b->name, b->number, error);
        free(b);
}

/* The next revision's number: one past the newest. */
static int64_t next_number(struct core *core, const char *name)
{
        json_t *docs = NULL;
        struct err e = {0};
        int64_t n = 1;
        if (store_revision_list(core->store, name, INT64_MAX, 1, &docs, &e) == 0 &&
            json_array_size(docs))
                n = json_integer_value(json_object_get(json_array_get(docs, 0), "number")) + 1;
        json_decref(docs);
        return n;
}

/* The deployment's record, made (and *created set) when it is new. */
static json_t *deployment_for(struct core *core, const char *name, const char *kind, int *created,
                              struct err *e)
{
        json_t *dep = NULL;
        int r = store_deploy_get(core->store, name, &dep, e);
        if (r == 0) {
                *created = 0;
                const char *had = json_string_value(json_object_get(dep, "kind"));
                if (strcmp(had ? had : "", kind) != 0) {
                        err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                  "deployment '%s' is a %s: delete it to deploy a %s", name, had,
                                  kind);
                        json_decref(dep);
                        return NULL;
                }
                return dep;
        }
        if (r != -ENOENT)
                return NULL;
        *created = 1;
        int64_t now = time_wall_ms();
        dep = json_pack("{s:s,s:s,s:i,s:I,s:I}", "name", name, "kind", kind, "revision", 0,
                        "created_at", (json_int_t)now, "updated_at", (json_int_t)now);
        if (!dep || store_deploy_put(core->store, name, dep, e) < 0) {
                json_decref(dep);
                return NULL;
        }
        return dep;
}

int deploy_create(struct core *core, const char *name, const char *kind, json_t *build_req,
                  const json_t *spec, json_t **rev_out, int *created, struct err *e)
{
        json_t *dep = deployment_for(core, name, kind, created, e);
        if (!dep)
                return -1;
        json_decref(dep);
        int64_t number = next_number(core, name);
        char ref[TEMPLATE_REF_MAX + 1], id[MACHINE_ID_MAX];
        snprintf(ref, sizeof(ref), "deploy-%s:r%lld", name, (long long)number);
        json_object_set_new(build_req, "ref", json_string(ref));
        struct deploy_build *b = calloc(1, sizeof(*b));
        if (!b)
                return err_set(e, ENOMEM, "deployment");
        if (build_start(core, build_req, id, e) < 0) {
                free(b);
                if (*created)
                        store_deploy_delete(core->store, name, &(struct err){0});
                return -1;
        }
        json_t *rev = json_deep_copy(spec);
        json_object_update_new(rev, json_pack("{s:s,s:I,s:s,s:s,s:s,s:I}", "deployment", name,
                                              "number", (json_int_t)number, "state", "building",
                                              "build_id", id, "template", ref, "created_at",
                                              (json_int_t)time_wall_ms()));
        if (store_revision_put(core->store, name, number, rev, e) < 0) {
                build_cancel(core, id);
                free(b);
                json_decref(rev);
                return -1;
        }
        b->core = core;
        b->number = number;
        snprintf(b->name, sizeof(b->name), "%s", name);
        b->w.done = build_done;
        b->next = core->deploy_builds;
        core->deploy_builds = b;
        if (build_wait_ref(core, ref, &b->w) < 0) /* it ended at once */
                build_done(&b->w, "the build ended before it could be followed");
        core_event(core, "deployment.deploying", "deployment", name, NULL,
                   json_pack("{s:s,s:I,s:s}", "deployment", name, "revision", (json_int_t)number,
                             "build_id", id));
        *rev_out = rev;
        return 0;
}

json_t *deploy_live(struct core *core, const char *name, struct err *e)
{
        json_t *dep = deploy_get(core, name, e);
        if (!dep)
                return NULL;
        int64_t n = json_integer_value(json_object_get(dep, "revision"));
        json_decref(dep);
        if (n <= 0) {
                err_coded(e, NS_E_REVISION_NOT_READY, EAGAIN,
                          "deployment '%s' has no revision built yet", name);
                return NULL;
        }
        return deploy_revision(core, name, n, e);
}

int deploy_rollback(struct core *core, const char *name, int64_t number, json_t **dep,
                    struct err *e)
{
        json_t *d = deploy_get(core, name, e);
        json_t *rev = d ? deploy_revision(core, name, number, e) : NULL;
        if (!rev) {
                json_decref(d);
                return -1;
        }
        char state[16];
        snprintf(state, sizeof(state), "%s",
                 json_string_value(json_object_get(rev, "state")) ?: "unknown");
        json_decref(rev);
        if (strcmp(state, "ready") != 0) {
                json_decref(d);
                return err_coded(e, NS_E_REVISION_NOT_READY, EAGAIN,
                                 "revision %lld of '%s' is %s, not ready", (long long)number, name,
                                 state);
        }
        const char *kind = json_string_value(json_object_get(d, "kind"));
        if (kind && !strcmp(kind, "service")) {
                json_decref(d);
                if (deploy_service_rollback(core, name, number, e) < 0)
                        return -1;
                *dep = deploy_get(core, name, e);
                return *dep ? 0 : -1;
        }
        int64_t was = json_integer_value(json_object_get(d, "revision"));
        deploy_set_int(d, "revision", number);
        deploy_set_int(d, "updated_at", time_wall_ms());
        if (store_deploy_put(core->store, name, d, e) < 0) {
                json_decref(d);
                return -1;
        }
        core_event(core, "deployment.rolled_back", "deployment", name, NULL,
                   json_pack("{s:s,s:I,s:I}", "deployment", name, "revision", (json_int_t)number,
                             "from", (json_int_t)was));
        deploy_sched_reload(core);
        *dep = d;
        return 0;
}

/* Deletes the templates of name's revisions; one a machine still uses (being destroyed)
 * is tried again by deploy_templates_collect. */
static void delete_templates(struct core *core, const char *name)
{
        json_t *revs = NULL;
        struct err e = {0};
        if (store_revision_list(core->store, name, INT64_MAX, 10000, &revs, &e) < 0)
                return;
        size_t i;
        json_t *rev;
        json_array_foreach(revs, i, rev)
        {
                const char *ref = json_string_value(json_object_get(rev, "template"));
                if (ref && templates_delete(core, ref, &e) == -EBUSY) {
                        if (!core->deploy_doomed)
                                core->deploy_doomed = json_array();
                        json_array_append_new(core->deploy_doomed, json_string(ref));
                }
        }
        json_decref(revs);
}

int deploy_delete(struct core *core, const char *name, struct err *e)
{
        json_t *dep = deploy_get(core, name, e);
        if (!dep)
                return -1;
        json_decref(dep);
        for (struct deploy_build *b = core->deploy_builds; b; b = b->next)
                if (strcmp(b->name, name) == 0)
                        return err_coded(e, NS_E_CONFLICT, EBUSY,
                                         "revision %lld of '%s' is building: wait for it (or "
                                         "cancel its build) first",
                                         (long long)b->number, name);
        deploy_runs_end(core, name);
        deploy_service_end(core, name);
        delete_templates(core, name);
        if (store_deploy_delete(core->store, name, e) < 0)
                return -1;
        char dir[PATH_MAX + 96];
        snprintf(dir, sizeof(dir), "%s/deployments/%s/runs", core->state_dir, name);
        remove_flat_dir(dir);
        snprintf(dir, sizeof(dir), "%s/deployments/%s", core->state_dir, name);
        rmdir(dir);
        core_event(core, "deployment.deleted", "deployment", name, NULL,
                   json_pack("{s:s}", "deployment", name));
        deploy_sched_reload(core);
        return 0;
}

/* A revision a stopped daemon left building: settled from its build's record. */
static void recover_revision(struct core *core, const char *name, int64_t number,
                             const char *build_id)
{
        struct build_rec b;
        struct err e = {0};
        if (store_build_get(core->store, build_id, &b, &e) < 0) {
                settle(core, name, number, "its build's record is gone");
                return;
        }
        if (strcmp(b.state, "ready") == 0)
                settle(core, name, number, NULL);
        else
                settle(core, name, number,
                       b.error[0] ? b.error : "the daemon stopped during the build");
        store_build_rec_free(&b);
}

void deploy_each(struct core *core, void (*fn)(struct core *core, const json_t *dep))
{
        int64_t after = 0;
        int more = 1;
        while (more) {
                json_t *docs = NULL;
                struct err e = {0};
                if (store_deploy_list(core->store, after, 100, &docs, &after, &more, &e) < 0) {
                        log_warn("deploy_list", "error=\"%s\"", e.msg);
                        return;
                }
                size_t i;
                json_t *dep;
                json_array_foreach(docs, i, dep) fn(core, dep);
                json_decref(docs);
        }
}

/* A deployment whose newest revision a stopped daemon left building. */
static void recover_deployment(struct core *core, const json_t *dep)
{
        const char *name = json_string_value(json_object_get(dep, "name"));
        json_t *revs = NULL;
        struct err e = {0};
        if (!name || store_revision_list(core->store, name, INT64_MAX, 1, &revs, &e) < 0)
                return;
        json_t *rev = json_array_get(revs, 0);
        const char *st = json_string_value(json_object_get(rev, "state"));
        if (st && strcmp(st, "building") == 0)
                recover_revision(core, name, json_integer_value(json_object_get(rev, "number")),
                                 json_string_value(json_object_get(rev, "build_id")));
        json_decref(revs);
}

void deploys_recover(struct core *core)
{
        deploy_each(core, recover_deployment);
        deploy_runs_recover(core);
        deploy_services_recover(core);
        deploy_sched_reload(core);
}

void deploys_drop(struct core *core)
{
        while (core->deploy_builds) {
                struct deploy_build *b = core->deploy_builds;
                core->deploy_builds = b->next;
                build_wait_cancel(core, &b->w);
                free(b);
        }
        deploy_runs_drop(core);
        deploy_services_drop(core);
        json_decref(core->deploy_doomed); /* the next daemon's deletes leave them: logged */
        core->deploy_doomed = NULL;
        deploy_sched_stop(core);
}

struct machine *deploy_machine_create(struct core *core, const char *name, const json_t *rev,
                                      const char *run_id, const json_t *meta, const json_t *idle,
                                      int64_t timeout_s, machine_done_cb cb, void *ud,
                                      struct err *e)
{
        json_t *env = json_deep_copy(json_object_get(rev, "env"));
        char num[24];
        snprintf(num, sizeof(num), "%lld",
                 (long long)json_integer_value(json_object_get(rev, "number")));
        json_object_set_new(env, "NULLSPACE_DEPLOYMENT", json_string(name));
        json_object_set_new(env, "NULLSPACE_REVISION", json_string(num));
        if (run_id)
                json_object_set_new(env, "NULLSPACE_RUN_ID", json_string(run_id));
        struct machine_params p = {
            .template_name = json_string_value(json_object_get(rev, "template")),
            .vcpus = (unsigned)json_integer_value(json_object_get(rev, "vcpus")),
            .memory_mb = (unsigned)json_integer_value(json_object_get(rev, "memory_mb")),
            .env = env,
            .metadata = (json_t *)meta,
            .timeout_s = timeout_s,
            .auto_resume = 1,
            .runtime = json_string_value(json_object_get(rev, "runtime")),
            .idle = idle,
            .secrets = json_object_get(rev, "secrets"),
            .pool = POOL_SKIP, /* so cb never runs before machine_create returns */
        };
        struct machine *m = machine_create(core, &p, cb, ud, e);
        json_decref(env);
        return m;
}

void deploy_templates_collect(struct core *core)
{
        for (size_t i = 0; i < json_array_size(core->deploy_doomed);) {
                struct err e = {0};
                const char *ref = json_string_value(json_array_get(core->deploy_doomed, i));
                if (templates_delete(core, ref, &e) == -EBUSY)
                        i++;
                else
                        json_array_remove(core->deploy_doomed, i);
        }
}
