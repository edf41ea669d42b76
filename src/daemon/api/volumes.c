/* Volumes: POST/GET /v1/volumes, GET/DELETE /v1/volumes/{id} (id or name). Their
 * files are served by files.c through the volume's file agent (core/volumes.h). */
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../core/volumes.h"
#include "api.h"

/* A create or delete waits for its child; the client may leave first. */
struct volume_wait {
        struct http_exchange *ex; /* NULL once the client left */
        int deleting;
};

static void abort_wait(struct http_exchange *ex)
{
        struct volume_wait *w = ex->owner;
        w->ex = NULL; /* the job goes on; its callback frees w */
}

static void on_done(void *ud, const char *id, enum ns_code code, const char *error)
{
        struct volume_wait *w = ud;
        struct http_exchange *ex = w->ex;
        if (ex) {
                ex->on_abort = NULL;
                struct err e = {0};
                json_t *v =
                    code == NS_OK && !w->deleting ? volume_view(api_core(ex), id, 1, &e) : NULL;
                if (code != NS_OK)
                        http_respond_error(ex, code, "volume %s: %s", id, error);
                else if (w->deleting)
                        http_respond(ex, 204, NULL, NULL, 0);
                else if (v)
                        http_respond_json(ex, 201, v);
                else
                        api_fail_err(ex, &e);
        }
        free(w);
}

static struct volume_wait *new_wait(struct http_exchange *ex, int deleting)
{
        struct volume_wait *w = calloc(1, sizeof(*w));
        if (!w)
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
        else
                *w = (struct volume_wait){ex, deleting};
        return w;
}

static void wait_on(struct http_exchange *ex, struct volume_wait *w)
{
        ex->owner = w;
        ex->on_abort = abort_wait;
}

struct create_req {
        char *name;
        int64_t size_mb;
        struct jv_strmap metadata;
};

static const struct jv_field create_fields[] = {
    {"name", JV_STRING, JV_REQUIRED, offsetof(struct create_req, name), VOLUME_NAME_MAX, 0, 0},
    {"size_mb", JV_INT, JV_REQUIRED, offsetof(struct create_req, size_mb), 0, VOLUME_SIZE_MIN_MB,
     VOLUME_SIZE_MAX_MB},
    {"metadata", JV_STRMAP, 0, offsetof(struct create_req, metadata), 64, 0, 0},
};

void api_volumes_create(struct http_exchange *ex)
{
        struct create_req in = {0};
        uint64_t present;
        if (api_decode(ex, create_fields, ARRAY_SIZE(create_fields), &in, &present) < 0)
                return;
        struct volume_wait *w = new_wait(ex, 0);
        char id[MACHINE_ID_MAX];
        struct err e = {0};
        _cleanup_json_ json_t *meta = api_strmap_json(&in.metadata);
        if (w && volume_create(api_core(ex), in.name, in.size_mb, meta, on_done, w, id, sizeof(id),
                               &e) < 0) {
                free(w);
                api_fail_err(ex, &e);
        } else if (w) {
                wait_on(ex, w);
        }
        jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
}

/* A row of a page: the record and what its view needs. */
struct volume_row {
        struct volume_rec r;
        struct core *core;
};

static json_t *row_json(const void *row)
{
        const struct volume_row *v = row;
        return volume_rec_view(v->core, &v->r, 0);
}

void api_volumes_list(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        struct api_page page;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 || api_page_parse(ex, &q[0], &q[1], &page) < 0)
                return;
        struct volume_rec *v;
        size_t n;
        struct err e = {0};
        if (store_volume_list(api_core(ex)->store, page.after, (unsigned)page.limit + 1, &v, &n,
                              &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        struct volume_row *rows = calloc(n ? n : 1, sizeof(*rows));
        for (size_t i = 0; rows && i < n; i++)
                rows[i] = (struct volume_row){v[i], api_core(ex)};
        if (rows)
                api_respond_page(ex, &page, "volumes", rows, n, sizeof(*rows),
                                 offsetof(struct volume_row, r.seq), row_json);
        else
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
        for (size_t i = 0; i < n; i++)
                store_volume_rec_free(&v[i]);
        free(rows);
        free(v);
}

void api_volumes_get(struct http_exchange *ex)
{
        struct err e = {0};
        json_t *v = volume_view(api_core(ex), ex->match.params[0], 1, &e);
        if (v)
                http_respond_json(ex, 200, v);
        else
                api_fail_err(ex, &e);
}

void api_volumes_delete(struct http_exchange *ex)
{
        struct volume_wait *w = new_wait(ex, 1);
        struct err e = {0};
        if (w && volume_delete(api_core(ex), ex->match.params[0], on_done, w, &e) < 0) {
                free(w);
                api_fail_err(ex, &e);
        } else if (w) {
                wait_on(ex, w);
        }
}

int api_is_volume_route(const struct http_exchange *ex)
{
        const char *p = ex->match.route->pattern;
        return strncmp(p, "/v1/volumes/", 12) == 0 || strncmp(p, "/e2b/volumecontent/", 19) == 0;
}

/* The ready volume the route's {id} names, its id into id; -errno with e set. */
static int lookup(struct http_exchange *ex, char *id, size_t cap, struct err *e)
{
        struct volume_rec r;
        int rc = volume_ready(api_core(ex), ex->match.params[0], &r, e);
        if (rc == 0)
                snprintf(id, cap, "%s", r.id);
        return rc;
}

enum ns_code api_volume_lookup(struct http_exchange *ex, char *id, size_t cap)
{
        struct err e = {0};
        return lookup(ex, id, cap, &e) < 0 ? err_code_of(&e) : NS_OK;
}

int api_volume_id(struct http_exchange *ex, char *id, size_t cap)
{
        struct err e = {0};
        if (lookup(ex, id, cap, &e) < 0) {
                api_fail_err(ex, &e);
                return -1;
        }
        return 0;
}
