/* E2B's volume content API (E2B_VOLUME_API_URL=http://HOST:PORT/e2b) over the volume's
 * file agent: /volumecontent/{id}/dir (list, make), /path (stat, chmod/chown, remove),
 * /file (read, write). The volume's token (e2b_volumes.c) or an API key opens it. An
 * answer about a path is E2B's VolumeEntryStat. Loop thread only. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "api.h"
#include "e2b.h"

enum answer_kind { ANSWER_ENTRY, ANSWER_LIST, ANSWER_NONE };

/* Agent requests run one after another; the last one's answer is the client's. */
struct vsteps {
        json_t *reqs;
        size_t i;
        enum answer_kind kind;
        int status;
        int refuse_first; /* the first step is an exists check that must say false */
};

static void steps_free(void *ud)
{
        struct vsteps *s = ud;
        json_decref(s->reqs);
        free(s);
}

static const char *entry_type(const char *ours)
{
        return !ours                          ? "unknown"
               : strcmp(ours, "dir") == 0     ? "directory"
               : strcmp(ours, "file") == 0    ? "file"
               : strcmp(ours, "symlink") == 0 ? "symlink"
                                              : "unknown";
}

/* E2B's VolumeEntryStat of one of our agent's stat answers (with "owner"). */
static json_t *entry_json(const json_t *st)
{
        const char *path = json_string_value(json_object_get(st, "path")) ?: "";
        const char *name = json_string_value(json_object_get(st, "name"));
        const char *base = strrchr(path, '/');
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:O,s:O,s:O,s:O,s:o,s:o,s:o}", "name",
            name   ? name
            : base ? base + 1
                   : path,
            "type", entry_type(json_string_value(json_object_get(st, "type"))), "path", path,
            "size", json_object_get(st, "size"), "mode", json_object_get(st, "mode"), "uid",
            json_object_get(st, "uid"), "gid", json_object_get(st, "gid"), "atime",
            e2b_iso_time(json_integer_value(json_object_get(st, "atime_ms"))), "mtime",
            e2b_iso_time(json_integer_value(json_object_get(st, "mtime_ms"))), "ctime",
            e2b_iso_time(json_integer_value(json_object_get(st, "ctime_ms"))));
        json_t *target = json_object_get(st, "target");
        if (o && target)
                json_object_set(o, "target", target);
        return o;
}

static void answer(struct http_exchange *ex, const struct vsteps *s, const json_t *doc)
{
        if (s->kind == ANSWER_NONE) {
                http_respond(ex, 204, NULL, NULL, 0);
        } else if (s->kind == ANSWER_ENTRY) {
                http_respond_json(ex, s->status, entry_json(doc));
        } else {
                json_t *arr = json_array();
                size_t i;
                json_t *e;
                json_array_foreach(json_object_get(doc, "entries"), i, e)
                    json_array_append_new(arr, entry_json(e));
                http_respond_json(ex, 200, arr);
        }
}

static void on_step(struct http_exchange *ex, const json_t *doc, enum ns_code code, const char *msg,
                    void *ud)
{
        struct vsteps *s = ud;
        if (code) {
                e2b_fail(ex, code, msg);
        } else if (s->i == 0 && s->refuse_first && json_is_true(json_object_get(doc, "exists"))) {
                e2b_error(ex, 409, "the path exists: overwrite it with force");
        } else if (++s->i < json_array_size(s->reqs)) {
                api_agent_call_owned(ex, json_incref(json_array_get(s->reqs, s->i)), on_step, s,
                                     steps_free);
                return;
        } else {
                answer(ex, s, doc);
        }
        steps_free(s);
}

/* Runs reqs (stolen) on the route's volume and answers as kind says. */
static void run_steps(struct http_exchange *ex, json_t *reqs, enum answer_kind kind, int status)
{
        struct vsteps *s = calloc(1, sizeof(*s));
        if (!s) {
                json_decref(reqs);
                e2b_error(ex, 500, "out of memory");
                return;
        }
        *s = (struct vsteps){reqs, 0, kind, status, 0};
        api_agent_call_owned(ex, json_incref(json_array_get(reqs, 0)), on_step, s, steps_free);
}

/* The query's path (made absolute: a volume's paths start at its root) into out, and
 * the optional uid, gid, mode, depth, force into v (-1 when absent). -1 after answering. */
enum { Q_UID, Q_GID, Q_MODE, Q_DEPTH, Q_FORCE, Q_N };

static int params(struct http_exchange *ex, char *out, size_t cap, long long v[Q_N])
{
        struct query_param q[] = {{.name = "path"}, {.name = "uid"},   {.name = "gid"},
                                  {.name = "mode"}, {.name = "depth"}, {.name = "force"}};
        static const long long max[Q_N] = {0x7fffffff, 0x7fffffff, 07777, 32, 1};
        char msg[160] = "";
        int bad = query_parse(ex->req->query, q, ARRAY_SIZE(q), msg, sizeof(msg)) < 0 ||
                  !q[0].present || !q[0].value[0];
        for (int i = 0; i < Q_N && !bad; i++) {
                const struct query_param *p = &q[i + 1];
                v[i] = -1;
                if (i == Q_FORCE && p->present)
                        v[i] = strcmp(p->value, "true") == 0;
                else if (p->present && e2b_whole(p->value, 0, max[i], &v[i]) < 0)
                        bad = 1;
        }
        int n = bad ? -1 : snprintf(out, cap, "%s%s", q[0].value[0] == '/' ? "" : "/", q[0].value);
        if (bad || n < 0 || (size_t)n >= cap) {
                e2b_error(ex, 400, "bad query%s%s: path, uid, gid, mode, depth (1 to 32), force",
                          msg[0] ? " " : "", msg);
                return -1;
        }
        return 0;
}

/* The steps that give path its mode and owner (when asked), then stat it. */
static json_t *settle(json_t *reqs, const char *path, long long mode, long long uid, long long gid)
{
        if (mode >= 0)
                json_array_append_new(reqs, json_pack("{s:s,s:s,s:I}", "op", "chmod", "path", path,
                                                      "mode", (json_int_t)mode));
        if (uid >= 0 || gid >= 0)
                json_array_append_new(reqs,
                                      json_pack("{s:s,s:s,s:I,s:I}", "op", "chown", "path", path,
                                                "uid", (json_int_t)uid, "gid", (json_int_t)gid));
        json_array_append_new(reqs,
                              json_pack("{s:s,s:s,s:b}", "op", "stat", "path", path, "owner", 1));
        return reqs;
}

void e2b_volume_dir(struct http_exchange *ex)
{
        char path[PATH_MAX];
        long long v[Q_N];
        if (params(ex, path, sizeof(path), v) < 0)
                return;
        if (strcmp(ex->req->method, "GET") == 0)
                run_steps(ex,
                          json_pack("[{s:s,s:s,s:I,s:b}]", "op", "list", "path", path, "depth",
                                    (json_int_t)(v[Q_DEPTH] > 0 ? v[Q_DEPTH] : 1), "owner", 1),
                          ANSWER_LIST, 200);
        else
                run_steps(ex,
                          settle(json_pack("[{s:s,s:s}]", "op", "mkdir", "path", path), path,
                                 v[Q_MODE], v[Q_UID], v[Q_GID]),
                          ANSWER_ENTRY, 201);
}

void e2b_volume_path(struct http_exchange *ex)
{
        char path[PATH_MAX];
        long long v[Q_N];
        if (params(ex, path, sizeof(path), v) < 0)
                return;
        if (strcmp(ex->req->method, "DELETE") == 0) {
                run_steps(ex, json_pack("[{s:s,s:s}]", "op", "remove", "path", path), ANSWER_NONE,
                          204);
                return;
        }
        long long set[3] = {-1, -1, -1}; /* PATCH {uid, gid, mode} */
        if (strcmp(ex->req->method, "PATCH") == 0) {
                json_t *in = e2b_body_object(ex);
                if (!in)
                        return;
                static const char *const keys[3] = {"uid", "gid", "mode"};
                int bad = 0;
                for (int i = 0; i < 3 && !bad; i++) {
                        json_t *x = json_object_get(in, keys[i]);
                        bad = x && !json_is_null(x) &&
                              (!json_is_integer(x) || json_integer_value(x) < 0 ||
                               json_integer_value(x) > (i == 2 ? 07777 : 0x7fffffff));
                        set[i] = json_is_integer(x) ? json_integer_value(x) : -1;
                }
                json_decref(in);
                if (bad) {
                        e2b_error(ex, 400, "the body is {uid, gid, mode}: whole numbers");
                        return;
                }
        }
        run_steps(ex, settle(json_array(), path, set[2], set[0], set[1]), ANSWER_ENTRY, 200);
}

void e2b_volume_file_get(struct http_exchange *ex)
{
        char path[PATH_MAX];
        long long v[Q_N];
        if (params(ex, path, sizeof(path), v) < 0)
                return;
        e2b_read_file(ex, path); /* the rest is ours: the volume's files */
}

/* Once the body is written: its mode and owner, then its VolumeEntryStat. */
static void after_write(struct http_exchange *ex, const char *path, void *ud)
{
        long long *v = ud;
        run_steps(ex, settle(json_array(), path, -1, v[Q_UID], v[Q_GID]), ANSWER_ENTRY, 201);
        free(v);
}

void e2b_volume_file_put(struct http_exchange *ex)
{
        char path[PATH_MAX];
        long long *v = calloc(Q_N, sizeof(*v));
        if (!v || params(ex, path, sizeof(path), v) < 0) {
                if (!v)
                        e2b_error(ex, 500, "out of memory");
                free(v);
                return;
        }
        e2b_write_body(ex, path, v[Q_MODE] >= 0 ? (int)v[Q_MODE] : 0644, v[Q_FORCE] != 0,
                       after_write, v);
}
