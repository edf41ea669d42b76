/* The template registry: names, aliases and the builds they point at (templates.h). */
#include "templates.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "build_spec.h"
#include "machine_internal.h"

int templates_lookup(struct core *core, const char *ref, struct template_rec *name,
                     struct build_rec *build, struct err *e)
{
        char canon[TEMPLATE_REF_MAX + 1];
        if (template_ref_norm(ref, canon, e) < 0) {
                e->code = NS_E_INVALID_FIELD;
                return -EINVAL;
        }
        int r = store_template_get(core->store, canon, name, e);
        if (r == 0)
                r = store_build_get(core->store, name->build_id, build, e);
        if (r == -ENOENT) {
                err_coded(e, NS_E_TEMPLATE_NOT_FOUND, ENOENT, "no template named '%s'", canon);
        } else if (r < 0) {
                e->code = NS_E_INTERNAL;
        }
        return r;
}

int templates_snapshot(struct core *core, const char *ref, char *canonical, char *snapshot,
                       struct err *e)
{
        struct template_rec name;
        struct build_rec b;
        if (templates_lookup(core, ref, &name, &b, e) < 0)
                return -ENOENT;
        json_t *res = json_loads(b.result, 0, NULL);
        const char *snap = json_string_value(json_object_get(res, "snapshot"));
        int r = snap ? 0 : err_set(e, EIO, "template %s has no snapshot", name.name);
        if (snap) {
                snprintf(canonical, TEMPLATE_REF_MAX + 1, "%s", name.name);
                snprintf(snapshot, MACHINE_ID_MAX, "%s", snap);
        } else {
                e->code = NS_E_INTERNAL;
        }
        json_decref(res);
        store_build_rec_free(&b);
        return r;
}

int templates_set(struct core *core, const char *ref, const char *build_id, struct err *e)
{
        char id[MACHINE_ID_MAX];
        rand_id("t_", 8, id, sizeof(id));
        int r = store_template_put(core->store, id, ref, build_id, time_wall_ms(), e);
        if (r == 0) {
                core_event(core, "template.set", "template", ref, NULL,
                           json_pack("{s:s}", "build_id", build_id));
                templates_collect(core);
        }
        return r;
}

int templates_alias(struct core *core, const char *ref, const char *alias, char *canonical,
                    struct err *e)
{
        struct template_rec name, other;
        struct build_rec b;
        if (templates_lookup(core, ref, &name, &b, e) < 0)
                return -ENOENT;
        store_build_rec_free(&b);
        if (template_ref_norm(alias, canonical, e) < 0) {
                e->code = NS_E_INVALID_FIELD;
                return -EINVAL;
        }
        if (store_template_get(core->store, canonical, &other, e) == 0 &&
            strcmp(other.build_id, name.build_id) != 0) {
                e->code = NS_E_CONFLICT;
                return err_say(e, EEXIST, "'%s' names another template; delete it first",
                               canonical);
        }
        if (templates_set(core, canonical, name.build_id, e) < 0) {
                e->code = NS_E_INTERNAL;
                return -EIO;
        }
        return 0;
}

/* How many of a snapshot's users are not members of a warm pool (those go with it). */
static size_t outside_pools(struct core *core, char **users, size_t n, const char **first)
{
        size_t count = 0;
        for (size_t i = 0; i < n; i++) {
                struct machine *m = machine_find(core, users[i]);
                if (m && json_object_get(m->metadata, "nullspace.pool"))
                        continue;
                if (count++ == 0)
                        *first = users[i];
        }
        return count;
}

/* Why the build cannot go (into e), or 0 when nothing depends on it. */
static int build_users(struct core *core, const struct build_rec *b, struct err *e)
{
        json_t *res = json_loads(b->result, 0, NULL);
        const char *snap = json_string_value(json_object_get(res, "snapshot")), *first = NULL;
        char **users = NULL, **deps = NULL;
        size_t nu = 0, nd = 0;
        int r = 0;
        if (snap && store_snapshot_users(core->store, snap, &users, &nu, e) < 0)
                r = -EIO;
        else if (store_template_dependents(core->store, b->id, &deps, &nd, e) < 0)
                r = -EIO;
        else if ((nu = outside_pools(core, users, nu, &first)) > 0)
                r = err_say(e, EBUSY, "%zu machine(s) started from it still exist, first %s", nu,
                            first);
        else if (nd > 0)
                r = err_say(e, EBUSY, "template %s was built FROM it", deps[0]);
        strv_free(users);
        strv_free(deps);
        json_decref(res);
        return r;
}

/* Deletes a build's snapshot and marks it deleted (its layers are then free). */
static void drop_build(struct core *core, const struct build_rec *b)
{
        json_t *res = json_loads(b->result, 0, NULL);
        const char *snap = json_string_value(json_object_get(res, "snapshot"));
        struct err e = {0};
        if (snap && snapshot_delete(core, snap, &e) < 0 && e.code != NS_E_SNAPSHOT_NOT_FOUND)
                log_info("template_snapshot_deferred", "build=%s snapshot=%s reason=%s", b->id,
                         snap, e.msg);
        else if (store_build_update(core->store, b->id, "deleted", b->step, b->result, NULL,
                                    time_wall_ms(), &e) == 0)
                log_info("template_build_deleted", "build=%s ref=%s", b->id, b->ref);
        json_decref(res);
        layers_collect(core);
}

int templates_delete(struct core *core, const char *ref, struct err *e)
{
        struct template_rec name;
        struct build_rec b;
        if (templates_lookup(core, ref, &name, &b, e) < 0)
                return -ENOENT;
        char **refs = NULL;
        size_t n = 0;
        int r = store_template_refs(core->store, b.id, &refs, &n, e);
        strv_free(refs);
        if (r == 0 && n <= 1 && (r = build_users(core, &b, e)) == -EBUSY)
                e->code = NS_E_TEMPLATE_IN_USE;
        else if (r < 0)
                e->code = NS_E_INTERNAL;
        if (r == 0 && (r = store_template_delete(core->store, name.name, e)) < 0)
                e->code = NS_E_INTERNAL;
        if (r == 0)
                core_event(core, "template.deleted", "template", name.name, NULL,
                           json_pack("{s:s}", "build_id", b.id));
        if (r == 0 && n <= 1)
                drop_build(core, &b);
        store_build_rec_free(&b);
        return r;
}

void templates_collect(struct core *core)
{
        char **ids = NULL;
        size_t n = 0;
        struct err e = {0};
        if (store_builds_unnamed(core->store, &ids, &n, &e) < 0)
                return;
        for (size_t i = 0; i < n; i++) { /* usually none: one query is all it costs */
                struct build_rec b;
                if (store_build_get(core->store, ids[i], &b, &e) < 0)
                        continue;
                if (build_users(core, &b, &e) == 0)
                        drop_build(core, &b);
                store_build_rec_free(&b);
        }
        strv_free(ids);
}

json_t *templates_view(const struct template_rec *name, const struct build_rec *build)
{
        json_t *res = json_loads(build->result, 0, NULL);
        if (!res)
                res = json_object();
        const char *colon = strchr(name->name, ':');
        json_t *o =
            json_pack("{s:s,s:s%,s:s,s:s,s:I,s:I}", "ref", name->name, "name", name->name,
                      colon ? (size_t)(colon - name->name) : strlen(name->name), "tag",
                      colon ? colon + 1 : "latest", "build_id", build->id, "created_at",
                      (json_int_t)name->created_at, "updated_at", (json_int_t)name->updated_at);
        static const char *const keys[] = {"snapshot", "env",   "user", "cwd",   "start",
                                           "ready",    "ports", "from", "vcpus", "memory_mb"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                json_t *v = json_object_get(res, keys[i]);
                json_object_set_new(o, keys[i], v ? json_incref(v) : json_null());
        }
        /* what its machines run on (builds before runtimes were gVisor's) */
        json_object_set_new(o, "runtime", json_string(core_record_runtime(res)));
        json_object_set_new(
            o, "layers", json_integer((json_int_t)json_array_size(json_object_get(res, "layers"))));
        json_decref(res);
        return o;
}
