/* What deploy.c, deploy_run.c and deploy_sched.c share. Loop thread only. */
#ifndef NS_CORE_DEPLOY_INTERNAL_H
#define NS_CORE_DEPLOY_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "../common/err.h"
#include "machine.h"

struct core;

/* Deployment `name`'s record (new reference), or NULL with e set
 * (deployment_not_found). */
json_t *deploy_get(struct core *core, const char *name, struct err *e);

/* Revision `number` of `name` (new reference), or NULL with e set (revision_not_found). */
json_t *deploy_revision(struct core *core, const char *name, int64_t number, struct err *e);

/* The live revision of `name` (new reference), or NULL with e set
 * (deployment_not_found, revision_not_ready). */
json_t *deploy_live(struct core *core, const char *name, struct err *e);

/* Creates a machine of deployment `name` from revision rev: its template, size,
 * runtime, env (with NULLSPACE_DEPLOYMENT, NULLSPACE_REVISION and, for a run,
 * NULLSPACE_RUN_ID) and secrets; metadata, idle policy and deadline (0: none) as given;
 * never from a warm pool (cb never runs before this returns). As machine_create. */
struct machine *deploy_machine_create(struct core *core, const char *name, const json_t *rev,
                                      const char *run_id, const json_t *meta, const json_t *idle,
                                      int64_t timeout_s, machine_done_cb cb, void *ud,
                                      struct err *e);

/* Calls fn with every deployment's record (borrowed for the call), in creation order;
 * a store error ends the walk (logged). */
void deploy_each(struct core *core, void (*fn)(struct core *core, const json_t *dep));

/* doc[key] = v. */
void deploy_set_int(json_t *doc, const char *key, int64_t v);

/* Ends every run of `name`: active ones cancelled, retained machines destroyed. */
void deploy_runs_end(struct core *core, const char *name);

/* Settles the runs a stopped daemon left (deploy.h: deploys_recover). */
void deploy_runs_recover(struct core *core);

/* Forgets the runs under way (deploys_drop). */
void deploy_runs_drop(struct core *core);

/* Brings up revision `number` of service `name` (its build is ready): a machine, its
 * command, the health check; live when healthy, the revision failed when not. */
void deploy_service_start(struct core *core, const char *name, int64_t number);

/* Makes ready revision `number` of service `name` live: at once when its machine is the
 * one kept, else once a new machine is healthy. 0, or -1 with e set (conflict: a
 * revision is being brought up). */
int deploy_service_rollback(struct core *core, const char *name, int64_t number, struct err *e);

/* Destroys service `name`'s machines and forgets it. */
void deploy_service_end(struct core *core, const char *name);

/* Services after a restart: known again, their machines watched. */
void deploy_services_recover(struct core *core);

/* At exit: forgets the services (their machines run on). */
void deploy_services_drop(struct core *core);

/* Deletes the templates of deleted deployments that were still in use (a machine being
 * destroyed); called every few seconds. */
void deploy_templates_collect(struct core *core);

/* Reads the live revisions' schedules again and arms the timer for the first. */
void deploy_sched_reload(struct core *core);

/* Stops the schedule timer and forgets the schedules. */
void deploy_sched_stop(struct core *core);

#endif
