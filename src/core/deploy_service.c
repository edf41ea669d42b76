/* Services: one machine per live revision running the revision's command as its "start"
 * process, reached through the daemon's proxy by name (daemon/api/preview.c). A revision
 * goes live only when its machine answers the health check; the machine it replaces is
 * hibernated and kept for an instant rollback, the one before that destroyed. A start
 * process that exits is started again (restart policy), a machine that dies is replaced,
 * both with backoff; an idle machine hibernates (its idle policy) and the next request
 * resumes it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "deploy.h"
#include "deploy_internal.h"
#include "machine.h"
#include "machine_cmd.h"

#define WATCH_MS      2000
#define CHECK_MS      100
#define BACKOFF_MAX_S 30

enum purpose { P_DEPLOY, P_ROLLBACK, P_REPLACE, P_RESPAWN };

struct deploy_svc {
        char name[DEPLOY_NAME_MAX + 1];
        struct core *core;
        /* what is under way: a revision's machine brought up, or the process respawned */
        int64_t pending_rev; /* 0: nothing */
        enum purpose purpose;
        char pending_id[MACHINE_ID_MAX]; /* its machine */
        struct machine *creating;        /* while machine_create runs */
        uint32_t spawn_chan;             /* while the agent starts the process */
        struct machine_cmd *check;       /* a health check running */
        uint64_t deadline_ms;            /* loop time: healthy by then */
        char last_error[200];
        unsigned failures;       /* in a row: the backoff */
        int gone;                /* deleted while a callback was due */
        struct loop_timer timer; /* the next health check, or a backoff */
        struct deploy_svc *next;
};

static struct deploy_svc *find(struct core *core, const char *name)
{
        for (struct deploy_svc *s = core->deploy_svcs; s; s = s->next)
                if (!strcmp(s->name, name) && !s->gone)
                        return s;
        return NULL;
}

static int busy(const struct deploy_svc *s)
{
        return s->creating || s->spawn_chan || s->check;
}

static void svc_free(struct deploy_svc *s)
{
        for (struct deploy_svc **p = &s->core->deploy_svcs; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        loop_timer_cancel(&s->core->loop, &s->timer);
        free(s);
}

/* A callback came back to a deleted service: free it once nothing else is due. 1 when
 * the callback must stop. */
static int reap(struct deploy_svc *s)
{
        if (!s->gone)
                return 0;
        if (!busy(s))
                svc_free(s);
        return 1;
}

static json_t *dep_doc(struct deploy_svc *s)
{
        struct err e = {0};
        return deploy_get(s->core, s->name, &e);
}

static void destroy_id(struct core *core, const char *id)
{
        struct machine *m = id && id[0] ? machine_find(core, id) : NULL;
        if (m && m->state != M_DESTROYING && m->state != M_DESTROYED)
                machine_destroy(m, NULL, NULL);
}

static void event(struct deploy_svc *s, const char *type, json_t *data)
{
        json_object_set_new(data, "deployment", json_string(s->name));
        core_event(s->core, type, "deployment", s->name, NULL, data);
}

/* ---- going live ---- */

static void hibernated(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        (void)ud;
        if (code) /* busy: its idle policy hibernates it later */
                log_info("deploy_previous_awake", "machine=%s reason=\"%s\"", m->id,
                         error ? error : ns_code_name(code));
}

/* The pending machine answers: it takes the traffic. */
static void go_live(struct deploy_svc *s)
{
        json_t *dep = dep_doc(s);
        if (!dep)
                return;
        const char *was = json_string_value(json_object_get(dep, "machine_id"));
        const char *prev = json_string_value(json_object_get(dep, "previous_machine_id"));
        char old[MACHINE_ID_MAX] = "";
        snprintf(old, sizeof(old), "%s", was ? was : "");
        if (s->purpose == P_DEPLOY || s->purpose == P_ROLLBACK) {
                if (prev && strcmp(prev, s->pending_id) != 0)
                        destroy_id(s->core, prev);
                struct machine *o = old[0] ? machine_find(s->core, old) : NULL;
                if (o && strcmp(old, s->pending_id) != 0 && o->state == M_RUNNING)
                        machine_hibernate(o, hibernated, NULL); /* kept for a rollback */
                json_object_set_new(dep, "previous_machine_id",
                                    old[0] && strcmp(old, s->pending_id) ? json_string(old)
                                                                         : json_null());
                deploy_set_int(dep, "revision", s->pending_rev);
        } else if (strcmp(old, s->pending_id) != 0) {
                destroy_id(s->core, old); /* replaced: it died or is dying */
        }
        json_object_set_new(dep, "machine_id", json_string(s->pending_id));
        deploy_set_int(dep, "updated_at", time_wall_ms());
        struct err e = {0};
        store_deploy_put(s->core->store, s->name, dep, &e);
        json_decref(dep);
        static const char *const why[] = {"deploy", "rollback", "replace", "respawn"};
        event(s, "deployment.live",
              json_pack("{s:I,s:s,s:s}", "revision", (json_int_t)s->pending_rev, "machine_id",
                        s->pending_id, "cause", why[s->purpose]));
        s->pending_rev = 0;
        s->failures = 0;
}

/* The next wait before a restart (1 s doubling to BACKOFF_MAX_S), counted. */
static unsigned backoff_s(struct deploy_svc *s)
{
        unsigned delay = s->failures < 5 ? 1u << s->failures : BACKOFF_MAX_S;
        s->failures++;
        return delay;
}

static void bring_up(struct deploy_svc *s, int64_t number, enum purpose purpose);
static void respawn(struct deploy_svc *s);

static void retry_timer(struct loop_timer *t)
{
        struct deploy_svc *s =
            (struct deploy_svc *)((char *)t - offsetof(struct deploy_svc, timer));
        json_t *dep = dep_doc(s);
        int64_t live = json_integer_value(json_object_get(dep, "revision"));
        const char *mid = json_string_value(json_object_get(dep, "machine_id"));
        struct machine *m = mid ? machine_find(s->core, mid) : NULL;
        int alive =
            m && m->state != M_FAILED && m->state != M_DESTROYING && m->state != M_DESTROYED;
        json_decref(dep);
        if (live > 0 && alive)
                respawn(s);
        else if (live > 0)
                bring_up(s, live, P_REPLACE);
}

/* The pending work failed: a deploy's revision is failed; keeping the live one up is
 * tried again after a backoff. */
static void fail(struct deploy_svc *s, const char *why)
{
        snprintf(s->last_error, sizeof(s->last_error), "%s", why);
        int64_t number = s->pending_rev;
        enum purpose purpose = s->purpose;
        s->pending_rev = 0;
        if (purpose != P_RESPAWN)
                destroy_id(s->core, s->pending_id);
        log_warn("deploy_service_unhealthy", "deployment=%s revision=%lld error=\"%s\"", s->name,
                 (long long)number, why);
        if (purpose == P_DEPLOY || purpose == P_ROLLBACK) {
                struct err e = {0};
                json_t *rev = deploy_revision(s->core, s->name, number, &e);
                if (rev && purpose == P_DEPLOY) {
                        json_object_set_new(rev, "state", json_string("failed"));
                        json_object_set_new(rev, "error", json_string(why));
                        store_revision_put(s->core->store, s->name, number, rev, &e);
                }
                json_decref(rev);
                event(s, "deployment.revision_failed",
                      json_pack("{s:I,s:s}", "revision", (json_int_t)number, "error", why));
                return;
        }
        unsigned delay = backoff_s(s);
        event(s, "deployment.restarting",
              json_pack("{s:I,s:s,s:i}", "revision", (json_int_t)number, "error", why, "delay_s",
                        (int)delay));
        loop_timer_arm(&s->core->loop, &s->timer, (uint64_t)delay * 1000, retry_timer);
}

/* ---- health ---- */

static void check_now(struct deploy_svc *s);

static void check_timer(struct loop_timer *t)
{
        check_now((struct deploy_svc *)((char *)t - offsetof(struct deploy_svc, timer)));
}

static void check_output(void *ud, int stream, const char *p, size_t n)
{
        (void)ud, (void)stream, (void)p, (void)n;
}

static void check_done(void *ud, int code, const char *error)
{
        struct deploy_svc *s = ud;
        s->check = NULL;
        if (reap(s))
                return;
        if (code == 0) {
                go_live(s);
                return;
        }
        if (code < 0 || s->core->loop.now_ms >= s->deadline_ms) {
                char why[200];
                snprintf(why, sizeof(why), "unhealthy: %s",
                         code < 0 && error ? error
                                           : "the health check did not pass "
                                             "within health_timeout_s");
                fail(s, why);
                return;
        }
        loop_timer_arm(&s->core->loop, &s->timer, CHECK_MS, check_timer);
}

static const struct machine_cmd_ops check_ops = {check_output, check_done};

/* GET http://127.0.0.1:PORT/PATH in the machine: 2xx or 3xx passes. */
static void check_now(struct deploy_svc *s)
{
        struct err e = {0};
        json_t *rev = deploy_revision(s->core, s->name, s->pending_rev, &e);
        struct machine *m = machine_find(s->core, s->pending_id);
        if (!rev || !m || m->state != M_RUNNING) {
                json_decref(rev);
                fail(s, "unhealthy: its machine stopped");
                return;
        }
        char url[600], cmd[1600];
        snprintf(url, sizeof(url), "http://127.0.0.1:%lld%s",
                 (long long)json_integer_value(json_object_get(rev, "port")),
                 json_string_value(json_object_get(rev, "health_path")));
        json_decref(rev);
        snprintf(cmd, sizeof(cmd),
                 "u='%s'; if command -v curl >/dev/null; then curl -fsS -o /dev/null "
                 "--max-time 5 \"$u\"; elif command -v wget >/dev/null; then wget -q -O "
                 "/dev/null -T 5 \"$u\"; else python3 -c 'import sys,urllib.request as u; "
                 "u.urlopen(sys.argv[1], timeout=5)' \"$u\"; fi",
                 url);
        json_t *req = json_pack("{s:s,s:s,s:s}", "op", "exec", "cmd", cmd, "user", "root");
        s->check = machine_cmd_start(m, req, -1, &check_ops, s);
        json_decref(req);
        if (!s->check)
                fail(s, "unhealthy: the machine's agent did not take the health check");
}

/* ---- the process ---- */

static void spawned(void *ud, json_t *resp, const json_t *error)
{
        struct deploy_svc *s = ud;
        s->spawn_chan = 0;
        if (reap(s))
                return;
        if (!resp || error) {
                char why[200];
                snprintf(why, sizeof(why), "the command did not start: %s",
                         resp ? json_string_value(json_object_get(error, "message")) ?: "refused"
                              : "the machine stopped");
                fail(s, why);
                return;
        }
        check_now(s);
}

/* Starts the revision's command as the "start" process of the pending machine m. */
static void spawn(struct deploy_svc *s, struct machine *m)
{
        struct err e = {0};
        json_t *rev = deploy_revision(s->core, s->name, s->pending_rev, &e);
        if (!rev) {
                fail(s, e.msg);
                return;
        }
        json_t *cmd = json_object_get(rev, "command");
        int64_t limit = json_integer_value(json_object_get(rev, "health_timeout_s"));
        s->deadline_ms = s->core->loop.now_ms + (uint64_t)limit * 1000;
        json_t *req = json_pack("{s:s,s:s,s:O}", "op", "spawn", "tag", "start",
                                json_is_string(cmd) ? "cmd" : "argv", cmd);
        if (m->conf.cwd && m->conf.cwd[0])
                json_object_set_new(req, "cwd", json_string(m->conf.cwd));
        if (m->conf.user[0])
                json_object_set_new(req, "user", json_string(m->conf.user));
        json_decref(rev);
        s->spawn_chan = machine_call(m, req, spawned, s);
        json_decref(req);
        if (!s->spawn_chan)
                fail(s, "the machine's agent did not take the command");
}

static void created(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        struct deploy_svc *s = ud;
        s->creating = NULL;
        if (reap(s))
                return;
        if (code) {
                fail(s, error ? error : ns_code_name(code));
                return;
        }
        spawn(s, m);
}

/* Starts a machine of revision `number` for s. */
static void bring_up(struct deploy_svc *s, int64_t number, enum purpose purpose)
{
        struct err e = {0};
        s->pending_rev = number;
        s->purpose = purpose;
        s->pending_id[0] = '\0';
        json_t *rev = deploy_revision(s->core, s->name, number, &e);
        if (!rev) {
                fail(s, e.msg);
                return;
        }
        char num[24];
        snprintf(num, sizeof(num), "%lld", (long long)number);
        json_t *meta =
            json_pack("{s:s,s:s}", "nullspace.deployment", s->name, "nullspace.revision", num);
        int64_t idle_s = json_integer_value(json_object_get(rev, "idle_s"));
        json_t *idle =
            json_pack("{s:i,s:I}", "pause_after_s", 0, "hibernate_after_s", (json_int_t)idle_s);
        struct machine *m =
            deploy_machine_create(s->core, s->name, rev, NULL, meta, idle, 0, created, s, &e);
        json_decref(meta);
        json_decref(idle);
        json_decref(rev);
        if (!m) {
                fail(s, e.msg);
                return;
        }
        snprintf(s->pending_id, sizeof(s->pending_id), "%s", m->id);
        s->creating = m;
}

/* Starts the live revision's command again in its live machine. */
static void respawn(struct deploy_svc *s)
{
        json_t *dep = dep_doc(s);
        const char *mid = json_string_value(json_object_get(dep, "machine_id"));
        struct machine *m = mid ? machine_find(s->core, mid) : NULL;
        s->pending_rev = json_integer_value(json_object_get(dep, "revision"));
        s->purpose = P_RESPAWN;
        snprintf(s->pending_id, sizeof(s->pending_id), "%s", mid ? mid : "");
        json_decref(dep);
        if (!m || m->state != M_RUNNING) {
                s->pending_rev = 0;
                return; /* the watchdog replaces it */
        }
        spawn(s, m);
}

/* ---- the core's calls ---- */

static struct deploy_svc *svc_for(struct core *core, const char *name)
{
        struct deploy_svc *s = find(core, name);
        if (s || !(s = calloc(1, sizeof(*s))))
                return s;
        s->core = core;
        snprintf(s->name, sizeof(s->name), "%s", name);
        s->next = core->deploy_svcs;
        core->deploy_svcs = s;
        return s;
}

void deploy_service_start(struct core *core, const char *name, int64_t number)
{
        struct deploy_svc *s = svc_for(core, name);
        if (!s)
                return;
        if (busy(s)) { /* a newer deploy wins: the work under way is dropped */
                if (s->check)
                        machine_cmd_cancel(s->check);
                if (s->creating)
                        machine_forget_callbacks(s->creating, s);
                s->check = NULL;
                s->creating = NULL;
                if (s->purpose != P_RESPAWN)
                        destroy_id(core, s->pending_id);
                if (s->spawn_chan) { /* its answer comes to a svc that is gone */
                        s->gone = 1;
                        s = svc_for(core, name);
                        if (!s)
                                return;
                }
        }
        loop_timer_cancel(&core->loop, &s->timer);
        bring_up(s, number, P_DEPLOY);
}

/* A rollback to a kept machine that was hibernating: live once it settled. */
static void settle_timer(struct loop_timer *t)
{
        struct deploy_svc *s =
            (struct deploy_svc *)((char *)t - offsetof(struct deploy_svc, timer));
        struct machine *m = machine_find(s->core, s->pending_id);
        if (m && m->state == M_HIBERNATING)
                loop_timer_arm(&s->core->loop, &s->timer, CHECK_MS, settle_timer);
        else if (m && (m->state == M_RUNNING || machine_wakeable(m)))
                go_live(s);
        else
                bring_up(s, s->pending_rev, P_ROLLBACK);
}

int deploy_service_rollback(struct core *core, const char *name, int64_t number, struct err *e)
{
        struct deploy_svc *s = svc_for(core, name);
        if (!s)
                return err_set(e, ENOMEM, "service");
        if (busy(s) || s->pending_rev)
                return err_coded(e, NS_E_CONFLICT, EBUSY,
                                 "revision %lld of '%s' is being brought up: try again when it "
                                 "is live or failed",
                                 (long long)s->pending_rev, name);
        json_t *dep = deploy_get(core, name, e);
        if (!dep)
                return -1;
        const char *prev = json_string_value(json_object_get(dep, "previous_machine_id"));
        struct machine *pm = prev ? machine_find(core, prev) : NULL;
        const char *pr =
            pm ? json_string_value(json_object_get(pm->metadata, "nullspace.revision")) : NULL;
        int alive =
            pm && (pm->state == M_RUNNING || pm->state == M_HIBERNATING || machine_wakeable(pm));
        if (alive && pr && strtoll(pr, NULL, 10) == number) {
                /* instant: its machine is kept; the next request wakes it (after a
                 * hibernation under way has ended) */
                s->pending_rev = number;
                s->purpose = P_ROLLBACK;
                snprintf(s->pending_id, sizeof(s->pending_id), "%s", prev);
                json_decref(dep);
                if (pm->state == M_HIBERNATING)
                        loop_timer_arm(&core->loop, &s->timer, CHECK_MS, settle_timer);
                else
                        go_live(s);
                return 0;
        }
        json_decref(dep);
        bring_up(s, number, P_ROLLBACK);
        return 0;
}

void deploy_service_end(struct core *core, const char *name)
{
        struct deploy_svc *s = find(core, name);
        json_t *dep = deploy_get(core, name, &(struct err){0});
        destroy_id(core, json_string_value(json_object_get(dep, "machine_id")));
        destroy_id(core, json_string_value(json_object_get(dep, "previous_machine_id")));
        json_decref(dep);
        if (!s)
                return;
        if (s->check)
                machine_cmd_cancel(s->check);
        if (s->creating)
                machine_forget_callbacks(s->creating, s);
        s->check = NULL;
        s->creating = NULL;
        if (s->purpose != P_RESPAWN)
                destroy_id(core, s->pending_id);
        s->gone = 1;
        reap(s);
}

struct machine *deploy_service_machine(struct core *core, const char *name, unsigned *port)
{
        json_t *dep = NULL, *rev = NULL;
        struct err e = {0};
        if (!deploy_name_valid(name) || store_deploy_get(core->store, name, &dep, &e) < 0)
                return NULL;
        const char *kind = json_string_value(json_object_get(dep, "kind"));
        const char *mid = json_string_value(json_object_get(dep, "machine_id"));
        int64_t n = json_integer_value(json_object_get(dep, "revision"));
        struct machine *m =
            kind && !strcmp(kind, "service") && mid ? machine_find(core, mid) : NULL;
        if (m && store_revision_get(core->store, name, n, &rev, &e) == 0)
                *port = (unsigned)json_integer_value(json_object_get(rev, "port"));
        else
                m = NULL;
        json_decref(rev);
        json_decref(dep);
        return m;
}

void deploy_service_note(struct core *core, const char *machine_id, const json_t *note)
{
        const char *ev = json_string_value(json_object_get(note, "event"));
        const char *tag = json_string_value(json_object_get(note, "tag"));
        if (!ev || strcmp(ev, "process.exit") || !tag || strcmp(tag, "start"))
                return;
        /* only a service's machine names its deployment: others end here, unread */
        struct machine *m = machine_find(core, machine_id);
        const char *name =
            m ? json_string_value(json_object_get(m->metadata, "nullspace.deployment")) : NULL;
        struct deploy_svc *s = name ? find(core, name) : NULL;
        if (!s || busy(s) || s->pending_rev)
                return;
        json_t *dep = dep_doc(s);
        const char *mid = json_string_value(json_object_get(dep, "machine_id"));
        struct err e = {0};
        json_t *rev =
            mid && !strcmp(mid, machine_id)
                ? deploy_revision(core, s->name,
                                  json_integer_value(json_object_get(dep, "revision")), &e)
                : NULL;
        json_decref(dep);
        if (!rev)
                return; /* not its live machine */
        const char *policy = json_string_value(json_object_get(rev, "restart"));
        int code = (int)json_integer_value(json_object_get(note, "exit_code"));
        int again =
            policy && (!strcmp(policy, "always") || (!strcmp(policy, "on-failure") && code));
        json_decref(rev);
        event(s, "deployment.exited",
              json_pack("{s:s,s:i,s:b}", "machine_id", machine_id, "exit_code", code, "restart",
                        again));
        if (again) /* half the backoff: a process starts faster than a machine */
                loop_timer_arm(&core->loop, &s->timer, (uint64_t)backoff_s(s) * 1000 / 2,
                               retry_timer);
}

/* Every few seconds: a live machine that died is replaced. */
static void watch(struct loop_timer *t)
{
        struct core *core = (struct core *)((char *)t - offsetof(struct core, deploy_watch));
        for (struct deploy_svc *s = core->deploy_svcs; s; s = s->next) {
                if (s->gone || busy(s) || s->pending_rev || s->timer.armed)
                        continue;
                json_t *dep = dep_doc(s);
                int64_t live = json_integer_value(json_object_get(dep, "revision"));
                const char *mid = json_string_value(json_object_get(dep, "machine_id"));
                struct machine *m = mid ? machine_find(core, mid) : NULL;
                int dead = !m || m->state == M_FAILED || m->state == M_DESTROYING ||
                           m->state == M_DESTROYED;
                json_decref(dep);
                if (live > 0 && dead)
                        bring_up(s, live, P_REPLACE);
        }
        deploy_templates_collect(core);
        loop_timer_arm(&core->loop, &core->deploy_watch, WATCH_MS, watch);
}

static void recover_service(struct core *core, const json_t *dep)
{
        const char *kind = json_string_value(json_object_get(dep, "kind"));
        if (kind && !strcmp(kind, "service"))
                svc_for(core, json_string_value(json_object_get(dep, "name")));
}

void deploy_services_recover(struct core *core)
{
        deploy_each(core, recover_service);
        loop_timer_arm(&core->loop, &core->deploy_watch, WATCH_MS, watch);
}

void deploy_services_drop(struct core *core)
{
        loop_timer_cancel(&core->loop, &core->deploy_watch);
        while (core->deploy_svcs) {
                struct deploy_svc *s = core->deploy_svcs;
                if (s->check)
                        machine_cmd_cancel(s->check);
                if (s->creating)
                        machine_forget_callbacks(s->creating, s);
                if (s->spawn_chan) { /* its answer may still come while machines detach */
                        s->gone = 1;
                        core->deploy_svcs = s->next;
                        continue;
                }
                svc_free(s);
        }
}
