/* Host cgroup accounting of a sandbox. Any thread (reads /sys only). */
#ifndef NS_CGROUP_H
#define NS_CGROUP_H

/* Memory in use, its limit (bytes) and CPU time used (ns) of sandbox `id`; -1 for what
 * the host does not tell. */
void sandbox_usage(const char *id, long long *mem, long long *limit, long long *cpu_ns);

#endif
