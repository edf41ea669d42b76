/* A built-in template's apt and npm steps, run on the host (build_internal.h).
 * Unpacking a few hundred Debian packages inside a gVisor machine takes the better part
 * of an hour (every file operation crosses the gofer); in a chroot on the host the same
 * step takes about two minutes. Only steps that come with the daemon run this way: the
 * packages are Debian's, installed by apt with the archive's signatures checked, the
 * same trust debootstrap gets when it builds the base, or npm packages pinned to exact
 * versions in the daemon's own definitions (docs/workspaces.md). The layer is kept in
 * the cache directory under its cache key, so every daemon sharing the cache (the test
 * suite's many) builds it once. Loop thread only. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "build_internal.h"
#include "build_spec.h"
#include "machine_internal.h"
#include "trust.h"

#define HOST_STEP_LIMIT_S 1800

int build_step_on_host(const json_t *step)
{
        const char *op = json_string_value(json_object_get(step, "op")) ?: "";
        return !strcmp(op, "apt") || !strcmp(op, "npm");
}

/* $1 the layer to make, $2 the overlay's lower directories, $3 the step's script.
 * One daemon at a time per layer (flock); the upper directory of an overlay over the
 * layers so far becomes the layer, renamed into place when the step succeeded. The
 * chroot lives in private mount and PID namespaces: its mounts and any process a
 * package leaves running end with it. /dev holds the usual character devices only,
 * /tmp and /run are tmpfs (nothing of them lands in the layer), services are kept
 * from starting (policy-rc.d). The chroot directory is only ever rmdir'ed: were a
 * mount left on it, a recursive removal would reach into the layers below. */
static const char host_script[] =
    "set -e\n"
    "dest=$1 lower=$2 script=$3\n"
    "mkdir -p \"$(dirname \"$dest\")\"\n"
    "exec 9>\"$dest.lock\"\n"
    "flock 9\n"
    "if [ -d \"$dest\" ]; then echo 'the layer was built meanwhile'; exit 0; fi\n"
    "t=$dest.tmp\n"
    "if [ -d \"$t/root\" ]; then rmdir \"$t/root\"; fi\n"
    "rm -rf \"$t\"\n"
    "mkdir -p \"$t/up\" \"$t/work\" \"$t/root\"\n"
    "unshare --mount --pid --fork --propagation private /bin/sh -ec '\n"
    "  t=$1 lower=$2 script=$3 r=$1/root\n"
    "  mount -t overlay overlay -o \"lowerdir=$lower,upperdir=$t/up,workdir=$t/work\" \"$r\"\n"
    "  mount -t proc proc \"$r/proc\"\n"
    "  mount -t tmpfs -o mode=755 tmpfs \"$r/dev\"\n"
    "  for n in null zero full random urandom tty; do\n"
    "    touch \"$r/dev/$n\"; mount --bind \"/dev/$n\" \"$r/dev/$n\"; done\n"
    "  mount -t tmpfs -o mode=1777 tmpfs \"$r/tmp\"\n"
    "  mount -t tmpfs -o mode=755 tmpfs \"$r/run\"\n"
    "  mount --bind /etc/resolv.conf \"$r/etc/resolv.conf\"\n"
    /* what the host trusts (a TLS-inspecting proxy's CA too) for npm's HTTPS; Node
     * reads it through NODE_EXTRA_CA_CERTS; the layer keeps its own bundle */
    "  ca=etc/ssl/certs/ca-certificates.crt\n"
    "  if [ -f \"/$ca\" ] && [ -f \"$r/$ca\" ]; then mount --bind -o ro \"/$ca\" \"$r/$ca\"; fi\n"
    "  export NODE_EXTRA_CA_CERTS=/$ca\n"
    "  printf \"#!/bin/sh\\nexit 101\\n\" > \"$r/usr/sbin/policy-rc.d\"\n"
    "  chmod 755 \"$r/usr/sbin/policy-rc.d\"\n"
    "  rc=0; chroot \"$r\" /bin/sh -c \"$script\" || rc=$?\n"
    "  rm -f \"$r/usr/sbin/policy-rc.d\"\n"
    "  exit $rc\n"
    "' nullspace-host-step \"$t\" \"$lower\" \"$script\"\n"
    "rmdir \"$t/root\"\n"
    "rm -rf \"$t/work\"\n"
    "mv \"$t/up\" \"$dest\"\n"
    "rmdir \"$t\"\n";

void build_host_stop(struct build *b)
{
        if (b->host_out.fd > 0) {
                loop_io_del(&b->core->loop, &b->host_out);
                close(b->host_out.fd);
                b->host_out.fd = 0;
        }
        if (b->host.pid) { /* its session: the script, unshare and the chroot's processes */
                children_forget(&b->core->children, &b->host);
                kill(-b->host.pid, SIGKILL);
                b->host.pid = 0;
        }
}

/* Reads what the step printed into the log; at the end the pipe is closed. */
static void drain(struct build *b)
{
        char chunk[4096];
        ssize_t n;
        while (b->host_out.fd > 0 && (n = read(b->host_out.fd, chunk, sizeof(chunk))) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        break;
                }
                build_output(b, 1, chunk, (size_t)n);
        }
        if (b->host_out.fd > 0) {
                loop_io_del(&b->core->loop, &b->host_out);
                close(b->host_out.fd);
                b->host_out.fd = 0;
        }
}

static void on_output(struct loop_io *io, uint32_t events)
{
        (void)events;
        drain((struct build *)((char *)io - offsetof(struct build, host_out)));
}

static void on_exit_status(struct child_watch *w, int status)
{
        struct build *b = (struct build *)((char *)w - offsetof(struct build, host));
        b->host.pid = 0;
        loop_timer_cancel(&b->core->loop, &b->timer);
        drain(b); /* a process it left may hold the pipe: drain stops at EAGAIN */
        build_host_stop(b);
        build_output_flush(b);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char title[160];
                build_step_title(json_array_get(json_object_get(b->req, "steps"), b->i), title,
                                 sizeof(title));
                build_fail(b, "step %zu failed on the host (status %d): %s", b->step_no,
                           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), title);
                return;
        }
        char id[72];
        snprintf(id, sizeof(id), "k_%s", b->pending_key);
        json_t *layers = json_deep_copy(b->layers);
        json_array_insert_new(layers, 0, json_string(id));
        build_step_sealed(b, layers);
}

static void on_limit(struct loop_timer *t)
{
        struct build *b = (struct build *)((char *)t - offsetof(struct build, timer));
        build_fail(b, "step %zu ran on the host for over %d s", b->step_no, HOST_STEP_LIMIT_S);
}

/* The overlay's lowerdir option: the layers so far, top first, then the base. */
static char *lower_dirs(struct build *b)
{
        char **paths = layers_paths(b->core, b->layers);
        struct buf out;
        buf_init(&out, 64u << 10);
        int bad = !paths;
        for (size_t i = 0; paths && paths[i]; i++)
                bad |= buf_printf(&out, "%s:", paths[i]) < 0;
        bad |= buf_printf(&out, "%s", b->core->templates.base_rootfs) < 0;
        strv_free(paths);
        if (bad) {
                buf_fini(&out);
                return NULL;
        }
        return out.data;
}

static pid_t spawn(const char *dest, const char *lower, const char *script, int out_fd)
{
        pid_t pid = fork_child();
        if (pid != 0)
                return pid;
        dup2(out_fd, 1);
        dup2(out_fd, 2);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
                dup2(null, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setsid();
        execl("/bin/sh", "sh", "-c", host_script, "nullspace-build-host", dest, lower, script,
              (char *)NULL);
        _exit(127);
}

void build_host_step(struct build *b)
{
        struct core *core = b->core;
        if (b->image[0] || core->templates.base.state != PREP_READY) {
                build_fail(b, "step %zu: a host step needs the base template, built", b->step_no);
                return;
        }
        struct err e = {0};
        if (trust_layer_ensure(core, &e) < 0) {
                build_fail(b, "step %zu: %s", b->step_no, e.msg);
                return;
        }
        char dest[PATH_MAX + 80];
        snprintf(dest, sizeof(dest), "%s/layers/%s", core->cache_dir, b->pending_key);
        char *lower = lower_dirs(b);
        char *script = build_step_script(json_array_get(json_object_get(b->req, "steps"), b->i));
        int fds[2] = {-1, -1};
        if (!lower || !script || pipe2(fds, O_CLOEXEC) < 0) {
                free(lower);
                free(script);
                build_fail(b, "step %zu: %s", b->step_no, strerror(errno ? errno : ENOMEM));
                return;
        }
        pid_t pid = spawn(dest, lower, script, fds[1]);
        int saved = errno;
        close(fds[1]);
        free(lower);
        free(script);
        if (pid < 0) {
                close(fds[0]);
                build_fail(b, "step %zu: fork: %s", b->step_no, strerror(saved));
                return;
        }
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        b->host_out.fd = fds[0];
        b->host_out.cb = on_output;
        loop_io_add(&core->loop, &b->host_out, EPOLLIN, NULL);
        b->host.pid = pid;
        b->host.on_exit = on_exit_status;
        children_watch(&core->children, &b->host);
        loop_timer_arm(&core->loop, &b->timer, (uint64_t)HOST_STEP_LIMIT_S * 1000, on_limit);
        build_log(b, "system", "running on the host into the shared layer cache (%s)", dest);
        log_info("template_build_host_step", "build=%s step=%zu pid=%d layer=%s", b->id, b->step_no,
                 (int)pid, dest);
}
