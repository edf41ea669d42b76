/* A machine's identity after it was restored from another machine's checkpoint (fork,
 * snapshots): hostname (kernel and /etc), /etc/hosts, /etc/machine-id, the environment
 * of what it starts from then on, and fresh entropy mixed into the guest's random
 * pool. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

/* Replaces `path` with `text` (a new file renamed over it; never writes through a link). */
static int replace_file(const char *path, const char *text)
{
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%s.nsagent", path);
        unlink(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -1;
        size_t n = strlen(text);
        int ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
        close(fd);
        if (!ok || rename(tmp, path) < 0) {
                int saved = errno;
                unlink(tmp);
                errno = saved ? saved : EIO;
                return -1;
        }
        return 0;
}

static int valid_hostname(const char *h)
{
        size_t n = strlen(h);
        if (n == 0 || n > 63)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!(h[i] == '-' || h[i] == '_' || (h[i] >= '0' && h[i] <= '9') ||
                      (h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z')))
                        return 0;
        return 1;
}

static int valid_machine_id(const char *id)
{
        if (strlen(id) != 32)
                return 0;
        for (int i = 0; i < 32; i++)
                if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
                        return 0;
        return 1;
}

/* A dotted IPv4 address. */
static int valid_ipv4(const char *s)
{
        unsigned b[4];
        char end;
        return s && sscanf(s, "%u.%u.%u.%u%c", &b[0], &b[1], &b[2], &b[3], &end) == 4 &&
               b[0] < 256 && b[1] < 256 && b[2] < 256 && b[3] < 256;
}

/* Runs `ip` with args and waits; 0 when it succeeded. */
static int run_ip(const char *const argv[])
{
        pid_t pid = fork();
        if (pid == 0) {
                execvp("ip", (char *const *)argv);
                _exit(127);
        }
        int st = 0;
        while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        return pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* A VM's own kernel keeps the address it was checkpointed with: a restored copy in
 * another network takes its own (gVisor machines take it from their namespace). */
static int readdress(const char *addr, const char *gw)
{
        char cidr[32];
        snprintf(cidr, sizeof(cidr), "%s/30", addr);
        const char *flush[] = {"ip", "addr", "flush", "dev", "eth0", NULL};
        const char *add[] = {"ip", "addr", "add", cidr, "dev", "eth0", NULL};
        const char *route[] = {"ip", "route", "replace", "default", "via", gw, NULL};
        return run_ip(flush) == 0 && run_ip(add) == 0 && run_ip(route) == 0 ? 0 : -1;
}

/* The environment of what the agent starts from now on (its own, which children
 * inherit): env, a string map, set over what the checkpoint had. -1 when malformed. */
static int apply_env(json_t *env)
{
        const char *k;
        json_t *v;
        if (env && !json_is_object(env))
                return -1;
        json_object_foreach(env, k, v)
        {
                if (!json_is_string(v) || !k[0] || strchr(k, '='))
                        return -1;
        }
        json_object_foreach(env, k, v)
        {
                if (setenv(k, json_string_value(v), 1) < 0)
                        return -1;
        }
        return 0;
}

void identity_apply(struct agent *a, uint32_t chan, json_t *req)
{
        const char *host = json_string_value(json_object_get(req, "hostname"));
        const char *mid = json_string_value(json_object_get(req, "machine_id"));
        const char *seed = json_string_value(json_object_get(req, "seed"));
        if (!host || !mid || !valid_hostname(host) || !valid_machine_id(mid)) {
                agent_send_error(a, chan, "invalid_request",
                                 "identity needs a hostname and a 32-hex-digit machine_id");
                return;
        }
        char hosts[256], line[80];
        snprintf(hosts, sizeof(hosts),
                 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n127.0.1.1\t%s\n", host);
        snprintf(line, sizeof(line), "%s\n", host);
        if (sethostname(host, strlen(host)) < 0) {
                agent_send_errno(a, chan, errno, "sethostname");
                return;
        }
        if (replace_file("/etc/hostname", line) < 0 || replace_file("/etc/hosts", hosts) < 0) {
                agent_send_errno(a, chan, errno, "/etc/hostname");
                return;
        }
        snprintf(line, sizeof(line), "%s\n", mid);
        if (replace_file("/etc/machine-id", line) < 0) {
                agent_send_errno(a, chan, errno, "/etc/machine-id");
                return;
        }
        const char *addr = json_string_value(json_object_get(req, "address"));
        const char *gw = json_string_value(json_object_get(req, "gateway"));
        if (addr && (!valid_ipv4(addr) || !valid_ipv4(gw) || readdress(addr, gw) < 0)) {
                agent_send_error(a, chan, "io_error", "could not take the address %.32s", addr);
                return;
        }
        if (apply_env(json_object_get(req, "env")) < 0) {
                agent_send_error(a, chan, "invalid_request", "env: a map of names to strings");
                return;
        }
        int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) { /* mixing in never lowers entropy; a failure here is harmless */
                if (seed && write(fd, seed, strlen(seed)) < 0)
                        errno = 0;
                close(fd);
        }
        agent_send_json(a, NSP_RESP, chan, json_pack("{s:s}", "hostname", host));
}

void env_apply(struct agent *a, uint32_t chan, json_t *req)
{
        if (apply_env(json_object_get(req, "env")) < 0) {
                agent_send_error(a, chan, "invalid_request", "env: a map of names to strings");
                return;
        }
        agent_send_json(a, NSP_RESP, chan, json_object());
}
