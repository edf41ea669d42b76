/* One-time preparations that machines need before the first of them can start: the
 * base template's root filesystem (base_rootfs.c) and the VM guest's kernel and initramfs
 * (vm_guest.c). Each is a script run once in the background, its output logged line by
 * line and read for progress ("step 3/10 downloading packages"), bounded in time, with
 * waiters called when it ends. Loop thread only. */
#ifndef NS_PREP_H
#define NS_PREP_H

#include <stdint.h>

#include "../common/children.h"
#include "../common/loop.h"

enum prep_state { PREP_MISSING, PREP_BUILDING, PREP_READY, PREP_FAILED };

/* An output line starting with `prefix` moves the task to stage `step` (never back);
 * step 0 keeps the stage. With `detail`, the word after the prefix says what the stage
 * is on now (a package name); `count` adds one to progress.items. */
struct prep_stage {
        const char *prefix;
        unsigned step;
        int detail;
        int count;
};

/* What a task is, fixed for its life (static storage). */
struct prep_desc {
        const char *name;  /* "base_template": the key in /readyz and /v1/info */
        const char *label; /* "building the base template": what a waiting client shows */
        const struct prep_stage *lines;
        unsigned nlines;
        const char *const *stage_names; /* [0] before the first stage, [1..steps] */
        unsigned steps;
        unsigned limit_s; /* a run past this is killed and fails */
};

struct prep_progress {
        unsigned step;      /* 1-based stage reached, 0 before the first */
        unsigned steps;     /* how many stages there are */
        const char *stage;  /* the stage's name (static) */
        char detail[64];    /* what the stage is on now, or "" */
        unsigned items;     /* items counted so far (packages fetched) */
        int64_t started_ms; /* wall clock; 0 when it did not run in this daemon */
        int64_t elapsed_ms; /* of the run under way, or of the last one */
};

struct prep_waiter {
        void (*done)(struct prep_waiter *w, const char *error); /* error NULL: ready */
        struct prep_waiter *next;
};

struct prep {
        const struct prep_desc *desc;
        enum prep_state state;
        char error[256];
        char **argv; /* the script's command line (owned) */
        struct prep_waiter *waiters;
        struct child_watch child;
        struct loop_io out; /* the script's output */
        char line[1024];
        size_t line_len;
        struct prep_progress progress;
        struct loop_timer limit;
        int killed;
        struct loop *loop;
        struct children *children;
};

/* Sets p up, ready (`ready` non-zero: nothing to do) or missing. argv (copied) is the
 * command that prepares it; exit status 0 means ready. Returns 0 or -ENOMEM. */
int prep_init(struct prep *p, const struct prep_desc *d, struct loop *loop,
              struct children *children, const char *const *argv, int ready);

/* Frees what prep_init allocated; a run under way goes on on its own. */
void prep_fini(struct prep *p);

/* Starts the task now, in the background, unless it is ready or running. */
void prep_start(struct prep *p);

/* Calls w->done once the task is ready (now, if it is), starting it if needed; on
 * failure with an error text. `w` is borrowed until done runs or prep_cancel(). */
void prep_need(struct prep *p, struct prep_waiter *w);

/* Withdraws a waiter (its requester went away). */
void prep_cancel(struct prep *p, struct prep_waiter *w);

/* "missing", "building", "ready" or "failed". */
const char *prep_state_name(const struct prep *p);

/* Copies the progress of the run under way (or the last one) into *out. */
void prep_progress(const struct prep *p, struct prep_progress *out);

/* Reads one output line for progress (exposed for the unit tests). */
void prep_track_line(const struct prep_desc *d, struct prep_progress *pr, const char *line);

#endif
