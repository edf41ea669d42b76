/* Deployments, their revisions and their runs (store/deployments.c): each row one JSON
 * document that core/deploy.c owns the shape of; the store keys and orders them.
 * Included by store.h; the same rules apply (loop thread, 0 or -errno with e set). */
#ifndef NS_STORE_DEPLOYMENTS_H
#define NS_STORE_DEPLOYMENTS_H
#include <jansson.h>
#include <stdint.h>

/* Writes deployment `name`'s document (a new row, or its document replaced). */
int store_deploy_put(struct store *st, const char *name, const json_t *doc, struct err *e);

/* Reads deployment `name`'s document (*doc a new reference). -ENOENT when absent. */
int store_deploy_get(struct store *st, const char *name, json_t **doc, struct err *e);

/* Up to `limit` deployments' documents after cursor `after` in creation order: *docs a
 * new array, *next the cursor of its last (after when empty), *more (may be NULL)
 * whether more follow. */
int store_deploy_list(struct store *st, int64_t after, unsigned limit, json_t **docs, int64_t *next,
                      int *more, struct err *e);

/* Deletes deployment `name` with its revisions and runs. -ENOENT when absent. */
int store_deploy_delete(struct store *st, const char *name, struct err *e);

/* Writes revision `number` of deployment `name` (which must exist). */
int store_revision_put(struct store *st, const char *name, int64_t number, const json_t *doc,
                       struct err *e);

/* Reads revision `number` of `name`. -ENOENT when absent. */
int store_revision_get(struct store *st, const char *name, int64_t number, json_t **doc,
                       struct err *e);

/* Up to `limit` revisions of `name` numbered below `before`, newest first (*docs a new
 * array). */
int store_revision_list(struct store *st, const char *name, int64_t before, unsigned limit,
                        json_t **docs, struct err *e);

/* Writes run `id` of deployment `name` (a new row, or its document replaced). */
int store_run_put(struct store *st, const char *id, const char *name, const json_t *doc,
                  struct err *e);

/* Reads run `id`. -ENOENT when absent. */
int store_run_get(struct store *st, const char *id, json_t **doc, struct err *e);

/* Up to `limit` runs of `name` older than cursor `before` (0: from the newest), newest
 * first: *docs a new array, *next the cursor of its last, *more (may be NULL) whether
 * older ones follow. */
int store_run_list(struct store *st, const char *name, int64_t before, unsigned limit,
                   json_t **docs, int64_t *next, int *more, struct err *e);

/* Every run still starting or running, or holding a retained machine (for recovery),
 * oldest first (*docs a new array; at most 10000). */
int store_run_open(struct store *st, json_t **docs, struct err *e);

#endif
