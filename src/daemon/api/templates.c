/* Templates: PUT /v1/templates/contexts (a build context, a tar, stored under its
 * SHA-256), POST /v1/templates/builds (a Dockerfile or builder steps; answered 202 at
 * once, the build goes on), GET builds and their logs, GET/DELETE /v1/templates[/{ref}]
 * and POST /v1/templates/{ref}/aliases. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/cleanup.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "../../core/build.h"
#include "../../core/build_spec.h"
#include "../../core/dockerfile.h"
#include "../../core/pools.h"
#include "../../core/prune.h"
#include "../../core/templates.h"
#include "api.h"

static struct store *store_of(struct http_exchange *ex)
{
        struct app *app = ex->app;
        return app->core.store;
}

/* ---- contexts ---------------------------------------------------------------------- */

struct upload {
        int fd;
        char tmp[PATH_MAX + 64];
        EVP_MD_CTX *md;
        uint64_t bytes;
};

static void upload_free(struct upload *u)
{
        if (u->fd >= 0)
                close(u->fd);
        if (u->tmp[0])
                unlink(u->tmp);
        EVP_MD_CTX_free(u->md);
        free(u);
}

static void abort_upload(struct http_exchange *ex)
{
        upload_free(ex->owner);
}

static enum ns_code upload_open(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct upload *u = calloc(1, sizeof(*u));
        if (!u)
                return NS_E_INTERNAL;
        u->fd = -1;
        char dir[PATH_MAX + 16];
        snprintf(dir, sizeof(dir), "%s/contexts", app->core.state_dir);
        snprintf(u->tmp, sizeof(u->tmp), "%s/upload.XXXXXX", dir);
        if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || (u->fd = mkstemp(u->tmp)) < 0 ||
            !(u->md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(u->md, EVP_sha256(), NULL)) {
                if (u->fd < 0)
                        u->tmp[0] = '\0';
                log_error("context_upload_failed", "dir=%s errno=%d", dir, errno);
                upload_free(u);
                return NS_E_INTERNAL;
        }
        ex->owner = u;
        ex->on_abort = abort_upload;
        return NS_OK;
}

enum ns_code api_contexts_put_body(struct http_exchange *ex, const char *data, size_t len)
{
        if (!ex->owner) {
                enum ns_code c = upload_open(ex);
                if (c != NS_OK)
                        return c;
        }
        struct upload *u = ex->owner;
        for (size_t off = 0; off < len;) { /* a local file: short blocking writes */
                ssize_t n = write(u->fd, data + off, len - off);
                if (n < 0)
                        return errno == ENOSPC ? NS_E_NO_SPACE : NS_E_IO_ERROR;
                off += (size_t)n;
        }
        EVP_DigestUpdate(u->md, data, len);
        u->bytes += len;
        return NS_OK;
}

void api_contexts_put(struct http_exchange *ex)
{
        if (!ex->owner) {
                enum ns_code c = upload_open(ex);
                if (c != NS_OK) {
                        http_respond_error(ex, c, "%s", ns_code_def(c)->meaning);
                        return;
                }
        }
        struct upload *u = ex->owner;
        ex->on_abort = NULL;
        ex->owner = NULL;
        unsigned char md[32];
        unsigned mdlen = 0;
        char id[65], path[PATH_MAX + 64];
        EVP_DigestFinal_ex(u->md, md, &mdlen);
        hex_encode(md, sizeof(md), id);
        build_context_path(api_core(ex), id, path, sizeof(path));
        if (fsync(u->fd) < 0 || rename(u->tmp, path) < 0) {
                upload_free(u);
                http_respond_error(ex, NS_E_IO_ERROR, "storing the context failed");
                return;
        }
        u->tmp[0] = '\0';
        http_respond_json(ex, 201,
                          json_pack("{s:s,s:I}", "context_id", id, "bytes", (json_int_t)u->bytes));
        upload_free(u);
}

/* ---- builds ------------------------------------------------------------------------ */

static const struct jv_field build_fields[] = {
    {"name", JV_STRING, JV_REQUIRED, offsetof(struct build_req, name), 128, 0, 0},
    {"dockerfile", JV_STRING, 0, offsetof(struct build_req, dockerfile), DOCKERFILE_MAX, 0, 0},
    {"steps", JV_ARRAY, 0, offsetof(struct build_req, steps), 0, 0, 0},
    {"from", JV_STRING, 0, offsetof(struct build_req, from), 128, 0, 0},
    {"context_id", JV_STRING, 0, offsetof(struct build_req, context_id), 64, 0, 0},
    {"from_image", JV_STRING, 0, offsetof(struct build_req, from_image), 64, 0, 0},
    {"build_args", JV_STRMAP, 0, offsetof(struct build_req, build_args), 64, 0, 0},
    {"start_cmd", JV_STRING, 0, offsetof(struct build_req, start_cmd), 65536, 0, 0},
    {"ready_cmd", JV_STRING, 0, offsetof(struct build_req, ready_cmd), 65536, 0, 0},
    {"ready_timeout_s", JV_INT, 0, offsetof(struct build_req, ready_timeout_s), 0, 1, 3600},
    {"no_cache", JV_BOOL, 0, offsetof(struct build_req, no_cache), 0, 0, 0},
    {"vcpus", JV_INT, 0, offsetof(struct build_req, vcpus), 0, 1, 16},
    {"memory_mb", JV_INT, 0, offsetof(struct build_req, memory_mb), 0, 128, 65536},
    {"runtime", JV_STRING, 0, offsetof(struct build_req, runtime), 16, 0, 0},
};

/* {"from", "steps"} of the request (new reference): the Dockerfile's translated (its
 * FROM taken out) or the builder steps checked; NULL after answering 400. */
static json_t *request_steps(struct http_exchange *ex, const struct build_req *in)
{
        struct err e = {0};
        if (in->dockerfile && (in->steps || in->from)) { /* with from_image, FROM is a label */
                http_respond_error(ex, NS_E_INVALID_FIELD,
                                   "a Dockerfile names its base and steps: no 'steps' or 'from'");
                return NULL;
        }
        if (!in->dockerfile) {
                json_t *steps = in->steps ? json_incref(in->steps) : json_array();
                if (build_steps_check(steps, &e) < 0) {
                        json_decref(steps);
                        http_respond_error(ex, NS_E_INVALID_FIELD, "%s", e.msg);
                        return NULL;
                }
                return json_pack("{s:s,s:o}", "from", in->from ? in->from : "base", "steps", steps);
        }
        json_t *args = json_object();
        for (size_t i = 0; i < in->build_args.n; i++)
                json_object_set_new(args, in->build_args.keys[i],
                                    json_string(in->build_args.values[i]));
        json_t *steps = dockerfile_parse(in->dockerfile, strlen(in->dockerfile), args, &e);
        json_decref(args);
        if (!steps) {
                http_respond_error(ex, NS_E_INVALID_DOCKERFILE, "%s", e.msg);
                return NULL;
        }
        json_t *out =
            json_pack("{s:O,s:o}", "from", json_object_get(json_array_get(steps, 0), "image"),
                      "steps", json_array());
        for (size_t i = 1; i < json_array_size(steps); i++)
                json_array_append(json_object_get(out, "steps"), json_array_get(steps, i));
        json_decref(steps);
        return out;
}

/* Sets req[field] to id, an uploaded tar (context_id, from_image); -1 after answering
 * 404 context_not_found when there is none with that ID. */
static int upload_field(struct http_exchange *ex, const char *field, const char *id, json_t *req)
{
        char path[PATH_MAX + 128];
        struct stat st;
        if (!id)
                return 0;
        build_context_path(api_core(ex), id, path, sizeof(path));
        if (strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64 || stat(path, &st) < 0) {
                http_respond_error(ex, NS_E_CONTEXT_NOT_FOUND,
                                   "%s: no uploaded tar with ID '%.64s'", field, id);
                return -1;
        }
        json_object_set_new(req, field, json_string(id));
        return 0;
}

/* Adds the checked options to req; -1 after answering 400/404. */
static int request_options(struct http_exchange *ex, const struct build_req *in, json_t *req)
{
        struct err e = {0};
        char ref[TEMPLATE_REF_MAX + 1], path[PATH_MAX + 64];
        if (template_ref_norm(in->name, ref, &e) < 0) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'name': %s", e.msg);
                return -1;
        }
        const char *from = json_string_value(json_object_get(req, "from"));
        if (!in->from_image && strcmp(from, "base") != 0 && template_ref_norm(from, path, &e) < 0) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "the base: %s (or base)", e.msg);
                return -1;
        }
        if (in->from_image && in->from) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "give one of 'from' and 'from_image'");
                return -1;
        }
        int rr = core_driver_check(api_core(ex), in->runtime, &e);
        if (rr < 0) {
                http_respond_error(
                    ex, rr == -EINVAL ? NS_E_INVALID_FIELD : NS_E_RUNTIME_UNSUPPORTED, "%s", e.msg);
                return -1;
        }
        if (upload_field(ex, "context_id", in->context_id, req) < 0 ||
            upload_field(ex, "from_image", in->from_image, req) < 0)
                return -1;
        if (in->from_image)
                json_object_set_new(req, "from", json_string("image"));
        json_object_set_new(req, "ref", json_string(ref));
        if (in->start_cmd)
                json_array_append_new(json_object_get(req, "steps"),
                                      json_pack("{s:s,s:s}", "op", "start", "cmd", in->start_cmd));
        if (in->ready_cmd)
                json_object_set_new(req, "ready_cmd", json_string(in->ready_cmd));
        json_object_set_new(
            req, "ready_timeout_s",
            json_integer(in->ready_timeout_s ? in->ready_timeout_s : BUILD_READY_DEFAULT));
        json_object_set_new(req, "no_cache", json_boolean(in->no_cache));
        json_object_set_new(req, "vcpus", json_integer(in->vcpus ? in->vcpus : 1));
        json_object_set_new(req, "memory_mb", json_integer(in->memory_mb ? in->memory_mb : 1024));
        /* the template's machine (and so its snapshot) runs on it; steps run in gVisor */
        const struct app *app = ex->app;
        json_object_set_new(req, "runtime",
                            json_string(in->runtime ? in->runtime : app->core.driver->name));
        return 0;
}

/* Reads build id into *r (store_build_rec_free); -1 after answering 404 or 500. */
static int stored_build(struct http_exchange *ex, const char *id, struct build_rec *r)
{
        struct err e = {0};
        int rc = store_build_get(store_of(ex), id, r, &e);
        if (rc == -ENOENT)
                http_respond_error(ex, NS_E_BUILD_NOT_FOUND, "no build with ID '%s'", id);
        else if (rc < 0)
                api_fail(ex, &e);
        return rc < 0 ? -1 : 0;
}

static void respond_build(struct http_exchange *ex, int status, const char *id)
{
        struct build_rec r;
        if (stored_build(ex, id, &r) < 0)
                return;
        http_respond_json(ex, status, build_view(&r));
        store_build_rec_free(&r);
}

json_t *api_build_request(struct http_exchange *ex, const struct build_req *in)
{
        json_t *req = request_steps(ex, in);
        if (req && request_options(ex, in, req) < 0) {
                json_decref(req);
                return NULL;
        }
        return req;
}

void api_builds_create(struct http_exchange *ex)
{
        struct build_req in = {0};
        if (api_decode(ex, build_fields, ARRAY_SIZE(build_fields), &in, NULL) < 0)
                return;
        json_t *req = api_build_request(ex, &in);
        if (req) {
                char id[MACHINE_ID_MAX];
                struct err e = {0};
                if (build_start(api_core(ex), req, id, &e) == 0)
                        respond_build(ex, 202, id);
                else
                        api_fail_err(ex, &e);
        }
        json_decref(req);
        jv_free(build_fields, ARRAY_SIZE(build_fields), &in);
}

void api_builds_get(struct http_exchange *ex)
{
        respond_build(ex, 200, ex->match.params[0]);
}

void api_builds_cancel(struct http_exchange *ex)
{
        const char *id = ex->match.params[0];
        int r = build_cancel(api_core(ex), id);
        if (r == 0) {
                respond_build(ex, 200, id);
                return;
        }
        struct build_rec b;
        if (stored_build(ex, id, &b) < 0)
                return;
        if (r == -EBUSY)
                http_respond_error(ex, NS_E_CONFLICT,
                                   "build %s is taking its snapshot; it ends in a moment", id);
        else
                http_respond_error(ex, NS_E_CONFLICT, "build %s has ended (%s)", id, b.state);
        store_build_rec_free(&b);
}

/* GET /v1/templates/builds/{id}/logs?cursor=OFFSET: whole log lines from a byte offset;
 * next_cursor is where the next call starts (the same while nothing new came). */
void api_builds_logs(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "cursor"}};
        long long cursor = 0;
        if (api_query(ex, q, 1) < 0 ||
            (q[0].present && api_query_int(ex, &q[0], 0, INT64_MAX, &cursor) < 0))
                return;
        struct build_rec r;
        if (stored_build(ex, ex->match.params[0], &r) < 0)
                return;
        uint64_t next;
        int more;
        json_t *lines = build_log_lines(api_core(ex), r.id, (uint64_t)cursor, &next, &more);
        int done = strcmp(r.state, "building") != 0;
        http_respond_json(ex, 200,
                          json_pack("{s:o,s:I,s:s,s:b}", "logs", lines, "next_cursor",
                                    (json_int_t)next, "state", r.state, "done", done && !more));
        store_build_rec_free(&r);
}

/* ---- names ------------------------------------------------------------------------- */

/* A name's view with its warm pool (new reference). */
static json_t *template_json(struct http_exchange *ex, const struct template_rec *name,
                             const struct build_rec *b)
{
        json_t *view = templates_view(name, b);
        json_object_set_new(view, "pool", pool_view(api_core(ex), name->name, name->pool_size));
        return view;
}

static void respond_template(struct http_exchange *ex, int status, const char *ref)
{
        struct template_rec name;
        struct build_rec b;
        struct err e = {0};
        if (templates_lookup(api_core(ex), ref, &name, &b, &e) < 0) {
                api_fail_err(ex, &e);
                return;
        }
        http_respond_json(ex, status, template_json(ex, &name, &b));
        store_build_rec_free(&b);
}

void api_templates_get(struct http_exchange *ex)
{
        respond_template(ex, 200, ex->match.params[0]);
}

void api_templates_list(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        struct api_page page;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 || api_page_parse(ex, &q[0], &q[1], &page) < 0)
                return;
        struct template_rec *v = NULL;
        size_t n = 0;
        struct err e = {0};
        if (store_template_list(store_of(ex), page.after, (unsigned)page.limit + 1, &v, &n, &e) <
            0) {
                api_fail(ex, &e);
                return;
        }
        size_t shown = n > (size_t)page.limit ? (size_t)page.limit : n;
        json_t *arr = json_array();
        for (size_t i = 0; i < shown; i++) {
                struct build_rec b;
                if (store_build_get(store_of(ex), v[i].build_id, &b, &e) == 0) {
                        json_array_append_new(arr, template_json(ex, &v[i], &b));
                        store_build_rec_free(&b);
                }
        }
        json_t *cursor = json_null();
        if (n > shown) {
                char c[32];
                snprintf(c, sizeof(c), "%lld", (long long)v[shown - 1].seq);
                cursor = json_string(c);
        }
        free(v);
        http_respond_json(ex, 200, json_pack("{s:o,s:o}", "templates", arr, "next_cursor", cursor));
}

void api_templates_delete(struct http_exchange *ex)
{
        struct err e = {0};
        if (templates_delete(api_core(ex), ex->match.params[0], &e) < 0) {
                api_fail_err(ex, &e);
                return;
        }
        http_respond(ex, 204, NULL, NULL, 0);
}

struct alias_req {
        char *name;
};

static const struct jv_field alias_fields[] = {
    {"name", JV_STRING, JV_REQUIRED, offsetof(struct alias_req, name), 128, 0, 0},
};

void api_templates_alias(struct http_exchange *ex)
{
        struct alias_req in = {0};
        if (api_decode(ex, alias_fields, 1, &in, NULL) < 0)
                return;
        char canon[TEMPLATE_REF_MAX + 1];
        struct err e = {0};
        if (templates_alias(api_core(ex), ex->match.params[0], in.name, canon, &e) < 0) {
                api_fail_err(ex, &e);
        } else {
                respond_template(ex, 201, canon);
        }
        jv_free(alias_fields, 1, &in);
}

struct pool_req {
        int64_t size;
};

static const struct jv_field pool_fields[] = {
    {"size", JV_INT, JV_REQUIRED, offsetof(struct pool_req, size), 0, 0, POOL_MAX},
};

void api_templates_pool(struct http_exchange *ex)
{
        struct pool_req in = {0};
        if (api_decode(ex, pool_fields, 1, &in, NULL) < 0)
                return;
        struct err e = {0};
        if (pool_set(api_core(ex), ex->match.params[0], (int)in.size, &e) < 0) {
                api_fail_err(ex, &e);
                return;
        }
        respond_template(ex, 200, ex->match.params[0]);
}

struct prune_req {
        int64_t older_than_s;
};

static const struct jv_field prune_fields[] = {
    {"older_than_s", JV_INT, 0, offsetof(struct prune_req, older_than_s), 0, 0, 10LL * 365 * 86400},
};

void api_templates_prune(struct http_exchange *ex)
{
        struct prune_req in = {0};
        if (api_decode(ex, prune_fields, 1, &in, NULL) < 0)
                return;
        struct prune_report r;
        struct err e = {0};
        int rc = templates_prune(api_core(ex), in.older_than_s * 1000, &r, &e);
        if (rc == -EBUSY) {
                http_respond_error(ex, NS_E_CONFLICT, "%s", e.msg);
                return;
        }
        if (rc < 0) {
                api_fail(ex, &e);
                return;
        }
        http_respond_json(ex, 200,
                          json_pack("{s:I,s:i,s:i,s:i}", "cache_entries",
                                    (json_int_t)r.cache_entries, "contexts", r.contexts, "images",
                                    r.images, "layers", r.layers));
}
