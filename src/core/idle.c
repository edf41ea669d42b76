/* Machines that put themselves to sleep (machine.h): a running machine with no sign of
 * use (API requests name it, agent channels are open on it, the daemon relays a
 * connection to it) for pause_after_s is paused; a paused one idle for hibernate_after_s
 * more is hibernated to disk. Per machine ("idle" at create) or the daemon's default.
 * The cause of both is reason `idle`. Below a watermark of available host memory the
 * longest-paused machines are hibernated first. Loop thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "machine_internal.h"

#define IDLE_MAX_S   (30u * 86400u)
#define IDLE_TICK_MS 1000

int machine_idle_check(const json_t *idle, struct err *e)
{
        if (!idle)
                return 0;
        if (!json_is_object(idle))
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'idle': an object {pause_after_s, hibernate_after_s}");
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)idle, k, v)
        {
                if (strcmp(k, "pause_after_s") != 0 && strcmp(k, "hibernate_after_s") != 0)
                        return err_coded(e, NS_E_UNKNOWN_FIELD, EINVAL,
                                         "field 'idle.%.40s' is not known (pause_after_s, "
                                         "hibernate_after_s)",
                                         k);
                if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                    json_integer_value(v) > IDLE_MAX_S)
                        return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                         "field 'idle.%s': whole seconds, 0 (never) to %u", k,
                                         IDLE_MAX_S);
        }
        return 0;
}

void machine_touch(struct machine *m)
{
        m->active_ms = m->core->loop.now_ms;
}

/* m's policy: its own fields, the daemon's for the others. */
static void policy(const struct machine *m, uint64_t *pause_ms, uint64_t *hibernate_ms)
{
        const json_t *p = json_object_get(m->conf.idle, "pause_after_s");
        const json_t *h = json_object_get(m->conf.idle, "hibernate_after_s");
        *pause_ms = (p ? (uint64_t)json_integer_value(p) : m->core->idle_pause_s) * 1000;
        *hibernate_ms = (h ? (uint64_t)json_integer_value(h) : m->core->idle_hibernate_s) * 1000;
}

static int in_use(struct core *core, struct machine *m)
{
        if (m->rt.agent_open && m->rt.agent.chans)
                return 1; /* a command, a transfer or an attached session */
        return core->hooks.in_use && core->hooks.in_use(core, m->id);
}

static void on_idle_done(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        (void)ud;
        if (code) { /* try again after another idle period, not every second */
                log_warn("machine_idle_failed", "machine=%s code=%s error=\"%s\"", m->id,
                         ns_code_name(code), error ? error : "");
                machine_touch(m);
        }
}

static void check(struct core *core, struct machine *m)
{
        uint64_t pause_ms, hibernate_ms, now = core->loop.now_ms;
        policy(m, &pause_ms, &hibernate_ms);
        if ((!pause_ms && !hibernate_ms) || (m->state != M_RUNNING && m->state != M_PAUSED) ||
            json_object_get(m->metadata, "nullspace.pool") ||
            json_object_get(m->metadata, "nullspace.build"))
                return; /* warm pool members wait to be taken; build machines are the builder's */
        if (in_use(core, m)) {
                machine_touch(m);
                return;
        }
        uint64_t quiet = now - m->active_ms;
        core_cause_set(core, "idle", NULL);
        if (m->state == M_RUNNING && pause_ms && quiet >= pause_ms && m->rt.drv->pause)
                machine_pause(m, on_idle_done, NULL);
        else if (hibernate_ms && quiet >= pause_ms + hibernate_ms &&
                 (m->state == M_PAUSED || !pause_ms || !m->rt.drv->pause))
                machine_hibernate(m, on_idle_done, NULL);
        core_cause_clear(core);
}

/* MemAvailable and MemTotal of the host, in MiB; -1 when unknown. */
static void host_memory(long long *avail, long long *total)
{
        char buf[4096];
        *avail = *total = -1;
        if (read_small("/proc/meminfo", buf, sizeof(buf)) <= 0)
                return;
        const char *a = strstr(buf, "MemAvailable:"), *t = strstr(buf, "MemTotal:");
        if (a)
                *avail = strtoll(a + 13, NULL, 10) / 1024;
        if (t)
                *total = strtoll(t + 9, NULL, 10) / 1024;
}

int core_memory_low(struct core *core)
{
        long long avail, total;
        host_memory(&avail, &total);
        long long mark =
            core->memory_watermark_mb ? (long long)core->memory_watermark_mb : total / 20;
        return avail >= 0 && avail < mark;
}

/* Below the watermark: a warm pool member goes first (destroyed: it holds nothing of
 * anyone's), then the machine paused longest goes to disk; one at a time (the next tick
 * sees what that freed). Sleeping machines are bounded by disk, not RAM. */
static void relieve_memory(struct core *core)
{
        if (!core_memory_low(core))
                return;
        struct machine *oldest = NULL;
        for (struct machine *m = core->machines; m; m = m->next) {
                if (m->state == M_HIBERNATING || m->state == M_DESTROYING)
                        return; /* one under way already */
                if (json_object_get(m->metadata, "nullspace.pool") &&
                    (m->state == M_RUNNING || m->state == M_PAUSED)) {
                        log_info("memory_pressure", "pool_member=%s", m->id);
                        core_cause_set(core, "pool", NULL);
                        machine_destroy(m, NULL, NULL);
                        core_cause_clear(core);
                        return;
                }
                if (m->state == M_PAUSED && m->rt.drv->hibernate &&
                    (!oldest || m->paused_ms < oldest->paused_ms))
                        oldest = m;
        }
        if (!oldest)
                return;
        log_info("memory_pressure", "machine=%s", oldest->id);
        core_cause_set(core, "idle", NULL);
        machine_hibernate(oldest, on_idle_done, NULL);
        core_cause_clear(core);
}

static void on_tick(struct loop_timer *t)
{
        struct core *core = (struct core *)((char *)t - offsetof(struct core, idle_timer));
        for (struct machine *m = core->machines, *next; m; m = next) {
                next = m->next;
                check(core, m);
        }
        relieve_memory(core);
        loop_timer_arm(&core->loop, &core->idle_timer, IDLE_TICK_MS, on_tick);
}

void core_idle_start(struct core *core)
{
        loop_timer_arm(&core->loop, &core->idle_timer, IDLE_TICK_MS, on_tick);
}
