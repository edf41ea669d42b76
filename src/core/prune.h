/* Pruning template build leftovers: the build cache, uploads and imported images grow
 * with every build until pruned (POST /v1/templates/prune). */
#ifndef NS_PRUNE_H
#define NS_PRUNE_H

#include <stdint.h>

#include "../common/err.h"

struct core;

struct prune_report {
        int64_t cache_entries; /* build cache entries forgotten */
        int contexts;          /* uploaded build contexts and image tars removed */
        int images;            /* imported images (STATE/bases) removed */
        int layers;            /* sealed layers removed (only the cache held them) */
};

/* Forgets build cache entries made more than older_than_ms ago, removes uploads older
 * than that and imported images as old that no machine, snapshot or template uses, then
 * the layers nothing refers to any more (files go in child processes). Templates and
 * machines keep working; later builds run their steps again. -EBUSY (say'd) while a
 * build is under way, -EIO on a store error. Loop thread. */
int templates_prune(struct core *core, int64_t older_than_ms, struct prune_report *out,
                    struct err *e);

#endif
