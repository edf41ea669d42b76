#include "template.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"

#define BASE_PACKAGES "ca-certificates,python3,git,curl,procps,iproute2"
#define MIRROR        "http://deb.debian.org/debian"

int templates_init(struct templates *t, struct loop *loop, struct children *children,
                   const char *cache_dir, struct err *e)
{
        memset(t, 0, sizeof(*t));
        t->loop = loop;
        t->children = children;
        t->build_io.fd = -1;
        snprintf(t->dir, sizeof(t->dir), "%s/templates", cache_dir);
        snprintf(t->base_rootfs, sizeof(t->base_rootfs), "%s/base/rootfs", t->dir);
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s", cache_dir);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", path);
        if (mkdir(t->dir, 0755) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", t->dir);
        struct stat st;
        char marker[PATH_MAX + 64];
        snprintf(marker, sizeof(marker), "%s/base/ready", t->dir);
        t->base_state = stat(marker, &st) == 0 ? TPL_READY : TPL_MISSING;
        return 0;
}

static void finish(struct templates *t, enum tpl_state state, const char *error)
{
        t->base_state = state;
        snprintf(t->error, sizeof(t->error), "%s", error ? error : "");
        while (t->waiters) {
                struct tpl_waiter *w = t->waiters;
                t->waiters = w->next;
                w->done(w, state == TPL_READY ? t->base_rootfs : NULL, error);
        }
}

static void on_build_exit(struct child_watch *cw, int status)
{
        struct templates *t = (struct templates *)((char *)cw - offsetof(struct templates, build));
        if (t->build_io.fd >= 0) {
                loop_io_del(t->loop, &t->build_io);
                close(t->build_io.fd);
                t->build_io.fd = -1;
        }
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        log_info("template_build_done", "template=base ok=%d status=%d", ok, status);
        finish(t, ok ? TPL_READY : TPL_FAILED,
               ok ? NULL : "building the base template failed; see the daemon log");
}

/* Logs the build's output line by line: the visible progress of a long build. */
static void on_build_output(struct loop_io *io, uint32_t events)
{
        (void)events;
        struct templates *t =
            (struct templates *)((char *)io - offsetof(struct templates, build_io));
        char chunk[4096];
        ssize_t n = read(io->fd, chunk, sizeof(chunk));
        if (n <= 0) {
                loop_io_del(t->loop, io);
                close(io->fd);
                io->fd = -1;
                return;
        }
        for (ssize_t i = 0; i < n; i++) {
                char c = chunk[i];
                if (c != '\n' && t->line_len < sizeof(t->line) - 1) {
                        t->line[t->line_len++] = c;
                        continue;
                }
                t->line[t->line_len] = '\0';
                char q[1100];
                if (t->line_len)
                        log_info("template_build", "template=base line=%s",
                                 log_quote(q, sizeof(q), t->line));
                t->line_len = 0;
        }
}

/* The build script: one build at a time across daemons (flock), into a temporary
 * directory renamed into place, then a `ready` marker. */
static const char build_script[] =
    "set -e\n"
    "cd \"$1\"\n"
    "exec 9>base.lock\n"
    "flock 9\n"
    "[ -e base/ready ] && exit 0\n"
    "rm -rf base.tmp base\n"
    "echo \"debootstrap bookworm (minbase + " BASE_PACKAGES ")\"\n"
    "debootstrap --variant=minbase --include=" BASE_PACKAGES " bookworm base.tmp " MIRROR " 2>&1\n"
    "rm -rf base.tmp/var/cache/apt/archives/*.deb base.tmp/var/lib/apt/lists/*\n"
    "mkdir -p base\n"
    "mv base.tmp base/rootfs\n"
    "touch base/ready\n"
    "echo done\n";

static int start_build(struct templates *t, struct err *e)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return err_set(e, errno, "pipe");
        pid_t pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                dup2(p[1], 2);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                setsid();
                execl("/bin/sh", "sh", "-c", build_script, "nullspace-build-base", t->dir,
                      (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        if (pid < 0) {
                close(p[0]);
                return err_set(e, errno, "fork");
        }
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        t->build_io.fd = p[0];
        t->build_io.cb = on_build_output;
        loop_io_add(t->loop, &t->build_io, EPOLLIN, NULL);
        t->build.pid = pid;
        t->build.on_exit = on_build_exit;
        children_watch(t->children, &t->build);
        log_info("template_build_start", "template=base dir=%s pid=%d", t->dir, (int)pid);
        return 0;
}

void templates_need_base(struct templates *t, struct tpl_waiter *w)
{
        if (t->base_state == TPL_READY) {
                w->done(w, t->base_rootfs, NULL);
                return;
        }
        w->next = t->waiters;
        t->waiters = w;
        if (t->base_state == TPL_BUILDING)
                return;
        struct err e;
        t->base_state = TPL_BUILDING;
        if (start_build(t, &e) < 0)
                finish(t, TPL_FAILED, e.msg);
}

void templates_cancel(struct templates *t, struct tpl_waiter *w)
{
        for (struct tpl_waiter **pp = &t->waiters; *pp; pp = &(*pp)->next) {
                if (*pp == w) {
                        *pp = w->next;
                        return;
                }
        }
}

const char *templates_base_state(const struct templates *t)
{
        static const char *const names[] = {"missing", "building", "ready", "failed"};
        return names[t->base_state];
}
