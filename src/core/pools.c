/* Warm pools (pools.h). */
#include "pools.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "build_spec.h"
#include "machine_cmd.h"
#include "machine_internal.h"
#include "templates.h"

#define POOL_CHECK_MS     5000
#define POOL_MAX_STARTING 2 /* spawns under way per pool: a refill never floods the host */
/* A take refills its pool this much later: starting a sandbox takes a core for a
 * quarter second, which the taker's first commands should not have to share. */
#define POOL_REFILL_DELAY_MS  500
#define POOL_CHECK_TIMEOUT_MS 60000 /* a member's ready command */

/* The pool m belongs to ("" when none). */
static const char *pool_of(const struct machine *m)
{
        return json_string_value(json_object_get(m->metadata, "nullspace.pool")) ?: "";
}

static int live(const struct machine *m)
{
        return m->state == M_CREATING || m->state == M_RUNNING || m->state == M_PAUSED;
}

static void on_parked(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        (void)ud;
        if (code) /* it waits running instead: still a member */
                log_warn("pool_member_pause_failed", "machine=%s error=%s", m->id,
                         error ? error : ns_code_name(code));
}

/* A ready member waits paused: no CPU while it waits, running again in a millisecond. */
static void park(struct machine *m)
{
        if (m->state == M_RUNNING && m->rt.agent_open && m->rt.drv->pause)
                machine_pause(m, on_parked, NULL);
}

/* A member's ready check under way (its machine found again by id: it may go first). */
struct member_check {
        struct core *core;
        char id[MACHINE_ID_MAX];
};

static void ignore_output(void *ud, int stream, const char *p, size_t n)
{
        (void)ud, (void)stream, (void)p, (void)n;
}

static void on_checked(void *ud, int exit_code, const char *error)
{
        struct member_check *c = ud;
        struct machine *m = c->core->shutting_down ? NULL : machine_find(c->core, c->id);
        free(c);
        if (!m)
                return; /* gone, or the daemon stops (its machines are let go) */
        m->pool_checking = 0;
        if (!live(m) || exit_code < 0)
                return; /* its agent went away: the next pool check sees to it */
        struct core *core = m->core;
        core_cause_set(core, "pool", NULL);
        if (exit_code == 0) {
                park(m);
        } else { /* broken since its snapshot: a taker would get a machine that fails */
                log_warn("pool_member_not_ready", "machine=%s pool=%s exit=%d error=%s", m->id,
                         pool_of(m), exit_code, error ? error : "the ready command failed");
                machine_destroy(m, NULL, NULL);
        }
        core_cause_clear(core);
}

static const struct machine_cmd_ops check_ops = {ignore_output, on_checked};

/* The ready command of template ref's build (owned), NULL when it has none. */
static char *ready_cmd_of(struct core *core, const char *ref)
{
        struct template_rec name;
        struct build_rec b;
        struct err e = {0};
        if (templates_lookup(core, ref, &name, &b, &e) < 0)
                return NULL;
        json_t *res = json_loads(b.result ? b.result : "{}", 0, NULL);
        const char *cmd = json_string_value(json_object_get(res, "ready"));
        char *out = cmd ? strdup(cmd) : NULL;
        json_decref(res);
        store_build_rec_free(&b);
        return out;
}

/* Runs its template's ready command in a new member, which is parked once it passed:
 * the member is known to work, and the command's requests have run once after the
 * restore (a code interpreter's kernel answers its first message late), not the
 * taker's. A member without one is parked at once. */
static void check_member(struct machine *m)
{
        char *cmd = ready_cmd_of(m->core, pool_of(m));
        struct member_check *c = cmd ? calloc(1, sizeof(*c)) : NULL;
        json_t *req = c ? json_pack("{s:s,s:s,s:i}", "op", "exec", "cmd", cmd, "timeout_ms",
                                    POOL_CHECK_TIMEOUT_MS)
                        : NULL;
        free(cmd);
        if (req && m->conf.user[0])
                json_object_set_new(req, "user", json_string(m->conf.user));
        if (req && m->conf.cwd[0])
                json_object_set_new(req, "cwd", json_string(m->conf.cwd));
        if (c) {
                c->core = m->core;
                snprintf(c->id, sizeof(c->id), "%s", m->id);
        }
        struct machine_cmd *run = req ? machine_cmd_start(m, req, -1, &check_ops, c) : NULL;
        json_decref(req);
        if (run) {
                m->pool_checking = 1;
                return;
        }
        free(c);
        park(m);
}

static void on_member(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        (void)ud;
        if (code) {
                log_warn("pool_member_failed", "machine=%s pool=%s error=%s", m->id, pool_of(m),
                         error ? error : ns_code_name(code));
                if (m->state == M_FAILED) /* nobody's: it would stay listed */
                        machine_destroy(m, NULL, NULL);
                return;
        }
        core_cause_set(m->core, "pool", NULL);
        check_member(m);
        core_cause_clear(m->core);
}

static void spawn_member(struct core *core, const char *ref)
{
        json_t *meta = json_pack("{s:s}", "nullspace.pool", ref);
        struct machine_params p = {.template_name = ref,
                                   .metadata = meta,
                                   .auto_resume = 1,
                                   .vcpus = POOL_BASE_VCPUS,
                                   .memory_mb = POOL_BASE_MEMORY_MB,
                                   .pool = POOL_SKIP};
        struct err e = {0};
        struct machine *m = strcmp(ref, "base") == 0
                                ? machine_create(core, &p, on_member, core, &e)
                                : machine__spawn_template(core, &p, on_member, core, &e);
        json_decref(meta);
        if (!m)
                log_warn("pool_spawn_failed", "pool=%s code=%s error=%s", ref,
                         ns_code_name(err_code_of(&e)), e.msg);
}

/* Refills (or trims) one pool to `size` machines from `snapshot`. */
static void check_pool(struct core *core, const char *ref, int size, const char *snapshot)
{
        int have = 0, starting = 0;
        for (struct machine *m = core->machines, *next; m; m = next) {
                next = m->next;
                if (strcmp(pool_of(m), ref) != 0 || !live(m))
                        continue;
                if (strcmp(m->conf.snapshot_id, snapshot) != 0 || have >= size) {
                        machine_destroy(m, NULL, NULL); /* a replaced build's, or too many */
                        continue;
                }
                have++;
                starting += m->state == M_CREATING || m->pool_checking;
                if (!m->pool_checking)
                        park(m); /* e.g. adopted running after a restart */
        }
        if (core_memory_low(core))
                return; /* the host needs its memory more than a pool does */
        for (; have < size && starting < POOL_MAX_STARTING; have++, starting++)
                spawn_member(core, ref);
}

/* Destroys members of pools that no longer exist (size 0, name deleted). */
static void drain_orphans(struct core *core, char **active, size_t n)
{
        for (struct machine *m = core->machines, *next; m; m = next) {
                next = m->next;
                const char *ref = pool_of(m);
                if (!*ref || !live(m))
                        continue;
                size_t i = 0;
                while (i < n && strcmp(active[i], ref) != 0)
                        i++;
                if (i == n)
                        machine_destroy(m, NULL, NULL);
        }
}

static void check_all(struct core *core)
{
        char *active[256];
        size_t nactive = 0;
        int64_t after = 0;
        for (;;) {
                struct template_rec *v = NULL;
                size_t n = 0;
                struct err e = {0};
                if (store_template_list(core->store, after, 128, &v, &n, &e) < 0 || n == 0) {
                        free(v);
                        break;
                }
                for (size_t i = 0; i < n; i++) {
                        after = v[i].seq;
                        char ref[TEMPLATE_REF_MAX + 1], snap[MACHINE_ID_MAX];
                        if (v[i].pool_size <= 0 || nactive == 256 ||
                            templates_snapshot(core, v[i].name, ref, snap, &e) < 0)
                                continue;
                        active[nactive++] = strdup(ref);
                        check_pool(core, ref, v[i].pool_size, snap);
                }
                free(v);
        }
        if (core->base_pool_size && nactive < 256) {
                active[nactive++] = strdup("base");
                if (core->templates.base.state == PREP_READY) /* else: members would wait */
                        check_pool(core, "base", (int)core->base_pool_size, "");
        }
        drain_orphans(core, active, nactive);
        for (size_t i = 0; i < nactive; i++)
                free(active[i]);
}

static void on_timer(struct loop_timer *t)
{
        struct core *core = (struct core *)((char *)t - offsetof(struct core, pool_timer));
        if (core->shutting_down)
                return;
        core_cause_set(core, "pool", NULL);
        check_all(core);
        core_cause_clear(core);
        loop_timer_arm(&core->loop, &core->pool_timer, POOL_CHECK_MS, on_timer);
}

void pools_start(struct core *core)
{
        loop_timer_arm(&core->loop, &core->pool_timer, 0, on_timer);
}

void pools_kick(struct core *core)
{
        loop_timer_cancel(&core->loop, &core->pool_timer);
        loop_timer_arm(&core->loop, &core->pool_timer, 0, on_timer);
}

void pools_stop(struct core *core)
{
        loop_timer_cancel(&core->loop, &core->pool_timer);
}

int pool_set(struct core *core, const char *ref, int size, struct err *e)
{
        struct template_rec name;
        struct build_rec b;
        if (size < 0 || size > POOL_MAX) {
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL, "field 'size': 0 to %d", POOL_MAX);
        }
        if (templates_lookup(core, ref, &name, &b, e) < 0)
                return -ENOENT;
        store_build_rec_free(&b);
        if (store_template_set_pool(core->store, name.name, size, e) < 0) {
                e->code = NS_E_INTERNAL;
                return -EIO;
        }
        log_info("pool_set", "template=%s size=%d", name.name, size);
        pools_kick(core);
        return 0;
}

/* The first checked member of ref's pool that a create with p can take, running again;
 * NULL when none. A member that cannot run again is given up. */
static struct machine *ready_member(struct core *core, const char *ref, const char *snapshot,
                                    const struct machine_params *p)
{
        for (struct machine *m = core->machines, *next; m; m = next) {
                next = m->next;
                if ((m->state != M_RUNNING && m->state != M_PAUSED) || !m->rt.agent_open ||
                    m->pool_checking || strcmp(pool_of(m), ref) != 0 ||
                    strcmp(m->conf.snapshot_id, snapshot) != 0 ||
                    (p->runtime && strcmp(p->runtime, m->rt.drv->name) != 0))
                        continue;
                struct err e = {0};
                if (machine__unpause(m, &e) == 0)
                        return m;
                machine_destroy(m, NULL, NULL);
        }
        return NULL;
}

struct machine *pool_take(struct core *core, const char *ref, const char *snapshot,
                          const struct machine_params *p)
{
        int base = strcmp(ref, "base") == 0;
        if (p->network || json_object_size(p->env) || json_array_size(p->secrets) ||
            (base && !pool_base_fits(core, p)))
                return NULL; /* its own egress policy, environment or secrets, or a shape the
                              * members do not have */
        struct machine *m = ready_member(core, ref, snapshot, p);
        if (!m)
                return NULL;
        struct err e = {0};
        json_decref(m->metadata);
        m->metadata = p->metadata ? json_deep_copy(p->metadata) : json_object();
        m->conf.auto_resume = p->auto_resume;
        m->conf.timeout_hibernate = p->timeout_hibernate;
        m->conf.timeout_s = p->timeout_s;
        json_decref(m->conf.idle);
        m->conf.idle = p->idle ? json_deep_copy(p->idle) : NULL;
        if (base) { /* a template's machines have its user and directory, as a fresh spawn */
                snprintf(m->conf.user, sizeof(m->conf.user), "%s", p->user ? p->user : "");
                if (machine_conf_set_cwd(&m->conf, p->cwd) < 0)
                        log_warn("pool_take_incomplete", "machine=%s error=cwd", m->id);
        }
        snprintf(m->conf.checkout, sizeof(m->conf.checkout), "pool");
        m->active_ms = core->loop.now_ms;
        char *meta = json_dumps(m->metadata, JSON_COMPACT | JSON_SORT_KEYS);
        if (!meta || store_machine_set_metadata(core->store, m->id, meta, &e) < 0 ||
            machine__save_spec(m, &e) < 0 || machine_set_timeout(m, p->timeout_s, &e) < 0)
                log_warn("pool_take_incomplete", "machine=%s error=%s", m->id,
                         meta ? e.msg : "out of memory");
        free(meta);
        core_event(core, "machine.claimed", "machine", m->id, NULL,
                   json_pack("{s:s,s:s}", "from", "pool", "template", ref));
        log_info("pool_take", "machine=%s template=%s", m->id, ref);
        loop_timer_cancel(&core->loop, &core->pool_timer);
        loop_timer_arm(&core->loop, &core->pool_timer, POOL_REFILL_DELAY_MS, on_timer);
        return m;
}

int pool_base_fits(struct core *core, const struct machine_params *p)
{
        return !p->layers && !p->image && !p->snapshot && !p->network &&
               !json_array_size(p->volumes) && !json_object_size(p->env) &&
               p->vcpus == POOL_BASE_VCPUS && p->memory_mb == POOL_BASE_MEMORY_MB &&
               (!p->runtime || strcmp(p->runtime, machine__driver_named(core, NULL)->name) == 0);
}

json_t *pool_view(struct core *core, const char *ref, int size)
{
        int ready = 0, creating = 0;
        for (struct machine *m = core->machines; m; m = m->next) {
                if (strcmp(pool_of(m), ref) != 0)
                        continue;
                int up = (m->state == M_RUNNING || m->state == M_PAUSED) && !m->pool_checking;
                ready += up;
                creating += m->state == M_CREATING || m->pool_checking;
        }
        return json_pack("{s:i,s:i,s:i}", "size", size, "ready", ready, "creating", creating);
}
