/* Revisions' run specs checked, and the schedules of live job revisions: one timer,
 * armed for the earliest next firing; a firing starts a run (trigger "schedule") and
 * computes that job's next. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "cron.h"
#include "deploy.h"
#include "deploy_internal.h"
#include "machine.h"
#include "secrets.h"

struct deploy_sched {
        char name[DEPLOY_NAME_MAX + 1];
        struct cron cron;
        int64_t next_ms; /* wall clock */
};

static int check_command(const json_t *cmd, struct err *e)
{
        if (json_is_string(cmd) && json_string_length(cmd) > 0)
                return 0;
        size_t n = json_array_size(cmd);
        int ok = json_is_array(cmd) && n >= 1 && n <= 256;
        for (size_t i = 0; ok && i < n; i++)
                ok = json_is_string(json_array_get(cmd, i));
        return ok ? 0
                  : err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                              "field 'command': a shell command, or an argv array of 1 to 256 "
                              "strings (the project's start command, or its Dockerfile's CMD)");
}

static void set_default(json_t *spec, const char *key, json_t *v)
{
        if (!json_object_get(spec, key) || json_is_null(json_object_get(spec, key)))
                json_object_set_new(spec, key, v);
        else
                json_decref(v);
}

/* The fields only one kind takes: refused for the other; the service's defaults. */
static int check_kind(json_t *spec, const char *kind, struct err *e)
{
        static const char *const job_only[] = {"schedule", "retain_failed_s", "concurrency",
                                               "timeout_s"};
        static const char *const service_only[] = {"port", "health_path", "restart", "idle_s",
                                                   "health_timeout_s"};
        int service = !strcmp(kind, "service");
        const char *const *other = service ? job_only : service_only;
        size_t n = service ? sizeof(job_only) / sizeof(job_only[0])
                           : sizeof(service_only) / sizeof(service_only[0]);
        for (size_t i = 0; i < n; i++)
                if (json_object_get(spec, other[i]))
                        return err_coded(e, NS_E_INVALID_FIELD, EINVAL, "field '%s' is not a %s's",
                                         other[i], kind);
        if (!service)
                return 0;
        if (!json_object_get(spec, "port"))
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'port': a service names the port its command listens on");
        const char *path = json_string_value(json_object_get(spec, "health_path"));
        if (path && (path[0] != '/' || strpbrk(path, "'\"\\ \t\r\n")))
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'health_path': a path starting with '/', without quotes "
                                 "or blanks");
        const char *restart = json_string_value(json_object_get(spec, "restart"));
        if (restart && strcmp(restart, "always") && strcmp(restart, "on-failure") &&
            strcmp(restart, "never"))
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'restart': always, on-failure or never");
        set_default(spec, "health_path", json_string("/"));
        set_default(spec, "restart", json_string("always"));
        set_default(spec, "idle_s", json_integer(300));
        set_default(spec, "health_timeout_s", json_integer(60));
        return 0;
}

int deploy_spec_check(struct core *core, const char *kind, json_t *spec, struct err *e)
{
        if (check_kind(spec, kind, e) < 0)
                return -1;
        if (check_command(json_object_get(spec, "command"), e) < 0)
                return -1;
        const char *k;
        json_t *v;
        json_object_foreach(
            json_object_get(spec, "env"), k,
            v) if (strchr(k, '=') ||
                   !k[0]) return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                           "field 'env': a name cannot be empty or contain '='");
        if (core_secrets_check(core, json_object_get(spec, "secrets"), e) < 0)
                return -1;
        json_object_foreach(json_object_get(spec, "env"), k, v)
        {
                size_t i;
                json_t *s;
                json_array_foreach(json_object_get(spec, "secrets"), i,
                                   s) if (strcmp(json_string_value(s), k) ==
                                          0) return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                                              "'%s' is both in env "
                                                              "and a secret",
                                                              k);
        }
        const char *sched = json_string_value(json_object_get(spec, "schedule"));
        struct cron c;
        if (sched && cron_parse(sched, &c, e) < 0) {
                e->code = NS_E_INVALID_FIELD;
                return -1;
        }
        const char *conc = json_string_value(json_object_get(spec, "concurrency"));
        if (conc && strcmp(conc, "allow") && strcmp(conc, "forbid") && strcmp(conc, "replace"))
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'concurrency': allow, forbid or replace");
        if (core_driver_check(core, json_string_value(json_object_get(spec, "runtime")), e) < 0) {
                if (!e->code)
                        e->code = NS_E_INVALID_FIELD;
                return -1;
        }
        set_default(spec, "env", json_object());
        set_default(spec, "secrets", json_array());
        set_default(spec, "vcpus", json_integer(1));
        set_default(spec, "memory_mb", json_integer(512));
        if (!strcmp(kind, "job")) {
                set_default(spec, "timeout_s", json_integer(3600));
                set_default(spec, "retain_failed_s", json_integer(DEPLOY_DEFAULT_KEEP));
                set_default(spec, "concurrency", json_string("allow"));
                set_default(spec, "schedule", json_null());
        }
        set_default(spec, "runtime", json_string(core->driver->name));
        return 0;
}

static void fire(struct loop_timer *t);

/* Arms the timer for the earliest schedule (none: stopped). */
static void arm(struct core *core)
{
        int64_t first = INT64_MAX;
        for (size_t i = 0; i < core->deploy_nsched; i++)
                if (core->deploy_sched[i].next_ms < first)
                        first = core->deploy_sched[i].next_ms;
        if (first == INT64_MAX) {
                loop_timer_cancel(&core->loop, &core->deploy_timer);
                return;
        }
        int64_t now = time_wall_ms(), wait = first > now ? first - now : 0;
        loop_timer_arm(&core->loop, &core->deploy_timer, (uint64_t)wait, fire);
}

static void fire(struct loop_timer *t)
{
        struct core *core = (struct core *)((char *)t - offsetof(struct core, deploy_timer));
        int64_t now = time_wall_ms();
        for (size_t i = 0; i < core->deploy_nsched; i++) {
                struct deploy_sched *s = &core->deploy_sched[i];
                if (s->next_ms > now)
                        continue;
                s->next_ms = cron_next(&s->cron, now);
                if (s->next_ms < 0)
                        s->next_ms = INT64_MAX;
                json_t *run = NULL;
                struct err e = {0};
                core_cause_set(core, "schedule", NULL);
                if (deploy_run_start(core, s->name, "schedule", &run, &e) < 0)
                        log_warn("deploy_schedule", "deployment=%s error=\"%s\"", s->name, e.msg);
                core_cause_clear(core);
                json_decref(run);
        }
        arm(core);
}

/* Adds deployment dep's schedule when its live revision has one. */
static void add_sched(struct core *core, const json_t *dep)
{
        const char *name = json_string_value(json_object_get(dep, "name"));
        int64_t now = time_wall_ms();
        if (!name)
                return;
        struct err e = {0};
        int64_t live = json_integer_value(json_object_get(dep, "revision"));
        json_t *rev = live > 0 ? deploy_revision(core, name, live, &e) : NULL;
        const char *expr = json_string_value(json_object_get(rev, "schedule"));
        struct deploy_sched s = {0};
        if (expr && cron_parse(expr, &s.cron, &e) == 0 &&
            (s.next_ms = cron_next(&s.cron, now)) >= 0) {
                struct deploy_sched *v =
                    realloc(core->deploy_sched, (core->deploy_nsched + 1) * sizeof(*v));
                if (v) {
                        snprintf(s.name, sizeof(s.name), "%s", name);
                        v[core->deploy_nsched++] = s;
                        core->deploy_sched = v;
                }
        }
        json_decref(rev);
}

void deploy_sched_reload(struct core *core)
{
        struct deploy_sched *old = core->deploy_sched;
        size_t nold = core->deploy_nsched;
        core->deploy_sched = NULL;
        core->deploy_nsched = 0;
        deploy_each(core, add_sched);
        /* a schedule that did not change keeps its next firing */
        for (size_t i = 0; i < core->deploy_nsched; i++)
                for (size_t j = 0; j < nold; j++)
                        if (!strcmp(core->deploy_sched[i].name, old[j].name) &&
                            !memcmp(&core->deploy_sched[i].cron, &old[j].cron, sizeof(struct cron)))
                                core->deploy_sched[i].next_ms = old[j].next_ms;
        free(old);
        arm(core);
}

void deploy_sched_stop(struct core *core)
{
        loop_timer_cancel(&core->loop, &core->deploy_timer);
        free(core->deploy_sched);
        core->deploy_sched = NULL;
        core->deploy_nsched = 0;
}
