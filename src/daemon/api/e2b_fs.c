/* E2B's filesystem.Filesystem unary calls over Connect (JSON codec): Stat, ListDir,
 * MakeDir, Move, Remove, each one or two requests to the machine's agent (WatchDir and
 * the polled watchers are e2b_watch.c and e2b_watchers.c). A unary call
 * is a POST of the request's JSON; the answer is the response's JSON, or an HTTP error
 * status with a Connect error {"code", "message"}. Loop thread only. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "e2b.h"

enum fs_method { FS_STAT, FS_LIST, FS_MKDIR, FS_MOVE, FS_REMOVE, FS_COUNT };

static const char *const methods[FS_COUNT] = {"Stat", "ListDir", "MakeDir", "Move", "Remove"};

struct fs_call {
        enum fs_method method;
        int step; /* MakeDir and Move take two agent requests */
        char path[PATH_MAX], dest[PATH_MAX];
};

void e2b_connect_error(struct http_exchange *ex, const char *code, const char *msg)
{
        static const struct {
                const char *code;
                int status;
        } map[] = {
            {"invalid_argument", 400}, {"unauthenticated", 401},     {"permission_denied", 403},
            {"not_found", 404},        {"already_exists", 409},      {"unimplemented", 501},
            {"unavailable", 503},      {"failed_precondition", 400}, {"resource_exhausted", 429}};
        int status = 500;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(map[i].code, code) == 0)
                        status = map[i].status;
        http_respond_json(ex, status, json_pack("{s:s,s:s}", "code", code, "message", msg));
}

const char *e2b_connect_code(enum ns_code c)
{
        switch (c) {
        case NS_E_FILE_NOT_FOUND:
        case NS_E_MACHINE_NOT_FOUND:
        case NS_E_NOT_FOUND:
        case NS_E_PROCESS_NOT_FOUND:
                return "not_found";
        case NS_E_STDIN_CLOSED:
                return "failed_precondition";
        case NS_E_TOO_MANY_PROCESSES:
        case NS_E_TOO_MANY_CHANNELS:
                return "resource_exhausted";
        case NS_E_FILE_EXISTS:
                return "already_exists";
        case NS_E_PERMISSION_DENIED:
                return "permission_denied";
        case NS_E_INVALID_PATH:
        case NS_E_INVALID_REQUEST:
        case NS_E_INVALID_FIELD:
        case NS_E_MISSING_FIELD:
                return "invalid_argument";
        case NS_E_MACHINE_NOT_RUNNING:
        case NS_E_MACHINE_BUSY:
                return "unavailable";
        default:
                return "internal";
        }
}

/* "-rw-r--r--" of a type and mode. */
static void permissions(const char *type, int mode, char out[11])
{
        out[0] = !strcmp(type, "dir") ? 'd' : !strcmp(type, "symlink") ? 'l' : '-';
        for (int i = 0; i < 9; i++)
                out[1 + i] = mode & (0400 >> i) ? "rwx"[i % 3] : '-';
        out[10] = '\0';
}

/* EntryInfo of one of our agent's stat documents (new reference). */
static json_t *entry_json(const json_t *st)
{
        const char *path = json_string_value(json_object_get(st, "path")) ?: "";
        const char *type = json_string_value(json_object_get(st, "type")) ?: "";
        const char *base = strrchr(path, '/');
        int mode = (int)json_integer_value(json_object_get(st, "mode"));
        char perm[11];
        permissions(type, mode, perm);
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:I,s:i,s:s,s:s,s:s,s:o}", "name",
                      base && base[1] ? base + 1 : path, "type",
                      !strcmp(type, "file")      ? "FILE_TYPE_FILE"
                      : !strcmp(type, "dir")     ? "FILE_TYPE_DIRECTORY"
                      : !strcmp(type, "symlink") ? "FILE_TYPE_SYMLINK"
                                                 : "FILE_TYPE_UNSPECIFIED",
                      "path", path, "size", json_integer_value(json_object_get(st, "size")), "mode",
                      mode, "permissions", perm, "owner", "root", "group", "root", "modifiedTime",
                      e2b_iso_time(json_integer_value(json_object_get(st, "mtime_ms"))));
        const char *target = json_string_value(json_object_get(st, "target"));
        if (target)
                json_object_set_new(o, "symlinkTarget", json_string(target));
        return o;
}

static void on_agent(struct http_exchange *ex, const json_t *resp, enum ns_code code,
                     const char *msg, void *ud);

static void ask(struct http_exchange *ex, struct fs_call *c, json_t *req)
{
        api_agent_call_owned(ex, req, on_agent, c, free);
}

static void answer(struct http_exchange *ex, struct fs_call *c, const json_t *resp)
{
        json_t *out = NULL;
        if (c->method == FS_STAT || c->method == FS_MKDIR || c->method == FS_MOVE) {
                out = json_pack("{s:o}", "entry", entry_json(resp));
        } else if (c->method == FS_LIST) {
                json_t *arr = json_array(), *v;
                size_t i;
                json_array_foreach(json_object_get(resp, "entries"), i, v)
                    json_array_append_new(arr, entry_json(v));
                out = json_pack("{s:o}", "entries", arr);
        } else {
                out = json_object();
        }
        http_respond_json(ex, 200, out);
}

static void on_agent(struct http_exchange *ex, const json_t *resp, enum ns_code code,
                     const char *msg, void *ud)
{
        struct fs_call *c = ud;
        if (code != NS_OK) {
                e2b_connect_error(ex, e2b_connect_code(code), msg);
        } else if (c->method == FS_MKDIR && c->step == 0) {
                if (json_is_true(json_object_get(resp, "exists"))) {
                        e2b_connect_error(ex, "already_exists", "the path exists");
                } else {
                        c->step = 1; /* then stat what mkdir made */
                        ask(ex, c, json_pack("{s:s,s:s}", "op", "mkdir", "path", c->path));
                        return;
                }
        } else if ((c->method == FS_MKDIR || c->method == FS_MOVE) && c->step == 1) {
                c->step = 2;
                ask(ex, c,
                    json_pack("{s:s,s:s}", "op", "stat", "path",
                              c->method == FS_MOVE ? c->dest : c->path));
                return;
        } else {
                answer(ex, c, resp);
        }
        free(c);
}

/* The request's path field `key` resolved for the user into out; -1 after answering. */
static int path_field(struct http_exchange *ex, const json_t *in, const char *key, const char *user,
                      char *out)
{
        const char *p = json_string_value(json_object_get(in, key));
        if (!p || !p[0] || e2b_resolve_path(p, user, out, PATH_MAX) < 0) {
                char msg[64];
                snprintf(msg, sizeof(msg), "field '%s' names a path", key);
                e2b_connect_error(ex, "invalid_argument", msg);
                return -1;
        }
        return 0;
}

void e2b_fs_call(struct http_exchange *ex)
{
        if (strcmp(ex->match.params[0], "WatchDir") == 0) {
                e2b_watch_dir(ex); /* a server stream */
                return;
        }
        static const char *const polled[] = {"CreateWatcher", "GetWatcherEvents", "RemoveWatcher"};
        for (size_t i = 0; i < sizeof(polled) / sizeof(polled[0]); i++) {
                char user[64];
                if (strcmp(ex->match.params[0], polled[i]) != 0)
                        continue;
                if (e2b_envd_machine(ex) && e2b_basic_user(ex, user, sizeof(user)) == 0)
                        e2b_watcher_call(ex, polled[i], user);
                return;
        }
        enum fs_method m = FS_COUNT;
        for (int i = 0; i < FS_COUNT; i++)
                if (strcmp(ex->match.params[0], methods[i]) == 0)
                        m = (enum fs_method)i;
        if (m == FS_COUNT) {
                e2b_connect_error(ex, "unimplemented", "this filesystem call is not supported");
                return;
        }
        char user[64];
        if (!e2b_envd_machine(ex) || e2b_basic_user(ex, user, sizeof(user)) < 0)
                return;
        json_t *in =
            ex->body.len ? json_loadb(ex->body.data, ex->body.len, 0, NULL) : json_object();
        struct fs_call *c = json_is_object(in) ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
                e2b_connect_error(ex, "invalid_argument", "the request is not a JSON object");
                json_decref(in);
                return;
        }
        c->method = m;
        json_t *req = NULL;
        if (path_field(ex, in, m == FS_MOVE ? "source" : "path", user, c->path) < 0 ||
            (m == FS_MOVE && path_field(ex, in, "destination", user, c->dest) < 0)) {
                free(c);
        } else {
                static const char *const ops[FS_COUNT] = {"stat", "list", "exists", "rename",
                                                          "remove"};
                req = json_pack("{s:s,s:s}", "op", ops[m], "path", c->path);
                if (m == FS_LIST) {
                        json_int_t depth = json_integer_value(json_object_get(in, "depth"));
                        json_object_set_new(req, "depth", json_integer(depth < 1 ? 1 : depth));
                }
                if (m == FS_MOVE) {
                        json_object_set_new(req, "to", json_string(c->dest));
                        c->step = 1; /* then stat the destination */
                }
                ask(ex, c, req);
        }
        json_decref(in);
}
