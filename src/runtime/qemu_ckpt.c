/* Checkpoints of VM machines through QMP: hibernate = stop, migrate the whole machine
 * state to IMAGE/memory, quit; restore = a new QEMU on the same devices with -incoming
 * from that file; seal = the machine's qcow2 overlay becomes a read-only layer and it
 * gets a new overlay on top (fork children get theirs over the same layer). A disk is
 * never copied. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "ckpt_files.h"
#include "qemu_internal.h"
#include "qmp.h"
#include "run.h"
#include "shim.h"

#define MIGRATE_MAX_S 600

static void qmp_path(const char *dir, char *out, size_t cap)
{
        snprintf(out, cap, "%s/qmp.sock", dir);
}

/* Waits for the migration to end; 0 when it completed. */
static int wait_migration(struct qmp *q, struct err *e)
{
        for (int i = 0; i < MIGRATE_MAX_S * 50; i++) {
                json_t *st = qmp_call(q, "query-migrate", NULL, 5000, e);
                const char *status = json_string_value(json_object_get(st, "status"));
                int done = status && !strcmp(status, "completed");
                int failed =
                    !st || (status && (!strcmp(status, "failed") || !strcmp(status, "cancelled")));
                json_decref(st);
                if (done)
                        return 0;
                if (failed)
                        return err_set(e, EIO, "the migration %s", status ? status : "stopped");
                usleep(20000);
        }
        return err_set(e, ETIMEDOUT, "the migration did not end in %d s", MIGRATE_MAX_S);
}

/* The hibernate helper: QEMU stops and writes its state into a fresh image directory
 * (with the machine's initramfs beside it, which a restore needs), then quits. */
static void hibernate_helper(const char *dir, const char *image)
{
        char sock[PATH_MAX + 16], uri[PATH_MAX + 48], own[PATH_MAX + 16], from[PATH_MAX + 16],
            to[PATH_MAX + 16];
        struct qmp q;
        struct err e = {0};
        shim_helper_gate(dir);
        qmp_path(dir, sock, sizeof(sock));
        snprintf(own, sizeof(own), "%s/checkpoint", dir);
        remove_flat_dir(image);
        if (mkdir(image, 0700) < 0 || qmp_open(&q, sock, 5000, &e) < 0)
                _exit(1);
        snprintf(uri, sizeof(uri), "exec:cat > '%s/memory'", image);
        json_t *r = qmp_call(&q, "stop", NULL, 5000, &e);
        json_decref(r);
        if (r)
                r = qmp_call(&q, "migrate", json_pack("{s:s}", "uri", uri), 5000, &e);
        json_decref(r);
        if (!r || wait_migration(&q, &e) < 0) {
                fprintf(stderr, "nullspace: hibernate %s: %s\n", dir, e.msg);
                json_decref(qmp_call(&q, "cont", NULL, 5000, &e)); /* it runs on */
                remove_flat_dir(image);
                _exit(1);
        }
        json_decref(qmp_call(&q, "quit", NULL, 5000, &e));
        qmp_close(&q);
        snprintf(from, sizeof(from), "%s/initrd", dir);
        snprintf(to, sizeof(to), "%s/initrd", image);
        if (link(from, to) < 0 || ckpt_image_publish(image, own) < 0)
                _exit(1);
        _exit(0);
}

pid_t qemu_hibernate(const struct driver_ctx *ctx, const char *id, const char *dir,
                     const char *image, struct err *e)
{
        (void)ctx;
        (void)id;
        pid_t pid = shim_fork_helper();
        if (pid == 0)
                hibernate_helper(dir, image);
        return pid < 0 ? err_set(e, errno, "fork hibernate helper") : pid;
}

/* The restore helper: exits 0 once the restored QEMU runs the guest again. */
static void running_helper(const char *dir)
{
        char sock[PATH_MAX + 16];
        struct qmp q;
        struct err e = {0};
        qmp_path(dir, sock, sizeof(sock));
        if (qmp_open(&q, sock, 60000, &e) < 0)
                _exit(1);
        for (int i = 0; i < MIGRATE_MAX_S * 50; i++) {
                json_t *st = qmp_call(&q, "query-status", NULL, 5000, &e);
                const char *status = json_string_value(json_object_get(st, "status"));
                if (status && !strcmp(status, "paused")) {
                        /* the state arrived whole; the source was stopped to write it, and
                         * so is this copy: it runs on from here */
                        json_t *mig = qmp_call(&q, "query-migrate", NULL, 5000, &e);
                        const char *ms = json_string_value(json_object_get(mig, "status"));
                        if (ms && !strcmp(ms, "completed"))
                                json_decref(qmp_call(&q, "cont", NULL, 5000, &e));
                        json_decref(mig);
                }
                int running = status && !strcmp(status, "running");
                int bad =
                    !st ||
                    (status && (!strcmp(status, "internal-error") || !strcmp(status, "shutdown")));
                json_decref(st);
                if (running)
                        _exit(0);
                if (bad)
                        _exit(1);
                usleep(20000);
        }
        _exit(1);
}

/* In the child that becomes the shim: the machine's own overlay (over the top layer
 * when it has none yet: a fork child or a spawn) and initramfs, then QEMU restoring. */
static void restore_child(const struct driver_ctx *ctx, const struct machine_spec *s,
                          const char *image)
{
        char initrd[PATH_MAX + 16], from[PATH_MAX + 16];
        snprintf(initrd, sizeof(initrd), "%s/initrd", s->dir);
        snprintf(from, sizeof(from), "%s/initrd", image);
        struct err e = {0};
        if (qemu_new_disk(s, &e) < 0) {
                fprintf(stderr, "nullspace: VM %s: %s\n", s->id, e.msg);
                _exit(126);
        }
        if ((access(initrd, F_OK) < 0 && link(from, initrd) < 0) || qemu_net(s) < 0)
                _exit(126);
        qemu_exec(ctx, s, image);
}

int qemu_restore(const struct driver_ctx *ctx, const struct machine_spec *s, const char *image,
                 struct machine_run *run, pid_t *helper, struct err *e)
{
        int r = ckpt_restore_prepare(image, s->dir, e);
        if (r == 0)
                r = qemu_launch(ctx, s, restore_child, image, run, e);
        if (r < 0)
                return r;
        pid_t h = shim_fork_helper();
        if (h == 0)
                running_helper(s->dir);
        if (h < 0)
                return err_set(e, errno, "fork restore helper");
        *helper = h;
        return 0;
}

int qemu_seal(const struct driver_ctx *ctx, const char *dir, const char *layer, struct err *e)
{
        (void)ctx;
        char disk[PATH_MAX + 32];
        snprintf(disk, sizeof(disk), "%s/disk.qcow2", dir);
        if (access(layer, F_OK) < 0 && rename(disk, layer) < 0)
                return err_set(e, errno, "move %s to %s", disk, layer);
        chmod(layer, 0444);
        if (access(disk, F_OK) < 0 && qemu_overlay(layer, "qcow2", disk) < 0)
                return err_set(e, EIO, "qemu-img create over %s", layer);
        return 0;
}

int qemu_pause(const struct driver_ctx *ctx, const char *id, const char *dir, int paused,
               struct err *e)
{
        (void)ctx, (void)id;
        char sock[PATH_MAX + 16];
        qmp_path(dir, sock, sizeof(sock));
        struct qmp q;
        if (qmp_open(&q, sock, 2000, e) < 0)
                return -EIO;
        json_t *r = qmp_call(&q, paused ? "stop" : "cont", NULL, 2000, e);
        qmp_close(&q);
        if (!r)
                return -EIO;
        json_decref(r);
        return 0;
}
