/* The gVisor driver: an overlay mount (template below, the machine's layer above),
 * an OCI bundle, and `runsc run` with nsagent as the container's process speaking the
 * agent protocol over the container's stdio pipes. runsc gets its own --root under
 * the state dir, so `runsc list` there shows exactly our machines. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/log.h"
#include "../common/util.h"
#include "driver.h"
#include "cgroup.h"
#include "gvisor_internal.h"
#include "overlay.h"
#include "shim.h"

static int remove_tree(const char *path);

void gvisor__runsc_root(const struct driver_ctx *ctx, char *out, size_t cap)
{
        snprintf(out, cap, "%s/runsc", ctx->state_dir);
}

/* A gVisor machine runs about 40 host threads (sentry and gofer), and every thread takes
 * a PID: Debian's kernel.pid_max of 32768 stops a host near 780 machines, with creates
 * that fail or hang. Raised to the 64-bit kernel's ceiling, as for a host of containers. */
#define PID_MAX_WANTED 4194304

static void raise_pid_max(void)
{
        char now[32];
        if (read_small("/proc/sys/kernel/pid_max", now, sizeof(now)) <= 0 ||
            atol(now) >= PID_MAX_WANTED)
                return;
        FILE *f = fopen("/proc/sys/kernel/pid_max", "we");
        int ok = f && fprintf(f, "%d\n", PID_MAX_WANTED) > 0;
        if (f && fclose(f) != 0)
                ok = 0;
        if (ok)
                log_info("host_pid_max_raised", "from=%ld to=%d", atol(now), PID_MAX_WANTED);
        else
                log_warn("host_pid_max_low",
                         "pid_max=%ld (about %ld machines fit; raise "
                         "kernel.pid_max)",
                         atol(now), atol(now) / 42);
}

static int gv_probe(const struct driver_ctx *ctx, struct err *e)
{
        (void)ctx;
        if (access("/usr/bin/runsc", X_OK) < 0 && access("/usr/sbin/runsc", X_OK) < 0)
                return err_set(e, ENOENT, "runsc is not installed (Debian package runsc)");
        raise_pid_max();
        return 0;
}

int gvisor__mkdir_in(const char *dir, const char *name, mode_t mode, char *out, size_t cap,
                     struct err *e)
{
        if (snprintf(out, cap, "%s/%s", dir, name) >= (int)cap)
                return err_set(e, ENAMETOOLONG, "path in %s", dir);
        if (mkdir(out, mode) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", out);
        return chmod(out, mode) < 0 ? err_set(e, errno, "chmod %s", out) : 0;
}

static json_t *mount_entry(const char *dst, const char *type, const char *src, const char *opts)
{
        json_t *m = json_pack("{s:s,s:s,s:s}", "destination", dst, "type", type, "source", src);
        if (opts) {
                json_t *o = json_array();
                char tmp[256];
                snprintf(tmp, sizeof(tmp), "%s", opts);
                for (char *t = strtok(tmp, ","); t; t = strtok(NULL, ","))
                        json_array_append_new(o, json_string(t));
                json_object_set_new(m, "options", o);
        }
        return m;
}

/* The statx fix beside the agent binary (src/agent/statx_fix.c); -1 when absent. */
static int statx_fix_path(const struct driver_ctx *ctx, char *out, size_t cap)
{
        const char *slash = strrchr(ctx->agent_path, '/');
        int n = slash ? (int)(slash - ctx->agent_path) : 0;
        if (snprintf(out, cap, "%.*s%slibnsstatx.so", n, ctx->agent_path, slash ? "/" : "") >=
            (int)cap)
                return -1;
        return access(out, R_OK);
}

static json_t *oci_config(const struct driver_ctx *ctx, const struct machine_spec *s,
                          const char *rootfs)
{
        json_t *env = json_array();
        for (char *const *e = s->env; e && *e; e++)
                json_array_append_new(env, json_string(*e));
        json_t *mounts = json_array();
        json_array_append_new(mounts, mount_entry("/proc", "proc", "proc", NULL));
        json_array_append_new(mounts, mount_entry("/dev", "tmpfs", "tmpfs", "nosuid,mode=755"));
        json_array_append_new(mounts,
                              mount_entry("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
        json_array_append_new(
            mounts, mount_entry("/.nsagent/nsagent", "bind", ctx->agent_path, "rbind,ro"));
        char fix[PATH_MAX];
        if (statx_fix_path(ctx, fix, sizeof(fix)) == 0)
                json_array_append_new(
                    mounts, mount_entry("/.nsagent/libnsstatx.so", "bind", fix, "rbind,ro"));
        for (size_t i = 0; i < s->nmounts; i++) /* volumes: served by the gofer */
                json_array_append_new(
                    mounts, mount_entry(s->mounts[i].dest, "bind", s->mounts[i].source,
                                        s->mounts[i].read_only ? "rbind,ro" : "rbind,rw"));
        /* the usual container capability set, so root in the machine can switch users;
         * CAP_SYS_ADMIN only for the agent, which drops it from what it starts */
        static const char *const caps[] = {
            "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
            "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
            "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
            "CAP_KILL",    "CAP_AUDIT_WRITE",  "CAP_SYS_ADMIN",
        };
        json_t *capset = json_array();
        for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
                json_array_append_new(capset, json_string(caps[i]));
        long long quota = (long long)(s->vcpus ? s->vcpus : 1) * 100000;
        long long mem = (long long)(s->memory_mb ? s->memory_mb : 512) << 20;
        json_t *cfg =
            json_pack("{s:s,s:{s:b,s:{s:i,s:i},s:[s],s:o,s:s},s:{s:s,s:b},s:s,s:o,"
                      "s:{s:[{s:s},{s:s},{s:s},{s:s},{s:s}],s:{s:{s:I},s:{s:I,s:I}}}}",
                      "ociVersion", "1.0.2", "process", "terminal", 0, "user", "uid", 0, "gid", 0,
                      "args", "/.nsagent/nsagent", "env", env, "cwd", "/", "root", "path", rootfs,
                      "readonly", 0, "hostname", s->hostname, "mounts", mounts, "linux",
                      "namespaces", "type", "pid", "type", "ipc", "type", "uts", "type", "mount",
                      "type", "network", "resources", "memory", "limit", (json_int_t)mem, "cpu",
                      "quota", (json_int_t)quota, "period", (json_int_t)100000);
        if (s->net) { /* the sandbox joins the machine's namespace, not a new one */
                char path[128];
                snprintf(path, sizeof(path), NET_NS_DIR "/%s", s->net->netns);
                json_t *nss = json_object_get(json_object_get(cfg, "linux"), "namespaces");
                json_object_set_new(json_array_get(nss, 4), "path", json_string(path));
        }
        json_object_set_new(json_object_get(cfg, "process"), "capabilities",
                            json_pack("{s:O,s:O,s:O,s:o}", "bounding", capset, "effective", capset,
                                      "permitted", capset, "ambient", json_array()));
        json_decref(capset);
        return cfg;
}

int gvisor__write_bundle(const struct driver_ctx *ctx, const struct machine_spec *s,
                         const char *rootfs, const char *bundle, struct err *e)
{
        json_t *cfg = oci_config(ctx, s, rootfs);
        char path[PATH_MAX + 64];
        if (snprintf(path, sizeof(path), "%s/config.json", bundle) >= (int)sizeof(path))
                return err_set(e, ENAMETOOLONG, "bundle path");
        int r = cfg && json_dump_file(cfg, path, JSON_INDENT(2)) == 0
                    ? 0
                    : err_set(e, EIO, "write %s", path);
        json_decref(cfg);
        return r;
}

int gvisor__mount_layer(const struct machine_spec *s, char *rootfs, size_t cap, struct err *e)
{
        char upper[PATH_MAX + 64], work[PATH_MAX + 64], lower[OVERLAY_LOWER_MAX], opts[4096];
        /* the upper dir's mode becomes the mode of the machine's "/" */
        int r = gvisor__mkdir_in(s->dir, "upper", 0755, upper, sizeof(upper), e);
        if (r == 0)
                r = gvisor__mkdir_in(s->dir, "work", 0700, work, sizeof(work), e);
        if (r == 0)
                r = gvisor__mkdir_in(s->dir, "rootfs", 0755, rootfs, cap, e);
        if (r == 0)
                r = overlay_lower(s, lower, sizeof(lower), e);
        if (r < 0)
                return r;
        /* the kernel takes one page of options */
        if ((size_t)snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper,
                             work) >= sizeof(opts))
                return err_set(e, E2BIG, "too many layers (fork or snapshot fewer times)");
        if (mount("overlay", rootfs, "overlay", MS_NODEV, opts) < 0)
                return err_set(e, errno, "mount overlay on %s", rootfs);
        return 0;
}

/* The shim (src/shim) runs `runsc run` and relays the agent stream on DIR/agent.sock;
 * it outlives the daemon, so a restarted daemon can attach again. */
static void exec_shim(const struct driver_ctx *ctx, const struct machine_spec *s,
                      const char *bundle, const char *log, const char *image)
{
        const char *id = s->id, *dir = s->dir;
        char root[PATH_MAX + 64];
        gvisor__runsc_root(ctx, root, sizeof(root));
        int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(null, 0);
        dup2(null, 1);
        if (lfd >= 0)
                dup2(lfd, 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (s->net && net_setup(s->net) < 0)
                _exit(126);
        const char *network = s->net ? "sandbox" : "none";
        if (image) {
                char gone[PATH_MAX + 200]; /* see container_status (gvisor_ckpt.c) */
                snprintf(gone, sizeof(gone), "%s/%s_sandbox:%s.state", root, id, id);
                execl(ctx->shim_path, "nsshim", dir, "--after-gone", gone, "--", RUNSC, "--root",
                      root, "--network", network, "restore", "--image-path", image, "--bundle",
                      bundle, id, (char *)NULL);
        } else {
                execl(ctx->shim_path, "nsshim", dir, "--", RUNSC, "--root", root, "--network",
                      network, "run", "--bundle", bundle, id, (char *)NULL);
        }
        _exit(127);
}

/* Identity inside the machine's own layer: hostname, hosts and a fresh machine-id. */
static int write_identity(const char *rootfs, const char *hostname, struct err *e)
{
        char path[PATH_MAX + 64], idhex[33];
        unsigned char raw[16];
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
                if (fd >= 0)
                        close(fd);
                return err_set(e, EIO, "random machine-id");
        }
        close(fd);
        for (int i = 0; i < 16; i++)
                snprintf(idhex + 2 * i, 3, "%02x", raw[i]);
        char texts[3][512];
        int lens[3];
        lens[0] = snprintf(texts[0], sizeof(texts[0]), "%s\n", hostname);
        lens[1] = snprintf(texts[1], sizeof(texts[1]),
                           "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n127.0.1.1\t%s\n",
                           hostname);
        lens[2] = snprintf(texts[2], sizeof(texts[2]), "%s\n", idhex);
        static const char *const names[] = {"etc/hostname", "etc/hosts", "etc/machine-id"};
        for (unsigned i = 0; i < 3; i++) {
                if (snprintf(path, sizeof(path), "%s/%s", rootfs, names[i]) >= (int)sizeof(path))
                        return err_set(e, ENAMETOOLONG, "identity path");
                unlink(path); /* never write through a link the template may have */
                int f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (f < 0 || write(f, texts[i], (size_t)lens[i]) != lens[i]) {
                        int saved = errno;
                        if (f >= 0)
                                close(f);
                        return err_set(e, saved ? saved : EIO, "write %s", path);
                }
                close(f);
        }
        return 0;
}

/* Starts the shim (running or restoring the container) and connects to its socket. */
void gvisor__runsc_enter(const char *id)
{
        if (net_enter(id) < 0)
                _exit(125);
}

int gvisor__launch(const struct driver_ctx *ctx, const struct machine_spec *s, const char *image,
                   struct machine_run *run, struct err *e)
{
        const char *dir = s->dir;
        char bundle[PATH_MAX + 64], log[PATH_MAX + 64];
        snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
        snprintf(log, sizeof(log), "%s/runsc.log", dir);
        /* the shim of a checkpointed sandbox may still be on its way out: never reach
         * it, only the new one (which binds the path afresh) */
        char sock[PATH_MAX + 64];
        snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
        unlink(sock);
        pid_t pid = fork_child();
        if (pid == 0)
                exec_shim(ctx, s, bundle, log, image);
        if (pid < 0)
                return err_set(e, errno, "fork shim");
        run->pid = pid;
        run->agent_rfd = run->agent_wfd = -1;
        return 0;
}

static int gv_start(const struct driver_ctx *ctx, const struct machine_spec *s,
                    struct machine_run *run, struct err *e)
{
        char rootfs[PATH_MAX + 64], bundle[PATH_MAX + 64];
        if (mkdir(s->dir, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", s->dir);
        int r = gvisor__mount_layer(s, rootfs, sizeof(rootfs), e);
        if (r == 0)
                r = write_identity(rootfs, s->hostname, e);
        if (r == 0)
                r = gvisor__mkdir_in(s->dir, "bundle", 0700, bundle, sizeof(bundle), e);
        if (r == 0)
                r = gvisor__write_bundle(ctx, s, rootfs, bundle, e);
        if (r < 0)
                return r;
        return gvisor__launch(ctx, s, NULL, run, e);
}

static int remove_tree(const char *path)
{
        const char *argv[] = {"rm", "-rf", "--one-file-system", path, NULL};
        return run_quiet(argv);
}

/* Kills and deletes the container (a child in the machine's network namespace: runsc
 * reaches the sandbox only from there; the helper keeps the host's mounts). */
/* Whether pid still runs (a zombie, waiting for the daemon to reap it, does not). */
static int process_alive(pid_t pid)
{
        if (pid <= 0 || kill(pid, 0) < 0)
                return 0;
        char path[64], buf[256];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (read_small(path, buf, sizeof(buf)) < 0)
                return 0;
        const char *s = strrchr(buf, ')');
        return !(s && s[1] == ' ' && s[2] == 'Z');
}

#define STOP_LIMIT 600 /* rounds of 50 ms: a launcher still restoring gets 30 s */

/* Stops the container for good: kill and delete until runsc no longer knows it and its
 * launcher (the shim of a start or restore) is gone — a restore still loading creates
 * the container only after a first delete found nothing, and would leave a sandbox
 * running with its machine's directory removed. */
static void stop_container(const struct driver_ctx *ctx, const char *id, pid_t launcher)
{
        pid_t pid = fork_child();
        if (pid != 0) {
                while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return;
        }
        char root[PATH_MAX + 64];
        gvisor__runsc_root(ctx, root, sizeof(root));
        const char *kill_argv[] = {RUNSC, "--root", root, "kill", id, "KILL", NULL};
        const char *del_argv[] = {RUNSC, "--root", root, "delete", "--force", id, NULL};
        const char *state_argv[] = {RUNSC, "--root", root, "state", id, NULL};
        gvisor__runsc_enter(id);
        for (int i = 0; i < STOP_LIMIT; i++) {
                run_quiet(kill_argv);
                /* runsc serialises on its own locks; under load a delete can lose a race */
                run_quiet(del_argv);
                if (run_quiet(state_argv) != 0 && !process_alive(launcher))
                        _exit(0);
                usleep(50000);
        }
        if (process_alive(launcher)) /* it never finished: nothing of it may go on */
                kill(-launcher, SIGKILL);
        _exit(1);
}

/* The helper: stop the container, remove its network, unmount the layer, remove the
 * dir. */
static void destroy_helper(const struct driver_ctx *ctx, const char *id, const char *dir,
                           const char *keep_layer, pid_t launcher)
{
        char rootfs[PATH_MAX + 64];
        stop_container(ctx, id, launcher);
        if (ctx->net && ctx->net->enabled)
                net_teardown(ctx->net, id);
        struct err e = {0};
        int kept = !keep_layer || gvisor__seal(ctx, dir, keep_layer, &e) == 0;
        if (!kept)
                fprintf(stderr, "nullspace: keeping the layer of %s: %s\n", id, e.msg);
        snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
        for (int i = 0; i < 50 && umount2(rootfs, 0) < 0 && errno == EBUSY; i++)
                usleep(20000);
        umount2(rootfs, MNT_DETACH);
        if (remove_tree(dir) != 0)
                _exit(1);
        _exit(kept ? 0 : 2);
}

static pid_t gv_destroy(const struct driver_ctx *ctx, const char *id, const char *dir,
                        const char *keep_layer, pid_t launcher, struct err *e)
{
        pid_t pid = shim_fork_helper();
        if (pid == 0)
                destroy_helper(ctx, id, dir, keep_layer, launcher);
        if (pid < 0)
                return err_set(e, errno, "fork destroy helper");
        return pid;
}

int gvisor__is_mounted(const char *path)
{
        char parent[PATH_MAX + 80];
        struct stat a, b;
        snprintf(parent, sizeof(parent), "%s/..", path);
        return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* runsc names the sandbox's cgroup after the container: what the machine costs. */
static void gv_usage(const struct driver_ctx *ctx, const char *id, const char *dir,
                     struct machine_usage *u)
{
        (void)ctx, (void)dir;
        cgroup_sandbox_usage(id, &u->mem_bytes, &u->mem_limit, &u->cpu_ns);
}

/* The cgroup freezer stops the sentry, its gofer and their threads as they are;
 * runsc's own pause (a control message to the sentry, ~25 ms a command) is the slower
 * raw primitive bench/lifecycle compares against. */
static int gv_pause(const struct driver_ctx *ctx, const char *id, const char *dir, int paused,
                    struct err *e)
{
        (void)ctx, (void)dir;
        return cgroup_sandbox_freeze(id, paused, e);
}

const struct driver gvisor_driver = {
    .name = "gvisor",
    .layer_file = "upper",
    .networking = 1,
    .checkpoints_mounts = 1,
    .probe = gv_probe,
    .start = gv_start,
    .connect = shim_connect,
    .attach = shim_attach,
    .hibernate = gvisor__hibernate,
    .restore = gvisor__restore,
    .seal = gvisor__seal,
    .destroy = gv_destroy,
    .usage = gv_usage,
    .pause = gv_pause,
};
