/* Host cgroup accounting of a sandbox. Any thread (reads /sys only). */
#ifndef NS_CGROUP_H
#define NS_CGROUP_H

#include <sys/types.h>

#include "../common/err.h"

/* Memory in use, its limit (bytes) and CPU time used (ns) of sandbox `id`; -1 for what
 * the host does not tell. */
void cgroup_sandbox_usage(const char *id, long long *mem, long long *limit, long long *cpu_ns);

/* The same for one host process (a VM's QEMU): resident memory and CPU time from
 * /proc/PID; *limit from its `-m MB` argument when it has one. -1 for what is unknown. */
void cgroup_process_usage(pid_t pid, long long *mem, long long *limit, long long *cpu_ns);

/* Freezes (frozen 1) or thaws sandbox `id`'s processes with its cgroup's freezer (v1
 * freezer.state, else v2 cgroup.freeze), and waits until the kernel says it is done (at
 * most a second). 0, or -errno with e set (-ENOENT: no such cgroup). Blocking, short. */
int cgroup_sandbox_freeze(const char *id, int frozen, struct err *e);

#endif
