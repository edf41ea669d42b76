/* Internal to the template builder (build.c, build_log.c, build_start.c). Loop thread
 * only. */
#ifndef NS_BUILD_INTERNAL_H
#define NS_BUILD_INTERNAL_H

#include <jansson.h>
#include <limits.h>
#include <stdint.h>

#include "../common/children.h"
#include "../common/loop.h"
#include "../store/store.h"
#include "build.h"
#include "builtin.h"

struct capture;
struct machine_cmd;

struct build {
        struct core *core;
        char id[MACHINE_ID_MAX];
        char ref[TEMPLATE_REF_MAX + 1];
        char from[TEMPLATE_REF_MAX + 1]; /* "base", the template built on, or "image" */
        char image[72];                  /* an imported image below it all ("": base) */
        struct child_watch import;       /* the image's import, under way */
        json_t *req;                     /* the request (owned): steps, ready_cmd, ... */
        char context_id[65];             /* "" when none */
        int no_cache;
        unsigned vcpus, memory_mb;
        char runtime[16];        /* of the template's machine (steps run in gVisor machines) */
        struct core_cause cause; /* who started the build (its events say so) */
        /* what the steps so far made */
        json_t *env;    /* object of strings */
        char user[65];  /* "" = root */
        char cwd[4097]; /* "" = the user's home */
        json_t *ports;  /* EXPOSEd */
        json_t *start;  /* {cmd|argv} or NULL */
        json_t *layers; /* sealed layer ids, top first */
        char key[65];   /* cache key after the steps so far */
        size_t i;       /* next step (index) */
        size_t step_no; /* the step under way, 1-based (steps + 1: the final machine) */
        int cached_steps;
        /* the work under way */
        char mid[MACHINE_ID_MAX]; /* the build machine ("" when none) */
        int creating, created;    /* inside machine_create; its callback said "running" */
        char create_error[256];   /* ... or why the machine failed */
        void (*then)(struct build *b);
        void (*after_mkdir)(struct build *b);
        void (*run_then)(struct build *b, int code, const char *error);
        struct machine_cmd *run;
        uint32_t start_chan;
        struct capture *capture;
        char pending_key[65];
        json_t *pending_layers;
        int64_t step_started;
        int64_t ready_deadline;
        struct loop_timer timer;
        /* the log */
        int log_fd;
        size_t log_bytes;
        int log_full;
        struct {
                char data[4096];
                size_t len;
        } line[3]; /* partial output lines of streams 1 and 2 */
        /* a built-in template's build (builtin.c): its apt steps run on the host */
        int trusted;
        struct child_watch host;       /* the host step under way (build_host.c) */
        struct loop_io host_out;       /* its output */
        struct build_waiter *waiters;  /* told when the build ends */
        struct builtin_wait base_wait; /* a built-in base being built first (build_start.c) */
        int base_waiting;
        int ok;             /* it ended ready */
        char end_msg[256];  /* why it ended otherwise */
        struct build *next; /* core->builds */
};

/* ---- build_log.c ---- */

/* Appends a line to the build's log (stream "system", "stdout" or "stderr"). */
void build_log(struct build *b, const char *stream, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Takes command output of stream 1 or 2: whole lines go to the log. */
void build_output(struct build *b, int stream, const char *p, size_t n);

/* Writes what is left of partial output lines. */
void build_output_flush(struct build *b);

/* ---- build.c ---- */

/* Walks the steps from the first (the record exists, the log is open). */
int build_begin(struct build *b);

/* Frees b (its timer, run, capture and import stopped; nothing recorded). */
void build_free(struct build *b);

/* The build's machine, or NULL when it has none (or it is gone). */
struct machine *build_machine(struct build *b);

/* Lets the build's machine go (destroyed; nothing waits for it). */
void build_drop_machine(struct build *b);

/* Starts a machine over the layers so far; then(b) runs once it runs. final: with the
 * template's environment, user and working directory. */
void build_start_machine(struct build *b, int final, void (*then)(struct build *));

/* Runs req (stolen) in the build's machine with stdin_fd (owned; -1: none); then(b,
 * exit_code, error) follows (or the build fails when the machine is gone). */
void build_run(struct build *b, json_t *req, int stdin_fd,
               void (*then)(struct build *, int, const char *));

/* An exec request with the build's environment (plus `extra`), as user in cwd. */
json_t *build_exec_req(struct build *b, const json_t *extra, const char *user, const char *cwd);

/* Creates the working directory (as root) when set, then next(b). */
void build_make_cwd(struct build *b, void (*next)(struct build *));

/* The step under way made `layers` (stolen: the new layer first, then those below):
 * they and the step's key become the build's, and the walk goes on. */
void build_step_sealed(struct build *b, json_t *layers);

/* ---- build_host.c ---- */

/* Whether a trusted build runs `step` on the host (apt and npm steps). */
int build_step_on_host(const json_t *step);

/* Runs the apt or npm step under way on the host, in a chroot over the layers so far, into
 * a layer shared through the cache directory (CACHE/layers/KEY, id "k_" + KEY) that
 * daemons sharing the cache reuse; then build_step_sealed. Only for trusted builds
 * (built-in templates, whose steps come with the daemon); b fails on error. */
void build_host_step(struct build *b);

/* Stops a host step under way (its process group killed). */
void build_host_stop(struct build *b);

/* ---- build_final.c ---- */

/* The template's machine: start command, ready command, snapshot, the name recorded;
 * b is freed at the end (or failed). */
void build_final(struct build *b);

/* Ends the build failed with a reason (logged, recorded); b is freed. */
void build_fail(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
