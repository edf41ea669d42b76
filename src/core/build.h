/* Template builds: the steps run one by one in real machines. Each step that changes
 * files runs in a machine started cold over the layers so far; its writable layer is
 * then sealed as a new layer and cached under the step's key (build_spec.h), so an
 * unchanged rebuild takes each step from the cache. At the end a machine over all the
 * layers runs the start command, the ready command is polled until it succeeds, and
 * the machine is snapshotted: machines from the template start with the service up.
 * Logs go to STATE/builds/ID.log, one JSON object per line. Loop thread only. */
#ifndef NS_BUILD_H
#define NS_BUILD_H

#include <jansson.h>
#include <stddef.h>

#include "../common/err.h"
#include "../store/store.h"

struct core;
struct build;

#define BUILD_MAX_RUNNING   4
#define BUILD_LOG_MAX       (16u << 20) /* output past this is dropped (the log says so) */
#define BUILD_READY_DEFAULT 120         /* seconds the ready command gets by default */

/* Told once when a build ends: error NULL when its template is ready. */
struct build_waiter {
        void (*done)(struct build_waiter *w, const char *error);
        struct build_waiter *next;
};

/* Starts a build of the checked request `req` (borrowed):
 *   {"ref": canonical name:tag, "from": "base" or a template name, "steps": [...] (no
 *    from), "context_id"?, "start"? {cmd|argv}, "ready_cmd"?, "ready_timeout_s",
 *    "no_cache", "vcpus", "memory_mb"}
 * Writes the build's id into id (MACHINE_ID_MAX bytes). Errors (*code, e):
 * template_not_found (from), conflict (BUILD_MAX_RUNNING builds run), internal. */
int build_start(struct core *core, const json_t *req, char *id, struct err *e);

/* build_start for a built-in template (core/builtin.c): its apt steps run on the host
 * (build_host.c); w (may be NULL, borrowed until told) is told when it ends. */
int build_start_trusted(struct core *core, const json_t *req, struct build_waiter *w, char *id,
                        struct err *e);

/* Adds w to the waiters of the build under way for ref (canonical). 0, or -ENOENT when
 * none runs. */
int build_wait_ref(struct core *core, const char *ref, struct build_waiter *w);

/* Withdraws w from whichever build it waits for. */
void build_wait_cancel(struct core *core, struct build_waiter *w);

/* Cancels build id while it runs: its machine is destroyed, its state becomes
 * "cancelled" (layers of finished steps stay cached). -ENOENT when it does not run
 * (unknown or ended), -EBUSY while its snapshot is being taken. */
int build_cancel(struct core *core, const char *id);

/* The path of build id's log. */
void build_log_path(const struct core *core, const char *id, char *out, size_t cap);

#define BUILD_LOG_PAGE (256u << 10) /* log bytes read at a time */

/* The whole lines of build id's log from byte `cursor` on, at most one page (new
 * reference: an array of {"ts","step","stream","text"}; empty when there is no log).
 * *next is the cursor after them; *more says the page was full (read again). Blocks on
 * a file read only. */
json_t *build_log_lines(const struct core *core, const char *id, uint64_t cursor, uint64_t *next,
                        int *more);

/* The path of an uploaded build context (STATE/contexts/ID.tar). */
void build_context_path(const struct core *core, const char *id, char *out, size_t cap);

/* The API's view of a build record (new reference). */
json_t *build_view(const struct build_rec *b);

/* At start-up: builds a stopped daemon left running are marked failed; machines they
 * used are destroyed. Call after machines_recover. */
void builds_recover(struct core *core);

/* At daemon exit: forgets the builds under way (their machines are left to the next
 * daemon's builds_recover). */
void builds_drop(struct core *core);

#endif
