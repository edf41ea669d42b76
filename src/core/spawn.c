/* Machines restored from another machine's checkpoint: fork children and spawns from
 * snapshots. After the restore the agent gets the new machine's identity (hostname,
 * machine-id, fresh entropy) before the machine counts as running. Loop thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../common/cleanup.h"
#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "machine_internal.h"
#include "pools.h"
#include "templates.h"
#include "volumes.h"

/* The agent answered a new machine's first request (its identity, or its secrets): it
 * runs, or failed when the agent refused. */
static void on_given(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct machine *m = ud;
        if (!h) /* the agent went away: machine__on_agent_state fails the machine */
                return;
        agentconn_chan_close(&m->rt.agent, m->op.ping_chan);
        if (m->state != M_CREATING)
                return;
        json_t *resp = json_loadb((const char *)p, h->len, 0, NULL);
        json_t *err = json_object_get(resp, "error");
        if (!resp || err) {
                char why[320];
                snprintf(why, sizeof(why), "the agent refused the new machine's set-up: %s",
                         json_string_value(json_object_get(err, "message")) ?: "bad answer");
                json_decref(resp);
                machine__fail(m, why);
                return;
        }
        json_decref(resp);
        json_decref(m->secret_env); /* the agent has them: not kept here */
        m->secret_env = NULL;
        machine__op_helper_stop(m);
        machine__set_state(m, M_RUNNING, NULL);
        machine__finish_create(m, NS_OK, NULL);
}

int machine__spawn_hello(struct machine *m)
{
        unsigned char raw[16], seed[32];
        char mid[33], seedhex[65];
        if (rand_bytes(raw, sizeof(raw)) < 0 || rand_bytes(seed, sizeof(seed)) < 0)
                return 0;
        hex_encode(raw, sizeof(raw), mid);
        hex_encode(seed, sizeof(seed), seedhex);
        json_t *req = json_pack("{s:s,s:s,s:s,s:s}", "op", "identity", "hostname", m->id,
                                "machine_id", mid, "seed", seedhex);
        /* the create's env and secrets on top of the snapshot's */
        json_t *env = json_copy(m->conf.env); /* its values are only referenced */
        if (env && m->secret_env)
                json_object_update(env, m->secret_env);
        if (req && json_object_size(env))
                json_object_set(req, "env", env);
        json_decref(env);
        if (m->rt.drv->readdress &&
            m->conf.network) { /* its own kernel keeps the parent's address */
                json_object_set(req, "address", json_object_get(m->conf.network, "address"));
                json_object_set(req, "gateway", json_object_get(m->conf.network, "gateway"));
        }
        return machine__agent_ping(m, req, on_given) != 0;
}

void machine__send_secrets(struct machine *m)
{
        json_t *req = json_pack("{s:s,s:O}", "op", "env", "env", m->secret_env);
        if (machine__agent_ping(m, req, on_given) == 0)
                machine__fail(m, "the machine's agent could not be given its secrets");
}

struct machine *machine__spawn(struct core *core, const struct machine_params *p, const char *image,
                               json_t *layers, const char *parent_id, const char *snapshot_id,
                               machine_done_cb cb, void *ud, struct err *e)
{
        struct machine *m = machine__new(core, p, layers, parent_id, snapshot_id, cb, ud, e);
        if (!m)
                return NULL;
        log_info("machine__spawn", "machine=%s parent=%s snapshot=%s", m->id,
                 parent_id ? parent_id : "-", snapshot_id ? snapshot_id : "-");
        struct err re = {0};
        if (machine__restore_from(m, image, &re) < 0)
                machine__fail(m, re.msg);
        return m;
}

/* The parameters a snapshot fixes (its memory holds them): template, size, user, cwd,
 * and env, to which the request's env is added (c's own, which the agent is told in its
 * identity: what the machine starts from then on has both); the request decides the
 * rest. A machine given no metadata takes the snapshot's,
 * less the daemon's own keys ("nullspace.*": a template's snapshot was taken of its
 * build machine, and a machine marked as one is removed at the next start). `spec` is
 * the caller's own copy: those keys are deleted from it. */
static void from_snapshot(json_t *spec, struct machine_conf *c, const struct machine_params *req,
                          struct machine_params *out)
{
        const char *key;
        void *tmp;
        json_t *value, *meta = json_object_get(spec, "metadata");
        json_object_foreach_safe(meta, tmp, key, value)
        {
                if (strncmp(key, "nullspace.", 10) == 0)
                        json_object_del(meta, key);
        }
        *out = *req;
        if (!req->template_name || !strcmp(req->template_name, "base")) /* else: its name */
                out->template_name = c->template_name;
        out->vcpus = c->vcpus;
        out->memory_mb = c->memory_mb;
        if (json_object_size(req->env) && (c->env || (c->env = json_object())))
                json_object_update(c->env, req->env); /* sent to the agent (identity) */
        out->env = c->env;
        out->image = c->image[0] ? c->image : NULL;
        out->runtime = c->runtime; /* a snapshot restores on its own runtime */
        out->user = c->user[0] ? c->user : NULL;
        out->cwd = c->cwd[0] ? c->cwd : NULL;
        /* a snapshot's memory has its volumes mounted: it keeps them */
        out->volumes = json_array_size(c->volumes) ? c->volumes : req->volumes;
        if (!req->metadata || json_object_size(req->metadata) == 0)
                out->metadata = json_object_get(spec, "metadata");
}

struct machine *machine__spawn_snapshot(struct core *core, const struct machine_params *p,
                                        machine_done_cb cb, void *ud, struct err *e)
{
        struct snapshot_rec r;
        if (store_snapshot_get(core->store, p->snapshot, &r, e) < 0) {
                e->code = e->errnum == ENOENT ? NS_E_SNAPSHOT_NOT_FOUND : NS_E_INTERNAL;
                return NULL;
        }
        struct machine *m = NULL;
        _cleanup_json_ json_t *spec = json_loads(r.spec, 0, NULL);
        struct machine_conf c;
        if (machine_conf_decode(&c, spec) < 0) {
                store_snapshot_rec_free(&r);
                err_set(e, ENOMEM, "snapshot spec");
                return NULL;
        }
        const char *rt = c.runtime;
        if (strcmp(r.state, "ready") != 0 || !spec) {
                e->code = NS_E_SNAPSHOT_NOT_READY;
                err_set(e, 0, "snapshot %s is %s", r.id, r.state);
        } else if (p->runtime && strcmp(p->runtime, rt) != 0) {
                err_coded(e, NS_E_RUNTIME_UNSUPPORTED, ENOTSUP,
                          "%s was captured from a %s machine: it restores as one",
                          p->template_name && strcmp(p->template_name, "base") ? p->template_name
                                                                               : r.id,
                          rt);
        } else if (json_array_size(c.volumes) && json_array_size(p->volumes)) {
                err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                          "field 'volumes': snapshot %s mounts volumes of its own", r.id);
        } else if (volume_mounts_exist(core, c.volumes, e) == 0) {
                struct machine_params mp;
                from_snapshot(spec, &c, p, &mp);
                char image[PATH_MAX + 64];
                layers_snapshot_dir(core, r.id, image, sizeof(image));
                m = machine__spawn(core, &mp, image, c.layers, NULL, r.id, cb, ud, e);
                if (!m)
                        e->code = NS_E_INTERNAL;
        }
        machine_conf_fini(&c);
        store_snapshot_rec_free(&r);
        return m;
}

/* A spawn from snapshot snap, shown as template ref. */
static struct machine *spawn_as(struct core *core, const struct machine_params *p, const char *ref,
                                const char *snap, machine_done_cb cb, void *ud, struct err *e)
{
        struct machine_params mp = *p;
        mp.template_name = ref;
        mp.snapshot = snap;
        return machine__spawn_snapshot(core, &mp, cb, ud, e);
}

struct machine *machine__spawn_template(struct core *core, const struct machine_params *p,
                                        machine_done_cb cb, void *ud, struct err *e)
{
        char ref[TEMPLATE_REF_MAX + 1], snap[MACHINE_ID_MAX];
        if (templates_snapshot(core, p->template_name, ref, snap, e) < 0)
                return NULL;
        return spawn_as(core, p, ref, snap, cb, ud, e);
}

struct machine *machine__from_template(struct core *core, const struct machine_params *p,
                                       machine_done_cb cb, void *ud, struct err *e)
{
        char ref[TEMPLATE_REF_MAX + 1], snap[MACHINE_ID_MAX];
        if (templates_snapshot(core, p->template_name, ref, snap, e) < 0)
                return NULL;
        /* warm pool members mount nothing */
        struct machine *m = p->pool != POOL_SKIP && !json_array_size(p->volumes)
                                ? pool_take(core, ref, snap, p)
                                : NULL;
        if (m) {
                cb(ud, m, NS_OK, NULL);
                return m;
        }
        if (p->pool == POOL_REQUIRE) {
                e->code = NS_E_POOL_EMPTY;
                err_say(e, EAGAIN, "no machine of template %s's warm pool is ready", ref);
                return NULL;
        }
        struct machine_params fresh = *p;
        fresh.checkout = "fresh"; /* recorded with the machine, not written again after */
        return spawn_as(core, &fresh, ref, snap, cb, ud, e);
}
