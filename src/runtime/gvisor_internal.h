/* Internal to the gVisor driver: what gvisor.c (start, attach, destroy) and
 * gvisor_ckpt.c (hibernate, restore, seal) share. Each function runs in the caller's
 * process unless it says it forks; errors as in driver.h (0 or -errno with e set). */
#ifndef NS_GVISOR_INTERNAL_H
#define NS_GVISOR_INTERNAL_H

#include <sys/types.h>

#include "driver.h"
#include "run.h"
#include "shim.h"

#define RUNSC "runsc"

/* STATE/runsc: runsc's --root for our containers. */
void gvisor__runsc_root(const struct driver_ctx *ctx, char *out, size_t cap);

/* DIR/NAME as a directory of `mode` (created or chmod'ed); its path into out. */
int gvisor__mkdir_in(const char *dir, const char *name, mode_t mode, char *out, size_t cap,
                     struct err *e);

/* Writes the machine's OCI config.json into `bundle`, with `rootfs` as its root. */
int gvisor__write_bundle(const struct driver_ctx *ctx, const struct machine_spec *s,
                         const char *rootfs, const char *bundle, struct err *e);

/* Mounts the machine's overlay (its writable layer over spec->layers over the template)
 * on DIR/rootfs; the path into rootfs. */
int gvisor__mount_layer(const struct machine_spec *s, char *rootfs, size_t cap, struct err *e);

/* Starts the machine's shim running the container (image NULL) or restoring it from
 * `image`. Fills run.pid; the agent fds are -1 (see gv_connect). */
int gvisor__launch(const struct driver_ctx *ctx, const struct machine_spec *s, const char *image,
                   struct machine_run *run, struct err *e);

/* In a helper child, before any runsc call on machine `id`: joins its network
 * namespace (runsc reaches the sandbox only from there). Exits the child on failure. */
void gvisor__runsc_enter(const char *id);

/* Runs argv (PATH lookup) with stdout and stderr on /dev/null; its wait status. Blocks. */
static inline int run_quiet(const char *const argv[])
{
        return run_cmd(argv, NULL, 1);
}

/* True when `path` is a mount point. */
int gvisor__is_mounted(const char *path);

/* gvisor_ckpt.c: the driver operations of the same names (driver.h). */
pid_t gvisor__hibernate(const struct driver_ctx *ctx, const char *id, const char *dir,
                        const char *image, struct err *e);
int gvisor__restore(const struct driver_ctx *ctx, const struct machine_spec *s, const char *image,
                    struct machine_run *run, pid_t *helper, struct err *e);
int gvisor__seal(const struct driver_ctx *ctx, const char *dir, const char *layer, struct err *e);

#endif
