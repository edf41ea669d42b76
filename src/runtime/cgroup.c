/* What the host's cgroups say a sandbox uses (runsc names its cgroup after the
 * container ID), v1 (memory/, cpuacct/) or v2 (unified). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/util.h"
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

void cgroup_sandbox_usage(const char *id, long long *mem, long long *limit, long long *cpu_ns)
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

/* The value of `-m` in a NUL-separated command line, in bytes (QEMU's default unit: MiB;
 * "size=N" and a suffix are understood too); -1 without one. */
static long long mem_arg(const char *cmd, size_t len)
{
        for (size_t i = 0; i < len; i += strlen(cmd + i) + 1) {
                if (strcmp(cmd + i, "-m") != 0 || i + 3 >= len)
                        continue;
                const char *v = cmd + i + 3;
                if (strncmp(v, "size=", 5) == 0)
                        v += 5;
                char *end;
                long long n = strtoll(v, &end, 10);
                long long unit = *end == 'G' || *end == 'g'   ? 1ll << 30
                                 : *end == 'K' || *end == 'k' ? 1ll << 10
                                                              : 1ll << 20;
                return n > 0 ? n * unit : -1;
        }
        return -1;
}

void cgroup_process_usage(pid_t pid, long long *mem, long long *limit, long long *cpu_ns)
{
        char p[64];
        *mem = *limit = *cpu_ns = -1;
        snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
        FILE *f = fopen(p, "re");
        if (f) {
                char line[256];
                while (fgets(line, sizeof(line), f))
                        if (strncmp(line, "VmRSS:", 6) == 0)
                                *mem = strtoll(line + 6, NULL, 10) * 1024;
                fclose(f);
        }
        snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
        char buf[1024];
        if (read_small(p, buf, sizeof(buf)) > 0) {
                /* utime and stime are fields 14 and 15, counted after the ")" of comm */
                char *s = strrchr(buf, ')');
                unsigned long long ut, st;
                if (s && sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                                &st) == 2)
                        *cpu_ns =
                            (long long)((ut + st) *
                                        (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK)));
        }
        snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
        char cmd[8192];
        ssize_t n = read_small(p, cmd, sizeof(cmd));
        if (n > 0)
                *limit = mem_arg(cmd, (size_t)n);
}

static int write_text(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, text, strlen(text));
        int r = n == (ssize_t)strlen(text) ? 0 : -(errno ? errno : EIO);
        close(fd);
        return r;
}

/* Whether the file holds `want` (v1: the state word; v2: a "frozen N" line). */
static int reads_as(const char *path, const char *want)
{
        char buf[256];
        ssize_t n = read_small(path, buf, sizeof(buf));
        return n > 0 && strstr(buf, want) != NULL;
}

int cgroup_sandbox_freeze(const char *id, int frozen, struct err *e)
{
        char ctl[512], state[512];
        snprintf(ctl, sizeof(ctl), "/sys/fs/cgroup/freezer/%s/freezer.state", id);
        int v1 = access(ctl, F_OK) == 0;
        if (v1) {
                snprintf(state, sizeof(state), "%s", ctl);
        } else {
                snprintf(ctl, sizeof(ctl), "/sys/fs/cgroup/%s/cgroup.freeze", id);
                snprintf(state, sizeof(state), "/sys/fs/cgroup/%s/cgroup.events", id);
        }
        const char *thaw = v1 ? "THAWED" : "0", *word = frozen ? (v1 ? "FROZEN" : "1") : thaw;
        const char *want = v1 ? word : frozen ? "frozen 1" : "frozen 0";
        /* A v1 freezer can stay FREEZING when a task was busy (in a syscall the freezer
         * does not interrupt): the kernel tries once per write, so write again; and now
         * and then thaw and freeze anew, which unsticks what a retry does not (as runc
         * does). At most about a second. */
        for (int i = 0; i < 4000; i++) {
                if (frozen && i && i % 200 == 0)
                        write_text(ctl, thaw);
                int r = i % 4 == 0 ? write_text(ctl, word) : 0;
                if (r < 0)
                        return err_set(e, -r, "%s the cgroup of %s",
                                       frozen ? "freezing" : "thawing", id);
                if (reads_as(state, want))
                        return 0;
                struct timespec ts = {0, 50000};
                nanosleep(&ts, NULL);
        }
        if (frozen) /* never leave it half frozen */
                write_text(ctl, thaw);
        return err_set(e, ETIMEDOUT, "the cgroup of %s did not become %s", id,
                       frozen ? "frozen" : "thawed");
}
