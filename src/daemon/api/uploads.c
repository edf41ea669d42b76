/* Resumable uploads into a machine or a volume (docs/volumes.md, "Resumable uploads"):
 *   POST   …/{id}/uploads {"path","size"[,"sha256","mode"]}  → 201 the upload, offset 0
 *   GET    …/{id}/uploads/{upload}                           → the upload, its offset
 *   PUT    …/{id}/uploads/{upload}?offset=N   raw body        → {"id","offset"} (files.c)
 *   POST   …/{id}/uploads/{upload}/complete                  → {"path","size","sha256"}
 *   DELETE …/{id}/uploads/{upload}                           → 204
 * where … is /v1/machines or /v1/volumes. The record (SQLite) says where the bytes go;
 * the bytes are in a temporary file beside the target in the machine or volume, so an
 * upload outlives a dropped connection and a daemon restart. Its offset is that file's
 * length: what arrived is kept. Records expire after a day. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "api.h"

#define UPLOAD_TTL_MS (24ll * 3600 * 1000)
#define UPLOAD_MAX    (1ll << 40)

enum ns_code api_upload_find(struct http_exchange *ex, const char *owner, struct upload_rec *u)
{
        struct err e = {0};
        char id[MACHINE_ID_MAX];
        struct store *st = api_core(ex)->store;
        if (store_upload_get(st, ex->match.params[1], u, &e) < 0)
                return NS_E_UPLOAD_NOT_FOUND;
        if (!owner && api_is_volume_route(ex)) {
                if (api_volume_lookup(ex, id, sizeof(id)) != NS_OK)
                        return NS_E_UPLOAD_NOT_FOUND;
                owner = id;
        }
        if (strcmp(owner ? owner : ex->match.params[0], u->owner) != 0)
                return NS_E_UPLOAD_NOT_FOUND;
        if (u->expires_at < time_wall_ms()) {
                store_upload_delete(st, u->id, NULL); /* its file: see docs (left behind) */
                return NS_E_UPLOAD_NOT_FOUND;
        }
        return NS_OK;
}

static json_t *upload_view(const struct upload_rec *u, int64_t offset)
{
        return json_pack("{s:s,s:s,s:I,s:I,s:o,s:I}", "id", u->id, "path", u->path, "size",
                         (json_int_t)u->size, "offset", (json_int_t)offset, "sha256",
                         u->sha256[0] ? json_string(u->sha256) : json_null(), "expires_at",
                         (json_int_t)u->expires_at);
}

struct create_req {
        char *path, *sha256, *mode;
        int64_t size;
};

static const struct jv_field create_fields[] = {
    {"path", JV_STRING, JV_REQUIRED, offsetof(struct create_req, path), 4000, 0, 0},
    {"size", JV_INT, JV_REQUIRED, offsetof(struct create_req, size), 0, 0, UPLOAD_MAX},
    {"sha256", JV_STRING, 0, offsetof(struct create_req, sha256), 64, 0, 0},
    {"mode", JV_STRING, 0, offsetof(struct create_req, mode), 4, 0, 0},
};

/* The temporary file beside path: DIR/.nsupload-ID */
static int tmp_path(const char *path, const char *id, char *out, size_t cap)
{
        const char *slash = strrchr(path, '/');
        if (!slash || !slash[1])
                return -1;
        return snprintf(out, cap, "%.*s/.nsupload-%s", (int)(slash - path), path, id) < (int)cap
                   ? 0
                   : -1;
}

void api_uploads_create(struct http_exchange *ex)
{
        struct create_req in = {0};
        uint64_t present;
        if (api_decode(ex, create_fields, ARRAY_SIZE(create_fields), &in, &present) < 0)
                return;
        struct upload_rec u = {.size = in.size, .mode = 0644, .created_at = time_wall_ms()};
        u.expires_at = u.created_at + UPLOAD_TTL_MS;
        char *end = NULL;
        long mode = in.mode ? strtol(in.mode, &end, 8) : 0644;
        struct err e = {0};
        if (in.path[0] != '/' || !in.path[1] || in.path[strlen(in.path) - 1] == '/') {
                http_respond_error(ex, NS_E_INVALID_PATH, "field 'path': an absolute file path");
        } else if (in.sha256 &&
                   (strlen(in.sha256) != 64 || strspn(in.sha256, "0123456789abcdef") != 64)) {
                http_respond_error(ex, NS_E_INVALID_FIELD,
                                   "field 'sha256': 64 lowercase hex digits");
        } else if (in.mode && (*end || !in.mode[0] || mode < 0 || mode > 07777)) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'mode': octal, like \"644\"");
        } else if (api_owner_id(ex, u.owner, sizeof(u.owner)) == 0) {
                u.mode = (unsigned)mode;
                rand_id("up_", 8, u.id, sizeof(u.id));
                snprintf(u.path, sizeof(u.path), "%s", in.path);
                snprintf(u.sha256, sizeof(u.sha256), "%s", in.sha256 ? in.sha256 : "");
                if (tmp_path(u.path, u.id, u.tmp, sizeof(u.tmp)) < 0)
                        http_respond_error(ex, NS_E_INVALID_PATH, "field 'path' is too long");
                else if (store_upload_insert(api_core(ex)->store, &u, &e) < 0)
                        api_fail(ex, &e);
                else
                        http_respond_json(ex, 201, upload_view(&u, 0));
        }
        jv_free(create_fields, ARRAY_SIZE(create_fields), &in);
}

static void respond_find_error(struct http_exchange *ex, enum ns_code c)
{
        http_respond_error(ex, c, "no upload '%s' here (finished, cancelled or expired)",
                           ex->match.params[1]);
}

static void on_stat(struct http_exchange *ex, const json_t *resp, enum ns_code code,
                    const char *msg, void *ud)
{
        (void)ud;
        struct upload_rec u;
        enum ns_code c = api_upload_find(ex, NULL, &u);
        if (c != NS_OK)
                respond_find_error(ex, c);
        else if (code != NS_OK && code != NS_E_FILE_NOT_FOUND)
                http_respond_error(ex, code, "%s", msg);
        else
                http_respond_json(
                    ex, 200, upload_view(&u, json_integer_value(json_object_get(resp, "size"))));
}

void api_uploads_get(struct http_exchange *ex)
{
        struct upload_rec u;
        enum ns_code c = api_upload_find(ex, NULL, &u);
        if (c != NS_OK)
                respond_find_error(ex, c);
        else
                api_agent_call(ex, json_pack("{s:s,s:s}", "op", "stat", "path", u.tmp), on_stat,
                               NULL);
}

static void on_finished(struct http_exchange *ex, const json_t *resp, enum ns_code code,
                        const char *msg, void *ud)
{
        (void)ud;
        if (code == NS_OK || code == NS_E_CHECKSUM_MISMATCH)
                store_upload_delete(api_core(ex)->store, ex->match.params[1], NULL);
        if (code != NS_OK)
                http_respond_error(ex, code, "%s", msg);
        else
                http_respond_json(ex, 200, json_deep_copy(resp));
}

void api_uploads_complete(struct http_exchange *ex)
{
        struct upload_rec u;
        enum ns_code c = api_upload_find(ex, NULL, &u);
        if (c != NS_OK) {
                respond_find_error(ex, c);
                return;
        }
        json_t *req = json_pack("{s:s,s:s,s:s,s:I,s:i}", "op", "upload_finish", "tmp", u.tmp,
                                "path", u.path, "size", (json_int_t)u.size, "mode", (int)u.mode);
        if (u.sha256[0])
                json_object_set_new(req, "sha256", json_string(u.sha256));
        api_agent_call(ex, req, on_finished, NULL);
}

static void on_removed(struct http_exchange *ex, const json_t *resp, enum ns_code code,
                       const char *msg, void *ud)
{
        (void)ud;
        (void)resp;
        if (code != NS_OK && code != NS_E_FILE_NOT_FOUND) {
                http_respond_error(ex, code, "%s", msg);
                return;
        }
        store_upload_delete(api_core(ex)->store, ex->match.params[1], NULL);
        http_respond(ex, 204, NULL, NULL, 0);
}

void api_uploads_cancel(struct http_exchange *ex)
{
        struct upload_rec u;
        enum ns_code c = api_upload_find(ex, NULL, &u);
        if (c != NS_OK)
                respond_find_error(ex, c);
        else
                api_agent_call(ex, json_pack("{s:s,s:s}", "op", "remove", "path", u.tmp),
                               on_removed, NULL);
}
