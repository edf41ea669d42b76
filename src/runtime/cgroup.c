/* What the host's cgroups say a sandbox uses (runsc names its cgroup after the
 * container ID), v1 (memory/, cpuacct/) or v2 (unified). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"

/* The first number in a file (or the value after `key` when given); -1 if none. */
static long long read_number(const char *path, const char *key)
{
        FILE *f = fopen(path, "re");
        if (!f)
                return -1;
        char line[256];
        long long v = -1;
        while (fgets(line, sizeof(line), f)) {
                size_t kl = key ? strlen(key) : 0;
                if (key && (strncmp(line, key, kl) != 0 || line[kl] != ' '))
                        continue;
                v = strtoll(line + kl, NULL, 10);
                break;
        }
        fclose(f);
        return v;
}

void sandbox_usage(const char *id, long long *mem, long long *limit, long long *cpu_ns)
{
        char p[512];
        snprintf(p, sizeof(p), "/sys/fs/cgroup/memory/%s/memory.usage_in_bytes", id);
        *mem = read_number(p, NULL);
        snprintf(p, sizeof(p), "/sys/fs/cgroup/memory/%s/memory.limit_in_bytes", id);
        *limit = read_number(p, NULL);
        snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuacct/%s/cpuacct.usage", id);
        *cpu_ns = read_number(p, NULL);
        if (*mem >= 0)
                return;
        snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/memory.current", id);
        *mem = read_number(p, NULL);
        snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/memory.max", id);
        *limit = read_number(p, NULL);
        snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/cpu.stat", id);
        long long us = read_number(p, "usage_usec");
        *cpu_ns = us >= 0 ? us * 1000 : -1;
}
