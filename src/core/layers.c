/* The files behind machines that do not belong to one machine alone: sealed layers
 * (STATE/layers/ID, shared by a parent, its children and snapshots), checkpoint images
 * shared by a fork (STATE/images/ID) and the marker of a helper at work (DIR/op.pid).
 * Loop thread only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "machine_internal.h"

void layers_path(const struct core *core, const char *id, char *out, size_t cap)
{
        if (strncmp(id, "k_", 2) == 0) /* shared through the cache (build_host.c) */
                snprintf(out, cap, "%s/layers/%s", core->cache_dir, id + 2);
        else
                snprintf(out, cap, "%s/layers/%s", core->state_dir, id);
}

void layers_snapshot_dir(const struct core *core, const char *id, char *out, size_t cap)
{
        snprintf(out, cap, "%s/snapshots/%s", core->state_dir, id);
}

void layers_own_image(const char *machine_dir, char *out, size_t cap)
{
        snprintf(out, cap, "%s/checkpoint", machine_dir);
}

int64_t layers_image_bytes(const char *dir)
{
        int64_t total = 0;
        DIR *d = opendir(dir);
        struct stat st;
        for (struct dirent *de; d && (de = readdir(d));)
                if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, 0) == 0)
                        total += (int64_t)st.st_blocks * 512;
        if (d)
                closedir(d);
        return total;
}

char **layers_paths(const struct core *core, json_t *layers)
{
        size_t n = json_array_size(layers);
        char **v = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; v && i < n; i++) {
                char path[PATH_MAX + 64];
                layers_path(core, json_string_value(json_array_get(layers, i)) ?: "-", path,
                            sizeof(path));
                if (!(v[i] = strdup(path))) {
                        strv_free(v);
                        return NULL;
                }
        }
        return v;
}

int layers_settle(struct core *core, const struct driver *drv, const char *dir, json_t *layers,
                  struct err *e)
{
        const char *top = json_string_value(json_array_get(layers, 0));
        if (!top)
                return 0;
        char path[PATH_MAX + 64];
        layers_path(core, top, path, sizeof(path));
        if (access(path, F_OK) == 0)
                return 0;
        log_warn("layer_seal_finished", "dir=%s layer=%s", dir, top);
        return drv->seal ? drv->seal(&core->driver_ctx, dir, path, e) : 0;
}

void layers_remove_later(const char *path)
{
        pid_t pid = fork_child();
        if (pid == 0) { /* reaped by the daemon's reaper without a watch */
                execlp("rm", "rm", "-rf", "--one-file-system", path, (char *)NULL);
                _exit(127);
        }
}

/* True when directory entry `name` is ids[i] or a file of it ("ID.vm.ext4": the VM disk
 * image of the stack a layer tops; "ID.tar": an upload; "ID.BUILD": an image import). */
static int in_list(char **ids, const char *name)
{
        size_t len = strcspn(name, ".");
        for (size_t i = 0; ids && ids[i]; i++)
                if (strlen(ids[i]) == len && strncmp(ids[i], name, len) == 0)
                        return 1;
        return 0;
}

int layers_dir_sweep(struct core *core, const char *sub, char **used, int64_t before_ms,
                     const char *what)
{
        char dir[PATH_MAX + 64];
        snprintf(dir, sizeof(dir), "%s/%s", core->state_dir, sub);
        DIR *d = opendir(dir);
        int n = 0;
        struct stat st;
        for (struct dirent *de; d && (de = readdir(d));) {
                if (de->d_name[0] == '.' || in_list(used, de->d_name))
                        continue;
                if (before_ms >= 0 &&
                    (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                     (int64_t)st.st_mtime * 1000 >= before_ms))
                        continue;
                char path[PATH_MAX + 320];
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                if (what)
                        log_info(what, "name=%s", de->d_name);
                layers_remove_later(path);
                n++;
        }
        if (d)
                closedir(d);
        return n;
}

int layers_collect(struct core *core)
{
        char **used = NULL;
        size_t n;
        struct err e = {0};
        if (store_layers_in_use(core->store, &used, &n, &e) < 0)
                return 0; /* keep everything when unsure */
        int r = layers_dir_sweep(core, "layers", used, -1, "layer_collected");
        strv_free(used);
        return r;
}

void layers_sweep_images(struct core *core)
{
        layers_dir_sweep(core, "images", NULL, -1, NULL);
}

void layers_op_pid_write(const char *dir, pid_t pid)
{
        char path[PATH_MAX + 64], text[32];
        snprintf(path, sizeof(path), "%s/" DRIVER_OP_PID, dir);
        int n = snprintf(text, sizeof(text), "%d\n", (int)pid);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
                if (write(fd, text, (size_t)n) != n)
                        log_warn("op_pid_write_failed", "dir=%s", dir);
                close(fd);
        }
}

void layers_op_pid_clear(const char *dir)
{
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/" DRIVER_OP_PID, dir);
        unlink(path);
}

/* True while pid is a process running the same program as this daemon. */
static int ours(pid_t pid)
{
        char link[64], exe[PATH_MAX], self[PATH_MAX];
        snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
        ssize_t a = readlink(link, exe, sizeof(exe) - 1);
        ssize_t b = readlink("/proc/self/exe", self, sizeof(self) - 1);
        return a > 0 && b > 0 && a == b && memcmp(exe, self, (size_t)a) == 0;
}

void layers_wait_op_helper(const char *dir)
{
        char path[PATH_MAX + 64], text[32] = "";
        snprintf(path, sizeof(path), "%s/" DRIVER_OP_PID, dir);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        ssize_t n = read(fd, text, sizeof(text) - 1);
        close(fd);
        pid_t pid = n > 0 ? (pid_t)atoi(text) : 0;
        /* a checkpoint of a big machine takes seconds; give it two minutes */
        for (int i = 0; pid > 0 && i < 1200 && ours(pid); i++)
                usleep(100000);
        unlink(path);
}
