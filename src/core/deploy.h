/* Deployments: a named project built into revisions (each a template "deploy-NAME:rN"
 * built from the project's files and steps) and run from its live revision. A job's run
 * is a fresh machine from the revision running the revision's command: its output is
 * kept in STATE/deployments/NAME/runs/RUN.log with every secret value it was given
 * redacted, its exit code and times in the run's record; the machine is destroyed when
 * the run ends, or kept for retain_failed_s after a failure so it can be debugged.
 * Schedules (core/cron.h) start runs by themselves. Records are JSON documents in the
 * store (store/deployments.h) whose shape is written here:
 *   deployment {name, kind, revision (live; 0: none yet), latest, created_at, updated_at}
 *   revision   {deployment, number, state (building|ready|failed), build_id, template,
 *               error, created_at, ready_at, command, env, secrets, vcpus, memory_mb,
 *               timeout_s, schedule, retain_failed_s, concurrency, runtime}
 *   run        {id, deployment, revision, trigger (manual|schedule), state (starting|
 *               running|succeeded|failed|cancelled), exit_code, error, machine_id,
 *               created_at, started_at, ended_at, retained, retained_until, log_bytes}
 * Loop thread only. */
#ifndef NS_CORE_DEPLOY_H
#define NS_CORE_DEPLOY_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct core;
struct deploy_run;

#define DEPLOY_NAME_MAX     48          /* bytes of a name: [a-z0-9][a-z0-9-]* */
#define DEPLOY_LOG_MAX      (16u << 20) /* a run's log: output past this is dropped */
#define DEPLOY_RETAIN_MAX   (7 * 86400) /* seconds a failed run's machine may be kept */
#define DEPLOY_RUN_ID_MAX   24
#define DEPLOY_DEFAULT_KEEP 600 /* retain_failed_s when not given */

/* 1 when name can name a deployment. */
int deploy_name_valid(const char *name);

/* Checks a revision's run spec for a deployment of `kind` ("job" or "service"): command
 * (string or argv), env, secrets, vcpus, memory_mb, runtime; a job's timeout_s,
 * schedule, retain_failed_s, concurrency; a service's port, health_path, restart,
 * idle_s, health_timeout_s (each refused for the other kind), and fills its defaults
 * in. 0, or -1 with e set (invalid_field, secret_not_found). */
int deploy_spec_check(struct core *core, const char *kind, json_t *spec, struct err *e);

/* Deploys a new revision of `name` (created as kind `kind` when new: "job"): starts the
 * build of `build_req` (core/build.h's form, borrowed; its "ref" is set here) with the
 * checked `spec`; the revision becomes live when its build is ready. *rev gets the new
 * revision's record, *created whether the deployment is new. 0, or -1 with e set
 * (invalid_field: another kind; conflict: too many builds; internal). */
int deploy_create(struct core *core, const char *name, const char *kind, json_t *build_req,
                  const json_t *spec, json_t **rev, int *created, struct err *e);

/* Makes revision `number` of `name` the live one (it must be ready). *dep gets the
 * deployment's record. 0, or -1 with e set (deployment_not_found, revision_not_found,
 * revision_not_ready). */
int deploy_rollback(struct core *core, const char *name, int64_t number, json_t **dep,
                    struct err *e);

/* Deletes `name`: its runs are cancelled, their machines destroyed, its logs removed,
 * its revisions' templates deleted where no machine uses them. 0 or -1 with e set. */
int deploy_delete(struct core *core, const char *name, struct err *e);

/* Starts a run of job `name` from its live revision (trigger "manual" or "schedule").
 * *run gets its record. 0, or -1 with e set (deployment_not_found, revision_not_ready,
 * run_active under the forbid policy, and what a machine's create refuses). */
int deploy_run_start(struct core *core, const char *name, const char *trigger, json_t **run,
                     struct err *e);

/* Cancels run `id` of `name` while it is starting or running (its machine is
 * destroyed, its state becomes cancelled), or ends the retention of a failed run's
 * machine (destroyed now). 0, or -1 with e set (run_not_found, conflict: it ended and
 * keeps no machine). */
int deploy_run_cancel(struct core *core, const char *name, const char *id, struct err *e);

/* Whether run id is still starting or running (its log may still grow). */
int deploy_run_active(struct core *core, const char *id);

/* The path of run id's log (STATE/deployments/NAME/runs/ID.log). */
void deploy_log_path(const struct core *core, const char *name, const char *id, char *out,
                     size_t cap);

/* The live machine of service `name` and the port its command listens on (*port);
 * NULL when `name` is no service or has no live machine now (one is being started). */
struct machine *deploy_service_machine(struct core *core, const char *name, unsigned *port);

/* A NOTE from machine_id's agent (a process started or exited): a service's start
 * process that exited is started again as its restart policy says. */
void deploy_service_note(struct core *core, const char *machine_id, const json_t *note);

/* At start-up, after machines_recover and builds_recover: revisions a stopped daemon
 * left building are settled from their builds' records, its runs still active are
 * failed (their machines destroyed), retained machines get their timers again, and
 * schedules are armed. */
void deploys_recover(struct core *core);

/* At daemon exit: forgets the runs under way (their machines are left to the next
 * daemon's deploys_recover). */
void deploys_drop(struct core *core);

#endif
