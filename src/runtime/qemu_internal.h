/* Internal to the VM driver: qemu.c (start, destroy, the KVM probe) and qemu_ckpt.c
 * (hibernate, restore, seal). Errors as in driver.h. */
#ifndef NS_QEMU_INTERNAL_H
#define NS_QEMU_INTERNAL_H

#include "driver.h"

/* In the child that becomes the machine's shim: execs nsshim running QEMU for machine
 * s (its disk DIR/disk.qcow2 and initramfs DIR/initrd made), restoring the checkpoint
 * image directory `incoming` when not NULL. Never returns. */
void qemu_exec(const struct driver_ctx *ctx, const struct machine_spec *s, const char *incoming)
    __attribute__((noreturn));

/* Starts the child that becomes machine s's shim: its directory made, stale sockets
 * (agent.sock, qmp.sock) removed, then child(ctx, s, arg) in a fork that never returns;
 * fills run (agent fds -1 until connect). 0 or -errno. */
int qemu_launch(const struct driver_ctx *ctx, const struct machine_spec *s,
                void (*child)(const struct driver_ctx *, const struct machine_spec *, const char *),
                const char *arg, struct machine_run *run, struct err *e);

/* In the child that becomes the shim: writes DIR/mounts (the guest's init mounts each
 * "TAG PATH ro|rw") and starts one virtiofsd per volume mount, waiting for its socket
 * (qemu_fs.c). 0 (nothing to do without mounts) or -1. */
int qemu_volumes_start(const struct machine_spec *s);

/* QEMU's arguments for s's volume mounts (shared guest memory, a vhost-user-fs device per
 * mount) into argv (cap entries; the strings live in store). How many, or -1. */
int qemu_volume_args(const struct machine_spec *s, const char **argv, size_t cap, char *store,
                     size_t store_cap);

/* In the child that becomes the shim: the machine's network (see qemu.c); 0 or -1. */
int qemu_net(const struct machine_spec *s);

/* In the child that becomes the shim (blocks; seconds when its backing image is made
 * first): the machine's disk DIR/disk.qcow2, unless it has one, as a copy-on-write
 * overlay on the image of its layers and rootfs (qemu_disk.c). -errno with a reason in
 * e. */
int qemu_new_disk(const struct machine_spec *s, struct err *e);

/* qemu-img: a qcow2 file `disk` over `backing` (format fmt: "raw" or "qcow2"). 0 or -1.
 * Blocks; helper processes only. */
int qemu_overlay(const char *backing, const char *fmt, const char *disk);

/* QMP stop (paused 1) or cont: the VM's vCPUs halt in memory (driver.h's pause). */
int qemu_pause(const struct driver_ctx *ctx, const char *id, const char *dir, int paused,
               struct err *e);

pid_t qemu_hibernate(const struct driver_ctx *ctx, const char *id, const char *dir,
                     const char *image, struct err *e);
int qemu_restore(const struct driver_ctx *ctx, const struct machine_spec *s, const char *image,
                 struct machine_run *run, pid_t *helper, struct err *e);
int qemu_seal(const struct driver_ctx *ctx, const char *dir, const char *layer, struct err *e);

#endif
