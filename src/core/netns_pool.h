/* The daemon's pool of network namespaces made ahead of machines (runtime/net.h,
 * "pool"): a machine's create, a fork's children and a warm pool's refill take one
 * instead of making their own, and a background helper makes the next. Loop thread. */
#ifndef NS_NETNS_POOL_H
#define NS_NETNS_POOL_H

#include "../common/children.h"
#include "../common/loop.h"

#define NETNS_POOL_MAX 64

struct core;

struct netns_pool {
        unsigned want;                     /* --netns-pool (0: off) */
        unsigned ready[NETNS_POOL_MAX];    /* built slots, waiting */
        unsigned nready;                   /* how many */
        unsigned building[NETNS_POOL_MAX]; /* slots the helper is making */
        unsigned nbuilding;                /* > 0 while the helper runs */
        unsigned failures;                 /* helpers in a row that failed */
        struct child_watch helper;
        struct loop_timer timer; /* the next refill */
};

/* Starts filling the pool (core->netns_pool.want set; no-op when 0 or without
 * networking). */
void netns_pool_start(struct core *core);

/* A built slot, now given to machine `id` (its claim names it), or 0 when none is ready
 * (the caller claims one itself). Schedules a refill. */
unsigned netns_pool_take(struct core *core, const char *id);

/* At the daemon's exit: waits for a helper under way and deletes every namespace of the
 * pool (blocks tens of ms each). */
void netns_pool_stop(struct core *core);

#endif
