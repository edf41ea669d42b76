/* Webhooks: /v1/webhooks CRUD, secret rotation, a test ping, and each endpoint's
 * deliveries with their attempts and redelivery. The sending is the core's
 * (core/webhooks.c); this file only validates, stores and tells the sender. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "../../core/webhook_sign.h"
#include "../../core/webhooks.h"
#include "api.h"

#define WEBHOOK_FILTERS_MAX 32

struct webhook_req {
        char *url;
        struct jv_strlist events;
        int enabled;
        char *description;
};

static const struct jv_field webhook_fields[] = {
    {"url", JV_STRING, 0, offsetof(struct webhook_req, url), WEBHOOK_URL_MAX - 1, 0, 0},
    {"events", JV_STRLIST, 0, offsetof(struct webhook_req, events), WEBHOOK_FILTERS_MAX, 0, 0},
    {"enabled", JV_BOOL, 0, offsetof(struct webhook_req, enabled), 0, 0, 0},
    {"description", JV_STRING, 0, offsetof(struct webhook_req, description), 255, 0, 0},
};
enum { F_URL = 1, F_EVENTS = 2, F_ENABLED = 4, F_DESCRIPTION = 8 };

static json_t *webhook_view(const struct webhook_rec *w, int with_secret)
{
        json_t *events = json_loads(w->events ? w->events : "[]", 0, NULL);
        json_t *v = json_pack("{s:s,s:s,s:o,s:b,s:s,s:I,s:I}", "id", w->id, "url", w->url, "events",
                              events ? events : json_array(), "enabled", w->enabled, "description",
                              w->description, "created_at", (json_int_t)w->created_at, "updated_at",
                              (json_int_t)w->updated_at);
        if (with_secret)
                json_object_set_new(v, "secret", json_string(w->secret));
        int overlap = w->previous_secret[0] && w->previous_until > time_wall_ms();
        json_object_set_new(v, "previous_secret_expires_at",
                            overlap ? json_integer(w->previous_until) : json_null());
        return v;
}

/* Applies the fields present in `in` to w; -1 after answering when one is wrong. */
static int apply(struct http_exchange *ex, const struct webhook_req *in, uint64_t present,
                 struct webhook_rec *w)
{
        struct err e = {0};
        if (present & F_URL) {
                if (webhook_url_check(in->url, webhooks_allow_private(api_core(ex)), &e) < 0) {
                        api_fail_err(ex, &e);
                        return -1;
                }
                snprintf(w->url, sizeof(w->url), "%s", in->url);
        }
        if (present & F_EVENTS) {
                json_t *a = json_array();
                for (size_t i = 0; i < in->events.n; i++) {
                        if (!event_filter_ok(in->events.items[i])) {
                                json_decref(a);
                                http_respond_error(ex, NS_E_INVALID_FIELD,
                                                   "field 'events': '%.64s' is not an event type "
                                                   "(machine.running), a family (machine.*) or *",
                                                   in->events.items[i]);
                                return -1;
                        }
                        json_array_append_new(a, json_string(in->events.items[i]));
                }
                if (json_array_size(a) == 0)
                        json_array_append_new(a, json_string("*"));
                free(w->events);
                w->events = json_dumps(a, JSON_COMPACT);
                json_decref(a);
        }
        if (present & F_ENABLED)
                w->enabled = in->enabled;
        if (present & F_DESCRIPTION)
                snprintf(w->description, sizeof(w->description), "%s", in->description);
        return 0;
}

void api_webhooks_create(struct http_exchange *ex)
{
        struct webhook_req in = {0};
        uint64_t present = 0;
        if (api_decode(ex, webhook_fields, ARRAY_SIZE(webhook_fields), &in, &present) < 0)
                return;
        struct webhook_rec w = {.enabled = 1, .created_at = time_wall_ms()};
        w.updated_at = w.created_at;
        w.events = strdup("[\"*\"]");
        struct err e = {0};
        if (!(present & F_URL))
                http_respond_error(ex, NS_E_MISSING_FIELD, "field 'url' is required");
        else if (apply(ex, &in, present, &w) == 0) {
                if (rand_id("wh_", 8, w.id, sizeof(w.id)) < 0 ||
                    webhook_secret_new(w.secret, sizeof(w.secret)) < 0 ||
                    store_webhook_insert(api_core(ex)->store, &w, &e) < 0) {
                        api_fail(ex, &e);
                } else {
                        core_event(api_core(ex), "webhook.created", "webhook", w.id, NULL,
                                   json_pack("{s:s}", "url", w.url));
                        webhooks_reload(api_core(ex));
                        http_respond_json(ex, 201, webhook_view(&w, 1));
                }
        }
        store_webhook_rec_free(&w);
        jv_free(webhook_fields, ARRAY_SIZE(webhook_fields), &in);
}

/* Reads the webhook named by the path; -1 after answering. */
static int stored(struct http_exchange *ex, struct webhook_rec *w)
{
        struct err e = {0};
        int rc = store_webhook_get(api_core(ex)->store, ex->match.params[0], w, &e);
        if (rc == -ENOENT)
                http_respond_error(ex, NS_E_WEBHOOK_NOT_FOUND, "no webhook with ID '%s'",
                                   ex->match.params[0]);
        else if (rc < 0)
                api_fail(ex, &e);
        return rc < 0 ? -1 : 0;
}

void api_webhooks_get(struct http_exchange *ex)
{
        struct webhook_rec w;
        if (stored(ex, &w) < 0)
                return;
        http_respond_json(ex, 200, webhook_view(&w, 0));
        store_webhook_rec_free(&w);
}

static json_t *row_view(const void *row)
{
        return webhook_view(row, 0);
}

void api_webhooks_list(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        struct api_page page;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 || api_page_parse(ex, &q[0], &q[1], &page) < 0)
                return;
        struct webhook_rec *v = NULL;
        size_t n = 0;
        struct err e = {0};
        if (store_webhook_list(api_core(ex)->store, page.after, (unsigned)page.limit + 1, &v, &n,
                               &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        api_respond_page(ex, &page, "webhooks", v, n, sizeof(*v),
                         offsetof(struct webhook_rec, rowid), row_view);
        for (size_t i = 0; i < n; i++)
                store_webhook_rec_free(&v[i]);
        free(v);
}

/* Stores w as changed and tells the sender; answers with its view (with_secret). */
static void save(struct http_exchange *ex, struct webhook_rec *w, int with_secret)
{
        struct err e = {0};
        w->updated_at = time_wall_ms();
        if (store_webhook_update(api_core(ex)->store, w, &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        core_event(api_core(ex), with_secret ? "webhook.secret_rotated" : "webhook.updated",
                   "webhook", w->id, NULL, NULL);
        webhooks_reload(api_core(ex));
        http_respond_json(ex, 200, webhook_view(w, with_secret));
}

void api_webhooks_update(struct http_exchange *ex)
{
        struct webhook_req in = {0};
        uint64_t present = 0;
        struct webhook_rec w;
        if (api_decode(ex, webhook_fields, ARRAY_SIZE(webhook_fields), &in, &present) < 0)
                return;
        if (stored(ex, &w) == 0) {
                if (apply(ex, &in, present, &w) == 0)
                        save(ex, &w, 0);
                store_webhook_rec_free(&w);
        }
        jv_free(webhook_fields, ARRAY_SIZE(webhook_fields), &in);
}

void api_webhooks_rotate(struct http_exchange *ex)
{
        struct webhook_rec w;
        if (stored(ex, &w) < 0)
                return;
        char fresh[sizeof(w.secret)];
        if (webhook_secret_new(fresh, sizeof(fresh)) < 0) {
                http_respond_error(ex, NS_E_INTERNAL, "no randomness for a secret");
        } else {
                /* deliveries carry both signatures for a day: receivers switch meanwhile */
                snprintf(w.previous_secret, sizeof(w.previous_secret), "%s", w.secret);
                w.previous_until = time_wall_ms() + WEBHOOK_ROTATE_GRACE_MS;
                snprintf(w.secret, sizeof(w.secret), "%s", fresh);
                save(ex, &w, 1);
        }
        store_webhook_rec_free(&w);
}

void api_webhooks_delete(struct http_exchange *ex)
{
        struct err e = {0};
        int rc = store_webhook_delete(api_core(ex)->store, ex->match.params[0], &e);
        if (rc == -ENOENT) {
                http_respond_error(ex, NS_E_WEBHOOK_NOT_FOUND, "no webhook with ID '%s'",
                                   ex->match.params[0]);
                return;
        }
        if (rc < 0) {
                api_fail(ex, &e);
                return;
        }
        core_event(api_core(ex), "webhook.deleted", "webhook", ex->match.params[0], NULL, NULL);
        webhooks_reload(api_core(ex));
        http_respond(ex, 204, NULL, NULL, 0);
}

/* POST /v1/webhooks/{id}/test: a webhook.ping event delivered to this endpoint only. */
void api_webhooks_test(struct http_exchange *ex)
{
        struct webhook_rec w;
        if (stored(ex, &w) < 0)
                return;
        if (!w.enabled) {
                http_respond_error(ex, NS_E_CONFLICT, "webhook %s is disabled; enable it first",
                                   w.id);
        } else {
                core_event(api_core(ex), "webhook.ping", "webhook", w.id, NULL,
                           json_pack("{s:s}", "url", w.url));
                webhooks_kick(api_core(ex));
                http_respond_json(ex, 202, json_pack("{s:s}", "webhook_id", w.id));
        }
        store_webhook_rec_free(&w);
}

/* ---- deliveries -------------------------------------------------------------------------- */

static json_t *delivery_view(struct store *st, const struct delivery_rec *d)
{
        json_t *v =
            json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:i,s:I,s:I}", "id", d->id, "webhook_id",
                      d->webhook_id, "event_id", d->event_id, "event_seq", (json_int_t)d->event_seq,
                      "type", d->type, "state", d->state, "attempts", d->attempts, "created_at",
                      (json_int_t)d->created_at, "updated_at", (json_int_t)d->updated_at);
        json_object_set_new(v, "next_attempt_at",
                            strcmp(d->state, "pending") == 0 ? json_integer(d->next_at)
                                                             : json_null());
        struct attempt_rec *a = NULL;
        size_t n = 0;
        json_t *log = json_array();
        if (store_attempt_list(st, d->id, WEBHOOK_ATTEMPTS_MAX * 4, &a, &n, NULL) == 0) {
                for (size_t i = 0; i < n; i++) {
                        json_array_append_new(
                            log,
                            json_pack("{s:I,s:o,s:i,s:o,s:s}", "at", (json_int_t)a[i].at, "status",
                                      a[i].status ? json_integer(a[i].status) : json_null(),
                                      "duration_ms", a[i].duration_ms, "error",
                                      a[i].error[0] ? json_string(a[i].error) : json_null(),
                                      "response", a[i].response ? a[i].response : ""));
                        free(a[i].response);
                }
                free(a);
        }
        json_object_set_new(v, "attempt_log", log);
        return v;
}

/* A delivery of a page with its view made beforehand (the view reads its attempts). */
struct shown {
        struct delivery_rec d;
        json_t *view;
};

static json_t *shown_view(const void *row)
{
        return json_incref(((const struct shown *)row)->view);
}

void api_webhooks_deliveries(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        struct api_page page;
        struct webhook_rec w;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 || api_page_parse(ex, &q[0], &q[1], &page) < 0 ||
            stored(ex, &w) < 0)
                return;
        store_webhook_rec_free(&w);
        struct store *st = api_core(ex)->store;
        struct delivery_rec *v = NULL;
        size_t n = 0;
        struct err e = {0};
        if (store_delivery_list(st, w.id, page.after, (unsigned)page.limit + 1, &v, &n, &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        struct shown *rows = calloc(n ? n : 1, sizeof(*rows));
        if (!rows) {
                free(v);
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        for (size_t i = 0; i < n; i++) { /* the row past the page only says there is more */
                rows[i].d = v[i];
                rows[i].view = i < (size_t)page.limit ? delivery_view(st, &v[i]) : NULL;
        }
        api_respond_page(ex, &page, "deliveries", rows, n, sizeof(*rows),
                         offsetof(struct shown, d.rowid), shown_view);
        for (size_t i = 0; i < n; i++)
                json_decref(rows[i].view);
        free(rows);
        free(v);
}

/* Reads delivery {did} of webhook {id}; -1 after answering. */
static int stored_delivery(struct http_exchange *ex, struct delivery_rec *d)
{
        struct err e = {0};
        int rc = store_delivery_get(api_core(ex)->store, ex->match.params[0], ex->match.params[1],
                                    d, &e);
        if (rc == -ENOENT)
                http_respond_error(ex, NS_E_DELIVERY_NOT_FOUND, "webhook '%s' has no delivery '%s'",
                                   ex->match.params[0], ex->match.params[1]);
        else if (rc < 0)
                api_fail(ex, &e);
        return rc < 0 ? -1 : 0;
}

void api_webhooks_delivery(struct http_exchange *ex)
{
        struct delivery_rec d;
        if (stored_delivery(ex, &d) == 0)
                http_respond_json(ex, 200, delivery_view(api_core(ex)->store, &d));
}

void api_webhooks_redeliver(struct http_exchange *ex)
{
        struct delivery_rec d;
        if (stored_delivery(ex, &d) < 0)
                return;
        struct err e = {0};
        int64_t now = time_wall_ms();
        if (store_delivery_redeliver(api_core(ex)->store, d.webhook_id, d.id, now, &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        webhooks_kick(api_core(ex));
        snprintf(d.state, sizeof(d.state), "pending");
        d.next_at = now;
        http_respond_json(ex, 202, delivery_view(api_core(ex)->store, &d));
}
