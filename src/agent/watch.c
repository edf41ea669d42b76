/* File watch: inotify on a directory (and, when recursive, on every directory below
 * it, including ones created later), events sent as JSON lines on stream 1:
 *   {"type":"create"|"modify"|"delete","path","is_dir"}
 *   {"type":"rename","path":NEW,"from":OLD,"is_dir"}
 *   {"type":"overflow"}  (the kernel queue overflowed: events were lost)
 * Events are read only while the daemon's credit allows a full batch, so a client that
 * reads nothing leaves them in the kernel's bounded queue (then "overflow"). The channel
 * ends with EXIT {"reason":"deleted"} when the watched directory goes away. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define WATCH_MAX_DIRS 8192
#define BATCH_SIZE     (16u << 10)
#define BATCH_CREDIT   (128u << 10) /* JSON of one batch stays below this */
#define WATCH_MASK                                                                                 \
        (IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |        \
         IN_ATTRIB | IN_ONLYDIR)

struct watch_dir {
        int wd;
        char *path;
};

void watch_free(struct chan *c)
{
        for (size_t i = 0; i < c->ndirs; i++)
                free(c->dirs[i].path);
        free(c->dirs);
        free(c->move_from);
        c->dirs = NULL;
        c->ndirs = 0;
}

static const char *dir_of(struct chan *c, int wd)
{
        for (size_t i = 0; i < c->ndirs; i++)
                if (c->dirs[i].wd == wd)
                        return c->dirs[i].path;
        return NULL;
}

/* A directory that is gone (its watch removed); the root entry stays for the end. */
static void forget_dir(struct chan *c, int wd)
{
        for (size_t i = 1; i < c->ndirs; i++) {
                if (c->dirs[i].wd == wd) {
                        free(c->dirs[i].path);
                        c->dirs[i] = c->dirs[--c->ndirs];
                        return;
                }
        }
}

static void send_event(struct agent *a, struct chan *c, json_t *ev)
{
        char *line = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        if (!line)
                return;
        size_t n = strlen(line);
        line[n] = '\n';
        agent_send(a, NSP_DATA, NSP_STDOUT, c->id, line, n + 1);
        c->credit[NSP_STDOUT] -=
            c->credit[NSP_STDOUT] > n + 1 ? (uint32_t)(n + 1) : c->credit[NSP_STDOUT];
        free(line);
}

static void add_tree(struct agent *a, struct chan *c, const char *path, int announce);

/* Watches one directory; with `announce` (a directory created after the watch began)
 * its entries are reported as created, since they may predate the new watch. */
static int add_dir(struct agent *a, struct chan *c, const char *path, int announce)
{
        if (c->ndirs >= WATCH_MAX_DIRS)
                return -1;
        int wd = inotify_add_watch(c->fd, path, WATCH_MASK);
        if (wd < 0)
                return -1;
        if (!dir_of(c, wd)) {
                struct watch_dir *g = realloc(c->dirs, (c->ndirs + 1) * sizeof(*g));
                if (!g)
                        return -1;
                c->dirs = g;
                c->dirs[c->ndirs++] = (struct watch_dir){wd, strdup(path)};
        }
        if (c->recursive)
                add_tree(a, c, path, announce);
        return 0;
}

static void add_tree(struct agent *a, struct chan *c, const char *path, int announce)
{
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                char sub[PATH_MAX];
                if (snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") ? path : "", e->d_name) >=
                    (int)sizeof(sub))
                        continue;
                int is_dir = e->d_type == DT_DIR;
                if (announce)
                        send_event(a, c,
                                   json_pack("{s:s,s:s,s:b}", "type", "create", "path", sub,
                                             "is_dir", is_dir));
                if (is_dir)
                        add_dir(a, c, sub, announce);
        }
        if (d)
                closedir(d);
}

void watch_request(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = json_string_value(json_object_get(req, "path"));
        struct stat st;
        if (!path || path[0] != '/') {
                agent_send_error(a, chan, "invalid_path", "path must be absolute");
                return;
        }
        if (stat(path, &st) < 0) {
                agent_send_errno(a, chan, errno, path);
                return;
        }
        if (!S_ISDIR(st.st_mode)) {
                agent_send_error(a, chan, "invalid_path", "%s is not a directory", path);
                return;
        }
        struct chan *c = agent_chan_new(a, chan, CHAN_WATCH);
        if (!c) {
                agent_send_error(a, chan, "too_many_channels", "too many open channels");
                return;
        }
        c->recursive = json_is_true(json_object_get(req, "recursive"));
        c->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (c->fd < 0 || add_dir(a, c, path, 0) < 0) {
                agent_send_errno(a, chan, errno ? errno : ENOSPC, "watch");
                agent_chan_free(a, c);
                return;
        }
        agent_send_json(a, NSP_RESP, chan,
                        json_pack("{s:s,s:I}", "path", path, "dirs", (json_int_t)c->ndirs));
}

static void flush_move(struct agent *a, struct chan *c)
{
        if (!c->move_from)
                return; /* moved out of the watched tree: gone as far as we can see */
        send_event(a, c, json_pack("{s:s,s:s}", "type", "delete", "path", c->move_from));
        free(c->move_from);
        c->move_from = NULL;
}

static void on_event(struct agent *a, struct chan *c, const struct inotify_event *ev)
{
        if (ev->mask & IN_Q_OVERFLOW) {
                send_event(a, c, json_pack("{s:s}", "type", "overflow"));
                return;
        }
        const char *dir = dir_of(c, ev->wd);
        if (dir && (ev->mask & IN_IGNORED)) {
                forget_dir(c, ev->wd);
                return;
        }
        if (!dir)
                return;
        if ((ev->mask & IN_DELETE_SELF) && dir == c->dirs[0].path) {
                send_event(a, c, json_pack("{s:s,s:s}", "type", "delete", "path", dir));
                agent_send_json(a, NSP_EXIT, c->id, json_pack("{s:s}", "reason", "deleted"));
                c->kind = 0; /* freed by watch_pump */
                return;
        }
        if (!ev->len)
                return;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", ev->name);
        int is_dir = (ev->mask & IN_ISDIR) != 0;
        if (c->move_from && !((ev->mask & IN_MOVED_TO) && ev->cookie == c->move_cookie))
                flush_move(a, c);
        if (ev->mask & IN_MOVED_FROM) {
                c->move_from = strdup(path);
                c->move_cookie = ev->cookie;
                return;
        }
        const char *type = ev->mask & (IN_CREATE | IN_MOVED_TO) ? "create"
                           : ev->mask & IN_DELETE               ? "delete"
                                                                : "modify";
        json_t *doc = json_pack("{s:s,s:s,s:b}", "type", type, "path", path, "is_dir", is_dir);
        if ((ev->mask & IN_MOVED_TO) && c->move_from) {
                json_object_set_new(doc, "type", json_string("rename"));
                json_object_set_new(doc, "from", json_string(c->move_from));
                free(c->move_from);
                c->move_from = NULL;
        }
        send_event(a, c, doc);
        if (is_dir && c->recursive && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
                add_dir(a, c, path, 1);
}

void watch_on_fd(struct agent *a, struct chan *c)
{
        _Alignas(struct inotify_event) char buf[BATCH_SIZE];
        while (c->kind == CHAN_WATCH && c->credit[NSP_STDOUT] >= BATCH_CREDIT &&
               a->out.len < AGENT_OUT_HIGH) {
                ssize_t n = read(c->fd, buf, sizeof(buf));
                if (n <= 0)
                        break;
                for (char *p = buf; p < buf + n && c->kind == CHAN_WATCH;) {
                        const struct inotify_event *ev = (const void *)p;
                        on_event(a, c, ev);
                        p += sizeof(*ev) + ev->len;
                }
                if (c->kind == CHAN_WATCH)
                        flush_move(a, c); /* a rename's halves arrive in one read */
        }
}

void watch_pump(struct agent *a, struct chan *c)
{
        if (c->kind != CHAN_WATCH) {
                c->kind = CHAN_WATCH; /* so agent_chan_free releases the watch */
                agent_chan_free(a, c);
                return;
        }
        if (c->credit[NSP_STDOUT] >= BATCH_CREDIT && a->out.len < AGENT_OUT_HIGH)
                agent_watch(a, c->fd, EPOLLIN, c->id, W_WATCH);
        else
                agent_unwatch(a, c->fd);
}
