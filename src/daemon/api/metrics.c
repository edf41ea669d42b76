/* GET /v1/machines/{id}/metrics: CPU and memory as the runtime tells them on the host
 * (gVisor: the sandbox's cgroup; VM: its QEMU process — what the machine really costs,
 * runtime included), and the bytes its own writable layer (a directory, or a VM's qcow2
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

#include "../../common/util.h"
#include "api.h"

struct metrics_op {
        struct http_exchange *ex; /* NULL once the client left */
        struct child_watch child;
        int fd;
        char id[MACHINE_ID_MAX];
        long long cpu_ns, mem_bytes, mem_limit;
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

static json_t *num_or_null(long long v)
{
        return v >= 0 ? json_integer(v) : json_null();
}

static void on_du_exit(struct child_watch *w, int status)
{
        struct metrics_op *op =
            (struct metrics_op *)((char *)w - offsetof(struct metrics_op, child));
        long long disk = -1;
        char buf[64] = "";
        ssize_t n = read(op->fd, buf, sizeof(buf) - 1);
        if (n > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
                disk = strtoll(buf, NULL, 10);
        close(op->fd);
        if (op->ex) {
                op->ex->on_abort = NULL;
                json_t *doc =
                    json_pack("{s:s,s:I}", "id", op->id, "sampled_at", (json_int_t)time_wall_ms());
                json_object_set_new(doc, "cpu_ns", num_or_null(op->cpu_ns));
                json_object_set_new(doc, "memory_bytes", num_or_null(op->mem_bytes));
                json_object_set_new(doc, "memory_limit_bytes", num_or_null(op->mem_limit));
                json_object_set_new(doc, "disk_bytes", num_or_null(disk));
                http_respond_json(op->ex, 200, doc);
        }
        free(op);
}

static void abort_metrics(struct http_exchange *ex)
{
        struct metrics_op *op = ex->owner;
        op->ex = NULL; /* the child still finishes; its answer is dropped */
}

void api_machines_metrics(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct machine *m = api_running_machine(ex);
        if (!m)
                return;
        struct metrics_op *op = calloc(1, sizeof(*op));
        int p[2];
        if (!op || pipe2(p, O_CLOEXEC) < 0) {
                free(op);
                http_respond_error(ex, NS_E_INTERNAL, "out of resources");
                return;
        }
        snprintf(op->id, sizeof(op->id), "%s", m->id);
        struct machine_usage u;
        m->drv->usage(&app->core.driver_ctx, m->id, m->dir, &u);
        op->cpu_ns = u.cpu_ns;
        op->mem_bytes = u.mem_bytes;
        op->mem_limit = u.mem_limit;
        char upper[PATH_MAX + 80];
        snprintf(upper, sizeof(upper), "%s/%s", m->dir, m->drv->layer_file);
        pid_t pid = fork();
        if (pid == 0) {
                /* the child: walk the layer, print the total, exit */
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                du_total = 0;
                int r = nftw(upper, du_visit, 32, FTW_PHYS | FTW_MOUNT);
                char out[32];
                int n = snprintf(out, sizeof(out), "%lld", du_total);
                _exit(r == 0 && write(p[1], out, (size_t)n) == n ? 0 : 1);
        }
        close(p[1]);
        if (pid < 0) {
                close(p[0]);
                free(op);
                http_respond_error(ex, NS_E_INTERNAL, "fork failed");
                return;
        }
        op->fd = p[0];
        op->ex = ex;
        op->child.pid = pid;
        op->child.on_exit = on_du_exit;
        children_watch(&app->core.children, &op->child);
        ex->owner = op;
        ex->on_abort = abort_metrics;
}
