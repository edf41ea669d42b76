/* Fork and snapshots: the parent is paused and checkpointed like a hibernate, its
 * writable layer is sealed into a shared read-only one, then it is restored at once
 * (its pause ends) while the first child, on a fresh writable layer over the sealed one,
 * is restored from the same image alongside it; the other children follow once the
 * parent runs. A snapshot keeps the image; a fork removes it
 * once every child runs. Loop thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "machine_internal.h"

struct capture {
        int snapshot; /* a snapshot (1) or a fork (0) */
        struct machine *parent;
        unsigned count;
        json_t *metadata; /* the children's (owned; NULL: the parent's) */
        char image[PATH_MAX + 64];
        char snap_id[MACHINE_ID_MAX];
        int sealed;        /* the parent's layer was sealed: children can be made */
        unsigned spawned;  /* children spawned so far (of count) */
        int recorded;      /* the snapshot record exists */
        json_t *children;  /* ids */
        unsigned pending;  /* parent + children not settled */
        int64_t paused_at; /* monotonic ns */
        int64_t pause_ms;
        enum ns_code code; /* the first error (NS_OK: none) */
        char error[512];
        capture_done_cb cb;
        void *ud;
        struct core *core;
        struct capture *next; /* core->captures */
};

const char *capture__image(const struct capture *c)
{
        return c->image;
}

static void note_error(struct capture *c, enum ns_code code, const char *error)
{
        if (c->code)
                return;
        c->code = code ? code : NS_E_INTERNAL;
        snprintf(c->error, sizeof(c->error), "%s", error ? error : "failed");
}

static void snapshot_settle(struct capture *c, const struct machine *m, int ok)
{
        struct core *core = m->core;
        struct err e = {0};
        if (!ok) { /* a snapshot that failed never existed: the requester is told */
                store_snapshot_delete(core->store, c->snap_id, &e);
                struct core_cause cause = m->op.cause;
                snprintf(cause.reason, sizeof(cause.reason), "error");
                core_event(core, "snapshot.failed", "snapshot", c->snap_id, &cause,
                           json_pack("{s:s,s:s}", "machine_id", m->id, "error", c->error));
                layers_remove_later(c->image);
                c->recorded = 0;
                return;
        }
        json_t *spec = machine__spec_json(m);
        json_object_set(spec, "metadata", m->metadata);
        char *text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(spec);
        int64_t size = layers_image_bytes(c->image);
        if (store_snapshot_update(core->store, c->snap_id, "ready", text ? text : "{}", size, &e) <
            0)
                note_error(c, NS_E_INTERNAL, e.msg);
        free(text);
        core_event(core, "snapshot.ready", "snapshot", c->snap_id, &m->op.cause,
                   json_pack("{s:s,s:I}", "machine_id", m->id, "size_bytes", (json_int_t)size));
}

static void capture_free(struct capture *c)
{
        for (struct capture **pp = &c->core->captures; *pp; pp = &(*pp)->next) {
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
        }
        json_decref(c->children);
        json_decref(c->metadata);
        free(c);
}

void captures_drop(struct core *core)
{
        while (core->captures)
                capture_free(core->captures);
}

static void maybe_finish(struct capture *c)
{
        if (c->pending > 0)
                return;
        if (c->cb)
                c->cb(c->ud, c->code, c->code ? c->error : NULL, c->children,
                      c->snapshot ? c->snap_id : "", c->pause_ms);
        if (!c->snapshot)
                layers_remove_later(c->image);
        capture_free(c);
}

static void on_child(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        struct capture *c = ud;
        if (code)
                log_warn("fork_child_failed", "machine=%s code=%s", m->id, ns_code_name(code));
        (void)error;
        c->pending--;
        maybe_finish(c);
}

/* Spawns children of p until `upto` of them have been (c->spawned counts). */
static void spawn_children(struct capture *c, struct machine *p, unsigned upto)
{
        struct machine_params mp = {
            .template_name = p->conf.template_name,
            .vcpus = p->conf.vcpus,
            .memory_mb = p->conf.memory_mb,
            .env = p->conf.env,
            .metadata = c->metadata ? c->metadata : p->metadata,
            .timeout_s = p->conf.timeout_s,
            .user = p->conf.user,
            .cwd = p->conf.cwd,
            .auto_resume = p->conf.auto_resume,
            .timeout_hibernate = p->conf.timeout_hibernate,
            .network = p->conf.network,
            .image = p->conf.image[0] ? p->conf.image : NULL,
            .runtime = p->rt.drv->name,
            .volumes = p->conf.volumes,
            .secrets = p->conf.secrets,
            .secrets_held = 1, /* the parent's memory (their env) is the children's */
        };
        struct core_cause was = p->core->cause;
        p->core->cause = p->op.cause; /* the children are the fork's doing */
        for (; c->spawned < upto && c->spawned < c->count; c->spawned++) {
                struct err e = {0};
                c->pending++;
                struct machine *k = machine__spawn(p->core, &mp, c->image, p->conf.layers, p->id,
                                                   NULL, on_child, c, &e);
                if (!k) {
                        c->pending--;
                        note_error(c, NS_E_INTERNAL, e.msg);
                        continue;
                }
                json_array_append_new(c->children, json_string(k->id));
        }
        p->core->cause = was;
}

/* The parent's part ended: running again (code NULL), or not. */
static void on_parent(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        struct capture *c = ud;
        if (m->op.capture == c)
                m->op.capture = NULL;
        if (code)
                note_error(c, code, error);
        else
                c->pause_ms = (int64_t)((time_mono_ns() - (uint64_t)c->paused_at) / 1000000);
        log_info("capture_parent_done", "machine=%s pause_ms=%lld code=%s", m->id,
                 (long long)c->pause_ms, code ? ns_code_name(code) : "-");
        if (c->sealed && !c->snapshot)
                spawn_children(c, m, c->count); /* the rest, now that the parent runs */
        if (c->snapshot && c->recorded && !c->sealed)
                snapshot_settle(c, m, 0);
        c->parent = NULL;
        c->pending--;
        maybe_finish(c);
}

/* Seals the parent's writable layer as a new shared layer and records it. */
static int seal_parent(struct machine *m, struct err *e)
{
        struct core *core = m->core;
        char id[MACHINE_ID_MAX], path[PATH_MAX + 64];
        if (rand_id("l_", 8, id, sizeof(id)) < 0)
                return err_set(e, EIO, "layer id");
        layers_path(core, id, path, sizeof(path));
        json_t *old = json_incref(m->conf.layers);
        json_t *layers = json_deep_copy(m->conf.layers);
        json_array_insert_new(layers, 0, json_string(id));
        json_decref(m->conf.layers);
        m->conf.layers = layers;
        /* the record names the layer first: a daemon stop in between is settled */
        int r = machine__save_spec(m, e);
        if (r == 0)
                r = m->rt.drv->seal(&core->driver_ctx, m->dir, path, e);
        if (r < 0) {
                struct err ignored = {0};
                json_decref(m->conf.layers);
                m->conf.layers = old;
                machine__save_spec(m, &ignored);
                return r;
        }
        json_decref(old);
        return 0;
}

void capture__checkpointed(struct machine *m)
{
        struct capture *c = m->op.capture;
        struct err e = {0};
        if (seal_parent(m, &e) == 0)
                c->sealed = 1;
        else
                note_error(c, NS_E_INTERNAL, e.msg);
        if (c->snapshot)
                snapshot_settle(c, m, c->sealed);
        /* the first child restores from the image while the parent does: a fork costs
         * one checkpoint and one restore, not a restore after another. The others wait
         * until the parent runs, so that its pause does not grow with their number. */
        if (c->sealed && !c->snapshot)
                spawn_children(c, m, 1);
        char own[PATH_MAX + 80]; /* the helper linked the image there too */
        layers_own_image(m->dir, own, sizeof(own));
        machine__resume_from(m, own);
}

static struct capture *capture_new(struct machine *m, int snapshot, capture_done_cb cb, void *ud)
{
        struct capture *c = calloc(1, sizeof(*c));
        if (!c) {
                cb(ud, NS_E_INTERNAL, "out of memory", NULL, "", 0);
                return NULL;
        }
        c->snapshot = snapshot;
        c->parent = m;
        c->core = m->core;
        c->next = m->core->captures;
        m->core->captures = c;
        c->children = json_array();
        c->pending = 1;
        c->cb = cb;
        c->ud = ud;
        return c;
}

static struct capture *capture_begin(struct machine *m, struct capture *c)
{
        if (m->op.capture) {
                note_error(c, NS_E_MACHINE_BUSY, "a fork or snapshot of this machine is under way");
                on_parent(c, m, NS_OK, NULL);
                return NULL;
        }
        m->op.capture = c;
        c->paused_at = (int64_t)time_mono_ns();
        int r =
            machine__checkpoint_start(m, c->snapshot ? M_SNAPSHOTTING : M_FORKING, on_parent, c);
        return r < 0 ? NULL : c; /* refused: on_parent ran and c is gone */
}

struct capture *machine_fork(struct machine *m, unsigned count, json_t *metadata,
                             capture_done_cb cb, void *ud)
{
        struct capture *c = capture_new(m, 0, cb, ud);
        if (!c)
                return NULL;
        char id[MACHINE_ID_MAX];
        rand_id("f_", 8, id, sizeof(id));
        snprintf(c->image, sizeof(c->image), "%s/images/%s", m->core->state_dir, id);
        c->count = count;
        c->metadata = metadata ? json_deep_copy(metadata) : NULL;
        log_info("machine_fork", "machine=%s count=%u", m->id, count);
        return capture_begin(m, c);
}

struct capture *machine_snapshot(struct machine *m, const char *name, const char *kind,
                                 capture_done_cb cb, void *ud)
{
        struct capture *c = capture_new(m, 1, cb, ud);
        if (!c)
                return NULL;
        struct snapshot_rec r = {0};
        rand_id("s_", 8, r.id, sizeof(r.id));
        snprintf(r.machine_id, sizeof(r.machine_id), "%s", m->id);
        snprintf(r.name, sizeof(r.name), "%s", name ? name : "");
        snprintf(r.state, sizeof(r.state), "creating");
        snprintf(r.kind, sizeof(r.kind), "%s", kind ? kind : "user");
        r.created_at = time_wall_ms();
        snprintf(c->snap_id, sizeof(c->snap_id), "%s", r.id);
        layers_snapshot_dir(m->core, r.id, c->image, sizeof(c->image));
        struct err e = {0}; /* a capture refused below drops the record again (on_parent) */
        if (store_snapshot_insert(m->core->store, &r, &e) < 0) {
                note_error(c, NS_E_INTERNAL, e.msg);
                on_parent(c, m, NS_OK, NULL);
                return NULL;
        }
        c->recorded = 1;
        log_info("machine_snapshot", "machine=%s snapshot=%s", m->id, r.id);
        return capture_begin(m, c);
}

void machine_capture_forget(struct capture *c)
{
        c->cb = NULL;
}
