/* E2B's volumes over ours: POST/GET /volumes, GET/DELETE /volumes/{id}. A volume made
 * here is E2B_VOLUME_MB (a sparse image: it takes only what is written); its `token` is
 * what E2B's volume content API (e2b_volume_files.c, E2B_VOLUME_API_URL) takes as its
 * Bearer, and `volumeMounts` at create mount it in a sandbox. Loop thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/volumes.h"
#include "../auth.h"
#include "api.h"
#include "e2b.h"

#define E2B_VOLUME_MB 1024

/* {volumeID, name} and, with detail, {token, domain}. */
static json_t *volume_json(struct app *app, const char *id, const char *name, int detail)
{
        json_t *o = json_pack("{s:s,s:s}", "volumeID", id, "name", name);
        if (detail) {
                char token[65];
                auth_volume_token(app->signing_key, id, token);
                json_object_set_new(o, "token", json_string(token));
                json_object_set_new(o, "domain", json_null());
        }
        return o;
}

struct e2b_vwait {
        struct http_exchange *ex; /* NULL once the client left */
        char name[VOLUME_NAME_MAX + 1];
};

static void abort_vwait(struct http_exchange *ex)
{
        struct e2b_vwait *w = ex->owner;
        w->ex = NULL; /* the job goes on; its callback frees w */
}

static void on_volume_done(void *ud, const char *id, enum ns_code code, const char *error)
{
        struct e2b_vwait *w = ud;
        struct http_exchange *ex = w->ex;
        if (ex) {
                ex->on_abort = NULL;
                if (code)
                        e2b_fail(ex, code, error);
                else if (w->name[0]) /* a create */
                        http_respond_json(ex, 201, volume_json(ex->app, id, w->name, 1));
                else
                        http_respond(ex, 204, NULL, NULL, 0);
        }
        free(w);
}

static struct e2b_vwait *vwait(struct http_exchange *ex, const char *name)
{
        struct e2b_vwait *w = calloc(1, sizeof(*w));
        if (w) {
                w->ex = ex;
                snprintf(w->name, sizeof(w->name), "%s", name);
        } else {
                e2b_error(ex, 500, "out of memory");
        }
        return w;
}

void e2b_volumes_create(struct http_exchange *ex)
{
        json_t *in = e2b_body_object(ex);
        if (!in)
                return;
        const char *name = json_string_value(json_object_get(in, "name"));
        char id[MACHINE_ID_MAX];
        struct err e = {0};
        struct e2b_vwait *w = NULL;
        if (!name || !name[0] || strlen(name) > VOLUME_NAME_MAX)
                e2b_error(ex, 400, "the body is {name}: 1 to %d of [A-Za-z0-9_-]", VOLUME_NAME_MAX);
        else if ((w = vwait(ex, name)) &&
                 volume_create(api_core(ex), name, E2B_VOLUME_MB, NULL, on_volume_done, w, id,
                               sizeof(id), &e) < 0) {
                free(w);
                e2b_fail(ex, err_code_of(&e), e.msg);
        } else if (w) {
                ex->owner = w;
                ex->on_abort = abort_vwait;
        }
        json_decref(in);
}

void e2b_volumes_get(struct http_exchange *ex)
{
        struct volume_rec r;
        struct err e = {0};
        if (volume_ready(api_core(ex), ex->match.params[0], &r, &e) < 0) {
                e2b_fail(ex, err_code_of(&e), e.msg);
                return;
        }
        http_respond_json(ex, 200, volume_json(ex->app, r.id, r.name, 1));
        store_volume_rec_free(&r);
}

void e2b_volumes_list(struct http_exchange *ex)
{
        json_t *arr = json_array();
        int64_t after = 0;
        for (;;) {
                struct volume_rec *v;
                size_t n;
                struct err e = {0};
                if (store_volume_list(api_core(ex)->store, after, 200, &v, &n, &e) < 0) {
                        json_decref(arr);
                        e2b_error(ex, 500, "%s", e.msg);
                        return;
                }
                for (size_t i = 0; i < n; i++) {
                        if (strcmp(v[i].state, "ready") == 0)
                                json_array_append_new(arr,
                                                      volume_json(ex->app, v[i].id, v[i].name, 0));
                        after = v[i].seq;
                        store_volume_rec_free(&v[i]);
                }
                free(v);
                if (n < 200)
                        break;
        }
        http_respond_json(ex, 200, arr);
}

void e2b_volumes_delete(struct http_exchange *ex)
{
        struct err e = {0};
        struct e2b_vwait *w = vwait(ex, "");
        if (w && volume_delete(api_core(ex), ex->match.params[0], on_volume_done, w, &e) < 0) {
                free(w);
                e2b_fail(ex, err_code_of(&e), e.msg);
        } else if (w) {
                ex->owner = w;
                ex->on_abort = abort_vwait;
        }
}

int e2b_volume_mounts(struct app *app, const json_t *mounts, json_t **out, struct err *e)
{
        *out = NULL;
        if (!mounts || json_is_null(mounts))
                return 0;
        json_t *req = json_array();
        size_t i;
        json_t *m;
        int bad = !json_is_array(mounts);
        json_array_foreach(mounts, i, m)
        {
                json_t *name = json_object_get(m, "name"), *path = json_object_get(m, "path");
                if (!json_is_string(name) || !json_is_string(path))
                        bad = 1;
                else
                        json_array_append_new(req,
                                              json_pack("{s:O,s:O}", "volume", name, "path", path));
        }
        int rc = -EINVAL;
        if (bad) {
                err_set(e, 0, "volumeMounts: [{name, path}]");
                e->code = NS_E_INVALID_FIELD;
        } else {
                rc = volume_mounts_check(&app->core, req, out, e);
        }
        json_decref(req);
        return rc;
}
