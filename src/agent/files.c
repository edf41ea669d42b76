/* File operations inside the machine. Paths are the machine's own: the agent runs in
 * the sandbox, so "..", absolute paths and symlinks all resolve within it. Writes go
 * to a temporary file that is renamed over the target once complete. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define LIST_MAX_ENTRIES 10000

static const char *type_of(mode_t m)
{
        if (S_ISREG(m))
                return "file";
        if (S_ISDIR(m))
                return "dir";
        if (S_ISLNK(m))
                return "symlink";
        return "other";
}

/* {path, type, size, mode, mtime_ms[, target]}; with `owner` also uid, gid, atime_ms,
 * ctime_ms (asked for with "owner": true). */
static json_t *stat_json(const char *path, const struct stat *st, int owner)
{
        json_t *o =
            json_pack("{s:s,s:s,s:I,s:i,s:I}", "path", path, "type", type_of(st->st_mode), "size",
                      (json_int_t)st->st_size, "mode", (int)(st->st_mode & 07777), "mtime_ms",
                      (json_int_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000);
        if (S_ISLNK(st->st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlink(path, target, sizeof(target) - 1);
                if (n >= 0) {
                        target[n] = '\0';
                        json_object_set_new(o, "target", json_string(target));
                }
        }
        if (owner) {
                json_object_set_new(o, "uid", json_integer((json_int_t)st->st_uid));
                json_object_set_new(o, "gid", json_integer((json_int_t)st->st_gid));
                json_object_set_new(o, "atime_ms",
                                    json_integer((json_int_t)st->st_atim.tv_sec * 1000 +
                                                 st->st_atim.tv_nsec / 1000000));
                json_object_set_new(o, "ctime_ms",
                                    json_integer((json_int_t)st->st_ctim.tv_sec * 1000 +
                                                 st->st_ctim.tv_nsec / 1000000));
        }
        return o;
}

int files_mkdirs(const char *path, mode_t mode)
{
        char tmp[PATH_MAX];
        if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        for (char *p = tmp + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(tmp, mode) < 0 && errno != EEXIST)
                        return -1;
                *p = '/';
        }
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
                return -1;
        return 0;
}

int files_parent_dirs(const char *path)
{
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof(tmp), "%s", path);
        char *slash = strrchr(tmp, '/');
        if (!slash || slash == tmp)
                return 0;
        *slash = '\0';
        return files_mkdirs(tmp, 0755);
}

/* Walks dir depth-first (not following links): visit(ctx, path, name, st, depth) is
 * called for each entry and returns -1 to stop the walk, 1 to descend into a directory,
 * 0 not to. depth counts from 1 for dir's own entries. */
typedef int (*walk_fn)(void *ctx, const char *path, const char *name, const struct stat *st,
                       int depth);

static int walk(const char *dir, int depth, walk_fn visit, void *ctx)
{
        DIR *d = opendir(dir);
        if (!d)
                return 0;
        struct dirent *e;
        int r = 0;
        while (r >= 0 && (e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                char p[PATH_MAX];
                struct stat st;
                if (snprintf(p, sizeof(p), "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name) >=
                        (int)sizeof(p) ||
                    lstat(p, &st) < 0)
                        continue;
                r = visit(ctx, p, e->d_name, &st, depth);
                if (r > 0 && S_ISDIR(st.st_mode))
                        r = walk(p, depth + 1, visit, ctx);
        }
        closedir(d);
        return r;
}

struct listing {
        json_t *out;
        int max_depth;
        size_t count;
        int owner;
};

static int list_visit(void *ctx, const char *path, const char *name, const struct stat *st,
                      int depth)
{
        struct listing *l = ctx;
        if (l->count >= LIST_MAX_ENTRIES)
                return -1;
        json_t *o = stat_json(path, st, l->owner);
        json_object_set_new(o, "name", json_string(name));
        json_array_append_new(l->out, o);
        l->count++;
        return depth < l->max_depth;
}

static int remove_tree(const char *path)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return -1;
        if (!S_ISDIR(st.st_mode))
                return unlink(path);
        DIR *d = opendir(path);
        if (!d)
                return -1;
        struct dirent *e;
        int r = 0;
        while ((e = readdir(d)) && r == 0) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
                r = remove_tree(p);
        }
        closedir(d);
        return r == 0 ? rmdir(path) : r;
}

static void start_read(struct agent *a, uint32_t chan, const char *path)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
                agent_send_errno(a, chan, errno, path);
                if (fd >= 0)
                        close(fd);
                return;
        }
        if (S_ISDIR(st.st_mode)) {
                close(fd);
                agent_send_errno(a, chan, EISDIR, path);
                return;
        }
        struct chan *c = agent_chan_new(a, chan, CHAN_READ);
        if (!c) {
                close(fd);
                agent_send_error(a, chan, "too_many_channels", "too many open channels");
                return;
        }
        c->fd = fd;
        agent_send_json(a, NSP_RESP, chan,
                        json_pack("{s:I,s:i}", "size", (json_int_t)st.st_size, "mode",
                                  (int)(st.st_mode & 07777)));
}

static void start_write(struct agent *a, uint32_t chan, const char *path, json_t *req)
{
        json_t *jm = json_object_get(req, "mode");
        unsigned mode = json_is_integer(jm) ? (unsigned)json_integer_value(jm) & 07777 : 0644;
        if (json_is_integer(json_object_get(req, "offset"))) {
                upload_piece(a, chan, path, json_integer_value(json_object_get(req, "offset")));
                return;
        }
        if (files_parent_dirs(path) < 0) {
                agent_send_errno(a, chan, errno, path);
                return;
        }
        char tmp[PATH_MAX];
        if (snprintf(tmp, sizeof(tmp), "%s" NSP_WRITE_TMP "%u", path, chan) >= (int)sizeof(tmp)) {
                agent_send_errno(a, chan, ENAMETOOLONG, path);
                return;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0) {
                agent_send_errno(a, chan, errno, path);
                return;
        }
        struct chan *c = agent_chan_new(a, chan, CHAN_WRITE);
        if (!c) {
                close(fd);
                unlink(tmp);
                agent_send_error(a, chan, "too_many_channels", "too many open channels");
                return;
        }
        c->fd = fd;
        c->mode = mode;
        c->path = strdup(path);
        c->tmp_path = strdup(tmp);
}

#define SEARCH_MAX_VISITS 200000
#define SEARCH_FILE_MAX   (8u << 20)
#define REPLACE_FILE_MAX  (64u << 20)

struct search {
        const char *name;    /* glob on the base name, or NULL */
        const char *content; /* substring, or NULL */
        size_t limit, visits;
        json_t *results;
};

/* Appends {path, line, text} for each line of the file holding s->content. */
static void search_content(struct search *s, const char *path, const struct stat *st)
{
        if (!S_ISREG(st->st_mode) || st->st_size > SEARCH_FILE_MAX)
                return;
        FILE *f = fopen(path, "re");
        if (!f)
                return;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        long lineno = 0;
        while (json_array_size(s->results) < s->limit && (n = getline(&line, &cap, f)) >= 0) {
                lineno++;
                if (!memmem(line, (size_t)n, s->content, strlen(s->content)))
                        continue;
                if (n > 0 && line[n - 1] == '\n')
                        line[--n] = '\0';
                json_array_append_new(s->results, json_pack("{s:s,s:I,s:s%}", "path", path, "line",
                                                            (json_int_t)lineno, "text", line,
                                                            (size_t)(n > 500 ? 500 : n)));
        }
        free(line);
        fclose(f);
}

static int search_visit(void *ctx, const char *path, const char *name, const struct stat *st,
                        int depth)
{
        (void)depth;
        struct search *s = ctx;
        if (json_array_size(s->results) >= s->limit || ++s->visits > SEARCH_MAX_VISITS)
                return -1;
        int name_ok = !s->name || fnmatch(s->name, name, 0) == 0;
        if (name_ok && s->content)
                search_content(s, path, st);
        else if (name_ok)
                json_array_append_new(s->results, stat_json(path, st, 0));
        return 1;
}

static void op_search(struct agent *a, uint32_t chan, const char *path, json_t *req)
{
        json_int_t limit = json_integer_value(json_object_get(req, "limit"));
        struct search s = {
            .name = json_string_value(json_object_get(req, "name")),
            .content = json_string_value(json_object_get(req, "content")),
            .limit = limit > 0 && limit <= 10000 ? (size_t)limit : 1000,
            .results = json_array(),
        };
        if (s.content && !*s.content)
                s.content = NULL;
        walk(path, 1, search_visit, &s);
        agent_send_json(
            a, NSP_RESP, chan,
            json_pack("{s:o,s:b}", "matches", s.results, "truncated",
                      json_array_size(s.results) >= s.limit || s.visits >= SEARCH_MAX_VISITS));
}

/* Replaces every occurrence of `find` in a text file, atomically (temp + rename). */
static void op_replace(struct agent *a, uint32_t chan, const char *path, json_t *req)
{
        const char *find = json_string_value(json_object_get(req, "find"));
        const char *with = json_string_value(json_object_get(req, "replace"));
        struct stat st;
        if (!find || !*find || !with) {
                agent_send_error(a, chan, "invalid_request", "replace needs 'find' and 'replace'");
                return;
        }
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > REPLACE_FILE_MAX) {
                agent_send_errno(a, chan, errno ? errno : EINVAL, path);
                return;
        }
        FILE *f = fopen(path, "re");
        char *text = f ? malloc((size_t)st.st_size + 1) : NULL;
        size_t len = text ? fread(text, 1, (size_t)st.st_size, f) : 0;
        if (f)
                fclose(f);
        if (!text) {
                agent_send_errno(a, chan, errno ? errno : ENOMEM, path);
                return;
        }
        size_t fl = strlen(find), wl = strlen(with), count = 0;
        struct buf out;
        buf_init(&out, REPLACE_FILE_MAX * 2);
        const char *p = text, *end = text + len, *hit;
        while ((hit = memmem(p, (size_t)(end - p), find, fl))) {
                buf_append(&out, p, (size_t)(hit - p));
                buf_append(&out, with, wl);
                p = hit + fl;
                count++;
        }
        buf_append(&out, p, (size_t)(end - p));
        free(text);
        char tmp[PATH_MAX + 32];
        snprintf(tmp, sizeof(tmp), "%s.nsreplace-%u", path, chan);
        int fd =
            count ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777) : -1;
        int failed =
            count && (fd < 0 || write(fd, out.data ? out.data : "", out.len) != (ssize_t)out.len ||
                      fchown(fd, st.st_uid, st.st_gid) < 0 || fsync(fd) < 0);
        int err = errno;
        if (fd >= 0)
                close(fd);
        if (!failed && count && rename(tmp, path) < 0) {
                failed = 1;
                err = errno;
        }
        buf_fini(&out);
        if (failed) {
                unlink(tmp);
                agent_send_errno(a, chan, err, path);
                return;
        }
        agent_send_json(a, NSP_RESP, chan,
                        json_pack("{s:s,s:I}", "path", path, "replacements", (json_int_t)count));
}

/* The request's path, or NULL after answering invalid_path. */
static const char *req_path(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = json_string_value(json_object_get(req, "path"));
        if (!path || !*path || strlen(path) >= PATH_MAX) {
                agent_send_error(a, chan, "invalid_path", "a path is required");
                return NULL;
        }
        errno = 0;
        return path;
}

/* The answer {"path": path}, or the error errno says. */
static void answer_path(struct agent *a, uint32_t chan, int failed, const char *path,
                        const char *said)
{
        if (failed)
                agent_send_errno(a, chan, errno, path);
        else
                agent_send_json(a, NSP_RESP, chan, json_pack("{s:s}", "path", said));
}

static void op_stat(struct agent *a, uint32_t chan, json_t *req)
{
        struct stat st;
        const char *path = req_path(a, chan, req);
        if (path && lstat(path, &st) < 0)
                agent_send_errno(a, chan, errno, path);
        else if (path)
                agent_send_json(a, NSP_RESP, chan,
                                stat_json(path, &st, json_is_true(json_object_get(req, "owner"))));
}

static void op_exists(struct agent *a, uint32_t chan, json_t *req)
{
        struct stat st;
        const char *path = req_path(a, chan, req);
        if (path)
                agent_send_json(a, NSP_RESP, chan,
                                json_pack("{s:b}", "exists", lstat(path, &st) == 0));
}

static void op_list(struct agent *a, uint32_t chan, json_t *req)
{
        struct stat st;
        const char *path = req_path(a, chan, req);
        if (!path)
                return;
        json_int_t depth = json_integer_value(json_object_get(req, "depth"));
        if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
                agent_send_errno(a, chan, errno ? errno : ENOTDIR, path);
                return;
        }
        struct listing l = {json_array(),
                            depth < 1    ? 1
                            : depth > 32 ? 32
                                         : (int)depth,
                            0, json_is_true(json_object_get(req, "owner"))};
        walk(path, 1, list_visit, &l);
        agent_send_json(
            a, NSP_RESP, chan,
            json_pack("{s:o,s:b}", "entries", l.out, "truncated", l.count >= LIST_MAX_ENTRIES));
}

static void op_mkdir(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = req_path(a, chan, req);
        if (path)
                answer_path(a, chan, files_mkdirs(path, 0755) < 0, path, path);
}

static void op_remove(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = req_path(a, chan, req);
        if (path)
                answer_path(a, chan, remove_tree(path) < 0, path, path);
}

static void op_rename(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = req_path(a, chan, req);
        const char *to = json_string_value(json_object_get(req, "to"));
        if (path && (!to || !*to))
                agent_send_error(a, chan, "invalid_request", "rename needs 'to'");
        else if (path)
                answer_path(a, chan, files_parent_dirs(to) < 0 || rename(path, to) < 0, path, to);
}

static void op_search_req(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = req_path(a, chan, req);
        if (path)
                op_search(a, chan, path, req);
}

static void op_replace_req(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = req_path(a, chan, req);
        if (path)
                op_replace(a, chan, path, req);
}

static void op_read(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = req_path(a, chan, req);
        if (path)
                start_read(a, chan, path);
}

static void op_write(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = req_path(a, chan, req);
        if (path)
                start_write(a, chan, path, req);
}

const struct agent_op files_ops[] = {

    {"read", op_read},           {"write", op_write},   {"stat", op_stat},
    {"exists", op_exists},       {"list", op_list},     {"mkdir", op_mkdir},
    {"remove", op_remove},       {"rename", op_rename}, {"search", op_search_req},
    {"replace", op_replace_req}, {NULL, NULL},
};

void files_on_data(struct agent *a, struct chan *c, const unsigned char *p, size_t n, int eof)
{
        if (!eof) {
                size_t done = 0;
                while (!c->failed && done < n) {
                        ssize_t w = write(c->fd, p + done, n - done);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0) {
                                c->failed = errno;
                                break;
                        }
                        done += (size_t)w;
                }
                if (c->resume)
                        upload_hash(c->path, p, done);
                c->bytes += n;
                agent_grant_stdin(a, c->id, n);
                return;
        }
        if (!c->failed && c->resume) { /* synced at the end (upload_finish), not per piece */
                agent_send_json(a, NSP_RESP, c->id,
                                json_pack("{s:s,s:I,s:I}", "path", c->path, "bytes",
                                          (json_int_t)c->bytes, "size",
                                          (json_int_t)(c->offset + c->bytes)));
                agent_chan_free(a, c);
                return;
        }
        if (!c->failed && (fsync(c->fd) < 0 || fchmod(c->fd, c->mode) < 0))
                c->failed = errno;
        if (!c->failed && rename(c->tmp_path, c->path) < 0)
                c->failed = errno;
        if (c->failed) {
                agent_send_errno(a, c->id, c->failed, c->path);
        } else {
                free(c->tmp_path);
                c->tmp_path = NULL; /* renamed: nothing to clean up */
                agent_send_json(
                    a, NSP_RESP, c->id,
                    json_pack("{s:s,s:I}", "path", c->path, "bytes", (json_int_t)c->bytes));
        }
        agent_chan_free(a, c);
}

void files_pump_from(struct agent *a, struct chan *c,
                     ssize_t (*src)(struct chan *c, unsigned char *dst, size_t cap),
                     const char *what)
{
        static unsigned char tmp[NSP_MAX_DATA];
        while (c->credit[NSP_STDOUT] > 0 && a->out.len < AGENT_OUT_HIGH) {
                size_t want =
                    c->credit[NSP_STDOUT] < sizeof(tmp) ? c->credit[NSP_STDOUT] : sizeof(tmp);
                ssize_t n = src(c, tmp, want);
                if (n <= 0) {
                        if (n < 0)
                                agent_send_errno(a, c->id, (int)-n, what);
                        else
                                agent_send(a, NSP_EOF, NSP_STDOUT, c->id, NULL, 0);
                        agent_chan_free(a, c);
                        return;
                }
                c->credit[NSP_STDOUT] -= (uint32_t)n;
                agent_send(a, NSP_DATA, NSP_STDOUT, c->id, tmp, (size_t)n);
        }
}

static ssize_t read_fd(struct chan *c, unsigned char *dst, size_t cap)
{
        ssize_t n;
        while ((n = read(c->fd, dst, cap)) < 0 && errno == EINTR)
                ;
        return n < 0 ? -errno : n;
}

void files_pump(struct agent *a, struct chan *c)
{
        if (c->kind == CHAN_READ)
                files_pump_from(a, c, read_fd, "read");
}
