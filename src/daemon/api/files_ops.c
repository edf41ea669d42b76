/* Files of a machine or a volume, the one-shot operations: remove, stat, exists, list,
 * search, mkdir, rename, replace, signed URLs, and api_agent_simple/api_agent_call for
 * the other handlers that ask an agent one thing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "../auth.h"
#include "files_internal.h"

/* ---- one-shot operations ------------------------------------------------------ */

static void on_simple_frame(void *ud, const struct nsp_hdr *h, const unsigned char *p)
{
        struct file_op *op = ud;
        struct http_exchange *ex = op->ex;
        if (h)
                agentconn_chan_close(op->agent, op->chan);
        if (ex && op->then) {
                ex->on_abort = NULL;
                json_t *doc = h && !agentconn_resp_is_error(h, p)
                                  ? json_loadb((const char *)p, h->len, 0, NULL)
                                  : NULL;
                if (h && !doc && agentconn_resp_is_error(h, p))
                        files_take_error(op, p, h->len);
                else if (!h)
                        snprintf(op->msg, sizeof(op->msg), "the machine stopped");
                op->then_free = NULL; /* then takes then_ud */
                op->then(ex, doc,
                         doc  ? NS_OK
                         : !h ? NS_E_MACHINE_NOT_RUNNING
                              : (op->err ? op->err : NS_E_INTERNAL),
                         op->msg, op->then_ud);
                json_decref(doc);
        } else if (ex) {
                ex->on_abort = NULL;
                if (!h) {
                        http_respond_error(ex, NS_E_MACHINE_NOT_RUNNING, "the machine stopped");
                } else if (agentconn_resp_is_error(h, p)) {
                        files_take_error(op, p, h->len);
                        http_respond_error(ex, op->err, "%s", op->msg);
                } else {
                        http_respond(ex, op->status ? op->status : 200, "application/json", p,
                                     h->len);
                }
        }
        files_op_free(op);
}

static void abort_simple(struct http_exchange *ex)
{
        struct file_op *op = ex->owner;
        op->ex = NULL; /* the answer is dropped when it comes */
}

void api_agent_simple(struct http_exchange *ex, json_t *req, int status)
{
        struct file_op *op = files_new_op(ex, req, on_simple_frame, abort_simple, 0);
        if (!op)
                return;
        op->status = status;
        api_when_running(ex, files_start_go, op, files_free_op_ctx);
}

void api_agent_call_owned(struct http_exchange *ex, json_t *req, api_agent_done then, void *ud,
                          void (*free_ud)(void *ud))
{
        struct file_op *op = files_new_op(ex, req, on_simple_frame, abort_simple, 0);
        if (!op) {
                if (free_ud)
                        free_ud(ud);
                return;
        }
        op->then = then;
        op->then_ud = ud;
        op->then_free = free_ud;
        api_when_running(ex, files_start_go, op, files_free_op_ctx);
}

void api_agent_call(struct http_exchange *ex, json_t *req, api_agent_done then, void *ud)
{
        api_agent_call_owned(ex, req, then, ud, NULL);
}

static void simple(struct http_exchange *ex, json_t *req)
{
        api_agent_simple(ex, req, 200);
}

void api_files_delete(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "path"}};
        if (files_path_param(ex, q, 1) == 0)
                simple(ex, json_pack("{s:s,s:s}", "op", "remove", "path", q[0].value));
}

/* search?path=DIR[&name=GLOB][&content=TEXT][&limit=N] */
static void search(struct http_exchange *ex)
{
        struct query_param q[] = {
            {.name = "path"}, {.name = "name"}, {.name = "content"}, {.name = "limit"}};
        long long limit = 1000;
        if (files_path_param(ex, q, 4) < 0)
                return;
        if (q[3].present && api_query_int(ex, &q[3], 1, 10000, &limit) < 0)
                return;
        if (!q[1].present && !q[2].present) {
                http_respond_error(ex, NS_E_INVALID_REQUEST, "search needs 'name' or 'content'");
                return;
        }
        json_t *req = json_pack("{s:s,s:s,s:I}", "op", "search", "path", q[0].value, "limit",
                                (json_int_t)limit);
        if (q[1].present)
                json_object_set_new(req, "name", json_string(q[1].value));
        if (q[2].present)
                json_object_set_new(req, "content", json_string(q[2].value));
        simple(ex, req);
}

void api_files_query(struct http_exchange *ex)
{
        const char *op = ex->match.params[1];
        if (!strcmp(op, "search")) {
                search(ex);
                return;
        }
        if (strcmp(op, "stat") && strcmp(op, "exists") && strcmp(op, "list")) {
                http_respond_error(ex, NS_E_NOT_FOUND,
                                   "no file operation '%s' (stat, exists, list, search)", op);
                return;
        }
        struct query_param q[] = {{.name = "path"}, {.name = "depth"}};
        long long depth = 1;
        if (files_path_param(ex, q, 2) < 0)
                return;
        if (q[1].present && (strcmp(op, "list") || api_query_int(ex, &q[1], 1, 32, &depth) < 0)) {
                if (!ex->responded && strcmp(op, "list"))
                        http_respond_error(ex, NS_E_INVALID_REQUEST, "'depth' is for list only");
                return;
        }
        simple(ex, json_pack("{s:s,s:s,s:I}", "op", op, "path", q[0].value, "depth",
                             (json_int_t)depth));
}

struct op_req {
        char *path, *to, *find, *replace, *mode;
};

static const struct jv_field op_fields[] = {
    {"path", JV_STRING, JV_REQUIRED, offsetof(struct op_req, path), 4096, 0, 0},
    {"to", JV_STRING, 0, offsetof(struct op_req, to), 4096, 0, 0},
    {"find", JV_STRING, 0, offsetof(struct op_req, find), 65536, 0, 0},
    {"replace", JV_STRING, 0, offsetof(struct op_req, replace), 65536, 0, 0},
    {"mode", JV_STRING, 0, offsetof(struct op_req, mode), 4, 0, 0},
};

/* The agent request of one action (its fields checked), or NULL after answering. */
static json_t *action_request(struct http_exchange *ex, const char *op, const struct op_req *in,
                              uint64_t present)
{
        int rename_op = !strcmp(op, "rename"), replace_op = !strcmp(op, "replace"),
            chmod_op = !strcmp(op, "chmod");
        uint64_t want = rename_op    ? 1u << 1
                        : replace_op ? (1u << 2 | 1u << 3)
                        : chmod_op   ? 1u << 4
                                     : 0;
        char *end = NULL;
        long mode = in->mode ? strtol(in->mode, &end, 8) : 0;
        if ((present & ~1ull) != want) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "%s takes %s", op,
                                   rename_op    ? "'path' and 'to'"
                                   : replace_op ? "'path', 'find' and 'replace'"
                                   : chmod_op   ? "'path' and 'mode'"
                                                : "'path' only");
        } else if (replace_op && !in->find[0]) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'find' is empty");
        } else if (chmod_op && (!in->mode[0] || *end || mode < 0 || mode > 07777)) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'mode': octal, like \"755\"");
        } else {
                json_t *req = json_pack("{s:s,s:s}", "op", op, "path", in->path);
                if (in->to)
                        json_object_set_new(req, "to", json_string(in->to));
                if (replace_op) {
                        json_object_set_new(req, "find", json_string(in->find));
                        json_object_set_new(req, "replace", json_string(in->replace));
                }
                if (chmod_op)
                        json_object_set_new(req, "mode", json_integer(mode));
                return req;
        }
        return NULL;
}

void api_files_action(struct http_exchange *ex)
{
        const char *op = ex->match.params[1];
        if (strcmp(op, "rename") && strcmp(op, "replace") && strcmp(op, "mkdir") &&
            strcmp(op, "chmod")) {
                http_respond_error(ex, NS_E_NOT_FOUND,
                                   "no file operation '%s' (mkdir, rename, replace, chmod)", op);
                return;
        }
        struct op_req in = {0};
        uint64_t present;
        if (api_decode(ex, op_fields, ARRAY_SIZE(op_fields), &in, &present) < 0)
                return;
        json_t *req = action_request(ex, op, &in, present);
        if (req)
                simple(ex, req);
        jv_free(op_fields, ARRAY_SIZE(op_fields), &in);
}

#define BATCH_FILES_MAX 10000

/* POST …/files/batch {"files":[{"path","content","encoding":"utf8"|"base64","mode"}]}:
 * many small files in one request, each written atomically, in order. */
void api_files_batch(struct http_exchange *ex)
{
        json_error_t je;
        json_t *body = json_loadb(ex->body.data, ex->body.len, JSON_REJECT_DUPLICATES, &je);
        json_t *files = json_object_get(body, "files"), *f, *out = json_array();
        size_t i;
        const char *bad = !json_is_object(body) || json_object_size(body) != 1 ||
                                  !json_is_array(files) || json_array_size(files) > BATCH_FILES_MAX
                              ? "the body is {\"files\": [...]} (at most 10000)"
                              : NULL;
        json_array_foreach(files, i, f)
        {
                const char *path = json_string_value(json_object_get(f, "path"));
                json_t *content = json_object_get(f, "content");
                const char *enc = json_string_value(json_object_get(f, "encoding"));
                const char *mode = json_string_value(json_object_get(f, "mode"));
                char *end = NULL;
                long m = mode ? strtol(mode, &end, 8) : 0644;
                if (bad || !path || !*path || !json_is_string(content) ||
                    (enc && strcmp(enc, "utf8") && strcmp(enc, "base64")) ||
                    (mode && (*end || !*mode || m < 0 || m > 07777))) {
                        bad = bad ? bad
                                  : "each file is {\"path\", \"content\"[, \"encoding\": "
                                    "utf8|base64, \"mode\": octal]}";
                        break;
                }
                json_t *data =
                    enc && !strcmp(enc, "base64")
                        ? json_incref(content)
                        : json_base64(json_string_value(content), json_string_length(content));
                json_array_append_new(out,
                                      json_pack("{s:s,s:o,s:i}", "path", path, "data",
                                                data ? data : json_string(""), "mode", (int)m));
        }
        if (bad)
                http_respond_error(ex, NS_E_INVALID_FIELD, "%s", bad);
        else
                simple(ex, json_pack("{s:s,s:O}", "op", "write_batch", "files", out));
        json_decref(out);
        json_decref(body);
}

/* ---- signed URLs ------------------------------------------------------------------ */

struct sign_req {
        char *path, *method;
        int64_t expires_in_s;
};

static const struct jv_field sign_fields[] = {
    {"path", JV_STRING, JV_REQUIRED, offsetof(struct sign_req, path), 1024, 0, 0},
    {"method", JV_STRING, 0, offsetof(struct sign_req, method), 8, 0, 0},
    {"expires_in_s", JV_INT, 0, offsetof(struct sign_req, expires_in_s), 0, 1, 7 * 86400},
};

/* The base URL clients reached us on: the Host header when it looks sane. */
static void base_url(struct http_exchange *ex, char *out, size_t cap)
{
        struct app *app = ex->app;
        const char *host = http_req_header(ex->req, "Host");
        int ok =
            host && *host && strlen(host) < 256 &&
            strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
                strlen(host);
        snprintf(out, cap, "http://%s", ok ? host : app->http.bound);
}

int api_owner_id(struct http_exchange *ex, char *id, size_t cap)
{
        if (api_is_volume_route(ex))
                return api_volume_id(ex, id, cap);
        struct machine_rec r;
        struct err e = {0};
        int rc = store_machine_get(api_core(ex)->store, ex->match.params[0], &r, &e);
        if (rc == -ENOENT)
                http_respond_error(ex, NS_E_MACHINE_NOT_FOUND, "no machine with ID '%s'",
                                   ex->match.params[0]);
        else if (rc < 0)
                api_fail(ex, &e);
        else
                snprintf(id, cap, "%s", r.id);
        if (rc == 0)
                store_machine_rec_free(&r);
        return rc == 0 ? 0 : -1;
}

void api_files_sign(struct http_exchange *ex)
{
        struct app *app = ex->app;
        struct sign_req in = {0};
        uint64_t present;
        if (api_decode(ex, sign_fields, ARRAY_SIZE(sign_fields), &in, &present) < 0)
                return;
        const char *method = in.method ? in.method : "GET";
        char id[MACHINE_ID_MAX];
        if (strcmp(method, "GET") && strcmp(method, "PUT")) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'method': GET or PUT");
        } else if (!in.path[0]) {
                http_respond_error(ex, NS_E_INVALID_PATH, "field 'path' is empty");
        } else if (api_owner_id(ex, id, sizeof(id)) == 0) {
                long long expires = time_wall_ms() / 1000 + (present & 4 ? in.expires_in_s : 300);
                char sig[65], base[300], *path = url_escape(in.path);
                auth_sign(app->signing_key, method, id, in.path, expires, sig);
                base_url(ex, base, sizeof(base));
                char *url = NULL;
                if (path && asprintf(&url, "%s/v1/%s/%s/files?path=%s&expires=%lld&signature=%s",
                                     base, api_is_volume_route(ex) ? "volumes" : "machines", id,
                                     path, expires, sig) > 0)
                        http_respond_json(ex, 200,
                                          json_pack("{s:s,s:s,s:s,s:I}", "url", url, "method",
                                                    method, "path", in.path, "expires_at",
                                                    (json_int_t)expires * 1000));
                else
                        http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                free(url);
                free(path);
        }
        jv_free(sign_fields, ARRAY_SIZE(sign_fields), &in);
}
