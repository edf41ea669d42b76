/* E2B's filesystem.Filesystem/WatchDir (Connect server stream) over our agent's watch
 * channel: a start message, then one {filesystem: {name, type}} per change, named
 * relative to the watched directory (a rename is RENAME of the old name and CREATE of
 * the new, as envd reports it). A file our agent writes is a temporary file renamed
 * over the path: its events are those of a write in place (CREATE, WRITE). The stream
 * ends when the client leaves or the directory goes. Loop thread only. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "e2b.h"

static void watch_start(struct buf *out, const json_t *begun)
{
        (void)begun;
        e2b_envelope(out, 0, json_pack("{s:{}}", "start"));
}

/* Whether path is an agent write's temporary file (PATH.nswrite-CHANNEL). */
static int write_tmp(const char *path)
{
        const char *t = path ? strstr(path, NSP_WRITE_TMP) : NULL;
        return t && t[strlen(NSP_WRITE_TMP)] &&
               strspn(t + strlen(NSP_WRITE_TMP), "0123456789") == strlen(t + strlen(NSP_WRITE_TMP));
}

/* One FilesystemEvent: path (absolute) named relative to root. */
static void event(const char *root, const char *path, const char *type,
                  void (*emit)(void *ctx, json_t *ev), void *ctx)
{
        size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
        const char *name = strncmp(path, root, rl) == 0 && path[rl] == '/' ? path + rl + 1 : path;
        emit(ctx, json_pack("{s:s,s:s}", "name", name, "type", type));
}

void e2b_watch_events(const char *root, const unsigned char *p, size_t n,
                      void (*emit)(void *ctx, json_t *ev), void *ctx)
{
        for (size_t at = 0; root && at < n;) {
                const unsigned char *nl = memchr(p + at, '\n', n - at);
                size_t len = nl ? (size_t)(nl - (p + at)) : n - at;
                json_t *ev = json_loadb((const char *)p + at, len, 0, NULL);
                at += len + 1;
                const char *type = json_string_value(json_object_get(ev, "type"));
                const char *path = json_string_value(json_object_get(ev, "path"));
                const char *from = json_string_value(json_object_get(ev, "from"));
                if (type && path && from && strcmp(type, "rename") == 0 && write_tmp(from)) {
                        event(root, path, "EVENT_TYPE_CREATE", emit, ctx);
                        event(root, path, "EVENT_TYPE_WRITE", emit, ctx);
                } else if (write_tmp(path)) {
                        /* the write under way: seen once it lands */
                } else if (type && path && strcmp(type, "create") == 0)
                        event(root, path, "EVENT_TYPE_CREATE", emit, ctx);
                else if (type && path && strcmp(type, "modify") == 0)
                        event(root, path, "EVENT_TYPE_WRITE", emit, ctx);
                else if (type && path && strcmp(type, "delete") == 0)
                        event(root, path, "EVENT_TYPE_REMOVE", emit, ctx);
                else if (type && path && from && strcmp(type, "rename") == 0) {
                        event(root, from, "EVENT_TYPE_RENAME", emit, ctx);
                        event(root, path, "EVENT_TYPE_CREATE", emit, ctx);
                }
                json_decref(ev);
        }
}

/* A stream's event: one envelope {filesystem: ev}. */
static void envelope_event(void *ctx, json_t *ev)
{
        e2b_envelope(ctx, 0, json_pack("{s:o}", "filesystem", ev));
}

static void watch_output(struct buf *out, const json_t *begun, int stream, const unsigned char *p,
                         size_t n, int flags)
{
        (void)stream;
        (void)flags;
        e2b_watch_events(json_string_value(json_object_get(begun, "path")), p, n, envelope_event,
                         out);
}

static void watch_end(struct buf *out, const json_t *exit, enum ns_code code, const char *msg)
{
        (void)exit;
        if (code == NS_OK)
                e2b_stream_end(out, NULL, NULL);
        else
                e2b_stream_end(out, e2b_connect_code(code), msg ? msg : ns_code_name(code));
}

static const struct exec_stream_fmt watch_events = {E2B_CONNECT_JSON, watch_start, watch_output,
                                                    watch_end,        0,           1};

json_t *e2b_watch_request(const json_t *in, const char *user)
{
        char path[PATH_MAX];
        const char *p = json_string_value(json_object_get(in, "path"));
        if (!p || !p[0] || e2b_resolve_path(p, user, path, sizeof(path)) < 0)
                return NULL;
        return json_pack("{s:s,s:s,s:b}", "op", "watch", "path", path, "recursive",
                         json_is_true(json_object_get(in, "recursive")));
}

void e2b_watch_dir(struct http_exchange *ex)
{
        char user[64];
        if (!e2b_envd_machine(ex) || e2b_basic_user(ex, user, sizeof(user)) < 0)
                return;
        json_t *in = e2b_envelope_json(ex->body.data, ex->body.len);
        json_t *req = e2b_watch_request(in, user);
        json_decref(in);
        if (req)
                api_exec_stream(ex, req, &watch_events);
        else
                e2b_stream_error(ex, "invalid_argument",
                                 "expected one envelope {path, recursive} naming a directory");
}
