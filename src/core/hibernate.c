/* Hibernate and resume, and the pause that fork and snapshots share with hibernate.
 * A checkpoint quiesces the agent stream (no channel open, then one round trip so
 * every frame sent has been read), lets go of the agent connection and checkpoints the
 * sandbox; a restore starts it from an image under a new shim, has the agent re-arm,
 * and checks it answers before the machine is running again. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "../runtime/cgroup.h"
#include "machine_internal.h"

void machine__finish_op(struct machine *m, enum ns_code code, const char *error)
{
        struct machine_waiter w[MACHINE_MAX_WAITERS];
        int n = m->op.nwaiters;
        memcpy(w, m->op.waiters, sizeof(w[0]) * (size_t)n);
        m->op.nwaiters = 0;
        for (int i = 0; i < n; i++) /* the operation's own first */
                if (!w[i].resume)
                        w[i].cb(w[i].ud, m, code, error);
        for (int i = 0; i < n; i++) {
                if (!w[i].resume)
                        continue;
                if (m->state == M_HIBERNATED) /* the first starts it, the rest join */
                        machine_resume(m, w[i].cb, w[i].ud);
                else if (m->state == M_RUNNING) /* the hibernation did not happen */
                        w[i].cb(w[i].ud, m, NS_OK, NULL);
                else
                        w[i].cb(w[i].ud, m, code ? code : NS_E_MACHINE_NOT_RUNNING,
                                error ? error : machine_state_name(m->state));
        }
}

static int add_waiter(struct machine *m, machine_done_cb cb, void *ud, int resume)
{
        if (m->op.nwaiters >= MACHINE_MAX_WAITERS)
                return -1;
        m->op.waiters[m->op.nwaiters++] = (struct machine_waiter){cb, ud, resume};
        return 0;
}

int machine__add_waiter(struct machine *m, machine_done_cb cb, void *ud)
{
        return add_waiter(m, cb, ud, 0);
}

uint32_t machine__agent_ping(struct machine *m, json_t *req, agent_frame_cb cb)
{
        if (!req)
                req = json_pack("{s:s,s:s}", "op", "exists", "path", "/");
        m->op.ping_chan = agentconn_open(&m->rt.agent, req, cb, m);
        json_decref(req);
        return m->op.ping_chan;
}

static void close_agent(struct machine *m)
{
        if (!m->rt.agent_open)
                return;
        m->rt.agent_open = 0;
        m->rt.agent.on_state = NULL;
        agentconn_fini(&m->rt.agent);
}

/* Back to running on the shim that is still there (the checkpoint failed). */
static void reattach(struct machine *m, enum ns_code code, const char *why)
{
        struct core *core = m->core;
        struct err e = {0};
        struct machine_run run;
        if (m->rt.drv->attach(&core->driver_ctx, m->id, m->dir, &run, &e) < 0 ||
            machine__agent_open(m, run.agent_rfd, run.agent_wfd, &e) < 0) {
                machine__finish_op(m, NS_E_MACHINE_FAILED, why);
                machine__fail(m, why);
                return;
        }
        m->rt.agent_open = 1;
        machine__set_state(m, M_RUNNING, NULL);
        machine__finish_op(m, code, why);
}

#define DISK_SLACK (64ull << 20) /* kept free beside a checkpoint: the store writes too */

static uint64_t disk_free(const char *dir)
{
        struct statvfs v;
        return statvfs(dir, &v) == 0 ? (uint64_t)v.f_bavail * v.f_frsize : UINT64_MAX;
}

static int disk_low(const char *dir)
{
        return disk_free(dir) < DISK_SLACK;
}

/* A checkpoint writes about the memory the machine uses (a VM: its QEMU's resident
 * memory, the guest's RAM that was touched); gVisor stops a sandbox whose
 * checkpoint fails, so a checkpoint that cannot fit is not even started. */
static int checkpoint_fits(const struct machine *m, char *why, size_t cap)
{
        struct machine_usage u;
        m->rt.drv->usage(&m->core->driver_ctx, m->id, m->dir, &u);
        long long mem = u.mem_bytes;
        uint64_t need = (mem > 0 ? (uint64_t)mem + (uint64_t)mem / 10 : 0) + DISK_SLACK;
        uint64_t avail = disk_free(m->core->state_dir);
        if (avail >= need)
                return 1;
        snprintf(why, cap,
                 "the state directory's disk has %llu MiB free; a checkpoint of this machine "
                 "needs about %llu MiB",
                 (unsigned long long)(avail >> 20), (unsigned long long)(need >> 20));
        return 0;
}

/* The machine's checkpoint / restore helper: watched, and named in DIR/op.pid so that a
 * restarted daemon waits for it. */
static void watch_op_helper(struct machine *m, pid_t pid,
                            void (*on_exit)(struct child_watch *w, int status))
{
        m->rt.op_helper.pid = pid;
        m->rt.op_helper.on_exit = on_exit;
        children_watch(&m->core->children, &m->rt.op_helper);
        layers_op_pid_write(m->dir, pid);
}

static int pausing(const struct machine *m)
{
        return m->state == M_HIBERNATING || m->state == M_FORKING || m->state == M_SNAPSHOTTING;
}

static void on_checkpointed(struct child_watch *w, int status)
{
        struct machine *m = (struct machine *)((char *)w - offsetof(struct machine, rt.op_helper));
        m->rt.op_helper.pid = 0;
        layers_op_pid_clear(m->dir);
        if (!pausing(m))
                return;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                log_warn("machine_checkpoint_failed", "machine=%s status=%d", m->id, status);
                if (disk_low(m->core->state_dir))
                        reattach(m, NS_E_NO_SPACE,
                                 "the checkpoint failed: the state directory's disk is full");
                else
                        reattach(m, NS_E_MACHINE_FAILED, "the checkpoint failed; see runsc.log");
                return;
        }
        if (m->state != M_HIBERNATING) {
                capture__checkpointed(m);
                return;
        }
        machine__set_state(m, M_HIBERNATED, NULL);
        machine__finish_op(m, NS_OK, NULL);
}

#define SETTLE_STEP_MS 500
#define SETTLE_TRIES   130 /* TIME_WAIT lasts 60 s in gVisor */

static void on_quiesced(void *ud, const struct nsp_hdr *h, const unsigned char *p);

static void on_settle(struct loop_timer *t)
{
        struct machine *m = (struct machine *)((char *)t - offsetof(struct machine, op.settle));
        if (!pausing(m))
                return;
        if (!machine__agent_ping(m, json_pack("{s:s}", "op", "quiesce"), on_quiesced)) {
                machine__finish_op(m, NS_E_MACHINE_FAILED, "the agent is not answering");
                machine__fail(m, "the agent stopped answering");
        }
}

/* gVisor cannot checkpoint open TCP connections (a failed checkpoint would stop the
 * machine): wait for them to end, for at most SETTLE_TRIES steps. 1 while waiting. */
static int wait_connections(struct machine *m, const struct nsp_hdr *h, const unsigned char *p)
{
        if (m->rt.drv->checkpoints_tcp) /* a VM's own kernel carries its connections along */
                return 0;
        json_t *resp = json_loadb((const char *)p, h->len, 0, NULL);
        json_int_t n = json_integer_value(json_object_get(resp, "tcp_connections"));
        json_decref(resp);
        const char *guest = json_string_value(json_object_get(m->conf.network, "address"));
        if (guest)
                n += net_live_connections(guest);
        if (n <= 0) {
                m->op.settle_tries = 0;
                return 0;
        }
        if (m->op.settle_tries++ < SETTLE_TRIES) {
                loop_timer_arm(&m->core->loop, &m->op.settle, SETTLE_STEP_MS, on_settle);
                return 1;
        }
        m->op.settle_tries = 0;
        char why[200];
        snprintf(why, sizeof(why),
                 "%lld TCP connection(s) of the machine stayed open for %d s; the runtime "
                 "cannot checkpoint them: close them and retry",
                 (long long)n, SETTLE_TRIES * SETTLE_STEP_MS / 1000);
        machine__set_state(m, M_RUNNING, NULL);
        machine__finish_op(m, NS_E_MACHINE_BUSY, why);
        return 1;
}

static void on_quiesced(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct machine *m = ud;
        struct core *core = m->core;
        if (!h) { /* the agent went away: machine__on_agent_state handles the machine */
                machine__finish_op(m, NS_E_MACHINE_FAILED, "the agent stopped answering");
                return;
        }
        agentconn_chan_close(&m->rt.agent, m->op.ping_chan);
        if (!pausing(m) || wait_connections(m, h, p))
                return;
        close_agent(m);
        /* the shim ends with its sandbox; nothing to watch there any more */
        if (m->rt.run.pid)
                children_forget(&core->children, &m->rt.sandbox);
        m->rt.run.pid = 0;
        struct err e = {0};
        char own[PATH_MAX + 80];
        layers_own_image(m->dir, own, sizeof(own));
        const char *image = m->op.capture ? capture__image(m->op.capture) : own;
        pid_t pid = m->rt.drv->hibernate(&core->driver_ctx, m->id, m->dir, image, &e);
        if (pid < 0) {
                reattach(m, NS_E_MACHINE_FAILED, e.msg);
                return;
        }
        watch_op_helper(m, pid, on_checkpointed);
}

int machine__checkpoint_start(struct machine *m, enum machine_state s, machine_done_cb cb, void *ud)
{
        struct err e = {0};
        if (m->state == M_PAUSED && machine__unpause(m, &e) < 0) {
                cb(ud, m, NS_E_MACHINE_FAILED, e.msg);
                return -1;
        }
        if (m->state != M_RUNNING) {
                cb(ud, m, NS_E_MACHINE_NOT_RUNNING, machine_state_name(m->state));
                return -1;
        }
        if (!m->rt.drv->hibernate) {
                cb(ud, m, NS_E_RUNTIME_UNSUPPORTED,
                   "this runtime cannot checkpoint machines yet (hibernate, fork, snapshots)");
                return -1;
        }
        if (!m->rt.drv->checkpoints_mounts && json_array_size(m->conf.volumes)) {
                cb(ud, m, NS_E_RUNTIME_UNSUPPORTED,
                   "a VM machine that mounts volumes cannot be checkpointed (hibernate, fork, "
                   "snapshots): its virtio-fs devices cannot migrate");
                return -1;
        }
        /* first: what ends rather than hold a checkpoint back lets go (a desktop recording's
         * command, relays), so only the user's own commands and transfers count as busy */
        if (m->core->hooks.before_checkpoint)
                m->core->hooks.before_checkpoint(m->core, m->id);
        for (struct agent_chan *c = m->rt.agent.chans; c; c = c->next) {
                if (!c->session) {
                        cb(ud, m, NS_E_MACHINE_BUSY, "commands or file transfers are still open");
                        return -1;
                }
        }
        char why[256];
        if (!checkpoint_fits(m, why, sizeof(why))) {
                cb(ud, m, NS_E_NO_SPACE, why);
                return -1;
        }
        /* processes and PTYs run on inside the checkpoint; their readers re-attach */
        agentconn_detach_sessions(&m->rt.agent, s == M_HIBERNATING ? "machine_hibernating"
                                                : s == M_FORKING   ? "machine_forking"
                                                                   : "machine_snapshotting");
        machine__add_waiter(m, cb, ud); /* running: nobody else waits */
        machine__set_state(m, s, NULL);
        /* "quiesce" also tells the agent to re-arm itself once restored */
        if (!machine__agent_ping(m, json_pack("{s:s}", "op", "quiesce"), on_quiesced)) {
                machine__finish_op(m, NS_E_MACHINE_FAILED, "the agent is not answering");
                machine__fail(m, "the agent stopped answering");
        }
        return 0;
}

void machine_hibernate(struct machine *m, machine_done_cb cb, void *ud)
{
        machine__checkpoint_start(m, M_HIBERNATING, cb, ud);
}

static void resume_failed(struct machine *m, const char *why);

static void on_answering(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        (void)p;
        struct machine *m = ud;
        if (!h) {
                if (m->state == M_RESUMING)
                        resume_failed(m, "the restored agent does not answer");
                return;
        }
        agentconn_chan_close(&m->rt.agent, m->op.ping_chan);
        if (m->state != M_RESUMING)
                return;
        machine__op_helper_stop(m);
        machine__set_state(m, M_RUNNING, NULL);
        char image[PATH_MAX + 80]; /* it ran on: its checkpoint is stale, free the disk */
        layers_own_image(m->dir, image, sizeof(image));
        remove_flat_dir(image);
        struct err e = {0};
        if (m->conf.timeout_s > 0) /* a resumed machine gets a fresh deadline */
                machine_set_timeout(m, m->conf.timeout_s, &e);
        machine__finish_op(m, NS_OK, NULL);
}

static void stop_restored(struct machine *m)
{
        struct core *core = m->core;
        machine__agent_connect_cancel(m);
        machine__op_helper_stop(m);
        close_agent(m);
        if (m->rt.run.pid) {
                children_forget(&core->children, &m->rt.sandbox);
                kill(m->rt.run.pid, SIGKILL);
                m->rt.run.pid = 0;
        }
}

/* The restore did not work: back to hibernated, the checkpoint kept. */
static void resume_failed(struct machine *m, const char *why)
{
        stop_restored(m);
        machine__set_state(m, M_HIBERNATED, NULL);
        log_warn("machine_resume_failed", "machine=%s", m->id);
        machine__finish_op(m, NS_E_MACHINE_FAILED, why);
}

void machine__op_helper_stop(struct machine *m)
{
        if (!m->rt.op_helper.pid)
                return;
        children_forget(&m->core->children, &m->rt.op_helper);
        kill(m->rt.op_helper.pid, SIGKILL); /* the reaper collects it */
        m->rt.op_helper.pid = 0;
        layers_op_pid_clear(m->dir);
}

/* The restore helper (which signals the agent to re-arm, in case it does not on its
 * own) exited before the agent answered: only a failure matters. */
static void on_rearmed(struct child_watch *w, int status)
{
        struct machine *m = (struct machine *)((char *)w - offsetof(struct machine, rt.op_helper));
        m->rt.op_helper.pid = 0;
        layers_op_pid_clear(m->dir);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return;
        if (m->state == M_CREATING) /* a fork child or a spawn from a snapshot */
                machine__fail(m,
                              "the sandbox did not come back from the checkpoint; see runsc.log");
        else if (m->state == M_RESUMING)
                resume_failed(m, "the sandbox did not come back from its checkpoint");
}

/* The restored machine's agent is reached (or not): its first request goes out. */
static void on_restore_connected(struct machine *m, const char *error)
{
        /* the first request waits in the shim until the restored agent reads it */
        if (!error && m->state == M_CREATING && machine__spawn_hello(m)) {
                machine__await_hello(m);
                return;
        }
        if (!error && m->state != M_CREATING && machine__agent_ping(m, NULL, on_answering) != 0)
                return;
        const char *why = error ? error : "the restored agent's stream closed";
        if (m->state == M_RESUMING) {
                resume_failed(m, why);
                return;
        }
        stop_restored(m);
        machine__fail(m, why);
}

int machine__restore_from(struct machine *m, const char *image, struct err *e)
{
        struct core *core = m->core;
        char rootfs[PATH_MAX + 192];
        machine_rootfs(m, rootfs, sizeof(rootfs));
        pid_t helper = 0;
        struct sandbox_spec s;
        int r = !m->rt.drv->restore
                    ? err_set(e, ENOTSUP, "runtime %s cannot restore", m->rt.drv->name)
                    : machine__sandbox_spec(m, rootfs, &s, e);
        if (r == 0) {
                r = m->rt.drv->restore(&core->driver_ctx, &s.spec, image, &m->rt.run, &helper, e);
                machine__sandbox_spec_fini(&s);
        }
        if (r < 0) {
                if (helper > 0)
                        kill(helper, SIGKILL);
                stop_restored(m);
                return r;
        }
        m->rt.sandbox.pid = m->rt.run.pid;
        m->rt.sandbox.on_exit = machine__on_sandbox_exit;
        children_watch(&core->children, &m->rt.sandbox);
        watch_op_helper(m, helper, on_rearmed);
        machine__agent_connect(m, on_restore_connected);
        return 0;
}

void machine__resume_from(struct machine *m, const char *image)
{
        struct err e = {0};
        machine__set_state(m, M_RESUMING, NULL);
        if (machine__restore_from(m, image, &e) < 0)
                resume_failed(m, e.msg);
}

void machine_resume(struct machine *m, machine_done_cb cb, void *ud)
{
        if (m->state == M_PAUSED) {
                struct err e = {0};
                if (machine__unpause(m, &e) < 0)
                        cb(ud, m, NS_E_MACHINE_FAILED, e.msg);
                else
                        cb(ud, m, NS_OK, NULL);
                return;
        }
        if (m->state == M_RESUMING || m->state == M_FORKING || m->state == M_SNAPSHOTTING) {
                /* join the resume under way, or the one that ends a fork's pause */
                if (machine__add_waiter(m, cb, ud) < 0)
                        cb(ud, m, NS_E_MACHINE_BUSY, "too many requests wait for this resume");
                return;
        }
        if (m->state == M_HIBERNATING) { /* resumed as soon as it is hibernated */
                if (add_waiter(m, cb, ud, 1) < 0)
                        cb(ud, m, NS_E_MACHINE_BUSY, "too many requests wait for this machine");
                return;
        }
        if (m->state != M_HIBERNATED) {
                cb(ud, m, NS_E_MACHINE_NOT_RUNNING, machine_state_name(m->state));
                return;
        }
        machine__add_waiter(m, cb, ud);
        char image[PATH_MAX + 80];
        layers_own_image(m->dir, image, sizeof(image));
        machine__resume_from(m, image);
}
