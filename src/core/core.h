/* The core's one context struct: what machines, templates, builds and warm pools need
 * (the loop, child processes, the store, the runtimes, host networking, directories)
 * and nothing of the layers above it (HTTP, auth, proxies, WebSocket clients). The
 * daemon embeds it in its own context (daemon/app.h) and learns what the core must
 * tell it through `hooks`. Used from the loop thread only. */
#ifndef NS_CORE_H
#define NS_CORE_H

#include <limits.h>
#include <stdint.h>

#include "../common/children.h"
#include "../common/loop.h"
#include "../runtime/driver.h"
#include "../runtime/net.h"
#include "netns_pool.h"
#include "../store/store.h"
#include "base_rootfs.h"
#include "events.h"
#include "ssh.h"

struct core;
struct machine;
struct capture;
struct build;
struct volume_agent;
struct webhooks;
struct deploy_build;
struct deploy_run;
struct deploy_sched;
struct deploy_svc;

/* What the core tells the layer above. Each may be NULL; each runs on the loop thread,
 * synchronously, and must not free what the core passes (borrowed for the call). */
struct core_hooks {
        /* a build's log grew (ended 0) or the build ended (1): its log readers */
        void (*build_log)(struct core *core, const char *build_id, int ended);
        /* a checkpoint of machine id is about to be tried (it may still be refused as
         * busy): whatever holds TCP connections into it (preview relays) or runs commands
         * that end rather than hold it back (desktop recordings) lets go, since a
         * checkpoint cannot keep them */
        void (*before_checkpoint)(struct core *core, const char *machine_id);
        /* a machine operation ended (op: create, hibernate, resume, fork, snapshot,
         * destroy; ok 0 when the machine failed), ns after it started */
        void (*operation)(struct core *core, const char *op, int ok, uint64_t ns);
        /* a machine's agent says a process started or exited (the NOTE document) */
        void (*process)(struct core *core, const char *machine_id, json_t *note);
        /* whether something above the core keeps machine id in use (a relayed
         * connection): an idle check leaves it awake (core/idle.c) */
        int (*in_use)(struct core *core, const char *machine_id);
};

struct core {
        struct loop loop;
        struct children children;
        struct store *store;
        struct templates templates;      /* the base rootfs (core/base_rootfs.c) */
        struct prep vm_guest;            /* the VM guest's kernel + initramfs (core/vm_guest.c) */
        const struct driver *driver;     /* the host's default runtime */
        const struct driver *drivers[3]; /* every runtime built in (or a test's) */
        size_t ndrivers;
        const char *default_runtime; /* --default-runtime (NULL: gvisor) */
        struct driver_ctx driver_ctx;
        struct net_host net;    /* machines' host networking (runtime/net.h) */
        char lib_dir[PATH_MAX]; /* nsagent, nsshim, vm-assets.sh (beside us or ../lib) */
        int prepare_off;        /* --no-prepare: build the base on the first create */
        char agent_path[PATH_MAX];
        char shim_path[PATH_MAX];
        struct machine *machines;           /* live machines */
        struct capture *captures;           /* forks and snapshots under way (core/capture.c) */
        struct build *builds;               /* template builds under way (core/build.c) */
        struct builtin_wait *refreshing;    /* built-in templates rebuilt (core/builtin.c) */
        struct volume_agent *volume_agents; /* volumes' file agents (core/volume_files.c) */
        struct loop_timer pool_timer;       /* re-checks the warm pools (core/pools.c) */
        struct loop_timer usage_timer;      /* samples machines' usage (core/monitor.c) */
        unsigned usage_interval_ms;         /* ... this often (0: USAGE_INTERVAL_MS) */
        unsigned machine_timeout_s;         /* default deadline of new machines */
        char state_dir[PATH_MAX];
        char cache_dir[PATH_MAX];
        int shutting_down; /* the daemon is stopping: no new pool members */
        struct core_hooks hooks;
        struct core_cause cause;   /* who asks for the work started now (core/events.h) */
        struct webhooks *webhooks; /* the webhook sender (core/webhooks.c; NULL: not started) */
        struct core_ssh ssh;       /* SSH certificate authorities, sshd in machines (core/ssh.c) */
        unsigned idle_pause_s;     /* machines without an idle policy: pause after (0: never) */
        unsigned idle_hibernate_s; /* ... then hibernate after this much more (0: never) */
        struct loop_timer idle_timer; /* checks machines' idleness every second (core/idle.c) */
        /* below this much available host memory (MiB; 0: 5 % of the host's) the
         * longest-paused machines are hibernated, one at a time (core/idle.c) */
        unsigned memory_watermark_mb;
        unsigned base_pool_size;       /* machines of the base template kept ready (core/pools.c) */
        struct netns_pool netns_pool;  /* network namespaces made ahead (core/netns_pool.c) */
        unsigned char secrets_key[32]; /* seals secrets (core/secrets.c) once loaded */
        int secrets_key_loaded;
        struct deploy_build *deploy_builds; /* revisions building (core/deploy.c) */
        struct deploy_run *deploy_runs;     /* job runs under way or retained (deploy_run.c) */
        struct deploy_sched *deploy_sched;  /* live revisions' schedules (deploy_sched.c) */
        size_t deploy_nsched;
        struct loop_timer deploy_timer; /* fires at the first schedule's next time */
        struct deploy_svc *deploy_svcs; /* services (core/deploy_service.c) */
        struct loop_timer deploy_watch; /* replaces services' machines that died */
        json_t *deploy_doomed;          /* templates of deleted deployments still in use */
        const char *machine_ca;         /* --machine-ca: host, none or a path (NULL: none) */
        char trust_id[32]; /* the trusted-certificates layer ("": none; core/trust.c) */
        char *trust_pem;   /* its certificates (owned) */
        size_t trust_len;
};

/* Readies a core whose caller set loop, store, state_dir, lib_dir, agent_path,
 * shim_path (and cache_dir; "" means STATE/cache, and it is set to that): makes
 * STATE/{machines,layers,snapshots,images,volumes}, finds what the cache already holds of the
 * base rootfs and the VM guest (neither is built here: prep_start), and fills
 * driver_ctx. The caller picks the drivers. 0 or -errno with e set. Loop thread. */
int core_init(struct core *core, struct err *e);

#endif
