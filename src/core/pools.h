/* Warm pools: per template name, machines spawned from its snapshot ahead of time and
 * kept running, labelled with metadata "nullspace.pool" (not listed as the user's).
 * A create from the template takes one (relabelled, its deadline set: no sandbox work
 * on that path) and the pool refills in the background; a timer re-checks every pool
 * (stale members of a replaced build go, failed ones are replaced). Loop thread only. */
#ifndef NS_POOLS_H
#define NS_POOLS_H

#include <jansson.h>

#include "../common/err.h"

struct core;
struct machine;
struct machine_params;

#define POOL_MAX 32

/* The shape of the base template's pool members: a create's defaults (api/machines.c). */
#define POOL_BASE_VCPUS     1
#define POOL_BASE_MEMORY_MB 512

enum pool_mode { POOL_PREFER, POOL_REQUIRE, POOL_SKIP };

/* Sets the pool size of template `ref` (any spelling; 0..POOL_MAX) and refills or drains
 * it. Errors (*code): invalid_field, template_not_found, internal. */
int pool_set(struct core *core, const char *ref, int size, struct err *e);

/* A ready member of ref's pool spawned from snapshot ("" for "base"), running again
 * (members wait paused) and made the caller's machine with p's metadata, deadline,
 * auto_resume, timeout action and idle policy (for base also its user and directory);
 * NULL when none is ready or p asks for what a member is not (its own network policy; for
 * base, see pool_base_fits). */
struct machine *pool_take(struct core *core, const char *ref, const char *snapshot,
                          const struct machine_params *p);

/* Whether a create with p may take a member of the base template's pool: nothing but
 * what can be set on a running machine differs from a default create (no layers, image,
 * snapshot, network policy, volumes or environment; the members' vcpus and memory; the
 * default runtime). */
int pool_base_fits(struct core *core, const struct machine_params *p);

/* {"size","ready","creating"} of ref's pool (new reference). */
json_t *pool_view(struct core *core, const char *ref, int size);

/* Checks every pool now and every few seconds from now on (call once, after recovery). */
void pools_start(struct core *core);

/* Asks for a check soon (a member was taken, a pool or a template changed). */
void pools_kick(struct core *core);

/* Stops the timer (at exit). */
void pools_stop(struct core *core);

#endif
