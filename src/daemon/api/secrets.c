/* /v1/secrets: set, list, inspect and delete secrets. A value goes in and never comes
 * back out: answers carry names and times only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "../../core/secrets.h"
#include "api.h"

static json_t *secret_json(const void *row)
{
        const struct secret_rec *r = row;
        return json_pack("{s:s,s:I,s:I}", "name", r->name, "created_at", (json_int_t)r->created_at,
                         "updated_at", (json_int_t)r->updated_at);
}

struct set_req {
        char *value;
};

static const struct jv_field set_fields[] = {
    {"value", JV_STRING, JV_REQUIRED, offsetof(struct set_req, value), SECRET_VALUE_MAX, 0, 0},
};

/* The record of the route's {name}, answered 404 when there is none: 0, or -1 after
 * answering. */
static int find(struct http_exchange *ex, struct secret_rec *r)
{
        struct err e = {0};
        const char *name = ex->match.params[0];
        int rc =
            secret_name_valid(name) ? store_secret_get(api_core(ex)->store, name, r, &e) : -ENOENT;
        if (rc == -ENOENT)
                http_respond_error(ex, NS_E_SECRET_NOT_FOUND, "no secret is named '%.128s'", name);
        else if (rc < 0)
                api_fail(ex, &e);
        else
                free(r->sealed);
        return rc < 0 ? -1 : 0;
}

void api_secrets_set(struct http_exchange *ex)
{
        struct set_req in = {0};
        if (api_decode(ex, set_fields, ARRAY_SIZE(set_fields), &in, NULL) < 0)
                return;
        const char *name = ex->match.params[0];
        struct err e = {0};
        int created = 0;
        struct secret_rec rec;
        int r = core_secret_set(api_core(ex), name, in.value, strlen(in.value), &rec, &created, &e);
        explicit_bzero(in.value, strlen(in.value));
        jv_free(set_fields, ARRAY_SIZE(set_fields), &in);
        if (r < 0) {
                api_fail_err(ex, &e);
                return;
        }
        core_event(api_core(ex), created ? "secret.created" : "secret.updated", "secret", name,
                   NULL, json_object());
        http_respond_json(ex, created ? 201 : 200, secret_json(&rec));
}

void api_secrets_list(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        struct api_page page;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 || api_page_parse(ex, &q[0], &q[1], &page) < 0)
                return;
        struct secret_rec *rows;
        size_t n;
        struct err e = {0};
        if (store_secret_list(api_core(ex)->store, page.after, (unsigned)page.limit + 1, &rows, &n,
                              &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        api_respond_page(ex, &page, "secrets", rows, n, sizeof(*rows),
                         offsetof(struct secret_rec, seq), secret_json);
        free(rows);
}

void api_secrets_get(struct http_exchange *ex)
{
        struct secret_rec r;
        if (find(ex, &r) == 0)
                http_respond_json(ex, 200, secret_json(&r));
}

void api_secrets_delete(struct http_exchange *ex)
{
        struct secret_rec r;
        struct err e = {0};
        if (find(ex, &r) < 0)
                return;
        if (store_secret_delete(api_core(ex)->store, r.name, &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        core_event(api_core(ex), "secret.deleted", "secret", r.name, NULL, json_object());
        http_respond(ex, 204, NULL, NULL, 0);
}
