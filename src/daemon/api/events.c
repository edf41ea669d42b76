/* GET /v1/events and GET /v1/machines/{id}/events: the lifecycle log, oldest first,
 * filtered by subject, type and a starting sequence number or time. */
#include <string.h>

#include "../../common/cleanup.h"
#include "api.h"

static json_t *row_json(const void *row)
{
        return event_view(row);
}

static void free_rows(struct event_rec *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                store_event_rec_free(&v[i]);
        free(v);
}

void api_events_page(struct http_exchange *ex, struct event_filter *f, const struct api_page *page)
{
        struct app *app = ex->app;
        if (page->after > f->after_seq)
                f->after_seq = page->after;
        struct event_rec *v = NULL;
        size_t n = 0;
        struct err e = {0};
        if (store_event_query(app->core.store, f, (unsigned)page->limit + 1, &v, &n, &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        api_respond_page(ex, page, "events", v, n, sizeof(*v), offsetof(struct event_rec, seq),
                         row_json);
        free_rows(v, n);
}

void api_events_list(struct http_exchange *ex)
{
        struct query_param q[] = {
            {.name = "limit"},        {.name = "cursor"},    {.name = "type"}, {.name = "subject"},
            {.name = "subject_type"}, {.name = "since_seq"}, {.name = "since"}};
        struct api_page page;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 || api_page_parse(ex, &q[0], &q[1], &page) < 0)
                return;
        struct event_filter f = {0};
        if (q[2].present) {
                /* a bare "*" filters nothing: leave the parameter out */
                if (strcmp(q[2].value, "*") == 0 || !event_filter_ok(q[2].value)) {
                        http_respond_error(ex, NS_E_INVALID_REQUEST,
                                           "query 'type': an event type (machine.running) or a "
                                           "family (machine.*)");
                        return;
                }
                f.type = q[2].value;
        }
        if (q[3].present)
                f.subject_id = q[3].value;
        if (q[4].present)
                f.subject_type = q[4].value;
        long long since_seq = 0, since = 0;
        if ((q[5].present && api_query_int(ex, &q[5], 0, INT64_MAX, &since_seq) < 0) ||
            (q[6].present && api_query_int(ex, &q[6], 0, INT64_MAX, &since) < 0))
                return;
        f.after_seq = since_seq;
        f.since_ts = since;
        api_events_page(ex, &f, &page);
}
