/* The gVisor driver's checkpoint side: hibernate (runsc checkpoint into an image, also
 * linked as the machine's own checkpoint), restore (a new shim running `runsc restore`
 * plus a helper that makes sure the agent re-arms) and the sealing of a writable layer
 * for fork and snapshots. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "ckpt_files.h"
#include "gvisor_internal.h"

/* The container's status from runsc's own state file (ROOT/ID_sandbox:ID.state in this
 * runsc): 1 with `out` filled while the file exists, 0 when it does not. Reading it
 * costs microseconds where `runsc state` costs 20 ms. Should a runsc keep it elsewhere,
 * the waits on it end at their bounds and `runsc kill` (which retries) still works. */
static int container_status(const char *root, const char *id, char *out, size_t cap)
{
        char path[PATH_MAX + 200];
        snprintf(path, sizeof(path), "%s/%s_sandbox:%s.state", root, id, id);
        json_t *st = json_load_file(path, 0, NULL);
        if (!st)
                return access(path, F_OK) == 0 ? (snprintf(out, cap, "?"), 1) : 0;
        snprintf(out, cap, "%s", json_string_value(json_object_get(st, "status")) ?: "?");
        json_decref(st);
        return 1;
}

/* The helper for hibernate: a fresh image dir, then `runsc checkpoint` (which stops the
 * sandbox; the shim then exits), then the completion marks. */
static void checkpoint_helper(const struct driver_ctx *ctx, const char *id, const char *dir,
                              const char *image)
{
        char root[PATH_MAX + 64], own[PATH_MAX + 64];
        shim_helper_gate(dir);
        gvisor__runsc_root(ctx, root, sizeof(root));
        snprintf(own, sizeof(own), "%s/checkpoint", dir);
        remove_flat_dir(image);
        if (mkdir(image, 0700) < 0)
                _exit(1);
        const char *ckpt[] = {RUNSC, "--root", root, "checkpoint", "--image-path", image, id, NULL};
        gvisor__runsc_enter(id); /* the files below are in the host's mounts all the same */
        char log[PATH_MAX + 64];
        snprintf(log, sizeof(log), "%s/runsc.log", dir);
        int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (lfd >= 0)
                dup2(lfd, 2); /* why a checkpoint failed goes to the machine's log */
        if (run_cmd(ckpt, NULL, lfd < 0) != 0) {
                remove_flat_dir(image); /* a partial image only fills the disk */
                _exit(1);
        }
        /* the sandbox has exited (its memory is free); `runsc run` removes the rest of
         * the container on its own (~100 ms): a restore's shim waits for that */
        /* the machine's own checkpoint first: a restarted daemon resumes it from there */
        if (ckpt_image_publish(image, own) < 0)
                _exit(1);
        _exit(0);
}

pid_t gvisor__hibernate(const struct driver_ctx *ctx, const char *id, const char *dir,
                        const char *image, struct err *e)
{
        pid_t pid = shim_fork_helper();
        if (pid == 0)
                checkpoint_helper(ctx, id, dir, image);
        return pid < 0 ? err_set(e, errno, "fork checkpoint helper") : pid;
}

/* After restore: wait for the container to run, then (as a fallback) SIGUSR1 its agent
 * so it rebuilds its epoll set (see src/agent). Exits non-zero when the container never
 * runs. Runs in a helper child. */
static void rearm_helper(const struct driver_ctx *ctx, const char *id)
{
        char root[PATH_MAX + 64];
        gvisor__runsc_root(ctx, root, sizeof(root));
        const char *usr1_argv[] = {RUNSC, "--root", root, "kill", id, "USR1", NULL};
        char status[32];
        /* the restore creates the container's state file, then marks it running (a big
         * machine takes seconds); then the signal is sure to be taken */
        for (int i = 0; i < 30000; i++) {
                if (container_status(root, id, status, sizeof(status)) &&
                    strcmp(status, "running") == 0)
                        break;
                usleep(2000);
        }
        /* the sandbox runs in the machine's namespace, made by the shim's child: join it
         * only now that it surely exists */
        gvisor__runsc_enter(id);
        /* an agent told to "quiesce" re-arms on its own within milliseconds and the
         * daemon stops this helper; the signal is for agents that do not */
        usleep(300000);
        for (int i = 0; i < 400; i++) {
                if (run_quiet(usr1_argv) == 0)
                        _exit(0);
                usleep(10000);
        }
        _exit(1);
}

int gvisor__restore(const struct driver_ctx *ctx, const struct machine_spec *s, const char *image,
                    struct machine_run *run, pid_t *helper, struct err *e)
{
        char rootfs[PATH_MAX + 64], bundle[PATH_MAX + 64];
        int r = ckpt_restore_prepare(image, s->dir, e);
        if (r < 0)
                return r;
        snprintf(rootfs, sizeof(rootfs), "%s/rootfs", s->dir);
        r = gvisor__is_mounted(rootfs) ? 0 : gvisor__mount_layer(s, rootfs, sizeof(rootfs), e);
        if (r == 0)
                r = gvisor__mkdir_in(s->dir, "bundle", 0700, bundle, sizeof(bundle), e);
        if (r == 0)
                r = gvisor__write_bundle(ctx, s, rootfs, bundle, e);
        if (r == 0)
                r = gvisor__launch(ctx, s, image, run, e);
        if (r < 0)
                return r;
        pid_t pid = shim_fork_helper();
        if (pid == 0)
                rearm_helper(ctx, s->id);
        if (pid < 0)
                return err_set(e, errno, "fork rearm helper");
        *helper = pid;
        return 0;
}

static int sync_dir(const char *path)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        int r = fsync(fd);
        close(fd);
        return r;
}

int gvisor__seal(const struct driver_ctx *ctx, const char *dir, const char *layer, struct err *e)
{
        (void)ctx;
        char rootfs[PATH_MAX + 64], upper[PATH_MAX + 64], parent[PATH_MAX + 64];
        snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
        snprintf(upper, sizeof(upper), "%s/upper", dir);
        for (int i = 0;
             i < 50 && gvisor__is_mounted(rootfs) && umount2(rootfs, 0) < 0 && errno == EBUSY; i++)
                usleep(10000);
        if (gvisor__is_mounted(rootfs) && umount2(rootfs, MNT_DETACH) < 0)
                return err_set(e, errno, "umount %s", rootfs);
        if (access(layer, F_OK) < 0 && rename(upper, layer) < 0)
                return err_set(e, errno, "move %s to %s", upper, layer);
        if (mkdir(upper, 0755) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", upper);
        snprintf(parent, sizeof(parent), "%s", layer);
        char *slash = strrchr(parent, '/');
        if (slash)
                *slash = '\0';
        if (sync_dir(parent) < 0 || sync_dir(dir) < 0)
                return err_set(e, errno, "sync %s", layer);
        return 0;
}
