/* The template registry: names (name:tag) pointing at ready builds, what machines
 * start from (a build's snapshot), deletion guarded by what depends on a template, and
 * the clean-up of builds no name points at any more. Loop thread only. */
#ifndef NS_TEMPLATES_H
#define NS_TEMPLATES_H

#include <jansson.h>

#include "../common/err.h"
#include "../store/store.h"

struct core;

/* Finds the ready build `ref` names (any spelling template_ref_norm accepts). On success
 * *name holds the name and *build the build (store_build_rec_free). Errors (*code):
 * invalid_field (a malformed name), template_not_found, internal. */
int templates_lookup(struct core *core, const char *ref, struct template_rec *name,
                     struct build_rec *build, struct err *e);

/* What machines of template `ref` start from: its canonical name (TEMPLATE_REF_MAX + 1
 * bytes) and the snapshot of its build (MACHINE_ID_MAX bytes). Errors as templates_lookup. */
int templates_snapshot(struct core *core, const char *ref, char *canonical, char *snapshot,
                       struct err *e);

/* Points `ref` (canonical) at build_id, then collects builds left without a name. */
int templates_set(struct core *core, const char *ref, const char *build_id, struct err *e);

/* Adds the name `alias` (any spelling) for the build `ref` names. Errors as
 * templates_lookup, plus conflict when alias names another build already. */
int templates_alias(struct core *core, const char *ref, const char *alias, char *canonical,
                    struct err *e);

/* Removes the name `ref`. When it is the build's last name the build goes too, unless
 * machines started from it still exist or other templates were built FROM it
 * (template_in_use). Errors (*code): invalid_field, template_not_found,
 * template_in_use, internal. */
int templates_delete(struct core *core, const char *ref, struct err *e);

/* Deletes the snapshots of ready builds no name points at and nothing uses. */
void templates_collect(struct core *core);

/* The API's view of a name and its build (new reference). */
json_t *templates_view(const struct template_rec *name, const struct build_rec *build);

#endif
