/* Machines: the lifecycle of each sandbox the daemon runs, persisted before side
 * effects (creating → running → destroying → destroyed, or failed with a reason).
 * Loop thread only. */
#ifndef NS_MACHINE_H
#define NS_MACHINE_H

#include <jansson.h>
#include <stdint.h>

#include "../common/children.h"
#include "../runtime/agentconn.h"
#include "../runtime/driver.h"
#include "../store/store.h"
#include "conf.h"
#include "events.h"
#include "base_rootfs.h"

struct core;

enum machine_state {
        M_CREATING,
        M_RUNNING,
        M_DESTROYING,
        M_DESTROYED,
        M_FAILED,
        M_HIBERNATING,
        M_HIBERNATED,
        M_RESUMING,
        M_FORKING,      /* paused: its checkpoint is taken for children */
        M_SNAPSHOTTING, /* paused: its checkpoint is taken for a snapshot */
        M_PAUSED,       /* stopped in memory (machine_pause): nothing saved, nothing detached */
};
#define M_STATE_COUNT (M_PAUSED + 1)

struct machine;

/* Completion of create or destroy: error is NULL on success (code names the stable
 * error code otherwise). */
typedef void (*machine_done_cb)(void *ud, struct machine *m, enum ns_code code, const char *error);

#define MACHINE_MAX_WAITERS 64

/* A live machine's runtime handle: its sandbox, the processes working on it and the
 * agent stream. Not persisted: a restarted daemon attaches again (driver attach). */
struct machine_handle {
        const struct driver *drv;     /* its runtime */
        struct machine_run run;       /* the sandbox's process and agent fds */
        struct child_watch sandbox;   /* the sandbox's process (the shim) */
        struct child_watch helper;    /* the destroy helper */
        struct child_watch op_helper; /* checkpoint / restore helper */
        pid_t shim_pid;               /* our shim, remembered while destroying */
        struct agent_conn agent;
        int agent_open;
        struct learned { /* addresses its allowed domains opened, and until when */
                uint32_t addr;
                uint64_t until_ms;
        } learned[32];
};

/* What is under way on a machine: who waits for it, its timers and callbacks. */
struct machine_op {
        struct machine_waiter {
                machine_done_cb cb;
                void *ud;
                int resume;             /* came while hibernating: resumes it once hibernated */
        } waiters[MACHINE_MAX_WAITERS]; /* told when a hibernate / resume / capture ends */
        int nwaiters;
        uint32_t ping_chan;
        struct capture *capture;     /* the fork or snapshot under way (parent side) */
        char *keep_layer;            /* destroy seals its writable layer there (owned) */
        struct prep_waiter tpl_wait; /* for the base template, then a VM's guest */
        struct loop_timer deadline;
        struct loop_timer settle;        /* re-asks a pausing machine about its connections */
        struct loop_timer connect_timer; /* polls for a new sandbox's agent */
        void (*connect_then)(struct machine *m, const char *error);
        uint64_t connect_deadline;
        unsigned connect_delay;
        int settle_tries;
        machine_done_cb create_cb, destroy_cb;
        void *create_ud, *destroy_ud;
        struct core_cause cause;     /* why the operation under way runs (its events say so) */
        enum machine_state op_state; /* the state that started it (M_RUNNING: none) */
        uint64_t op_started_ns;      /* monotonic, when it started */
};

struct machine {
        /* ---- its record: persisted (store), the spec through one table (conf.h) ---- */
        char id[MACHINE_ID_MAX];
        enum machine_state state;
        struct machine_conf conf; /* what it is made of: the record's spec */
        json_t *metadata;         /* object of strings (owned) */
        int64_t created_at;
        int64_t deadline_at;            /* ms since epoch; 0 = none */
        char parent_id[MACHINE_ID_MAX]; /* the machine it was forked from ("" if none) */
        char failure[256];
        char *dir;                /* STATE/machines/ID (owned) */
        struct machine_handle rt; /* its sandbox, processes and agent stream */
        struct machine_op op;     /* what is under way: waiters, timers, callbacks */
        struct usage_ring *usage; /* its usage over time (core/monitor.c; NULL: none yet) */
        int ssh_ready;            /* sshd is set up for this machine (core/ssh.c) */
        int pool_checking;        /* its pool's ready command runs in it (core/pools.c) */
        /* its nftables rules are in this daemon's table as its policy says (applied, or
         * its pool namespace's): a start or restore in its namespace skips nft */
        int net_ruled;
        uint64_t active_ms; /* loop time of its last sign of use (core/idle.c) */
        uint64_t paused_ms; /* loop time it was paused (core/pause.c) */
        /* its secrets, opened, until its agent has them (then NULL; never stored) */
        json_t *secret_env;
        struct core *core;
        struct machine *next;
};

struct capture;
struct usage_ring;

struct machine_params {
        const char *template_name;
        unsigned vcpus, memory_mb;
        json_t *env;      /* borrowed */
        json_t *metadata; /* borrowed */
        int64_t timeout_s;
        const char *user; /* default user of commands (NULL: root) */
        const char *cwd;  /* default working directory of commands (NULL: the user's home) */
        int auto_resume;
        int timeout_hibernate;
        const char *snapshot;  /* spawn from this snapshot instead of a template (NULL: none) */
        const json_t *network; /* egress policy (machine_net_check'ed; NULL: defaults) */
        json_t *layers;        /* cold start over these sealed layer ids, top first (NULL: none;
                                * template_name is then only the name shown) */
        int pool;              /* enum pool_mode (core/pools.h): a template's warm pool first? */
        const char *checkout;  /* "fresh" for a spawn from a template (NULL: none) */
        const char *image;     /* an imported image as the bottom layer (NULL: base) */
        const char *runtime;   /* "gvisor" or "vm" (core_driver_check'ed; NULL: the default) */
        const json_t *volumes; /* its mounts (volume_mounts_check'ed; NULL: none) */
        const json_t *idle;    /* its idle policy (machine_idle_check'ed; NULL: the daemon's) */
        const json_t
            *secrets;     /* names of secrets set as env by its agent (core_secrets_check'ed) */
        int secrets_held; /* its memory has them already (a fork): not opened again */
};

/* Starts creating a machine; cb runs when it is ready for commands or failed (the
 * machine stays listed as failed). Refused (invalid_field): volumes with a hibernating
 * deadline on a runtime that cannot checkpoint mounts. A template other than base is spawned from
 * its snapshot, or taken from its warm pool (cb then runs before this returns). Returns the machine
 * (owned by the core) or NULL with code/e set when it cannot even start (e.g. template_not_found,
 * pool_empty with POOL_REQUIRE). */
struct machine *machine_create(struct core *core, const struct machine_params *p,
                               machine_done_cb cb, void *ud, struct err *e);

/* Destroys m; cb (may be NULL) runs once nothing of it is left. */
void machine_destroy(struct machine *m, machine_done_cb cb, void *ud);

/* Records state s (failure: its reason, or NULL) of machine `id`, which has no live
 * sandbox (failed, or gone: destroyed; a record an earlier daemon left): the store, its
 * lifecycle event and a log line, as for a live machine. 0 or -errno with e set. */
int machine_record_state(struct core *core, const char *id, enum machine_state s,
                         const char *failure, struct err *e);

/* machine_destroy, first sealing m's writable layer into `layer` (a path the caller
 * has recorded as in use, or layers_collect removes it again); cb gets code "internal"
 * when the layer could not be kept. */
void machine_destroy_keep(struct machine *m, const char *layer, machine_done_cb cb, void *ud);

/* Drops a pending callback (its requester went away). */
void machine_forget_callbacks(struct machine *m, void *ud);

/* Hibernates a running machine: memory, processes and files are checkpointed into its
 * directory and the sandbox stops. cb gets machine_busy while commands or transfers
 * are open, machine_not_running unless running. */
void machine_hibernate(struct machine *m, machine_done_cb cb, void *ud);

/* A session channel (an attach or a watch): a checkpoint detaches it instead of
 * waiting for it to end. */
#define MACHINE_CHAN_SESSION 1u

/* Opens a channel on m's agent with request `req` (borrowed): cb gets its frames (a
 * NULL header when the agent goes). *conn (may be NULL) is set to the connection the
 * channel's further calls take (agentconn_send_stdin, _grant, _signal, _chan_close,
 * _detach; valid until cb saw the end). Returns the channel id, or 0 when m has no
 * agent connection or the agent does not take the request (cb is not called). The
 * caller has checked m's state (running, or paused for a capture). */
uint32_t machine_open_channel(struct machine *m, const json_t *req, unsigned flags,
                              agent_frame_cb cb, void *ud, struct agent_conn **conn);

/* One request, one answer on m's agent (agentconn_call: done gets the answer, and the
 * agent's error when it refused). 0 (done is not called) when m has no agent
 * connection or the request cannot be sent. */
uint32_t machine_call(struct machine *m, const json_t *req, agent_call_cb done, void *ud);

/* One sample of a machine's usage; a figure the runtime cannot tell is -1. */
struct machine_sample {
        char id[MACHINE_ID_MAX];
        int64_t sampled_at;             /* ms since epoch */
        long long cpu_ns;               /* CPU time used so far (runtime included) */
        long long mem_bytes, mem_limit; /* resident memory and the most it may use */
        long long disk_bytes;           /* its own writable layer on disk */
};

typedef void (*machine_sample_cb)(void *ud, const struct machine_sample *s);
struct machine_sampling;

/* Samples m's usage (a running machine): CPU and memory from its driver at once, the
 * disk in a child process; cb runs on the loop once counted (never before this
 * returns). Returns the sampling (for machine_sample_forget), or NULL with e set. */
struct machine_sampling *machine_sample(struct machine *m, machine_sample_cb cb, void *ud,
                                        struct err *e);

/* Drops a sampling's callback (its requester went away); the count still ends. */
void machine_sample_forget(struct machine_sampling *op);

/* Resumes a paused machine at once (cb runs before this returns), or a hibernated one
 * from its checkpoint; while a resume is under way, or a fork or snapshot pauses the
 * machine, cb joins it (told when it runs again); while it is being hibernated, cb waits
 * for that to end and the resume follows (or it is told at once that it runs, when the
 * hibernation failed and left it running). cb gets machine_not_running unless paused,
 * hibernating, hibernated or resuming, machine_busy when too many requests wait,
 * machine_failed when the restore (or the runtime's continue) fails (it stays as it was). */
void machine_resume(struct machine *m, machine_done_cb cb, void *ud);

/* Pauses the running machine m in memory (state paused; core/pause.c): its processes stop
 * where they are, sessions and connections stay. cb runs before this returns: NS_OK (also
 * when it was paused already), machine_not_running unless running, runtime_unsupported,
 * machine_failed when the runtime could not (it runs on). */
void machine_pause(struct machine *m, machine_done_cb cb, void *ud);

/* ---- idle.c: machines that put themselves to sleep ---- */

/* Checks an "idle" request object {"pause_after_s","hibernate_after_s"} (whole seconds,
 * 0..30 days, 0: never). 0, or -EINVAL with e set (code invalid_field/unknown_field). */
int machine_idle_check(const json_t *idle, struct err *e);

/* A sign that m is in use now (an API request, a relayed byte): its idle time restarts. */
void machine_touch(struct machine *m);

/* Starts the once-a-second check that pauses machines idle for pause_after_s and
 * hibernates paused ones idle for hibernate_after_s more (reason idle). Loop thread. */
void core_idle_start(struct core *core);

/* Whether the host's available memory is below the watermark (memory_watermark_mb, or
 * 5 % of the host's): warm pools then stop refilling and give their members up first.
 * Loop thread. */
int core_memory_low(struct core *core);

/* Whether a request to m may wait for it to run (machine_resume): a paused, hibernating,
 * hibernated or resuming machine with auto_resume on, or one a fork or snapshot paused. */
int machine_wakeable(const struct machine *m);

/* Completion of a fork or snapshot. On success code is NULL and `children` (borrowed,
 * an array of machine ids; empty for a snapshot), `snapshot_id` ("" for a fork) and
 * `pause_ms` (how long the parent was stopped) describe the result. */
typedef void (*capture_done_cb)(void *ud, enum ns_code code, const char *error, json_t *children,
                                const char *snapshot_id, int64_t pause_ms);

#define MACHINE_MAX_FORK 16

/* Forks a running machine into `count` (1..MACHINE_MAX_FORK) children restored from its
 * checkpoint, each with a fresh identity and its own writable layer over the parent's
 * sealed one; the parent runs on afterwards. cb runs once the parent and every child
 * are running (or failed). Errors: machine_not_running, machine_busy (open channels). */
/* Returns the capture under way (for machine_capture_forget) or NULL when cb already
 * ran (refused at once). `metadata` (borrowed, NULL: the parent's) goes to the children. */
struct capture *machine_fork(struct machine *m, unsigned count, json_t *metadata,
                             capture_done_cb cb, void *ud);

/* Captures a running machine into a snapshot named `name` (the machine runs on): its
 * memory, processes and layers, spawnable with machine_create(.snapshot). kind: "user"
 * (listed) or "template" (a template's). Same return and errors as machine_fork. */
struct capture *machine_snapshot(struct machine *m, const char *name, const char *kind,
                                 capture_done_cb cb, void *ud);

/* Drops a capture's callback (its requester went away); the capture goes on. */
void machine_capture_forget(struct capture *c);

/* Sets a new deadline `timeout_s` from now (0: none). */
int machine_set_timeout(struct machine *m, int64_t timeout_s, struct err *e);

/* The root filesystem below m's layers: its imported image's, or the base template's. */
void machine_rootfs(const struct machine *m, char *out, size_t cap);

/* The directory of imported image id (STATE/bases/ID). */
void layers_image_path(const struct core *core, const char *id, char *out, size_t cap);

/* 0 when `name` (may be NULL: the default) is a runtime this host has; else -EINVAL
 * (unknown) or -ENOTSUP (not on this host) with e saying why. */
int core_driver_check(struct core *core, const char *name, struct err *e);

/* The runtime a stored record (machine spec, snapshot spec, build request or result)
 * names in "runtime": records from before there were runtimes are gVisor's. Borrowed
 * from o. */
const char *core_record_runtime(const json_t *o);

/* The live machine with this id, or NULL. */
struct machine *machine_find(struct core *core, const char *id);

/* "creating", "running", ... */
const char *machine_state_name(enum machine_state s);

/* JSON view of a machine record (live or from the store). */
json_t *machine_rec_json(const struct machine_rec *r);

/* Reconciles the store at start-up: running machines whose sandboxes still run are
 * adopted again (their shims kept the agent streams); the others, and machines caught
 * mid-creation or mid-destruction, are marked failed or destroyed and torn down. */
void machines_recover(struct core *core);

/* Deletes a snapshot and its image (its layers go when nothing else uses them).
 * Errors (code): snapshot_not_found, snapshot_in_use (machines spawned from it still
 * exist, or it is being captured), internal. */
int snapshot_delete(struct core *core, const char *id, struct err *e);

/* ---- network.c ---- */

/* Checks a request's "network" object (allow_internet_access, allow_out, deny_out,
 * public_all: every port served without a token).
 * 0, or -EINVAL with *code ("invalid_field", "unknown_field") and e set. */
int machine_net_check(const json_t *req, struct err *e);

/* Changes the machine's egress policy (fields of `req` replace the machine's) and
 * applies it at once when the machine's namespace exists (nft, a few ms, blocking).
 * Errors (*code): invalid_field, unknown_field, network_unavailable, internal. */
int machine_net_update(struct machine *m, const json_t *req, struct err *e);

/* Adds (public 1) or removes port from the ports served without a token; persisted.
 * 0 or -errno (ENOTSUP: no network; ENOSPC: too many). */
int machine_net_publish(struct machine *m, int port, int public, struct err *e);

/* True when port is served without a token (published, or public_all). */
int machine_net_is_public(const struct machine *m, int port);

/* What the resolver proxy does with m's query for name (lowercase): -1 refuse (a denied
 * domain, or not an allowed one while allow_internet_access is off), 0 forward, 1
 * forward and let m reach the answer's addresses (machine_dns_learn). */
int machine_dns_verdict(const struct machine *m, const char *name);

/* Whether m may open a TLS connection to dst (host order) naming sni ("" when the
 * ClientHello names none): not when sni or dst is denied; yes with the internet on, or
 * when sni is an allowed domain or dst an allowed address. 1 or 0. */
int machine_tls_verdict(const struct machine *m, uint32_t dst, const char *sni);

/* The live machine whose network address is addr (dotted), or NULL. */
struct machine *machine_by_address(struct core *core, const char *addr);

/* Lets m reach addrs (network order) for their TTLs; blocks a few ms (nft). */
void machine_dns_learn(struct machine *m, const uint32_t *addrs, const uint32_t *ttls, int n);

/* Applies m's rules again (a restarted daemon re-creates its table); no-op without a
 * namespace. Blocks a few ms (nft). 0 or -1 (logged). */
int machine_net_reapply(struct machine *m);

/* The API's view of a spec's "network" object (new reference; null when none). */
json_t *machine_net_view(const json_t *network);

/* Removes filesystem layers nothing refers to any more (in child processes); how many. */
int layers_collect(struct core *core);

/* At daemon exit: lets go of every machine without stopping it (a later daemon adopts
 * the running ones). */
void machines_detach(struct core *core);

#endif
