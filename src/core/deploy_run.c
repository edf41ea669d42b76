/* Job runs: a fresh machine from the live revision runs its command; the output goes,
 * redacted of the secrets the run was given, to the run's log; the exit ends the run
 * and the machine goes, or stays for retain_failed_s after a failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/redact.h"
#include "../common/util.h"
#include "core.h"
#include "deploy.h"
#include "deploy_internal.h"
#include "machine.h"
#include "machine_cmd.h"
#include "secrets.h"

struct deploy_run {
        char id[DEPLOY_RUN_ID_MAX];
        char name[DEPLOY_NAME_MAX + 1];
        struct core *core;
        json_t *doc;              /* its record (owned) */
        struct machine *creating; /* its machine while it starts (its callback is ours) */
        struct machine_cmd *cmd;  /* the command while it runs */
        int log_fd;
        uint64_t log_bytes;
        int log_full;
        struct redactor red;
        struct loop_timer timer; /* the run's time limit, then its machine's retention */
        struct deploy_run *next;
};

void deploy_log_path(const struct core *core, const char *name, const char *id, char *out,
                     size_t cap)
{
        snprintf(out, cap, "%s/deployments/%s/runs/%s.log", core->state_dir, name, id);
}

static const char *run_state(const struct deploy_run *r)
{
        return json_string_value(json_object_get(r->doc, "state"));
}

static int is_active(const struct deploy_run *r)
{
        const char *s = run_state(r);
        return !strcmp(s, "starting") || !strcmp(s, "running");
}

int deploy_run_active(struct core *core, const char *id)
{
        for (struct deploy_run *r = core->deploy_runs; r; r = r->next)
                if (!strcmp(r->id, id))
                        return is_active(r);
        return 0;
}

static void save(struct deploy_run *r)
{
        struct err e = {0};
        deploy_set_int(r->doc, "log_bytes", (int64_t)r->log_bytes);
        if (store_run_put(r->core->store, r->id, r->name, r->doc, &e) < 0)
                log_warn("deploy_run_save", "run=%s error=\"%s\"", r->id, e.msg);
}

static void run_free(struct deploy_run *r)
{
        for (struct deploy_run **p = &r->core->deploy_runs; *p; p = &(*p)->next)
                if (*p == r) {
                        *p = r->next;
                        break;
                }
        loop_timer_cancel(&r->core->loop, &r->timer);
        if (r->creating)
                machine_forget_callbacks(r->creating, r);
        if (r->cmd)
                machine_cmd_cancel(r->cmd);
        if (r->log_fd >= 0)
                close(r->log_fd);
        redactor_fini(&r->red);
        json_decref(r->doc);
        free(r);
}

static void write_log(void *ud, const char *p, size_t n)
{
        struct deploy_run *r = ud;
        if (r->log_fd < 0 || r->log_full)
                return;
        if (r->log_bytes + n > DEPLOY_LOG_MAX) {
                static const char cut[] = "\n[nullspace: the log reached its limit; the rest of "
                                          "the output was dropped]\n";
                r->log_full = 1;
                p = cut;
                n = sizeof(cut) - 1;
        }
        while (n > 0) {
                ssize_t w = write(r->log_fd, p, n);
                if (w <= 0)
                        return;
                r->log_bytes += (uint64_t)w;
                p += w;
                n -= (size_t)w;
        }
}

/* The run's machine goes (NULL-safe when it is gone already). */
static void drop_machine(struct deploy_run *r)
{
        const char *id = json_string_value(json_object_get(r->doc, "machine_id"));
        struct machine *m = id ? machine_find(r->core, id) : NULL;
        if (m && m->state != M_DESTROYING && m->state != M_DESTROYED)
                machine_destroy(m, NULL, NULL);
}

static void retention_over(struct loop_timer *t)
{
        struct deploy_run *r =
            (struct deploy_run *)((char *)t - offsetof(struct deploy_run, timer));
        drop_machine(r);
        json_object_set_new(r->doc, "retained", json_false());
        save(r);
        run_free(r);
}

/* Ends an active run in `state` (succeeded, failed, cancelled): its record, its event,
 * and its machine destroyed or retained. Frees r unless retained. */
static void finish(struct deploy_run *r, const char *state, int exit_code, const char *error,
                   int may_retain)
{
        struct core *core = r->core;
        redactor_flush(&r->red, write_log, r);
        if (r->cmd) {
                machine_cmd_cancel(r->cmd);
                r->cmd = NULL;
        }
        if (r->creating) {
                machine_forget_callbacks(r->creating, r);
                r->creating = NULL;
        }
        loop_timer_cancel(&core->loop, &r->timer);
        int64_t now = time_wall_ms();
        json_object_set_new(r->doc, "state", json_string(state));
        json_object_set_new(r->doc, "exit_code",
                            exit_code >= 0 ? json_integer(exit_code) : json_null());
        json_object_set_new(r->doc, "error", error ? json_string(error) : json_null());
        deploy_set_int(r->doc, "ended_at", now);
        int64_t keep = json_integer_value(json_object_get(r->doc, "retain_failed_s"));
        const char *mid = json_string_value(json_object_get(r->doc, "machine_id"));
        struct machine *m = mid ? machine_find(core, mid) : NULL;
        int retain = may_retain && !strcmp(state, "failed") && keep > 0 && m &&
                     m->state != M_DESTROYING && m->state != M_DESTROYED && m->state != M_FAILED;
        json_object_set_new(r->doc, "retained", json_boolean(retain));
        if (retain)
                deploy_set_int(r->doc, "retained_until", now + keep * 1000);
        save(r);
        json_t *data = json_pack("{s:s,s:s,s:O,s:O}", "deployment", r->name, "run", r->id,
                                 "revision", json_object_get(r->doc, "revision"), "exit_code",
                                 json_object_get(r->doc, "exit_code"));
        if (error)
                json_object_set_new(data, "error", json_string(error));
        char type[48];
        snprintf(type, sizeof(type), "deployment.run_%s", state);
        core_event(core, type, "deployment", r->name, NULL, data);
        if (r->log_fd >= 0) {
                close(r->log_fd);
                r->log_fd = -1;
        }
        if (retain) {
                loop_timer_arm(&core->loop, &r->timer, (uint64_t)keep * 1000, retention_over);
                return;
        }
        drop_machine(r);
        run_free(r);
}

static void on_output(void *ud, int stream, const char *p, size_t n)
{
        (void)stream;
        struct deploy_run *r = ud;
        redactor_feed(&r->red, p, n, write_log, r);
}

static void on_cmd_exit(void *ud, int exit_code, const char *error)
{
        struct deploy_run *r = ud;
        r->cmd = NULL;
        if (exit_code < 0)
                finish(r, "failed", -1, error ? error : "the command did not run", 1);
        else
                finish(r, exit_code == 0 ? "succeeded" : "failed", exit_code,
                       exit_code == 0 ? NULL : "the command exited with a non-zero status", 1);
}

static const struct machine_cmd_ops cmd_ops = {on_output, on_cmd_exit};

static void timed_out(struct loop_timer *t)
{
        struct deploy_run *r =
            (struct deploy_run *)((char *)t - offsetof(struct deploy_run, timer));
        char msg[96];
        snprintf(msg, sizeof(msg), "the run took longer than its timeout_s (%lld s)",
                 (long long)json_integer_value(json_object_get(r->doc, "timeout_s")));
        finish(r, "failed", -1, msg, 1);
}

static void on_created(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        struct deploy_run *r = ud;
        r->creating = NULL;
        if (code != NS_OK) {
                finish(r, "failed", -1, error ? error : ns_code_name(code), 0);
                return;
        }
        json_object_set_new(r->doc, "state", json_string("running"));
        deploy_set_int(r->doc, "started_at", time_wall_ms());
        save(r);
        json_t *cmd = json_object_get(r->doc, "command");
        json_t *req =
            json_pack("{s:s,s:O}", "op", "exec", json_is_string(cmd) ? "cmd" : "argv", cmd);
        if (m->conf.cwd && m->conf.cwd[0]) /* the template's working directory */
                json_object_set_new(req, "cwd", json_string(m->conf.cwd));
        if (m->conf.user[0])
                json_object_set_new(req, "user", json_string(m->conf.user));
        r->cmd = machine_cmd_start(m, req, -1, &cmd_ops, r);
        json_decref(req);
        if (!r->cmd)
                finish(r, "failed", -1, "the machine's agent did not take the command", 1);
}

/* The run's redactor: every secret value it is given. -1 with e set. */
static int load_redactor(struct deploy_run *r, const json_t *names, struct err *e)
{
        json_t *vals = json_object();
        if (core_secrets_env(r->core, names, vals, e) < 0) {
                json_decref(vals);
                return -1;
        }
        const char *k;
        json_t *v;
        json_object_foreach(vals, k, v) redactor_add(&r->red, k, json_string_value(v));
        json_object_clear(vals); /* the values go no further */
        json_decref(vals);
        return 0;
}

/* The machine of run r from revision rev. -1 with e set (the run is then failed). */
static int start_machine(struct deploy_run *r, const json_t *rev, struct err *e)
{
        json_t *meta =
            json_pack("{s:s,s:s}", "nullspace.deployment", r->name, "nullspace.run", r->id);
        json_t *idle = json_pack("{s:i,s:i}", "pause_after_s", 0, "hibernate_after_s", 0);
        int64_t timeout = json_integer_value(json_object_get(rev, "timeout_s"));
        int64_t keep = json_integer_value(json_object_get(rev, "retain_failed_s"));
        /* the deadline is a backstop: the run's timer ends it first */
        struct machine *m = deploy_machine_create(r->core, r->name, rev, r->id, meta, idle,
                                                  timeout + keep + 300, on_created, r, e);
        json_decref(meta);
        json_decref(idle);
        if (!m)
                return -1;
        json_object_set_new(r->doc, "machine_id", json_string(m->id));
        r->creating = m;
        return 0;
}

/* Makes way for a new run of `name` under its concurrency policy: -1 with e set
 * (run_active) when it forbids one. */
static int make_way(struct core *core, const char *name, const char *policy, struct err *e)
{
        for (struct deploy_run *r = core->deploy_runs, *next; r; r = next) {
                next = r->next;
                if (strcmp(r->name, name) != 0 || !is_active(r))
                        continue;
                if (!strcmp(policy, "forbid"))
                        return err_coded(e, NS_E_RUN_ACTIVE, EBUSY,
                                         "run %s of '%s' is still %s (concurrency: forbid)", r->id,
                                         name, run_state(r));
                if (!strcmp(policy, "replace"))
                        finish(r, "cancelled", -1, "replaced by a newer run", 0);
        }
        return 0;
}

/* A new run's record of revision rev. */
static json_t *new_doc(const char *id, const char *name, const json_t *rev, const char *trigger)
{
        return json_pack("{s:s,s:s,s:O,s:s,s:s,s:n,s:n,s:n,s:I,s:n,s:n,s:b,s:n,s:i,s:O,s:O,s:O}",
                         "id", id, "deployment", name, "revision", json_object_get(rev, "number"),
                         "trigger", trigger, "state", "starting", "exit_code", "error",
                         "machine_id", "created_at", (json_int_t)time_wall_ms(), "started_at",
                         "ended_at", "retained", 0, "retained_until", "log_bytes", 0, "command",
                         json_object_get(rev, "command"), "timeout_s",
                         json_object_get(rev, "timeout_s"), "retain_failed_s",
                         json_object_get(rev, "retain_failed_s"));
}

/* Opens run r's log (its directory made). -1 with e set. */
static int open_log(struct deploy_run *r, struct err *e)
{
        char path[PATH_MAX + 128];
        snprintf(path, sizeof(path), "%s/deployments/%s/runs", r->core->state_dir, r->name);
        if (mkdir_p(path, 0700) < 0)
                return err_set(e, errno, "mkdir %s", path);
        deploy_log_path(r->core, r->name, r->id, path, sizeof(path));
        r->log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
        return r->log_fd < 0 ? err_set(e, errno, "open %s", path) : 0;
}

int deploy_run_start(struct core *core, const char *name, const char *trigger, json_t **run,
                     struct err *e)
{
        json_t *dep = deploy_get(core, name, e);
        if (!dep)
                return -1;
        const char *kind = json_string_value(json_object_get(dep, "kind"));
        int job = kind && !strcmp(kind, "job");
        json_decref(dep);
        if (!job)
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "deployment '%s' is a %s: only jobs have runs", name, kind);
        json_t *rev = deploy_live(core, name, e);
        if (!rev)
                return -1;
        struct deploy_run *r = calloc(1, sizeof(*r));
        if (!r ||
            make_way(core, name, json_string_value(json_object_get(rev, "concurrency")), e) < 0) {
                free(r);
                json_decref(rev);
                return r ? -1 : err_set(e, ENOMEM, "run");
        }
        r->core = core;
        r->log_fd = -1;
        redactor_init(&r->red);
        snprintf(r->name, sizeof(r->name), "%s", name);
        rand_id("r_", 8, r->id, sizeof(r->id));
        r->doc = new_doc(r->id, name, rev, trigger);
        r->next = core->deploy_runs;
        core->deploy_runs = r;
        int rc = load_redactor(r, json_object_get(rev, "secrets"), e);
        if (rc == 0)
                rc = open_log(r, e);
        if (rc == 0)
                rc = start_machine(r, rev, e);
        json_decref(rev);
        *run = json_incref(r->doc);
        if (rc < 0) { /* recorded as failed, and refused */
                enum ns_code code = e->code;
                finish(r, "failed", -1, e->msg, 0);
                e->code = code;
                return -1;
        }
        save(r);
        core_event(core, "deployment.run_started", "deployment", name, NULL,
                   json_pack("{s:s,s:s,s:O,s:s}", "deployment", name, "run", r->id, "revision",
                             json_object_get(r->doc, "revision"), "trigger", trigger));
        loop_timer_arm(&core->loop, &r->timer,
                       (uint64_t)json_integer_value(json_object_get(r->doc, "timeout_s")) * 1000,
                       timed_out);
        return 0;
}

int deploy_run_cancel(struct core *core, const char *name, const char *id, struct err *e)
{
        for (struct deploy_run *r = core->deploy_runs; r; r = r->next) {
                if (strcmp(r->id, id) != 0 || strcmp(r->name, name) != 0)
                        continue;
                if (is_active(r)) {
                        finish(r, "cancelled", -1, "cancelled", 0);
                } else { /* retained: its machine goes now */
                        loop_timer_cancel(&core->loop, &r->timer);
                        retention_over(&r->timer);
                }
                return 0;
        }
        json_t *doc = NULL;
        int rc = store_run_get(core->store, id, &doc, e);
        const char *dep = json_string_value(json_object_get(doc, "deployment"));
        int ours = rc == 0 && dep && !strcmp(dep, name);
        json_decref(doc);
        if (!ours)
                return err_coded(e, NS_E_RUN_NOT_FOUND, ENOENT, "deployment '%s' has no run %s",
                                 name, id);
        return err_coded(e, NS_E_CONFLICT, EALREADY, "run %s has ended and keeps no machine", id);
}

void deploy_runs_end(struct core *core, const char *name)
{
        for (struct deploy_run *r = core->deploy_runs, *next; r; r = next) {
                next = r->next;
                if (strcmp(r->name, name) == 0)
                        deploy_run_cancel(core, name, r->id, &(struct err){0});
        }
}

/* A run a stopped daemon left: failed if active, its machine retained until its time
 * or destroyed. */
static void recover_one(struct core *core, json_t *doc)
{
        const char *id = json_string_value(json_object_get(doc, "id"));
        const char *name = json_string_value(json_object_get(doc, "deployment"));
        struct deploy_run *r = id && name ? calloc(1, sizeof(*r)) : NULL;
        if (!r)
                return;
        r->core = core;
        r->log_fd = -1;
        redactor_init(&r->red);
        snprintf(r->id, sizeof(r->id), "%s", id);
        snprintf(r->name, sizeof(r->name), "%s", name);
        r->doc = json_incref(doc);
        r->next = core->deploy_runs;
        core->deploy_runs = r;
        if (is_active(r)) {
                finish(r, "failed", -1, "the daemon stopped during the run", 1);
                return;
        }
        int64_t left = json_integer_value(json_object_get(doc, "retained_until")) - time_wall_ms();
        if (left > 0)
                loop_timer_arm(&core->loop, &r->timer, (uint64_t)left, retention_over);
        else
                retention_over(&r->timer);
}

void deploy_runs_recover(struct core *core)
{
        json_t *docs = NULL;
        struct err e = {0};
        if (store_run_open(core->store, &docs, &e) < 0) {
                log_warn("deploy_recover", "error=\"%s\"", e.msg);
                return;
        }
        size_t i;
        json_t *doc;
        json_array_foreach(docs, i, doc) recover_one(core, doc);
        json_decref(docs);
}

void deploy_runs_drop(struct core *core)
{
        while (core->deploy_runs) {
                struct deploy_run *r = core->deploy_runs;
                run_free(r); /* its command is killed: the next daemon fails the run */
        }
}
