/* Usage over time: every running machine is sampled every USAGE_INTERVAL_MS (the daemon's
 * --metrics-interval-ms) into a ring of USAGE_RING_N points (an hour at 5 s): CPU time and memory
 * as its runtime reports them on the host, the bytes of its writable layer (recounted every
 * USAGE_DISK_EVERY samples by a child), and the bytes through its network interface. Loop thread
 * only. */
#ifndef NS_CORE_MONITOR_H
#define NS_CORE_MONITOR_H
#include <stddef.h>
#include <stdint.h>

struct core;
struct machine;

#define USAGE_INTERVAL_MS 5000
#define USAGE_RING_N      720
#define USAGE_DISK_EVERY  12

/* One sample; a value is -1 when unknown (no network, a layer not counted yet). */
struct usage_point {
        int64_t ts; /* ms since epoch */
        int64_t cpu_ns, mem_bytes, mem_limit, disk_bytes, net_rx_bytes, net_tx_bytes;
};

/* The sampling interval in force (core->usage_interval_ms, else the default). */
unsigned usage_interval_ms(const struct core *core);

/* Starts the periodic sampling. */
void monitor_start(struct core *core);

/* Stops it (rings stay until their machines go). */
void monitor_stop(struct core *core);

/* A sample of m taken now (m running), disk bytes from its last count. */
void usage_now(struct machine *m, struct usage_point *out);

/* Copies m's points newer than since_ms (oldest first) into out (cap points); returns
 * how many. */
size_t usage_series(const struct machine *m, int64_t since_ms, struct usage_point *out, size_t cap);

/* An operation under way, as the monitor stream shows its progress. */
struct op_progress {
        const char *subject_type; /* "machine" or "build" */
        const char *id;
        const char *operation; /* hibernate, fork, snapshot; build */
        const char *ref;       /* a build's template name:tag (NULL for machines) */
        int64_t bytes_done;    /* a checkpoint's image so far (-1 for builds) */
        int64_t step, steps;   /* a build's step under way and its steps (-1 for machines) */
        int64_t elapsed_ms;    /* since the operation started (machines; -1 for builds) */
};

/* Calls fn for every operation under way: machines checkpointing (the bytes their image
 * holds so far) and template builds (the step under way). */
void monitor_progress(struct core *core, void (*fn)(void *ud, const struct op_progress *p),
                      void *ud);

/* Frees m's ring (machine__free). */
void usage_ring_free(struct machine *m);

#endif
