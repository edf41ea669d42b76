/* Lifecycle events as the core records them: each says what happened to what, why
 * (the reason) and which API key asked. The layer above says who is asking by setting
 * the core's cause around the work it starts (core_cause_set); work the core starts on
 * its own (deadlines, recovery, pools) sets its own reason. Loop thread only. */
#ifndef NS_CORE_EVENTS_H
#define NS_CORE_EVENTS_H
#include <jansson.h>

struct core;

/* Why something happened and who asked: reason is one of "user", "timeout", "idle",
 * "error", "system", "pool"; key_id the API key ("" when none). */
struct core_cause {
        char reason[16];
        char key_id[48];
};

/* Makes (reason, key_id) the cause of what the core is asked to do until
 * core_cause_clear. key_id may be NULL. */
void core_cause_set(struct core *core, const char *reason, const char *key_id);

/* Back to no cause (work started now is the system's). */
void core_cause_clear(struct core *core);

/* The cause in force: the one set, else reason "system". */
struct core_cause core_cause_now(const struct core *core);

/* Records an event of `type` about (subject_type, subject_id) with payload `data`
 * (stolen; NULL means {}), caused by `cause` (NULL: core_cause_now). A store failure is
 * logged, not returned: an event never stops the change it describes. */
void core_event(struct core *core, const char *type, const char *subject_type,
                const char *subject_id, const struct core_cause *cause, json_t *data);

/* Deletes events older than retention_s (0: keeps them) that no pending webhook
 * delivery needs; called by the daemon's hourly timer. */
void core_events_prune(struct core *core, unsigned retention_s);

struct event_rec;

/* Whether f is a type filter: a type ("machine.running"), a family ("machine.*") or "*"
 * (lower case letters, '_' and '.'). The store's SQL (fanout, queries) matches the same. */
int event_filter_ok(const char *f);

/* Whether type matches filter f ("" and "*" match every type). */
int event_filter_matches(const char *f, const char *type);

/* The event as every client sees it (API, WebSocket, webhook bodies): seq, id, type,
 * subject {type, id}, reason, key_id (null when none), ts (ms) and data. New reference. */
json_t *event_view(const struct event_rec *ev);

#endif
