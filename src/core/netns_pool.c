/* The pool of network namespaces (netns_pool.h). */
#include "netns_pool.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"

/* A take refills this much later: the machine that took one starts first. */
#define REFILL_DELAY_MS 300
/* A helper that failed is tried again this much later, times its failures in a row. */
#define RETRY_MS 5000

static void refill_later(struct core *core, uint64_t ms);

static void on_helper_exit(struct child_watch *w, int status)
{
        struct netns_pool *p =
            (struct netns_pool *)((char *)w - offsetof(struct netns_pool, helper));
        struct core *core = (struct core *)((char *)p - offsetof(struct core, netns_pool));
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        for (unsigned i = 0; i < p->nbuilding; i++) {
                if (ok) /* (a stopping daemon's too: netns_pool_stop deletes them) */
                        p->ready[p->nready++] = p->building[i];
                else /* the helper deleted what it made */
                        net_pool_release(&core->net, p->building[i]);
        }
        p->nbuilding = 0;
        p->helper.pid = 0;
        if (!ok) {
                p->failures++;
                log_warn("netns_pool_failed", "status=%d (see the daemon's stderr)", status);
                refill_later(core, (uint64_t)RETRY_MS * (p->failures < 12 ? p->failures : 12));
                return;
        }
        p->failures = 0;
        refill_later(core, 0);
}

/* Claims the slots the pool lacks and starts a helper that makes their namespaces. */
static void refill(struct core *core)
{
        struct netns_pool *p = &core->netns_pool;
        if (p->nbuilding || core->shutting_down || !core->net.enabled)
                return;
        while (p->nready + p->nbuilding < p->want) {
                struct err e = {0};
                int slot = net_claim(&core->net, NULL, &e);
                if (slot < 0) {
                        log_warn("netns_pool_claim_failed", "error=\"%s\"", e.msg);
                        break;
                }
                p->building[p->nbuilding++] = (unsigned)slot;
        }
        if (!p->nbuilding)
                return;
        pid_t parent = getpid();
        pid_t pid = fork_child();
        if (pid == 0) {
                /* never outlive the daemon: what a dead daemon's helper made after the
                 * clean-up that followed it would stay for ever */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(1);
                setpriority(PRIO_PROCESS, 0, 10); /* behind the machines that start */
                _exit(net_pool_build(&core->net, p->building, p->nbuilding) == 0 ? 0 : 1);
        }
        if (pid < 0) {
                log_warn("netns_pool_failed", "error=fork");
                on_helper_exit(&p->helper, 1 << 8);
                return;
        }
        p->helper.pid = pid;
        p->helper.on_exit = on_helper_exit;
        children_watch(&core->children, &p->helper);
}

static void on_timer(struct loop_timer *t)
{
        struct netns_pool *p =
            (struct netns_pool *)((char *)t - offsetof(struct netns_pool, timer));
        refill((struct core *)((char *)p - offsetof(struct core, netns_pool)));
}

static void refill_later(struct core *core, uint64_t ms)
{
        struct netns_pool *p = &core->netns_pool;
        if (p->want == 0 || p->timer.armed)
                return;
        loop_timer_arm(&core->loop, &p->timer, ms, on_timer);
}

void netns_pool_start(struct core *core)
{
        if (core->netns_pool.want > NETNS_POOL_MAX)
                core->netns_pool.want = NETNS_POOL_MAX;
        if (core->net.enabled)
                refill_later(core, 0);
}

unsigned netns_pool_take(struct core *core, const char *id)
{
        struct netns_pool *p = &core->netns_pool;
        while (p->nready > 0) {
                unsigned slot = p->ready[--p->nready];
                int r = net_pool_give(&core->net, slot, id);
                refill_later(core, REFILL_DELAY_MS);
                if (r == 0)
                        return slot;
                log_warn("netns_pool_give_failed", "slot=%u error=%d", slot, r);
                net_pool_drop(&core->net, slot); /* rare: blocks for its ip call */
        }
        refill_later(core, REFILL_DELAY_MS);
        return 0;
}

void netns_pool_stop(struct core *core)
{
        struct netns_pool *p = &core->netns_pool;
        loop_timer_cancel(&core->loop, &p->timer);
        if (p->helper.pid > 0) {
                children_forget(&core->children, &p->helper);
                int status = 0;
                while (waitpid(p->helper.pid, &status, 0) < 0 && errno == EINTR)
                        ;
                p->helper.pid = 0;
                for (unsigned i = 0; i < p->nbuilding; i++)
                        p->ready[p->nready++] = p->building[i];
                p->nbuilding = 0;
        }
        for (unsigned i = 0; i < p->nready; i++)
                net_pool_drop(&core->net, p->ready[i]);
        p->nready = 0;
}
