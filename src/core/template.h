/* Templates. Today: the default template `base`, Debian 12 built with debootstrap
 * (minbase + ca-certificates, python3, git, curl, procps, iproute2) on first need,
 * stored once under the cache dir and shared read-only by every machine. Loop thread. */
#ifndef NS_TEMPLATE_H
#define NS_TEMPLATE_H

#include <limits.h>

#include "../daemon/children.h"
#include "../daemon/loop.h"

enum tpl_state { TPL_MISSING, TPL_BUILDING, TPL_READY, TPL_FAILED };

struct tpl_waiter {
        void (*done)(struct tpl_waiter *w, const char *rootfs, const char *error);
        struct tpl_waiter *next;
};

struct templates {
        char dir[PATH_MAX + 16];         /* CACHE/templates */
        char base_rootfs[PATH_MAX + 32]; /* CACHE/templates/base/rootfs */
        enum tpl_state base_state;
        char error[256];
        struct tpl_waiter *waiters;
        struct child_watch build;
        struct loop_io build_io; /* the build's output, logged line by line */
        char line[1024];
        size_t line_len;
        struct loop *loop;
        struct children *children;
};

/* Looks for an already built base under cache_dir. Returns 0 or -errno. */
int templates_init(struct templates *t, struct loop *loop, struct children *children,
                   const char *cache_dir, struct err *e);

/* Calls w->done once the base rootfs exists (now, if it does), building it first if
 * needed; on failure done gets an error text. `w` is borrowed until done runs or
 * templates_cancel(). */
void templates_need_base(struct templates *t, struct tpl_waiter *w);

/* Withdraws a waiter (its requester went away). */
void templates_cancel(struct templates *t, struct tpl_waiter *w);

/* "missing", "building", "ready" or "failed". */
const char *templates_base_state(const struct templates *t);

#endif
