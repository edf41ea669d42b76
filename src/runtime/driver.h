/* The runtime driver interface: how a machine's sandbox is started and torn down.
 * gvisor.c implements it with runsc; a VM driver (QEMU) and Firecracker implement the
 * same operations. The agent stream is the driver's transport, the protocol above it
 * is the same for all. Drivers do blocking work only in child processes. */
#ifndef NS_DRIVER_H
#define NS_DRIVER_H

#include <sys/types.h>

#include "../common/err.h"
#include "net.h"

struct driver_ctx {
        const char *state_dir;      /* the daemon's state directory */
        const char *agent_path;     /* the nsagent binary on the host */
        const char *shim_path;      /* the nsshim binary on the host */
        const struct net_host *net; /* host networking (net->enabled 0: machines have none) */
        const char *cache_dir;      /* shared build artefacts (the VM guest's kernel, disks) */
};

/* A host directory shown inside the machine (a volume: core/volumes.h). */
struct machine_mount {
        const char *source; /* on the host: a directory the core pinned (no symlink in it) */
        const char *dest;   /* absolute path in the machine */
        int read_only;      /* writes fail with EROFS inside */
};

struct machine_spec {
        const char *id;
        const char *hostname;
        const char *rootfs; /* the template's read-only root filesystem */
        /* read-only layers stacked on rootfs, top first, NULL-terminated (NULL: none):
         * what earlier forks and snapshots sealed of the machine's history */
        const char *const *layers;
        const char *dir; /* the machine's own directory (layer, bundle, logs) */
        unsigned vcpus;
        unsigned memory_mb;
        char *const *env; /* "KEY=value", NULL-terminated; the agent's environment */
        /* its network (NULL: none, loopback only): the child that starts the sandbox
         * creates the namespace when missing and applies the rules */
        const struct net_plan *net;
        const struct machine_mount *mounts; /* nmounts of them (volumes) */
        size_t nmounts;
};

struct machine_run {
        pid_t pid;     /* the process that lives as long as the sandbox (the shim) */
        int agent_rfd; /* frames from the agent (caller owns) */
        int agent_wfd; /* frames to the agent (caller owns; may equal agent_rfd) */
};

/* What a machine costs the host now; -1 for what cannot be told. */
struct machine_usage {
        long long mem_bytes; /* resident memory, runtime included */
        long long mem_limit; /* the most it may use */
        long long cpu_ns;    /* CPU time used so far */
};

struct driver {
        const char *name;
        const char *layer_file; /* in the machine's dir: its writable layer (dir or file) */
        int networking;         /* machines get a network (spec->net); 0: loopback only */
        int readdress;          /* a restored copy must be told its new address (its own kernel) */
        int checkpoints_tcp;    /* checkpoints keep open TCP connections (no need to wait) */
        int checkpoints_mounts; /* a machine with volumes mounted can be checkpointed */
        /* 0 when the host can run this driver; else -errno with a reason in e. */
        int (*probe)(const struct driver_ctx *ctx, struct err *e);
        /* Creates the machine's writable layer on top of spec->rootfs and starts the
         * sandbox with nsagent as its first process. Fills run.pid (the agent fds are
         * -1 until connect succeeds). */
        int (*start)(const struct driver_ctx *ctx, const struct machine_spec *spec,
                     struct machine_run *run, struct err *e);
        /* Connects to the agent of a sandbox start/restore just launched (they do not
         * wait for it): fills run's agent fds. -EAGAIN while its shim is not listening
         * yet (poll again), other -errno on failure. Never blocks. */
        int (*connect)(const struct driver_ctx *ctx, const char *dir, struct machine_run *run,
                       struct err *e);
        /* Reconnects to a machine started by an earlier daemon (whose sandbox kept
         * running). Fills run (pid 0: not our child). -ENOENT when it is gone. */
        int (*attach)(const struct driver_ctx *ctx, const char *id, const char *dir,
                      struct machine_run *run, struct err *e);
        /* Checkpoints (NULL: this runtime cannot hibernate, fork or snapshot yet).
         * Starts a helper that checkpoints the sandbox into the directory `image` (made
         * afresh; the sandbox stops; memory and processes are kept, files stay in the
         * layers). The helper exits 0 once the image is whole and marked complete
         * (DRIVER_IMAGE_DONE), also as the machine's own checkpoint DIR/checkpoint
         * (hard links when `image` is elsewhere: a fork's or a snapshot's), and nothing
         * of the sandbox runs. Returns its pid. */
        pid_t (*hibernate)(const struct driver_ctx *ctx, const char *id, const char *dir,
                           const char *image, struct err *e);
        /* Starts the machine spec->id from the checkpoint `image` (its own, after a
         * hibernate, or another machine's: fork and snapshots), on its writable layer in
         * spec->dir (created when missing) over spec->layers. Fills run like start, and
         * *helper with a process whose successful exit means the agent can be used. */
        int (*restore)(const struct driver_ctx *ctx, const struct machine_spec *spec,
                       const char *image, struct machine_run *run, pid_t *helper, struct err *e);
        /* With the sandbox stopped: moves the machine's writable layer to `layer` (it
         * becomes read-only, shared by whatever stacks on it) and gives the machine a
         * fresh, empty one. Idempotent: finishes a seal cut short. Runs in the caller. */
        int (*seal)(const struct driver_ctx *ctx, const char *dir, const char *layer,
                    struct err *e);
        /* Starts a helper process that stops the sandbox (if alive) and removes
         * everything start created. With keep_layer (NULL: none) the machine's writable
         * layer is first moved there as a sealed layer (like seal); the helper exits 2
         * when that fails. `launcher` is the process run.pid named (the shim of a start
         * or restore that may still be creating the sandbox; 0: none known): the helper
         * is done only once it is gone too, so nothing can create the sandbox after it.
         * Returns its pid (the caller waits for it). */
        pid_t (*destroy)(const struct driver_ctx *ctx, const char *id, const char *dir,
                         const char *keep_layer, pid_t launcher, struct err *e);
        /* Stops (paused 1) or continues (0) every process of the running machine in
         * memory, at once: nothing is saved, nothing detached (NULL: this runtime
         * cannot). Blocking, milliseconds. 0 or -errno with e set. */
        int (*pause)(const struct driver_ctx *ctx, const char *id, const char *dir, int paused,
                     struct err *e);
        /* Fills *u for the running machine id (dir: its directory). Reads /proc and
         * /sys only: cheap enough for the loop thread. */
        void (*usage)(const struct driver_ctx *ctx, const char *id, const char *dir,
                      struct machine_usage *u);
};

/* The file in a machine's dir naming its checkpoint or restore helper ("PID\n"): the
 * daemon writes it right after a hibernate or restore returned the helper's pid, and a
 * restarted daemon waits for that process. A checkpoint helper acts only once it is
 * named there (shim_helper_gate), so one whose daemon died before naming it does nothing. */
#define DRIVER_OP_PID "op.pid"

/* The file a complete checkpoint image holds (written last). */
#define DRIVER_IMAGE_DONE "nullspace-complete"

extern const struct driver gvisor_driver;
extern const struct driver qemu_driver;

/* The VM driver's acceleration: "kvm" once a probe this boot found /dev/kvm runs the
 * guest kernel, else "tcg" (software emulation). */
const char *qemu_accel(const struct driver_ctx *ctx);

/* Starts that probe in a helper process when this boot has no result yet (KVM_RUN of a
 * test guest, then a boot of the guest kernel under KVM within 20 s). */
void qemu_probe_accel(const struct driver_ctx *ctx);

#endif
