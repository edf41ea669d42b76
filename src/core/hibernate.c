/* Hibernate and resume. Hibernate quiesces the agent stream (no channel open, then one
 * round trip so every frame sent has been read), lets go of the agent connection and
 * checkpoints the sandbox; resume restores it under a new shim, has the agent re-arm,
 * and checks it answers before the machine is running again. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../daemon/app.h"
#include "machine_internal.h"

/* Tells every waiter (a callback may add or remove waiters: work on a copy). */
static void finish_op(struct machine *m, const char *code, const char *error)
{
        struct machine_waiter w[MACHINE_MAX_WAITERS];
        int n = m->nwaiters;
        memcpy(w, m->waiters, sizeof(w[0]) * (size_t)n);
        m->nwaiters = 0;
        for (int i = 0; i < n; i++)
                w[i].cb(w[i].ud, m, code, error);
}

static int add_waiter(struct machine *m, machine_done_cb cb, void *ud)
{
        if (m->nwaiters >= MACHINE_MAX_WAITERS)
                return -1;
        m->waiters[m->nwaiters++] = (struct machine_waiter){cb, ud};
        return 0;
}

/* One round trip to the agent: when its answer arrives, every frame sent before has
 * been read. Returns the channel (m->ping_chan), 0 when the agent is gone. */
static uint32_t ping(struct machine *m, agent_frame_cb cb)
{
        json_t *req = json_pack("{s:s,s:s}", "op", "exists", "path", "/");
        m->ping_chan = agentconn_open(&m->agent, req, cb, m);
        json_decref(req);
        return m->ping_chan;
}

static void close_agent(struct machine *m)
{
        if (!m->agent_open)
                return;
        m->agent_open = 0;
        m->agent.on_state = NULL;
        agentconn_fini(&m->agent);
}

/* Back to running on the shim that is still there (the checkpoint failed). */
static void reattach(struct machine *m, const char *why)
{
        struct app *app = m->app;
        struct err e;
        struct machine_run run;
        if (app->driver->attach(&app->driver_ctx, m->id, m->dir, &run, &e) < 0 ||
            agentconn_init(&m->agent, &app->loop, run.agent_rfd, run.agent_wfd, on_agent_state, m,
                           &e) < 0) {
                finish_op(m, "machine_failed", why);
                fail(m, why);
                return;
        }
        m->agent_open = 1;
        set_state(m, M_RUNNING, NULL);
        finish_op(m, "machine_failed", why);
}

static void on_checkpointed(struct child_watch *w, int status)
{
        struct machine *m = (struct machine *)((char *)w - offsetof(struct machine, op_helper));
        m->op_helper.pid = 0;
        if (m->state != M_HIBERNATING)
                return;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                log_warn("machine_hibernate_failed", "machine=%s status=%d", m->id, status);
                reattach(m, "the checkpoint failed; see runsc.log (is the disk full?)");
                return;
        }
        set_state(m, M_HIBERNATED, NULL);
        finish_op(m, NULL, NULL);
}

static void on_quiesced(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        (void)p;
        struct machine *m = ud;
        struct app *app = m->app;
        if (!h) { /* the agent went away: on_agent_state handles the machine */
                finish_op(m, "machine_failed", "the agent stopped answering");
                return;
        }
        agentconn_chan_close(&m->agent, m->ping_chan);
        if (m->state != M_HIBERNATING)
                return;
        close_agent(m);
        /* the shim ends with its sandbox; nothing to watch there any more */
        if (m->run.pid)
                children_forget(&app->children, &m->sandbox);
        m->run.pid = 0;
        struct err e;
        pid_t pid = app->driver->hibernate(&app->driver_ctx, m->id, m->dir, &e);
        if (pid < 0) {
                reattach(m, e.msg);
                return;
        }
        m->op_helper.pid = pid;
        m->op_helper.on_exit = on_checkpointed;
        children_watch(&app->children, &m->op_helper);
}

void machine_hibernate(struct machine *m, machine_done_cb cb, void *ud)
{
        if (m->state != M_RUNNING) {
                cb(ud, m, "machine_not_running", machine_state_name(m->state));
                return;
        }
        if (m->agent.chans) {
                cb(ud, m, "machine_busy", "commands or file transfers are still open");
                return;
        }
        add_waiter(m, cb, ud); /* running: nobody else waits */
        set_state(m, M_HIBERNATING, NULL);
        if (!ping(m, on_quiesced)) {
                finish_op(m, "machine_failed", "the agent is not answering");
                fail(m, "the agent stopped answering");
        }
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
        agentconn_chan_close(&m->agent, m->ping_chan);
        if (m->state != M_RESUMING)
                return;
        set_state(m, M_RUNNING, NULL);
        struct err e;
        if (m->timeout_s > 0) /* a resumed machine gets a fresh deadline */
                machine_set_timeout(m, m->timeout_s, &e);
        finish_op(m, NULL, NULL);
}

/* The restore did not work: back to hibernated, the checkpoint kept. */
static void resume_failed(struct machine *m, const char *why)
{
        struct app *app = m->app;
        close_agent(m);
        if (m->run.pid) {
                children_forget(&app->children, &m->sandbox);
                kill(m->run.pid, SIGKILL);
                m->run.pid = 0;
        }
        set_state(m, M_HIBERNATED, NULL);
        log_warn("machine_resume_failed", "machine=%s", m->id);
        finish_op(m, "machine_failed", why);
}

static void on_rearmed(struct child_watch *w, int status)
{
        struct machine *m = (struct machine *)((char *)w - offsetof(struct machine, op_helper));
        m->op_helper.pid = 0;
        if (m->state != M_RESUMING)
                return;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                resume_failed(m, "the sandbox did not come back from its checkpoint");
                return;
        }
        if (!ping(m, on_answering))
                resume_failed(m, "the restored agent does not answer");
}

void machine_resume(struct machine *m, machine_done_cb cb, void *ud)
{
        struct app *app = m->app;
        if (m->state == M_RESUMING) { /* join the resume under way */
                if (add_waiter(m, cb, ud) < 0)
                        cb(ud, m, "machine_busy", "too many requests wait for this resume");
                return;
        }
        if (m->state != M_HIBERNATED) {
                cb(ud, m, "machine_not_running", machine_state_name(m->state));
                return;
        }
        add_waiter(m, cb, ud);
        set_state(m, M_RESUMING, NULL);
        char **env = env_list(m);
        struct machine_spec spec = {
            m->id, m->id, app->templates.base_rootfs, m->dir, m->vcpus, m->memory_mb, env};
        struct err e;
        pid_t helper = 0;
        int r = app->driver->resume(&app->driver_ctx, &spec, &m->run, &helper, &e);
        for (size_t i = 0; env && env[i]; i++)
                free(env[i]);
        free(env);
        if (r == 0) {
                m->sandbox.pid = m->run.pid;
                m->sandbox.on_exit = on_sandbox_exit;
                children_watch(&app->children, &m->sandbox);
                r = agentconn_init(&m->agent, &app->loop, m->run.agent_rfd, m->run.agent_wfd,
                                   on_agent_state, m, &e);
                m->agent_open = r == 0;
        }
        if (r < 0) {
                if (helper > 0)
                        kill(helper, SIGKILL);
                resume_failed(m, e.msg);
                return;
        }
        m->op_helper.pid = helper;
        m->op_helper.on_exit = on_rearmed;
        children_watch(&app->children, &m->op_helper);
}
