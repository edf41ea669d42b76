/* /v1/keys: create, list, inspect and revoke API keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "../auth.h"
#include "api.h"

static json_t *key_json(const void *row)
{
        const struct key_rec *k = row;
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(k->id));
        json_object_set_new(o, "name", json_string(k->name));
        json_object_set_new(o, "prefix", json_string(k->prefix));
        json_object_set_new(o, "role", json_string(k->role));
        json_object_set_new(o, "created_at", json_integer(k->created_at));
        json_object_set_new(o, "revoked_at",
                            k->revoked_at ? json_integer(k->revoked_at) : json_null());
        return o;
}

struct create_req {
        char *name;
        char *format;
};

static const struct jv_field create_fields[] = {
    {"name", JV_STRING, 0, offsetof(struct create_req, name), KEY_NAME_MAX, 0, 0},
    {"format", JV_STRING, 0, offsetof(struct create_req, format), 16, 0, 0},
};

void api_keys_create(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct create_req in = {0};
        if (api_decode(ex, create_fields, ARRAY_SIZE(create_fields), &in, NULL) < 0)
                return;
        /* "e2b": the form E2B's SDKs check keys against, "e2b_" and 40 hex digits */
        char e2b[45] = "";
        if (in.format && strcmp(in.format, "e2b") == 0) {
                unsigned char raw[20];
                memcpy(e2b, "e2b_", 4);
                if (rand_bytes(raw, sizeof(raw)) < 0) {
                        jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
                        struct err re = {0};
                        err_set(&re, EIO, "random key");
                        api_fail(ex, &re);
                        return;
                }
                hex_encode(raw, sizeof(raw), e2b + 4);
        } else if (in.format && strcmp(in.format, "nullspace") != 0) {
                jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'format': nullspace or e2b");
                return;
        }
        struct key_rec k;
        char token[KEY_TOKEN_MAX];
        struct err e = {0};
        int r = auth_create_key(app->core.store, in.name && in.name[0] ? in.name : "unnamed",
                                e2b[4] ? e2b : NULL, &k, token, &e);
        jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
        if (r < 0) {
                api_fail(ex, &e);
                return;
        }
        core_event(&app->core, "key.created", "key", k.id, NULL,
                   json_pack("{s:s}", "name", k.name));
        json_t *doc = key_json(&k);
        json_object_set_new(doc, "key", json_string(token));
        char loc[96];
        snprintf(loc, sizeof(loc), "/v1/keys/%s", k.id);
        http_add_header(ex, "Location", loc);
        http_respond_json(ex, 201, doc);
}

void api_keys_list(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        struct api_page page;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 || api_page_parse(ex, &q[0], &q[1], &page) < 0)
                return;
        struct key_rec *keys;
        size_t n;
        struct err e = {0};
        if (store_key_list(app->core.store, page.after, (unsigned)page.limit + 1, &keys, &n, &e) <
            0) {
                api_fail(ex, &e);
                return;
        }
        api_respond_page(ex, &page, "keys", keys, n, sizeof(*keys), offsetof(struct key_rec, seq),
                         key_json);
        free(keys);
}

static int find_key(struct http_exchange *ex, struct key_rec *k)
{
        struct app *app = ex->app;
        struct err e = {0};
        int r = store_key_get(app->core.store, ex->match.params[0], k, &e);
        if (r == -ENOENT)
                http_respond_error(ex, NS_E_KEY_NOT_FOUND, "no API key with ID '%s'",
                                   ex->match.params[0]);
        else if (r < 0)
                api_fail(ex, &e);
        return r;
}

void api_keys_get(struct http_exchange *ex)
{
        struct key_rec k;
        if (find_key(ex, &k) == 0)
                http_respond_json(ex, 200, key_json(&k));
}

void api_keys_revoke(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct err e = {0};
        int r = store_key_revoke(app->core.store, ex->match.params[0], time_wall_ms(), &e);
        auth_cache_clear(&app->auth_cache);
        if (r == -ENOENT)
                http_respond_error(ex, NS_E_KEY_NOT_FOUND, "no API key with ID '%s'",
                                   ex->match.params[0]);
        else if (r == -EBUSY)
                http_respond_error(ex, NS_E_LAST_KEY,
                                   "'%s' is the last active key; create another one first",
                                   ex->match.params[0]);
        else if (r < 0)
                api_fail(ex, &e);
        else {
                core_event(&app->core, "key.revoked", "key", ex->match.params[0], NULL, NULL);
                http_respond(ex, 204, NULL, NULL, 0);
        }
}
