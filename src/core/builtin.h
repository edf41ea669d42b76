/* Built-in templates: definitions that come with the daemon (LIB/templates/NAME/:
 * template.json with the builder's steps, start and ready commands, and the files its
 * copy steps take), built by the template builder the first time a machine names one
 * (code-interpreter, ...). Their apt steps run on the host into layers shared through
 * the cache (build_host.c). Loop thread only. */
#ifndef NS_BUILTIN_H
#define NS_BUILTIN_H

#include "../common/err.h"
#include "build.h"
#include "prep.h"

struct core;

/* One wait for a built-in template to be built. The caller sets done; the rest is
 * builtin.c's. */
struct builtin_wait {
        void (*done)(struct builtin_wait *w, const char *error); /* error NULL: ready */
        struct core *core;
        char name[72];
        struct prep_waiter base;   /* the base template first */
        struct build_waiter build; /* then the build */
        int waiting;               /* 1: on base, 2: on the build */
        struct builtin_wait *next; /* in core->refreshing */
};

/* Whether `ref` (any spelling) names a built-in template: NAME or NAME:latest with a
 * definition under LIB/templates/NAME. */
int builtin_template_known(const struct core *core, const char *ref);

/* Has w->done told once the built-in template `ref` is built (joining a build under way,
 * or starting one, after the base template when that is still being made). 0 (w is
 * borrowed until told or cancelled), or -errno with e saying why (e.g. the definition is
 * broken; w is not told). */
int builtin_template_need(struct core *core, const char *ref, struct builtin_wait *w,
                          struct err *e);

/* Withdraws w (its requester went away); the build goes on. */
void builtin_wait_cancel(struct builtin_wait *w);

/* Starts rebuilding each built-in template whose build was made from a definition other
 * than the one this daemon ships (after an upgrade: its steps, files or commands
 * changed). Machines keep starting from the old build; the name moves to the new one
 * when it is ready. Templates never built are left to their first need. Call once at
 * start-up; builtin_refresh_stop at shutdown. */
void builtin_templates_refresh(struct core *core);

/* Forgets the rebuilds' waits (the daemon stops; the builds are dropped). */
void builtin_refresh_stop(struct core *core);

/* The names of the built-in templates (a new JSON array of strings). */
json_t *builtin_template_names(const struct core *core);

#endif
