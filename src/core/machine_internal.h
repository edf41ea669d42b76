/* Internal to src/core: what machine.c, hibernate.c, capture.c, spawn.c and layers.c
 * share. Loop thread only. */
#ifndef NS_MACHINE_INTERNAL_H
#define NS_MACHINE_INTERNAL_H

#include "machine.h"

/* ---- machine.c ---- */

/* Persists and logs a state change (failure may be NULL). */
void machine__set_state(struct machine *m, enum machine_state s, const char *failure);

/* Marks the machine failed with `reason` and tears its sandbox down. */
void machine__fail(struct machine *m, const char *reason);

/* agentconn state callback: hello → running, loss → failed. */
void machine__on_agent_state(struct agent_conn *a, json_t *hello);

/* Starts talking to the machine's agent over (rfd, wfd): state changes go to
 * machine__on_agent_state, NOTE frames to core->hooks.process. 0 or -errno with e. */
int machine__agent_open(struct machine *m, int rfd, int wfd, struct err *e);

/* The sandbox's process (shim) exited. */
void machine__on_sandbox_exit(struct child_watch *w, int status);

/* Connects to the agent of the sandbox just started or restored without blocking the
 * loop: polls for the shim's socket (2 ms, backing off to 50 ms, for at most 60 s), then
 * sets up m->agent. then(m, NULL) once connected, then(m, why) when it cannot be (the
 * sandbox exited, or never listened). */
void machine__agent_connect(struct machine *m, void (*then)(struct machine *m, const char *error));

/* Withdraws the machine from the base template's and the VM guest's waiters. */
void machine__cancel_waits(struct machine *m);

/* Drops a pending machine__agent_connect (then is not called). */
void machine__agent_connect_cancel(struct machine *m);

/* The machine's environment as "K=V" strings (NULL-terminated; strv_free). */
char **machine__env_list(const struct machine *m);

/* A creating machine whose agent is connected but has not answered yet fails after a
 * while (a sandbox that hangs as it boots, e.g. when the host is out of threads)
 * instead of leaving its create waiting for ever; machine__finish_create stops the wait. */
void machine__await_hello(struct machine *m);

/* What a driver's start or restore is given, and what it points into. */
struct sandbox_spec {
        struct machine_spec spec;
        char **env, **layers;
        struct net_plan plan;
        int planned;
        struct machine_mount *mounts;
};

/* Fills s for machine m on `rootfs` (borrowed until sandbox_spec_fini): environment,
 * layers, network plan and its volumes pinned (volume_mounts_pin). 0, or -errno with
 * e set (e->code volume_not_found when a volume it mounts is gone); s is finished on
 * failure. */
int machine__sandbox_spec(struct machine *m, const char *rootfs, struct sandbox_spec *s,
                          struct err *e);

/* Frees what machine__sandbox_spec made. */
void machine__sandbox_spec_fini(struct sandbox_spec *s);

/* The machine's spec as stored (machine_conf_encode; new reference). */
json_t *machine__spec_json(const struct machine *m);

/* Sets m's runtime (and the spec's name of it). */
void machine__set_driver(struct machine *m, const struct driver *drv);

/* STATE/machines/ID (malloc'ed; NULL when out of memory). */
char *machine__dir(const struct core *core, const char *id);

/* Stores the machine's spec again (after its layers changed). */
int machine__save_spec(struct machine *m, struct err *e);

/* A new machine record (state creating, persisted, listed, deadline armed) with a copy
 * of `layers` (NULL: none); cb runs when creation ends. NULL with e set on failure. */
struct machine *machine__new(struct core *core, const struct machine_params *p, json_t *layers,
                             const char *parent_id, const char *snapshot_id, machine_done_cb cb,
                             void *ud, struct err *e);

/* Frees a machine that is no longer listed (its deadline timer cancelled). */
void machine__free(struct machine *m);

/* Runs the create callback once (code NULL: success). */
void machine__finish_create(struct machine *m, enum ns_code code, const char *error);

/* Re-arms the machine's deadline timer from m->deadline_at. */
void machine__arm_deadline(struct machine *m);

/* ---- network.c ---- */

/* Claims an address slot for a new machine and sets m->network from `policy` (NULL:
 * defaults). No-op when networking is off. 0 or -errno with e set. */
int machine_net_new(struct machine *m, const json_t *policy, struct err *e);

/* Gives the slot back (a machine that never started). */
void machine_net_release(struct machine *m);

/* The driver's plan for m's network: 1 (plan filled; net_plan_free), 0 (none), -1. */
int machine_net_plan(const struct machine *m, struct net_plan *plan);

/* ---- hibernate.c ---- */

/* Tells every waiter of a hibernate / resume / capture and empties the list. */
void machine__finish_op(struct machine *m, enum ns_code code, const char *error);

/* Adds a waiter; -1 when MACHINE_MAX_WAITERS wait already. */
int machine__add_waiter(struct machine *m, machine_done_cb cb, void *ud);

/* Opens a channel with `req` (stolen; NULL: a harmless "exists /") whose answer proves
 * the agent read everything sent before. Returns the channel (0: agent gone). */
uint32_t machine__agent_ping(struct machine *m, json_t *req, agent_frame_cb cb);

/* Pauses a running machine into state s (hibernating, forking, snapshotting) and
 * checkpoints it; cb is told the outcome via the waiters. -1 when refused (cb told). */
/* Continues a paused machine (state running); 0 when it was not paused. -1 with e set
 * when the runtime could not (it stays paused). core/pause.c. */
int machine__unpause(struct machine *m, struct err *e);

int machine__checkpoint_start(struct machine *m, enum machine_state s, machine_done_cb cb,
                              void *ud);

/* Starts the machine's sandbox from `image` and sends the first request at once (the
 * agent reads it once restored): resuming → a ping, creating → machine__spawn_hello. A helper
 * signals the agent to re-arm in case it does not on its own; only its failure counts. */
int machine__restore_from(struct machine *m, const char *image, struct err *e);

/* Stops (and forgets) the machine's checkpoint / restore helper, if any. */
void machine__op_helper_stop(struct machine *m);

/* Resumes m (hibernated or just checkpointed) from `image`; waiters are told. */
void machine__resume_from(struct machine *m, const char *image);

/* ---- capture.c ---- */

/* The image directory of a capture under way. */
const char *capture__image(const struct capture *c);

/* At daemon exit: frees the captures still under way (their machines are let go). */
void captures_drop(struct core *core);

/* The checkpoint of a forking / snapshotting machine is complete. */
void capture__checkpointed(struct machine *m);

/* ---- spawn.c ---- */

/* Creates a machine restored from `image` over `layers`, with a fresh identity. */
struct machine *machine__spawn(struct core *core, const struct machine_params *p, const char *image,
                               json_t *layers, const char *parent_id, const char *snapshot_id,
                               machine_done_cb cb, void *ud, struct err *e);

/* machine_create with p->snapshot set. */
struct machine *machine__spawn_snapshot(struct core *core, const struct machine_params *p,
                                        machine_done_cb cb, void *ud, struct err *e);

/* Sends a restored new machine its identity; it runs once the agent applied it.
 * Returns 0 when the agent stream is gone. */
int machine__spawn_hello(struct machine *m);

/* Sends a new (cold-started) machine its opened secrets (m->secret_env); it runs once
 * the agent set them, or fails: the create is answered through that. */
void machine__send_secrets(struct machine *m);

/* The driver called `name` ("gvisor", "vm"), or the host's default for an unknown name. */
const struct driver *machine__driver_named(struct core *core, const char *name);

/* machine_create for a template other than base: a member of its warm pool (p->pool
 * permitting), else a spawn (machine__spawn_template). Errors as machine__spawn_template,
 * plus pool_empty (POOL_REQUIRE and no member ready). */
struct machine *machine__from_template(struct core *core, const struct machine_params *p,
                                       machine_done_cb cb, void *ud, struct err *e);

/* A spawn from the snapshot of the build the template's name points at. Errors (*code):
 * invalid_field, template_not_found, snapshot_not_ready, internal. */
struct machine *machine__spawn_template(struct core *core, const struct machine_params *p,
                                        machine_done_cb cb, void *ud, struct err *e);

/* ---- snapshots.c ---- */

/* Snapshots caught mid-capture by a daemon stop are dropped. */
void snapshots_recover(struct core *core);

/* ---- layers.c ---- */

/* The directory of layer id: STATE/layers/ID, or CACHE/layers/KEY for a layer shared
 * through the cache ("k_" + KEY, made by a built-in template's host step). */
void layers_path(const struct core *core, const char *id, char *out, size_t cap);

/* STATE/snapshots/ID: a snapshot's image. */
void layers_snapshot_dir(const struct core *core, const char *id, char *out, size_t cap);

/* DIR/checkpoint: a machine's own checkpoint image (hibernate; linked by fork/snapshot). */
void layers_own_image(const char *machine_dir, char *out, size_t cap);

/* Disk used by the files of an image directory (bytes). */
int64_t layers_image_bytes(const char *dir);

/* Paths of the layers (NULL-terminated; strv_free), NULL on allocation failure. */
char **layers_paths(const struct core *core, json_t *layers);

/* Finishes a seal a daemon stop cut short (the top layer is named but missing). */
int layers_settle(struct core *core, const struct driver *drv, const char *dir, json_t *layers,
                  struct err *e);

/* Removes what fork images a stopped daemon left in STATE/images (at start-up). */
void layers_sweep_images(struct core *core);

/* rm -rf in a child process the reaper collects. */
void layers_remove_later(const char *path);

/* Removes (layers_remove_later) the entries of STATE/sub that are not in `used` (an entry
 * "ID.anything" belongs to ID) and, when before_ms >= 0, were last changed before it;
 * logs each under event `what` (NULL: silently). Returns how many. Loop thread. */
int layers_dir_sweep(struct core *core, const char *sub, char **used, int64_t before_ms,
                     const char *what);

/* DIR/op.pid names the helper at work on a machine, so a restarted daemon can wait. */
void layers_op_pid_write(const char *dir, pid_t pid);
void layers_op_pid_clear(const char *dir);
void layers_wait_op_helper(const char *dir);

#endif
