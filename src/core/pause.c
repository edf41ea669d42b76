/* Pausing machines in memory (machine.h): the runtime stops every process of the
 * sandbox where it is (gVisor: the cgroup freezer; VMs: QMP stop). Nothing is saved and
 * nothing detached: processes, PTY sessions, attached WebSocket streams and TCP
 * connections simply wait. A deadline keeps running while a machine is paused; whatever
 * needs the machine running (a checkpoint, a destroy, the deadline's action, any request
 * with auto_resume) continues it first. Loop thread only. */
#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "machine_internal.h"

int machine__unpause(struct machine *m, struct err *e)
{
        if (m->state != M_PAUSED)
                return 0;
        uint64_t t0 = time_mono_ns();
        if (m->rt.drv->pause(&m->core->driver_ctx, m->id, m->dir, 0, e) < 0) {
                log_warn("machine_unpause_failed", "machine=%s error=\"%s\"", m->id, e->msg);
                return -1;
        }
        machine__set_state(m, M_RUNNING, NULL);
        log_info("machine_unpaused", "machine=%s us=%llu", m->id,
                 (unsigned long long)((time_mono_ns() - t0) / 1000));
        return 0;
}

void machine_pause(struct machine *m, machine_done_cb cb, void *ud)
{
        if (m->state == M_PAUSED) {
                cb(ud, m, NS_OK, NULL);
                return;
        }
        if (m->state != M_RUNNING) {
                cb(ud, m, NS_E_MACHINE_NOT_RUNNING, machine_state_name(m->state));
                return;
        }
        if (!m->rt.drv->pause) {
                cb(ud, m, NS_E_RUNTIME_UNSUPPORTED, "this runtime cannot pause machines");
                return;
        }
        struct err e = {0};
        uint64_t t0 = time_mono_ns();
        if (m->rt.drv->pause(&m->core->driver_ctx, m->id, m->dir, 1, &e) < 0) {
                /* half frozen is no state to leave it in */
                struct err ignored = {0};
                m->rt.drv->pause(&m->core->driver_ctx, m->id, m->dir, 0, &ignored);
                cb(ud, m, NS_E_MACHINE_FAILED, e.msg);
                return;
        }
        machine__set_state(m, M_PAUSED, NULL);
        m->paused_ms = m->core->loop.now_ms;
        log_info("machine_paused", "machine=%s us=%llu", m->id,
                 (unsigned long long)((time_mono_ns() - t0) / 1000));
        cb(ud, m, NS_OK, NULL);
}

int machine_wakeable(const struct machine *m)
{
        if (m->state == M_FORKING || m->state == M_SNAPSHOTTING)
                return 1; /* they run again by themselves: a request waits for that */
        return (m->state == M_PAUSED || m->state == M_HIBERNATED || m->state == M_RESUMING ||
                m->state == M_HIBERNATING) &&
               m->conf.auto_resume;
}
