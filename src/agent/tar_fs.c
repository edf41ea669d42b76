/* Directories as tar streams: "tar_read" {path} sends the directory (or one file) as a
 * tar archive, pulled as the daemon grants credit (no child process, nothing held
 * beyond a header and one read); "tar_write" {path} extracts the archive sent on
 * stdin into the directory. Extraction never leaves the directory: every member's
 * parents are walked from it with O_NOFOLLOW (a symlink on the way, in the tree or
 * made by an earlier member, fails the archive), ".." fails it, files are created
 * O_EXCL|O_NOFOLLOW after what stood there is removed, and symlinks in the archive
 * are made, never followed. */
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
#include "tar.h"

#define GEN_DEPTH 128

struct tar_gen {
        DIR *dirs[GEN_DEPTH];
        size_t lens[GEN_DEPTH]; /* length of rel when that directory was entered */
        int depth;
        char rel[TAR_NAME_MAX]; /* the current directory, relative, "" or ending in '/' */
        unsigned char buf[TAR_HEADER_MAX + TAR_BLOCK];
        size_t off, len; /* pending bytes of buf */
        int fd;          /* the file whose data is being sent, or -1 */
        uint64_t left;   /* its bytes still to send */
        uint64_t pad;    /* zero bytes after it */
        int ended;
};

struct tar_x {
        struct tar_reader r;
        int root; /* the target directory */
        int fd;   /* the file being written, or -1 */
        const struct tar_entry *cur;
        int err;                /* errno of the first failure */
        char bad[TAR_NAME_MAX]; /* the member it happened at */
};

static void entry_from_stat(struct tar_entry *e, const struct stat *st)
{
        e->mode = st->st_mode & 07777;
        e->uid = st->st_uid;
        e->gid = st->st_gid;
        e->mtime = st->st_mtim.tv_sec;
}

/* Queues the header of the member `name` (its stat st, at dirfd/base) into g->buf. */
static int gen_member(struct tar_gen *g, int dirfd, const char *base, const char *name,
                      const struct stat *st)
{
        static struct tar_entry e;
        memset(&e, 0, sizeof(e));
        if (snprintf(e.name, sizeof(e.name), "%s%s", name, S_ISDIR(st->st_mode) ? "/" : "") >=
            (int)sizeof(e.name))
                return 0; /* too long a name: left out */
        entry_from_stat(&e, st);
        if (S_ISREG(st->st_mode)) {
                int fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return 0; /* gone, or unreadable: left out */
                e.type = '0';
                e.size = (uint64_t)st->st_size;
                g->fd = fd;
                g->left = e.size;
                g->pad = (TAR_BLOCK - e.size % TAR_BLOCK) % TAR_BLOCK;
        } else if (S_ISDIR(st->st_mode)) {
                e.type = '5';
        } else if (S_ISLNK(st->st_mode)) {
                ssize_t n = readlinkat(dirfd, base, e.link, sizeof(e.link) - 1);
                if (n < 0)
                        return 0;
                e.link[n] = '\0';
                e.type = '2';
        } else {
                return 0; /* devices, fifos, sockets: not archived */
        }
        ssize_t n = tar_header(&e, g->buf, sizeof(g->buf));
        if (n < 0) {
                if (g->fd >= 0)
                        close(g->fd);
                g->fd = -1;
                g->left = g->pad = 0;
                return 0;
        }
        g->off = 0;
        g->len = (size_t)n;
        return 1;
}

/* Moves the walk to its next member (or the end marker); 0 at the very end. */
static int gen_next(struct tar_gen *g)
{
        while (g->depth > 0) {
                DIR *d = g->dirs[g->depth - 1];
                struct dirent *de = readdir(d);
                if (!de) {
                        closedir(d);
                        g->depth--;
                        g->rel[g->lens[g->depth]] = '\0';
                        continue;
                }
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                struct stat st;
                char name[TAR_NAME_MAX];
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    snprintf(name, sizeof(name), "%s%s", g->rel, de->d_name) >=
                        (int)sizeof(name) - 1)
                        continue;
                if (!gen_member(g, dirfd(d), de->d_name, name, &st))
                        continue;
                if (S_ISDIR(st.st_mode) && g->depth < GEN_DEPTH) {
                        int fd = openat(dirfd(d), de->d_name,
                                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        DIR *sub = fd >= 0 ? fdopendir(fd) : NULL;
                        if (sub) {
                                g->lens[g->depth] = strlen(g->rel);
                                g->dirs[g->depth++] = sub;
                                size_t nl = strlen(name); /* < sizeof(rel) - 1 */
                                memcpy(g->rel, name, nl);
                                memcpy(g->rel + nl, "/", 2);
                        } else if (fd >= 0) {
                                close(fd);
                        }
                }
                return 1;
        }
        if (g->ended)
                return 0;
        g->ended = 1; /* two empty blocks end the archive */
        memset(g->buf, 0, 2 * TAR_BLOCK);
        g->off = 0;
        g->len = 2 * TAR_BLOCK;
        return 1;
}

/* Up to cap bytes of the archive into out: >0, 0 at its end, -errno on a read error. */
static ssize_t gen_read(struct tar_gen *g, unsigned char *out, size_t cap)
{
        for (;;) {
                if (g->off < g->len) {
                        size_t k = g->len - g->off < cap ? g->len - g->off : cap;
                        memcpy(out, g->buf + g->off, k);
                        g->off += k;
                        return (ssize_t)k;
                }
                if (g->left) {
                        size_t want = g->left < cap ? (size_t)g->left : cap;
                        ssize_t n = read(g->fd, out, want);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return -errno;
                        if (n == 0) { /* it shrank: zeros keep the size the header says */
                                memset(out, 0, want);
                                n = (ssize_t)want;
                        }
                        g->left -= (uint64_t)n;
                        return n;
                }
                if (g->fd >= 0) {
                        close(g->fd);
                        g->fd = -1;
                        memset(g->buf, 0, TAR_BLOCK);
                        g->off = 0;
                        g->len = (size_t)g->pad;
                        g->pad = 0;
                        continue;
                }
                if (!gen_next(g))
                        return 0;
        }
}

static void gen_free(struct tar_gen *g)
{
        while (g->depth > 0)
                closedir(g->dirs[--g->depth]);
        if (g->fd >= 0)
                close(g->fd);
        free(g);
}

/* ---- extraction ----------------------------------------------------------------- */

/* Opens the parent directory of member `name` (modified) beneath root, made as needed,
 * and points *last at its final part. -errno: EPERM for "..", ELOOP for a symlink or a
 * file on the way, EINVAL when no part is left (the target itself). */
static int walk_parent(int root, char *name, char **last)
{
        int fd = dup(root);
        if (fd < 0)
                return -errno;
        char *save = NULL, *part = strtok_r(name, "/", &save);
        *last = NULL;
        while (part) {
                char *next = strtok_r(NULL, "/", &save);
                if (!strcmp(part, "..")) {
                        close(fd);
                        return -EPERM;
                }
                if (!strcmp(part, ".")) {
                        part = next;
                        continue;
                }
                if (!next) {
                        *last = part;
                        return fd;
                }
                if (mkdirat(fd, part, 0755) < 0 && errno != EEXIST) {
                        int r = -errno;
                        close(fd);
                        return r;
                }
                int sub = openat(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int err = errno;
                close(fd);
                if (sub < 0)
                        return -(err == ENOTDIR || err == ELOOP ? ELOOP : err);
                fd = sub;
                part = next;
        }
        close(fd);
        return -EINVAL;
}

/* Removes what stands at pfd/last unless it is a directory (never followed). */
static int clear_spot(int pfd, const char *last)
{
        struct stat st;
        if (fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        return unlinkat(pfd, last, 0) < 0 ? -errno : 0;
}

static void own(int pfd, const char *last, const struct tar_entry *e)
{
        if (geteuid() == 0 && fchownat(pfd, last, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
                errno = 0; /* kept as it is: not worth failing the archive */
}

static int x_place(struct tar_x *x, const struct tar_entry *e, int pfd, const char *last)
{
        struct stat st;
        switch (e->type) {
        case '5':
                if (fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
                    unlinkat(pfd, last, 0) < 0)
                        return -errno; /* a file or symlink stood there: replaced */
                if (mkdirat(pfd, last, 0700) < 0 && errno != EEXIST)
                        return -errno;
                own(pfd, last, e);
                return fchmodat(pfd, last, e->mode ? e->mode : 0755, 0) < 0 ? -errno : 0;
        case '2': {
                int r = clear_spot(pfd, last);
                if (r == 0 && symlinkat(e->link, pfd, last) < 0)
                        r = -errno;
                if (r == 0)
                        own(pfd, last, e);
                return r;
        }
        case '1': {
                char target[TAR_NAME_MAX], *tlast;
                snprintf(target, sizeof(target), "%s", e->link);
                int tfd = walk_parent(x->root, target, &tlast), r = tfd < 0 ? tfd : 0;
                if (r == 0 && (r = clear_spot(pfd, last)) == 0 &&
                    linkat(tfd, tlast, pfd, last, 0) < 0)
                        r = -errno;
                if (tfd >= 0)
                        close(tfd);
                return r;
        }
        default: {
                int r = clear_spot(pfd, last);
                if (r < 0)
                        return r;
                x->fd =
                    openat(pfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (x->fd < 0)
                        return -errno;
                own(pfd, last, e);
                return fchmod(x->fd, e->mode ? e->mode : 0644) < 0 ? -errno : 0;
        }
        }
}

static int x_entry(void *ud, const struct tar_entry *e)
{
        struct tar_x *x = ud;
        char name[TAR_NAME_MAX], *last;
        snprintf(name, sizeof(name), "%s", e->name);
        snprintf(x->bad, sizeof(x->bad), "%s", e->name);
        x->cur = e;
        int pfd = walk_parent(x->root, name, &last);
        if (pfd == -EINVAL && e->type == '5')
                return 0; /* "./": the target itself */
        if (pfd < 0)
                return pfd;
        int r = x_place(x, e, pfd, last);
        close(pfd);
        return r;
}

static int x_data(void *ud, const unsigned char *p, size_t n)
{
        struct tar_x *x = ud;
        while (n) {
                ssize_t w = write(x->fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

static int x_end(void *ud)
{
        struct tar_x *x = ud;
        struct timespec t[2] = {{x->cur->mtime, 0}, {x->cur->mtime, 0}};
        futimens(x->fd, t);
        int r = close(x->fd) < 0 ? -errno : 0;
        x->fd = -1;
        return r;
}

/* ---- the operations --------------------------------------------------------------- */

static void op_tar_read(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = json_string_value(json_object_get(req, "path"));
        struct stat st;
        struct tar_gen *g = path && *path ? calloc(1, sizeof(*g)) : NULL;
        if (!g || lstat(path, &st) < 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
                int err = !path || !*path ? EINVAL : !g ? ENOMEM : errno ? errno : EINVAL;
                free(g);
                agent_send_errno(a, chan, err, path ? path : "");
                return;
        }
        g->fd = -1;
        if (S_ISDIR(st.st_mode)) {
                DIR *d = opendir(path);
                if (!d) {
                        agent_send_errno(a, chan, errno, path);
                        free(g);
                        return;
                }
                g->dirs[g->depth++] = d;
        } else {
                const char *base = strrchr(path, '/');
                base = base && base[1] ? base + 1 : path;
                gen_member(g, AT_FDCWD, path, base, &st);
        }
        struct chan *c = agent_chan_new(a, chan, CHAN_TAR_READ);
        if (!c) {
                gen_free(g);
                agent_send_error(a, chan, "too_many_channels", "too many open channels");
                return;
        }
        c->tar = g;
        agent_send_json(a, NSP_RESP, chan, json_pack("{s:s}", "path", path));
}

static void op_tar_write(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = json_string_value(json_object_get(req, "path"));
        struct tar_x *x = path && *path ? calloc(1, sizeof(*x)) : NULL;
        if (!x || files_mkdirs(path, 0755) < 0 ||
            (x->root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                int err = !path || !*path ? EINVAL : !x ? ENOMEM : errno;
                free(x);
                agent_send_errno(a, chan, err, path ? path : "");
                return;
        }
        x->fd = -1;
        struct tar_sink sink = {x_entry, x_data, x_end, x};
        tar_reader_init(&x->r, &sink);
        struct chan *c = agent_chan_new(a, chan, CHAN_TAR_WRITE);
        if (!c) {
                close(x->root);
                free(x);
                agent_send_error(a, chan, "too_many_channels", "too many open channels");
                return;
        }
        c->tar = x;
        c->path = strdup(path);
}

const struct agent_op tar_ops[] = {
    {"tar_read", op_tar_read},
    {"tar_write", op_tar_write},
    {NULL, NULL},
};

static ssize_t tar_src(struct chan *c, unsigned char *dst, size_t cap)
{
        return gen_read(c->tar, dst, cap);
}

void tar_pump(struct agent *a, struct chan *c)
{
        files_pump_from(a, c, tar_src, "tar");
}

void tar_on_data(struct agent *a, struct chan *c, const unsigned char *p, size_t n, int eof)
{
        struct tar_x *x = c->tar;
        if (!eof) {
                if (!x->err) {
                        int r = tar_reader_feed(&x->r, p, n);
                        x->err = r < 0 ? -r : 0;
                }
                c->bytes += n;
                agent_grant_stdin(a, c->id, n);
                return;
        }
        int r = x->err ? -x->err : tar_reader_finish(&x->r);
        if (r == -EPERM || r == -ELOOP || r == -EINVAL)
                agent_send_error(a, c->id, r == -EINVAL ? "invalid_request" : "invalid_path",
                                 r == -EINVAL
                                     ? "not a tar archive, or cut short; last member: '%.200s'"
                                 : r == -EPERM ? "member %.200s leaves the target ('..')"
                                               : "member %.200s goes through a symlink or a file",
                                 x->bad);
        else if (r < 0)
                agent_send_errno(a, c->id, -r, x->bad[0] ? x->bad : c->path);
        else
                agent_send_json(a, NSP_RESP, c->id,
                                json_pack("{s:s,s:I,s:I}", "path", c->path, "bytes",
                                          (json_int_t)c->bytes, "entries",
                                          (json_int_t)x->r.entries));
        agent_chan_free(a, c);
}

void tar_chan_free(struct chan *c)
{
        if (c->kind == CHAN_TAR_READ) {
                gen_free(c->tar);
        } else {
                struct tar_x *x = c->tar;
                if (x->fd >= 0)
                        close(x->fd);
                close(x->root);
                free(x);
        }
        c->tar = NULL;
}
