/* The default template `base`: Debian 12 built with debootstrap (minbase +
 * ca-certificates, python3, git, curl, procps, iproute2), once per cache dir, shared
 * read-only by every machine. The daemon starts building it at start-up (a prep task,
 * prep.h) so the first create rarely waits. Loop thread. */
#ifndef NS_BASE_ROOTFS_H
#define NS_BASE_ROOTFS_H

#include <limits.h>

#include "prep.h"

/* A base build that runs longer than this is killed and fails: a create waits for the
 * base at most this long (docs/configuration.md, "First run"). */
#define TPL_BUILD_LIMIT_S 1800

struct templates {
        char dir[PATH_MAX + 16];         /* CACHE/templates */
        char base_rootfs[PATH_MAX + 32]; /* CACHE/templates/base/rootfs */
        struct prep base;                /* building it */
};

/* Looks for an already built base under cache_dir. Returns 0 or -errno. */
int base_rootfs_init(struct templates *t, struct loop *loop, struct children *children,
                     const char *cache_dir, struct err *e);

/* Frees what base_rootfs_init allocated. */
void base_rootfs_fini(struct templates *t);

#endif
