/* Lifecycle events: the cause in force and the one way an event is recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "events.h"
#include "../common/log.h"
#include "../common/util.h"

void core_cause_set(struct core *core, const char *reason, const char *key_id)
{
        snprintf(core->cause.reason, sizeof(core->cause.reason), "%s", reason);
        snprintf(core->cause.key_id, sizeof(core->cause.key_id), "%s", key_id ? key_id : "");
}

void core_cause_clear(struct core *core)
{
        core->cause = (struct core_cause){0};
}

struct core_cause core_cause_now(const struct core *core)
{
        struct core_cause c = core->cause;
        if (!c.reason[0])
                snprintf(c.reason, sizeof(c.reason), "system");
        return c;
}

void core_event(struct core *core, const char *type, const char *subject_type,
                const char *subject_id, const struct core_cause *cause, json_t *data)
{
        struct core_cause now = cause ? *cause : core_cause_now(core);
        struct event_rec ev = {.ts = time_wall_ms()};
        snprintf(ev.kind, sizeof(ev.kind), "%s", type);
        snprintf(ev.subject_type, sizeof(ev.subject_type), "%s", subject_type);
        snprintf(ev.subject_id, sizeof(ev.subject_id), "%s", subject_id);
        snprintf(ev.reason, sizeof(ev.reason), "%s", now.reason[0] ? now.reason : "system");
        snprintf(ev.key_id, sizeof(ev.key_id), "%s", now.key_id);
        ev.data = data ? json_dumps(data, JSON_COMPACT) : NULL;
        json_decref(data);
        struct err e = {0};
        if (store_event_append(core->store, &ev, &e) < 0) {
                char q[300];
                log_error("event_store_failed", "type=%s subject=%s error=%s", type, subject_id,
                          log_quote(q, sizeof(q), e.msg));
        }
        free(ev.data);
}

void core_events_prune(struct core *core, unsigned retention_s)
{
        if (!retention_s)
                return;
        struct err e = {0};
        int n = store_event_prune(core->store, time_wall_ms() - (int64_t)retention_s * 1000, &e);
        if (n < 0) {
                char q[300];
                log_error("event_prune_failed", "error=%s", log_quote(q, sizeof(q), e.msg));
        } else if (n > 0)
                log_info("events_pruned", "count=%d retention_s=%u", n, retention_s);
}

int event_filter_ok(const char *f)
{
        size_t n = strlen(f);
        const char *star = strchr(f, '*');
        if (strcmp(f, "*") == 0)
                return 1;
        return n > 0 && n < EVENT_TYPE_MAX && strspn(f, "abcdefghijklmnopqrstuvwxyz_.*") == n &&
               (!star || (n >= 2 && star == f + n - 1 && f[n - 2] == '.'));
}

int event_filter_matches(const char *f, const char *type)
{
        size_t n = strlen(f);
        if (!n || strcmp(f, "*") == 0 || strcmp(f, type) == 0)
                return 1;
        return n >= 2 && strcmp(f + n - 2, ".*") == 0 && strncmp(f, type, n - 1) == 0;
}

json_t *event_view(const struct event_rec *ev)
{
        json_t *data = json_loads(ev->data ? ev->data : "{}", 0, NULL);
        return json_pack("{s:I,s:s,s:s,s:{s:s,s:s},s:s,s:o,s:I,s:o}", "seq", (json_int_t)ev->seq,
                         "id", ev->id, "type", ev->kind, "subject", "type", ev->subject_type, "id",
                         ev->subject_id, "reason", ev->reason, "key_id",
                         ev->key_id[0] ? json_string(ev->key_id) : json_null(), "ts",
                         (json_int_t)ev->ts, "data", data ? data : json_object());
}
