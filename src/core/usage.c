/* A machine's usage: CPU and memory as its runtime tells them on the host (gVisor: the
 * sandbox's cgroup; VM: its QEMU process — what the machine really costs, runtime
 * included), and the bytes its own writable layer (a directory, or a VM's qcow2
 * overlay) uses on disk, counted by a child process so a large layer never stalls the
 * loop. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/util.h"
#include "core.h"
#include "machine_internal.h"

struct machine_sampling {
        struct child_watch child;
        int fd;
        struct machine_sample s;
        machine_sample_cb cb; /* NULL once its requester left */
        void *ud;
};

static long long du_total;

static int du_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)path;
        (void)flag;
        (void)ftw;
        du_total += (long long)st->st_blocks * 512;
        return 0;
}

static void on_du_exit(struct child_watch *w, int status)
{
        struct machine_sampling *op =
            (struct machine_sampling *)((char *)w - offsetof(struct machine_sampling, child));
        char buf[64] = "";
        ssize_t n = read(op->fd, buf, sizeof(buf) - 1);
        if (n > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
                op->s.disk_bytes = strtoll(buf, NULL, 10);
        close(op->fd);
        if (op->cb)
                op->cb(op->ud, &op->s);
        free(op);
}

/* The child: walks the layer, prints the total, exits. */
static void count_layer(const char *upper, int fd)
{
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        du_total = 0;
        int r = nftw(upper, du_visit, 32, FTW_PHYS | FTW_MOUNT);
        char out[32];
        int n = snprintf(out, sizeof(out), "%lld", du_total);
        _exit(r == 0 && write(fd, out, (size_t)n) == n ? 0 : 1);
}

struct machine_sampling *machine_sample(struct machine *m, machine_sample_cb cb, void *ud,
                                        struct err *e)
{
        _cleanup_free_ struct machine_sampling *op = calloc(1, sizeof(*op));
        int p[2];
        if (!op || pipe2(p, O_CLOEXEC) < 0) {
                err_set(e, ENOMEM, "out of resources");
                return NULL;
        }
        snprintf(op->s.id, sizeof(op->s.id), "%s", m->id);
        op->s.sampled_at = time_wall_ms();
        op->s.disk_bytes = -1;
        struct machine_usage u;
        m->rt.drv->usage(&m->core->driver_ctx, m->id, m->dir, &u);
        op->s.cpu_ns = u.cpu_ns;
        op->s.mem_bytes = u.mem_bytes;
        op->s.mem_limit = u.mem_limit;
        char upper[PATH_MAX + 80];
        snprintf(upper, sizeof(upper), "%s/%s", m->dir, m->rt.drv->layer_file);
        pid_t pid = fork_child();
        if (pid == 0)
                count_layer(upper, p[1]);
        close(p[1]);
        if (pid < 0) {
                close(p[0]);
                err_set(e, EAGAIN, "fork failed");
                return NULL;
        }
        op->fd = p[0];
        op->cb = cb;
        op->ud = ud;
        op->child.pid = pid;
        op->child.on_exit = on_du_exit;
        children_watch(&m->core->children, &op->child);
        return steal_ptr(op);
}

void machine_sample_forget(struct machine_sampling *op)
{
        op->cb = NULL; /* the child still finishes; its answer is dropped */
}
