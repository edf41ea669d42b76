/* Start-up and exit: machines left by an earlier daemon are adopted again (running
 * ones re-attached through their shims, paused ones hibernated when a complete
 * checkpoint exists) or marked failed / destroyed and torn down; at exit machines are
 * let go without being stopped. Loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "machine_internal.h"

/* Rebuilds the live machine of a record. With `attach`, its sandbox must still run and
 * its agent answer on the shim's socket (-1 otherwise); without, it is hibernated. */
static void forget_answer(void *ud, json_t *resp, const json_t *error)
{
        (void)ud, (void)resp, (void)error;
}

static int adopt(struct core *core, const struct machine_rec *r, int attach)
{
        struct machine *m = calloc(1, sizeof(*m));
        if (!m)
                return -1;
        m->core = core;
        m->op.op_state = M_RUNNING; /* no operation under way */
        snprintf(m->id, sizeof(m->id), "%s", r->id);
        struct err e = {0};
        if (!(m->dir = machine__dir(core, r->id)) || machine_conf_parse(&m->conf, r->spec) < 0) {
                machine__free(m);
                return -1;
        }
        machine__set_driver(m, machine__driver_named(core, r->runtime));
        if (attach && m->rt.drv->attach(&core->driver_ctx, m->id, m->dir, &m->rt.run, &e) < 0) {
                machine__free(m);
                return -1;
        }
        snprintf(m->parent_id, sizeof(m->parent_id), "%s", r->parent_id);
        m->metadata = json_loads(r->metadata ? r->metadata : "{}", 0, NULL);
        if (!m->metadata)
                m->metadata = json_object();
        if (!attach && layers_settle(core, m->rt.drv, m->dir, m->conf.layers, &e) < 0) {
                machine__free(m);
                return -1;
        }
        m->state = attach ? M_RUNNING : M_HIBERNATED;
        m->created_at = r->created_at;
        m->deadline_at = r->deadline_at;
        if (attach && machine__agent_open(m, m->rt.run.agent_rfd, m->rt.run.agent_wfd, &e) < 0) {
                machine__free(m);
                return -1;
        }
        m->rt.agent_open = attach;
        if (attach) { /* channels the previous daemon had open have nobody behind them */
                json_t *req = json_pack("{s:s}", "op", "detach_all");
                agentconn_call(&m->rt.agent, req, forget_answer, NULL);
                json_decref(req);
        }
        m->next = core->machines;
        core->machines = m;
        machine__arm_deadline(m);
        if (strcmp(r->state, machine_state_name(m->state)) != 0)
                machine__set_state(m, m->state, NULL);
        log_info("machine_adopted", "machine=%s state=%s", m->id, machine_state_name(m->state));
        machine_net_reapply(m); /* this daemon's table was made afresh */
        return 0;
}

static int has_checkpoint(struct core *core, const char *id)
{
        char path[PATH_MAX + 96];
        snprintf(path, sizeof(path), "%s/machines/%s/checkpoint/" DRIVER_IMAGE_DONE,
                 core->state_dir, id);
        return access(path, R_OK) == 0;
}

/* What a record left by an earlier daemon becomes. */
static void recover_one(struct core *core, const struct machine_rec *r)
{
        int running = !strcmp(r->state, "running"), hib = !strcmp(r->state, "hibernated");
        int moving = !strcmp(r->state, "hibernating") || !strcmp(r->state, "resuming") ||
                     !strcmp(r->state, "forking") || !strcmp(r->state, "snapshotting");
        char dir[PATH_MAX + 64];
        snprintf(dir, sizeof(dir), "%s/machines/%s", core->state_dir, r->id);
        if (moving) /* a checkpoint or restore helper of the old daemon may still work */
                layers_wait_op_helper(dir);
        /* a complete checkpoint taken while pausing means the sandbox stopped, even if
         * its shim is still on its way out (and would accept an attach) */
        int paused = moving && strcmp(r->state, "resuming") != 0;
        if ((hib || (paused && has_checkpoint(core, r->id))) && adopt(core, r, 0) == 0)
                return;
        if (!strcmp(r->state, "paused")) { /* adopted running: its agent must answer */
                struct err te = {0};
                const struct driver *d = machine__driver_named(core, r->runtime);
                if (d->pause && d->pause(&core->driver_ctx, r->id, dir, 0, &te) < 0)
                        log_warn("machine_unpause_failed", "machine=%s error=\"%s\"", r->id,
                                 te.msg);
                running = 1;
        }
        if ((running || moving) && adopt(core, r, 1) == 0)
                return;
        if (moving && has_checkpoint(core, r->id) && adopt(core, r, 0) == 0)
                return;
        /* half-created, half-destroyed, or its sandbox died with the daemon */
        struct err e = {0};
        int destroying = !strcmp(r->state, "destroying");
        const char *why = !strcmp(r->state, "creating") ? "the daemon stopped while creating it"
                          : moving ? "the daemon stopped while it was paused and no complete "
                                     "checkpoint was left"
                                   : "its sandbox was gone when the daemon restarted";
        if (machine_record_state(core, r->id, destroying ? M_DESTROYED : M_FAILED,
                                 destroying ? NULL : why, &e) < 0)
                log_error("machine_store_failed", "machine=%s error=\"%s\"", r->id, e.msg);
        pid_t pid = machine__driver_named(core, r->runtime)
                        ->destroy(&core->driver_ctx, r->id, dir, NULL, 0, &e);
        int st;
        if (pid > 0)
                waitpid(pid, &st, 0);
        log_warn("machine_recovered", "machine=%s was=%s", r->id, r->state);
}

void machines_recover(struct core *core)
{
        static const char *const live[] = {"creating",    "running",  "destroying", "hibernated",
                                           "hibernating", "resuming", "forking",    "snapshotting"};
        for (unsigned i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
                struct machine_rec *v;
                size_t n;
                struct err e = {0};
                struct machine_filter f = {.state = live[i]};
                if (store_machine_list(core->store, &f, 0, 100000, &v, &n, &e) < 0)
                        continue;
                for (size_t k = 0; k < n; k++) {
                        recover_one(core, &v[k]);
                        store_machine_rec_free(&v[k]);
                }
                free(v);
        }
        snapshots_recover(core);
        layers_sweep_images(core);
        layers_collect(core);
}

void machines_detach(struct core *core)
{
        while (core->machines) {
                struct machine *m = core->machines;
                core->machines = m->next;
                machine__cancel_waits(m);
                if (m->rt.run.pid)
                        children_forget(&core->children, &m->rt.sandbox);
                if (m->rt.helper.pid)
                        children_forget(&core->children, &m->rt.helper);
                if (m->rt.op_helper.pid)
                        children_forget(&core->children, &m->rt.op_helper);
                machine__free(m); /* it closes our end of the agent stream */
        }
        captures_drop(core);
}
