/* File operations inside the machine. Paths are the machine's own: the agent runs in
 * the sandbox, so "..", absolute paths and symlinks all resolve within it. Writes go
 * to a temporary file that is renamed over the target once complete. */
#include <dirent.h>
#include <errno.h>
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

static json_t *stat_json(const char *path, const struct stat *st)
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
        return o;
}

static int mkdirs(const char *path, mode_t mode)
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

static int parent_dirs(const char *path)
{
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof(tmp), "%s", path);
        char *slash = strrchr(tmp, '/');
        if (!slash || slash == tmp)
                return 0;
        *slash = '\0';
        return mkdirs(tmp, 0755);
}

static void list_dir(json_t *out, const char *dir, int depth, size_t *count)
{
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *e;
        while ((e = readdir(d)) && *count < LIST_MAX_ENTRIES) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                char p[PATH_MAX];
                if (snprintf(p, sizeof(p), "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name) >=
                    (int)sizeof(p))
                        continue;
                struct stat st;
                if (lstat(p, &st) < 0)
                        continue;
                json_t *o = stat_json(p, &st);
                json_object_set_new(o, "name", json_string(e->d_name));
                json_array_append_new(out, o);
                (*count)++;
                if (S_ISDIR(st.st_mode) && depth > 1)
                        list_dir(out, p, depth - 1, count);
        }
        closedir(d);
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
        if (parent_dirs(path) < 0) {
                agent_send_errno(a, chan, errno, path);
                return;
        }
        char tmp[PATH_MAX];
        if (snprintf(tmp, sizeof(tmp), "%s.nswrite-%u", path, chan) >= (int)sizeof(tmp)) {
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

static void simple_op(struct agent *a, uint32_t chan, const char *op, const char *path, json_t *req)
{
        struct stat st;
        if (!strcmp(op, "stat")) {
                if (lstat(path, &st) < 0)
                        agent_send_errno(a, chan, errno, path);
                else
                        agent_send_json(a, NSP_RESP, chan, stat_json(path, &st));
        } else if (!strcmp(op, "exists")) {
                agent_send_json(a, NSP_RESP, chan,
                                json_pack("{s:b}", "exists", lstat(path, &st) == 0));
        } else if (!strcmp(op, "list")) {
                json_int_t depth = json_integer_value(json_object_get(req, "depth"));
                if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        agent_send_errno(a, chan, errno ? errno : ENOTDIR, path);
                        return;
                }
                size_t count = 0;
                json_t *entries = json_array();
                list_dir(entries, path, depth < 1 ? 1 : depth > 32 ? 32 : (int)depth, &count);
                agent_send_json(a, NSP_RESP, chan,
                                json_pack("{s:o,s:b}", "entries", entries, "truncated",
                                          count >= LIST_MAX_ENTRIES));
        } else if (!strcmp(op, "mkdir")) {
                if (mkdirs(path, 0755) < 0)
                        agent_send_errno(a, chan, errno, path);
                else
                        agent_send_json(a, NSP_RESP, chan, json_pack("{s:s}", "path", path));
        } else if (!strcmp(op, "remove")) {
                if (remove_tree(path) < 0)
                        agent_send_errno(a, chan, errno, path);
                else
                        agent_send_json(a, NSP_RESP, chan, json_pack("{s:s}", "path", path));
        } else if (!strcmp(op, "rename")) {
                const char *to = json_string_value(json_object_get(req, "to"));
                if (!to || !*to)
                        agent_send_error(a, chan, "invalid_request", "rename needs 'to'");
                else if (parent_dirs(to) < 0 || rename(path, to) < 0)
                        agent_send_errno(a, chan, errno, path);
                else
                        agent_send_json(a, NSP_RESP, chan, json_pack("{s:s}", "path", to));
        } else {
                agent_send_error(a, chan, "invalid_request", "unknown operation '%s'", op);
        }
}

void files_request(struct agent *a, uint32_t chan, const char *op, json_t *req)
{
        const char *path = json_string_value(json_object_get(req, "path"));
        if (!path || !*path || strlen(path) >= PATH_MAX) {
                agent_send_error(a, chan, "invalid_path", "a path is required");
                return;
        }
        errno = 0;
        if (!strcmp(op, "read"))
                start_read(a, chan, path);
        else if (!strcmp(op, "write"))
                start_write(a, chan, path, req);
        else
                simple_op(a, chan, op, path, req);
}

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
                c->bytes += n;
                unsigned char credit[4] = {(unsigned char)n, (unsigned char)(n >> 8),
                                           (unsigned char)(n >> 16), (unsigned char)(n >> 24)};
                agent_send(a, NSP_WINDOW, NSP_STDIN, c->id, credit, 4);
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

void files_pump(struct agent *a, struct chan *c)
{
        if (c->kind != CHAN_READ)
                return;
        while (c->credit[NSP_STDOUT] > 0 && a->out.len < AGENT_OUT_HIGH) {
                static char tmp[NSP_MAX_DATA];
                size_t want =
                    c->credit[NSP_STDOUT] < sizeof(tmp) ? c->credit[NSP_STDOUT] : sizeof(tmp);
                ssize_t n = read(c->fd, tmp, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        agent_send_errno(a, c->id, errno, "read");
                        agent_chan_free(a, c);
                        return;
                }
                if (n == 0) {
                        agent_send(a, NSP_EOF, NSP_STDOUT, c->id, NULL, 0);
                        agent_chan_free(a, c);
                        return;
                }
                c->credit[NSP_STDOUT] -= (uint32_t)n;
                agent_send(a, NSP_DATA, NSP_STDOUT, c->id, tmp, (size_t)n);
        }
}
