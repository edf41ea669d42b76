/* What deploy.c, deploy_run.c and deploy_sched.c share. Loop thread only. */
#ifndef NS_CORE_DEPLOY_INTERNAL_H
#define NS_CORE_DEPLOY_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "../common/err.h"

struct core;

/* Deployment `name`'s record (new reference), or NULL with e set
 * (deployment_not_found). */
json_t *deploy_get(struct core *core, const char *name, struct err *e);

/* Revision `number` of `name` (new reference), or NULL with e set (revision_not_found). */
json_t *deploy_revision(struct core *core, const char *name, int64_t number, struct err *e);

/* The live revision of `name` (new reference), or NULL with e set
 * (deployment_not_found, revision_not_ready). */
json_t *deploy_live(struct core *core, const char *name, struct err *e);

/* doc[key] = v. */
void deploy_set_int(json_t *doc, const char *key, int64_t v);

/* Ends every run of `name`: active ones cancelled, retained machines destroyed. */
void deploy_runs_end(struct core *core, const char *name);

/* Settles the runs a stopped daemon left (deploy.h: deploys_recover). */
void deploy_runs_recover(struct core *core);

/* Forgets the runs under way (deploys_drop). */
void deploy_runs_drop(struct core *core);

/* Reads the live revisions' schedules again and arms the timer for the first. */
void deploy_sched_reload(struct core *core);

/* Stops the schedule timer and forgets the schedules. */
void deploy_sched_stop(struct core *core);

#endif
