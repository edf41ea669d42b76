#include "machine.h"
#include "machine_internal.h"
#include "monitor.h"
#include "pools.h"
#include "secrets.h"
#include "templates.h"
#include "trust.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "deploy.h"

static const char *const state_names[] = {"creating", "running",      "destroying", "destroyed",
                                          "failed",   "hibernating",  "hibernated", "resuming",
                                          "forking",  "snapshotting", "paused"};

const char *machine_state_name(enum machine_state s)
{
        return state_names[s];
}

struct machine *machine_find(struct core *core, const char *id)
{
        for (struct machine *m = core->machines; m; m = m->next)
                if (strcmp(m->id, id) == 0)
                        return m;
        return NULL;
}

/* A state that starts an operation: the cause in force becomes the operation's. */
static int starts_operation(enum machine_state s)
{
        return s == M_CREATING || s == M_HIBERNATING || s == M_RESUMING || s == M_FORKING ||
               s == M_SNAPSHOTTING || s == M_DESTROYING;
}

/* Starts or ends the timing of an operation; the core's operation hook hears of each end.
 * A transitional state reached from another (forking, then resuming) continues the
 * operation under way: same name, same cause. */
static void note_operation(struct machine *m, enum machine_state s)
{
        static const char *const ops[] = {
            [M_CREATING] = "create", [M_HIBERNATING] = "hibernate", [M_RESUMING] = "resume",
            [M_FORKING] = "fork",    [M_SNAPSHOTTING] = "snapshot", [M_DESTROYING] = "destroy"};
        uint64_t now = time_mono_ns();
        int under_way = m->op.op_state != M_RUNNING;
        const char *op = (size_t)m->op.op_state < ARRAY_SIZE(ops) ? ops[m->op.op_state] : NULL;
        if (s == M_DESTROYING && under_way && m->op.op_state != M_DESTROYING) {
                if (op && m->core->hooks.operation) /* cut short by a destroy */
                        m->core->hooks.operation(m->core, op, 0, now - m->op.op_started_ns);
                under_way = 0;
        }
        if (starts_operation(s)) {
                if (!under_way) {
                        m->op.op_state = s;
                        m->op.op_started_ns = now;
                        m->op.cause = core_cause_now(m->core);
                }
                return;
        }
        if (under_way && op && m->core->hooks.operation)
                m->core->hooks.operation(m->core, op, s != M_FAILED, now - m->op.op_started_ns);
        m->op.op_state = M_RUNNING;
}

/* The event of a state change: machine.<state> with the runtime and, on failure, why. */
static void state_event(struct core *core, const char *id, enum machine_state s,
                        const char *runtime, const char *failure, const struct core_cause *cause)
{
        json_t *data = json_pack("{s:s}", "state", state_names[s]);
        if (runtime)
                json_object_set_new(data, "runtime", json_string(runtime));
        if (failure)
                json_object_set_new(data, "failure", json_string(failure));
        struct core_cause c = cause ? *cause : core_cause_now(core);
        if (s == M_FAILED)
                snprintf(c.reason, sizeof(c.reason), "error");
        char type[EVENT_TYPE_MAX];
        snprintf(type, sizeof(type), "machine.%s", state_names[s]);
        core_event(core, type, "machine", id, &c, data);
}

/* Stores a machine's new state with its lifecycle event and log line: the one way a
 * state change is recorded, for a live machine or a record alone. 0 or -errno (e). */
static int record_state(struct core *core, const char *id, enum machine_state s,
                        const char *runtime, const char *failure, const struct core_cause *cause,
                        struct err *e)
{
        const char *state = state_names[s];
        int r = store_machine_set_state(core->store, id, state, failure, time_wall_ms(), e);
        if (r < 0)
                return r;
        state_event(core, id, s, runtime, failure, cause);
        char q[600];
        log_info("machine_state", "machine=%s state=%s reason=%s", id, state,
                 log_quote(q, sizeof(q), failure ? failure : "-"));
        return 0;
}

void machine__set_state(struct machine *m, enum machine_state s, const char *failure)
{
        if (s == M_RUNNING) { /* it just started or woke: its idle time starts now */
                m->active_ms = m->core->loop.now_ms;
                m->net_ruled = m->conf.network != NULL; /* its start applied them */
        }
        struct err e = {0};
        m->state = s;
        if (failure)
                snprintf(m->failure, sizeof(m->failure), "%s", failure);
        /* a state of an operation carries the operation's cause; one outside any (a pause,
         * the running that ends it) the cause in force now */
        int in_op = m->op.op_state != M_RUNNING || starts_operation(s);
        note_operation(m, s);
        struct core_cause now = core_cause_now(m->core);
        if (record_state(m->core, m->id, s, m->rt.drv->name, failure, in_op ? &m->op.cause : &now,
                         &e) < 0) {
                char q[600];
                log_error("machine_store_failed", "machine=%s error=%s", m->id,
                          log_quote(q, sizeof(q), e.msg));
        }
}

int machine_record_state(struct core *core, const char *id, enum machine_state s,
                         const char *failure, struct err *e)
{
        return record_state(core, id, s, NULL, failure, NULL, e);
}

static void unlink_machine(struct machine *m)
{
        for (struct machine **pp = &m->core->machines; *pp; pp = &(*pp)->next) {
                if (*pp == m) {
                        *pp = m->next;
                        return;
                }
        }
}

void machine__free(struct machine *m)
{
        if (m->rt.agent_open) { /* never left registered on the loop */
                m->rt.agent_open = 0;
                m->rt.agent.on_state = NULL;
                agentconn_fini(&m->rt.agent);
        }
        loop_timer_cancel(&m->core->loop, &m->op.deadline);
        loop_timer_cancel(&m->core->loop, &m->op.settle);
        loop_timer_cancel(&m->core->loop, &m->op.connect_timer);
        usage_ring_free(m);
        machine_conf_fini(&m->conf);
        json_decref(m->metadata);
        json_decref(m->secret_env);
        free(m->op.keep_layer);
        free(m->dir);
        free(m);
}

void machine__finish_create(struct machine *m, enum ns_code code, const char *error)
{
        if (!m->op.connect_then) /* no connect under way: the timer is await_hello's */
                loop_timer_cancel(&m->core->loop, &m->op.connect_timer);
        struct err e = {0}; /* the deadline counts from here: a slow start does not shorten it */
        if (code == NS_OK && m->conf.timeout_s > 0 &&
            machine_set_timeout(m, m->conf.timeout_s, &e) < 0)
                log_warn("machine_deadline_not_saved", "machine=%s error=%s", m->id, e.msg);
        machine_done_cb cb = m->op.create_cb;
        m->op.create_cb = NULL;
        if (cb)
                cb(m->op.create_ud, m, code, error);
}

#define CONNECT_LIMIT_MS 60000

void machine__agent_connect_cancel(struct machine *m)
{
        m->op.connect_then = NULL;
        loop_timer_cancel(&m->core->loop, &m->op.connect_timer);
}

/* Ends a pending connect with why (NULL: connected). */
static void connect_done(struct machine *m, const char *why)
{
        void (*then)(struct machine *, const char *) = m->op.connect_then;
        machine__agent_connect_cancel(m);
        if (then)
                then(m, why);
}

static void try_connect(struct loop_timer *t)
{
        struct machine *m =
            (struct machine *)((char *)t - offsetof(struct machine, op.connect_timer));
        struct core *core = m->core;
        struct err e = {0};
        int r = m->rt.drv->connect(&core->driver_ctx, m->dir, &m->rt.run, &e);
        if (r == -EAGAIN) {
                if (core->loop.now_ms > m->op.connect_deadline) {
                        connect_done(m, "the sandbox's shim never listened; see runsc.log");
                        return;
                }
                m->op.connect_delay = m->op.connect_delay * 2 > 50 ? 50 : m->op.connect_delay * 2;
                loop_timer_arm(&core->loop, &m->op.connect_timer, m->op.connect_delay, try_connect);
                return;
        }
        if (r == 0 && machine__agent_open(m, m->rt.run.agent_rfd, m->rt.run.agent_wfd, &e) == 0) {
                m->rt.agent_open = 1;
                connect_done(m, NULL);
                return;
        }
        connect_done(m, e.msg);
}

void machine__agent_connect(struct machine *m, void (*then)(struct machine *m, const char *error))
{
        m->op.connect_then = then;
        m->op.connect_delay = 1;
        m->op.connect_deadline = m->core->loop.now_ms + CONNECT_LIMIT_MS;
        try_connect(&m->op.connect_timer);
}

void machine__fail(struct machine *m, const char *reason)
{
        machine__agent_connect_cancel(m);
        if (m->state == M_FAILED || m->state == M_DESTROYING || m->state == M_DESTROYED)
                return;
        machine__set_state(m, M_FAILED, reason);
        machine__finish_create(m, NS_E_MACHINE_FAILED, reason);
        /* tear the sandbox down; the record stays, failed, with its reason */
        machine_destroy(m, NULL, NULL);
}

/* A NOTE from the machine's agent (a process started or exited): to the layer above. */
static void on_agent_note(struct agent_conn *a, json_t *note)
{
        struct machine *m = a->owner;
        deploy_service_note(m->core, m->id, note);
        if (m->core->hooks.process)
                m->core->hooks.process(m->core, m->id, note);
}

int machine__agent_open(struct machine *m, int rfd, int wfd, struct err *e)
{
        int r =
            agentconn_init(&m->rt.agent, &m->core->loop, rfd, wfd, machine__on_agent_state, m, e);
        m->rt.agent.on_note = on_agent_note;
        return r;
}

void machine__on_agent_state(struct agent_conn *a, json_t *hello)
{
        struct machine *m = a->owner;
        if (!hello) {
                if (m->state == M_CREATING || m->state == M_RUNNING)
                        machine__fail(m, "the machine's agent stopped answering");
                return;
        }
        if (m->state != M_CREATING)
                return;
        if (m->secret_env) { /* running once the agent has them */
                machine__send_secrets(m);
                return;
        }
        machine__set_state(m, M_RUNNING, NULL);
        machine__finish_create(m, NS_OK, NULL);
}

/* Why a sandbox that exited failed its machine, with the last line runsc.log holds (the
 * shim's, gVisor's or our own setup's reason) so the error says it without a log hunt. */
static void sandbox_exit_why(const struct machine *m, int status, int early, char *why, size_t cap)
{
        char path[PATH_MAX], last[180];
        snprintf(path, sizeof(path), "%s/runsc.log", m->dir);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        int said = read_last_line(path, last, sizeof(last)) == 0;
        snprintf(why, cap, "the sandbox exited (status %d)%s; runsc.log ends: %s", code,
                 early ? " before its agent answered" : "", said ? last : "(nothing)");
}

void machine__on_sandbox_exit(struct child_watch *w, int status)
{
        struct machine *m = (struct machine *)((char *)w - offsetof(struct machine, rt.sandbox));
        m->rt.run.pid = 0;
        char why[400];
        if (m->op.connect_then) { /* it died before its agent was reached */
                sandbox_exit_why(m, status, 1, why, sizeof(why));
                connect_done(m, why);
                return;
        }
        if (m->state == M_CREATING || m->state == M_RUNNING) {
                sandbox_exit_why(m, status, 0, why, sizeof(why));
                machine__fail(m, why);
        }
}

static void on_deadline(struct loop_timer *t);

static void on_timeout_hibernated(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        (void)ud;
        (void)error;
        if (code == NS_E_MACHINE_BUSY) { /* commands run: try again shortly */
                loop_timer_arm(&m->core->loop, &m->op.deadline, 10000, on_deadline);
                return;
        }
        if (code)
                log_warn("machine_timeout_hibernate_failed", "machine=%s code=%s", m->id,
                         ns_code_name(code));
}

static void on_deadline(struct loop_timer *t)
{
        struct machine *m = (struct machine *)((char *)t - offsetof(struct machine, op.deadline));
        log_info("machine_timeout", "machine=%s action=%s", m->id,
                 m->conf.timeout_hibernate ? "hibernate" : "destroy");
        core_cause_set(m->core, "timeout", NULL);
        struct err e = {0};
        if (m->state == M_PAUSED && machine__unpause(m, &e) < 0) /* destroyed all the same */
                log_warn("machine_timeout_unpause_failed", "machine=%s", m->id);
        if (m->conf.timeout_hibernate && m->state == M_RUNNING)
                machine_hibernate(m, on_timeout_hibernated, m);
        else if (m->state == M_RUNNING || m->state == M_CREATING || m->state == M_PAUSED)
                machine_destroy(m, NULL, NULL);
        core_cause_clear(m->core);
}

void machine__arm_deadline(struct machine *m)
{
        loop_timer_cancel(&m->core->loop, &m->op.deadline);
        if (!m->deadline_at)
                return;
        int64_t left = m->deadline_at - time_wall_ms();
        loop_timer_arm(&m->core->loop, &m->op.deadline, left > 0 ? (uint64_t)left : 0, on_deadline);
}

char **machine__env_list(const struct machine *m)
{
        /* what the trusted certificates need (trust.h) under what the create set */
        json_t *env = json_object();
        trust_env(m->conf.layers, env);
        json_object_update(env, m->conf.env);
        size_t n = json_object_size(env);
        char **v = calloc(n + 4, sizeof(char *));
        size_t i = 0;
        if (!v) {
                json_decref(env);
                return NULL;
        }
        v[i++] = strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        v[i++] = strdup("HOME=/root");
        v[i++] = strdup("LANG=C.UTF-8");
        const char *k;
        json_t *val;
        json_object_foreach(env, k, val)
        {
                char *kv = malloc(strlen(k) + json_string_length(val) + 2);
                if (kv)
                        sprintf(kv, "%s=%s", k, json_string_value(val));
                v[i++] = kv;
        }
        json_decref(env);
        return v;
}

#define HELLO_LIMIT_S 120

static void on_hello_late(struct loop_timer *t)
{
        struct machine *m =
            (struct machine *)((char *)t - offsetof(struct machine, op.connect_timer));
        char why[128];
        snprintf(why, sizeof(why),
                 "the machine's sandbox started but its agent did not answer within %d s; "
                 "see runsc.log",
                 HELLO_LIMIT_S);
        if (m->state == M_CREATING)
                machine__fail(m, why);
}

void machine__await_hello(struct machine *m)
{
        loop_timer_arm(&m->core->loop, &m->op.connect_timer, HELLO_LIMIT_S * 1000, on_hello_late);
}

static void on_start_connected(struct machine *m, const char *error)
{
        if (error)
                machine__fail(m, error);
        else /* the agent's hello makes it running (machine__on_agent_state) */
                machine__await_hello(m);
}

static void start_sandbox(struct machine *m, const char *rootfs)
{
        struct core *core = m->core;
        struct err e = {0};
        struct sandbox_spec s;
        int r = machine__sandbox_spec(m, rootfs, &s, &e);
        if (r == 0) {
                r = m->rt.drv->start(&core->driver_ctx, &s.spec, &m->rt.run, &e);
                machine__sandbox_spec_fini(&s);
        }
        if (r < 0) {
                if (e.code != NS_OK)
                        machine__finish_create(m, e.code, e.msg);
                machine__fail(m, e.msg);
                return;
        }
        m->rt.sandbox.pid = m->rt.run.pid;
        m->rt.sandbox.on_exit = machine__on_sandbox_exit;
        children_watch(&core->children, &m->rt.sandbox);
        machine__agent_connect(m, on_start_connected);
}

/* What the machine starts from is ready (or failed): the base template, and for a VM
 * its guest's kernel too (both prepared at start-up, core/prep.h); then it starts. */
static void on_template(struct prep_waiter *w, const char *error)
{
        struct machine *m = (struct machine *)((char *)w - offsetof(struct machine, op.tpl_wait));
        if (m->state != M_CREATING)
                return;
        if (error) {
                machine__finish_create(m, NS_E_TEMPLATE_NOT_READY, error);
                machine__fail(m, error);
                return;
        }
        if (strcmp(m->rt.drv->name, "vm") == 0 && m->core->vm_guest.state != PREP_READY) {
                prep_need(&m->core->vm_guest, &m->op.tpl_wait); /* back here when it is */
                return;
        }
        struct err e = {0};
        if (trust_layer_ensure(m->core, &e) < 0) {
                machine__finish_create(m, NS_E_INTERNAL, e.msg);
                machine__fail(m, e.msg);
                return;
        }
        start_sandbox(m, m->core->templates.base_rootfs);
}

void machine__cancel_waits(struct machine *m)
{
        prep_cancel(&m->core->templates.base, &m->op.tpl_wait);
        prep_cancel(&m->core->vm_guest, &m->op.tpl_wait);
}

void machine__set_driver(struct machine *m, const struct driver *drv)
{
        m->rt.drv = drv;
        snprintf(m->conf.runtime, sizeof(m->conf.runtime), "%s", drv->name);
}

char *machine__dir(const struct core *core, const char *id)
{
        char *dir = NULL;
        return asprintf(&dir, "%s/machines/%s", core->state_dir, id) < 0 ? NULL : dir;
}

json_t *machine__spec_json(const struct machine *m)
{
        return machine_conf_encode(&m->conf);
}

int machine__save_spec(struct machine *m, struct err *e)
{
        _cleanup_json_ json_t *spec = machine__spec_json(m);
        _cleanup_free_ char *text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
        return text ? store_machine_set_spec(m->core->store, m->id, text, e)
                    : err_set(e, ENOMEM, "spec");
}

static int persist_new(struct machine *m, struct err *e)
{
        _cleanup_json_ json_t *spec = machine__spec_json(m);
        struct machine_rec rec = {0};
        snprintf(rec.id, sizeof(rec.id), "%s", m->id);
        snprintf(rec.state, sizeof(rec.state), "creating");
        snprintf(rec.runtime, sizeof(rec.runtime), "%s", m->rt.drv->name);
        snprintf(rec.parent_id, sizeof(rec.parent_id), "%s", m->parent_id);
        rec.spec = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
        rec.metadata = json_dumps(m->metadata, JSON_COMPACT | JSON_SORT_KEYS);
        rec.deadline_at = m->deadline_at;
        rec.created_at = rec.updated_at = m->created_at;
        int r = store_machine_insert(m->core->store, &rec, e);
        m->op.cause = core_cause_now(m->core);
        m->op.op_state = M_CREATING;
        m->op.op_started_ns = time_mono_ns();
        if (r == 0)
                state_event(m->core, m->id, M_CREATING, m->rt.drv->name, NULL, &m->op.cause);
        store_machine_rec_free(&rec);
        return r;
}

struct machine *machine__new(struct core *core, const struct machine_params *p, json_t *layers,
                             const char *parent_id, const char *snapshot_id, machine_done_cb cb,
                             void *ud, struct err *e)
{
        struct machine *m = calloc(1, sizeof(*m));
        if (!m || rand_id("m_", 8, m->id, sizeof(m->id)) < 0) {
                free(m);
                err_set(e, ENOMEM, "machine");
                return NULL;
        }
        m->core = core;
        m->op.op_state = M_RUNNING; /* no operation under way */
        m->state = M_CREATING;
        snprintf(m->conf.template_name, sizeof(m->conf.template_name), "%s", p->template_name);
        m->conf.vcpus = p->vcpus;
        m->conf.memory_mb = p->memory_mb;
        m->conf.env = p->env ? json_deep_copy(p->env) : json_object();
        snprintf(m->conf.user, sizeof(m->conf.user), "%s", p->user ? p->user : "");
        m->conf.auto_resume = p->auto_resume;
        m->conf.timeout_hibernate = p->timeout_hibernate;
        m->conf.timeout_s = p->timeout_s;
        int nomem = machine_conf_set_cwd(&m->conf, p->cwd) < 0;
        m->metadata = p->metadata ? json_deep_copy(p->metadata) : json_object();
        m->conf.layers = layers ? json_deep_copy(layers) : json_array();
        m->conf.volumes = p->volumes ? json_deep_copy(p->volumes) : json_array();
        m->conf.idle = p->idle ? json_deep_copy(p->idle) : NULL;
        m->conf.secrets = p->secrets ? json_deep_copy(p->secrets) : json_array();
        m->active_ms = core->loop.now_ms;
        snprintf(m->parent_id, sizeof(m->parent_id), "%s", parent_id ? parent_id : "");
        snprintf(m->conf.snapshot_id, sizeof(m->conf.snapshot_id), "%s",
                 snapshot_id ? snapshot_id : "");
        snprintf(m->conf.image, sizeof(m->conf.image), "%s", p->image ? p->image : "");
        snprintf(m->conf.checkout, sizeof(m->conf.checkout), "%s", p->checkout ? p->checkout : "");
        machine__set_driver(m, machine__driver_named(core, p->runtime));
        m->created_at = time_wall_ms();
        m->deadline_at = p->timeout_s > 0 ? m->created_at + p->timeout_s * 1000 : 0;
        if (nomem || !m->conf.volumes || !m->conf.secrets ||
            !(m->dir = machine__dir(core, m->id))) {
                machine__free(m);
                err_set(e, ENOMEM, "machine");
                return NULL;
        }
        if (!p->secrets_held && json_array_size(p->secrets) &&
            ((m->secret_env = json_object()) == NULL
                 ? err_set(e, ENOMEM, "machine") < 0
                 : core_secrets_env(core, p->secrets, m->secret_env, e) < 0)) {
                machine__free(m);
                return NULL;
        }
        if (machine_net_new(m, p->network, e) < 0) {
                machine__free(m);
                return NULL;
        }
        if (persist_new(m, e) < 0) {
                machine_net_release(m);
                machine__free(m);
                return NULL;
        }
        m->op.create_cb = cb;
        m->op.create_ud = ud;
        m->next = core->machines;
        core->machines = m;
        return m; /* the deadline is armed when the create ends (machine__finish_create) */
}

struct machine *machine_create(struct core *core, const struct machine_params *p,
                               machine_done_cb cb, void *ud, struct err *e)
{
        if (p->timeout_hibernate && json_array_size(p->volumes) &&
            !machine__driver_named(core, p->runtime)->checkpoints_mounts) {
                err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                          "field 'timeout_action': a VM machine that mounts volumes cannot "
                          "hibernate (its virtio-fs devices cannot migrate)");
                return NULL;
        }
        if (p->snapshot)
                return machine__spawn_snapshot(core, p, cb, ud, e);
        if (!p->layers && strcmp(p->template_name, "base") != 0)
                return machine__from_template(core, p, cb, ud, e);
        struct machine *m = p->pool != POOL_SKIP ? pool_take(core, "base", "", p) : NULL;
        if (m) {
                cb(ud, m, NS_OK, NULL);
                return m;
        }
        if (p->pool == POOL_REQUIRE) {
                err_coded(e, NS_E_POOL_EMPTY, EAGAIN,
                          "no machine of the base template's warm pool is ready");
                return NULL;
        }
        json_t *base = p->layers || (p->image && *p->image) ? NULL : trust_base_layers(core);
        m = machine__new(core, p, p->layers ? p->layers : base, NULL, NULL, cb, ud, e);
        json_decref(base);
        if (!m) {
                e->code = NS_E_INTERNAL;
                return NULL;
        }
        log_info("machine_create", "machine=%s template=%s vcpus=%u memory_mb=%u", m->id,
                 m->conf.template_name, m->conf.vcpus, m->conf.memory_mb);
        if (m->conf.image[0]) { /* an imported image: nothing to wait for */
                char rootfs[PATH_MAX + 192];
                machine_rootfs(m, rootfs, sizeof(rootfs));
                start_sandbox(m, rootfs);
                return m;
        }
        m->op.tpl_wait.done = on_template;
        prep_need(&core->templates.base, &m->op.tpl_wait);
        return m;
}

static void on_helper_exit(struct child_watch *w, int status)
{
        struct machine *m = (struct machine *)((char *)w - offsetof(struct machine, rt.helper));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                log_warn("machine_cleanup_incomplete", "machine=%s status=%d dir=%s", m->id, status,
                         m->dir);
        if (m->rt.shim_pid)
                kill(m->rt.shim_pid, SIGKILL); /* normally gone already, with its sandbox */
        if (m->state == M_DESTROYING)
                machine__set_state(m, M_DESTROYED, NULL);
        layers_collect(m->core);
        if (m->conf.snapshot_id[0]) /* perhaps the last user of a replaced template's build */
                templates_collect(m->core);
        machine_done_cb cb = m->op.destroy_cb;
        void *ud = m->op.destroy_ud;
        unlink_machine(m);
        int lost = m->op.keep_layer && !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (cb)
                cb(ud, m, lost ? NS_E_INTERNAL : NS_OK,
                   lost ? "its layer could not be kept" : NULL);
        machine__free(m);
}

void machine_destroy(struct machine *m, machine_done_cb cb, void *ud)
{
        struct core *core = m->core;
        if (m->rt.helper.pid) { /* already on its way out */
                if (cb && !m->op.destroy_cb) {
                        m->op.destroy_cb = cb;
                        m->op.destroy_ud = ud;
                }
                return;
        }
        m->op.destroy_cb = cb;
        m->op.destroy_ud = ud;
        struct err thaw = {0}; /* a frozen sandbox would not even die */
        if (m->state == M_PAUSED &&
            m->rt.drv->pause(&core->driver_ctx, m->id, m->dir, 0, &thaw) < 0)
                log_warn("machine_destroy_unpause_failed", "machine=%s", m->id);
        machine__cancel_waits(m);
        machine__agent_connect_cancel(m); /* a sandbox still starting must not connect any more */
        if (m->rt.op_helper.pid) {
                children_forget(&core->children, &m->rt.op_helper);
                kill(m->rt.op_helper.pid, SIGKILL);
                m->rt.op_helper.pid = 0;
        }
        while (m->op.nwaiters > 0) { /* a hibernate or resume in progress ends here */
                struct machine_waiter w = m->op.waiters[--m->op.nwaiters];
                w.cb(w.ud, m, NS_E_MACHINE_NOT_RUNNING, "the machine was destroyed");
        }
        if (m->state != M_FAILED)
                machine__set_state(m, M_DESTROYING, NULL);
        machine__finish_create(m, NS_E_MACHINE_FAILED,
                               "the machine was destroyed while being created");
        if (m->rt.agent_open) {
                m->rt.agent_open = 0;
                m->rt.agent.on_state = NULL;
                agentconn_fini(&m->rt.agent);
        }
        if (m->rt.run.pid) {
                /* the helper stops the sandbox; the shim then exits and the reaper
                 * collects it without a watch */
                children_forget(&core->children, &m->rt.sandbox);
                m->rt.shim_pid = m->rt.run.pid;
                m->rt.run.pid = 0;
        }
        struct err e = {0};
        pid_t pid = m->rt.drv->destroy(&core->driver_ctx, m->id, m->dir, m->op.keep_layer,
                                       m->rt.shim_pid, &e);
        if (pid < 0) {
                log_error("machine_destroy_failed", "machine=%s", m->id);
                pid = 0;
        }
        m->rt.helper.pid = pid;
        m->rt.helper.on_exit = on_helper_exit;
        if (pid)
                children_watch(&core->children, &m->rt.helper);
        else
                on_helper_exit(&m->rt.helper, 0);
}

void machine_destroy_keep(struct machine *m, const char *layer, machine_done_cb cb, void *ud)
{
        if (!m->rt.helper.pid && !m->op.keep_layer)
                m->op.keep_layer = strdup(layer);
        machine_destroy(m, cb, ud);
}

void machine_forget_callbacks(struct machine *m, void *ud)
{
        for (int i = 0; i < m->op.nwaiters; i++) {
                if (m->op.waiters[i].ud == ud) {
                        m->op.waiters[i] = m->op.waiters[--m->op.nwaiters];
                        i--;
                }
        }
        if (m->op.create_ud == ud)
                m->op.create_cb = NULL;
        if (m->op.destroy_ud == ud)
                m->op.destroy_cb = NULL;
}

int machine_set_timeout(struct machine *m, int64_t timeout_s, struct err *e)
{
        m->deadline_at = timeout_s > 0 ? time_wall_ms() + timeout_s * 1000 : 0;
        int r = store_machine_set_deadline(m->core->store, m->id, m->deadline_at, e);
        machine__arm_deadline(m);
        return r;
}

const struct driver *machine__driver_named(struct core *core, const char *name)
{
        for (size_t i = 0; name && i < core->ndrivers; i++)
                if (strcmp(core->drivers[i]->name, name) == 0)
                        return core->drivers[i];
        return core->driver;
}

int core_driver_check(struct core *core, const char *name, struct err *e)
{
        if (!name)
                return 0;
        for (size_t i = 0; i < core->ndrivers; i++) {
                if (strcmp(core->drivers[i]->name, name) != 0)
                        continue;
                struct err pe = {0};
                if (core->drivers[i]->probe(&core->driver_ctx, &pe) < 0)
                        return err_say(e, ENOTSUP, "runtime %s is not available here: %s", name,
                                       pe.msg);
                return 0;
        }
        return err_say(e, EINVAL, "field 'runtime': gvisor or vm");
}

const char *core_record_runtime(const json_t *o)
{
        return json_string_value(json_object_get(o, "runtime")) ?: "gvisor";
}

void layers_image_path(const struct core *core, const char *id, char *out, size_t cap)
{
        snprintf(out, cap, "%s/bases/%s", core->state_dir, id);
}

void machine_rootfs(const struct machine *m, char *out, size_t cap)
{
        if (!m->conf.image[0]) {
                snprintf(out, cap, "%s", m->core->templates.base_rootfs);
                return;
        }
        char dir[PATH_MAX + 128];
        layers_image_path(m->core, m->conf.image, dir, sizeof(dir));
        snprintf(out, cap, "%s/rootfs", dir);
}

static json_t *str_or_null(const char *s)
{
        return s && *s ? json_string(s) : json_null();
}

json_t *machine_rec_json(const struct machine_rec *r)
{
        struct machine_conf c;
        if (machine_conf_parse(&c, r->spec) < 0)
                return NULL;
        json_t *meta = json_loads(r->metadata ? r->metadata : "{}", 0, NULL);
        json_t *o = json_pack("{s:s,s:s,s:o,s:I,s:I}", "id", r->id, "state", r->state, "metadata",
                              meta ? meta : json_object(), "created_at", (json_int_t)r->created_at,
                              "updated_at", (json_int_t)r->updated_at);
        machine_conf_view(&c, o);
        json_object_set_new(o, "timeout_at",
                            r->deadline_at ? json_integer(r->deadline_at) : json_null());
        json_object_set_new(o, "failure_reason", str_or_null(r->failure));
        json_object_set_new(o, "parent_id", str_or_null(r->parent_id));
        machine_conf_fini(&c);
        return o;
}
