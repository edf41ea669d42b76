/* Host cgroup accounting of a sandbox. Any thread (reads /sys only). */
#ifndef NS_CGROUP_H
#define NS_CGROUP_H

#include <sys/types.h>

/* Memory in use, its limit (bytes) and CPU time used (ns) of sandbox `id`; -1 for what
 * the host does not tell. */
void cgroup_sandbox_usage(const char *id, long long *mem, long long *limit, long long *cpu_ns);

/* The same for one host process (a VM's QEMU): resident memory and CPU time from
 * /proc/PID; *limit from its `-m MB` argument when it has one. -1 for what is unknown. */
void cgroup_process_usage(pid_t pid, long long *mem, long long *limit, long long *cpu_ns);

#endif
