/* Volumes in machines: the create request's mounts checked, and what they refer to
 * pinned on the host before the runtime mounts it (volumes.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "core.h"
#include "volumes.h"
#include "volumes_internal.h"

/* Paths the runtime itself mounts: a volume may not cover them. */
static const char *const reserved[] = {"/proc", "/dev", "/sys", "/.nsagent"};

/* 0 when every part of p (split at '/', leading one skipped) is a real name. */
static int parts_ok(const char *p)
{
        if (*p == '/')
                p++;
        while (*p) {
                size_t n = strcspn(p, "/");
                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return -1;
                p += n;
                if (*p == '/' && !*++p)
                        return -1; /* a trailing slash: an empty last part */
        }
        return 0;
}

/* a is b, or one holds the other */
static int overlaps(const char *a, const char *b)
{
        size_t na = strlen(a), nb = strlen(b), n = na < nb ? na : nb;
        return strncmp(a, b, n) == 0 && (na == nb || (na < nb ? b : a)[n] == '/');
}

static int check_path(const char *path, size_t i, struct err *e)
{
        if (path[0] != '/' || !path[1] || strlen(path) > 1024 || parts_ok(path) < 0)
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "volumes[%zu].path: an absolute path other than '/', without "
                                 "'.', '..' or empty parts",
                                 i);
        for (size_t r = 0; r < sizeof(reserved) / sizeof(reserved[0]); r++)
                if (overlaps(path, reserved[r]))
                        return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                         "volumes[%zu].path: %s is the runtime's", i, reserved[r]);
        return 0;
}

static int check_subpath(const char *sub, size_t i, struct err *e)
{
        if (sub[0] == '/' || strlen(sub) > VOLUME_SUBPATH_MAX || (sub[0] && parts_ok(sub) < 0))
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "volumes[%zu].subpath: a relative path of at most %d bytes "
                                 "without '.', '..' or empty parts",
                                 i, VOLUME_SUBPATH_MAX);
        return 0;
}

/* Walks sub beneath the volume root fd (taken), part by part with O_NOFOLLOW: a symlink
 * or a file on the way fails (invalid_path). make: missing parts are made, and the
 * subpath's O_PATH fd is returned; else what exists is checked and 0 returned (the rest
 * is made when the machine starts). -errno with e set. */
static int walk_subpath(int fd, const char *sub, int make, struct err *e)
{
        char part[NAME_MAX + 1];
        while (fd >= 0 && *sub) {
                size_t n = strcspn(sub, "/");
                snprintf(part, sizeof(part), "%.*s", (int)n, sub);
                sub += n + (sub[n] == '/');
                if (make && mkdirat(fd, part, 0755) < 0 && errno != EEXIST) {
                        int r = err_set(e, errno, "subpath part '%s'", part);
                        close(fd);
                        return r;
                }
                int next = openat(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int err = errno;
                close(fd);
                if (next < 0 && err == ENOENT && !make)
                        return 0;
                if (next < 0)
                        return err_coded(e, NS_E_INVALID_PATH, EINVAL,
                                         "subpath part '%s' is not a directory of the volume "
                                         "(a symlink or a file)",
                                         part);
                fd = next;
        }
        if (fd < 0)
                return err_set(e, errno, "open the volume's root");
        if (!make)
                close(fd);
        return make ? fd : 0;
}

static int open_root(const struct core *core, const char *id)
{
        char mnt[PATH_MAX];
        volume_dir(core, id, "mnt", mnt, sizeof(mnt));
        return open(mnt, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* One request entry into its stored form (*out); 0 or -errno with e set. */
static int check_one(struct core *core, const json_t *it, size_t i, json_t **out, struct err *e)
{
        const char *ref = NULL, *path = NULL, *sub = "";
        int ro = 0;
        json_error_t je;
        if (!json_is_object(it) ||
            json_unpack_ex((json_t *)it, &je, JSON_STRICT, "{s:s,s:s,s?s,s?b}", "volume", &ref,
                           "path", &path, "subpath", &sub, "read_only", &ro) < 0)
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "volumes[%zu]: {\"volume\", \"path\"[, \"subpath\", "
                                 "\"read_only\"]}: %s",
                                 i, je.text);
        if (check_path(path, i, e) < 0 || check_subpath(sub, i, e) < 0)
                return -EINVAL;
        struct volume_rec r;
        int rc = volume_ready(core, ref, &r, e);
        if (rc < 0 || (sub[0] && (rc = walk_subpath(open_root(core, r.id), sub, 0, e)) < 0)) {
                char why[sizeof(e->msg)];
                snprintf(why, sizeof(why), "%s", e->msg);
                return err_coded(e, e->code, -rc, "volumes[%zu]: %.200s", i, why);
        }
        *out = json_pack("{s:s,s:s,s:s,s:s,s:b}", "volume", r.id, "name", r.name, "path", path,
                         "subpath", sub, "read_only", ro);
        return *out ? 0 : err_set(e, ENOMEM, "volumes");
}

int volume_mounts_check(struct core *core, const json_t *req, json_t **out, struct err *e)
{
        *out = json_array();
        if (!*out)
                return err_set(e, ENOMEM, "volumes");
        if (!req || json_is_null(req))
                return 0;
        if (!json_is_array(req) || json_array_size(req) > VOLUME_MOUNTS_MAX) {
                json_decref(*out);
                *out = NULL;
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'volumes': an array of at most %d mounts",
                                 VOLUME_MOUNTS_MAX);
        }
        size_t i;
        json_t *it;
        json_array_foreach(req, i, it)
        {
                json_t *one = NULL;
                int r = check_one(core, it, i, &one, e);
                for (size_t j = 0; r == 0 && j < json_array_size(*out); j++)
                        if (overlaps(json_string_value(json_object_get(one, "path")),
                                     json_string_value(
                                         json_object_get(json_array_get(*out, j), "path"))))
                                r = err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                              "volumes[%zu].path overlaps volumes[%zu].path", i, j);
                if (r == 0)
                        r = json_array_append_new(*out, one) == 0 ? 0 : -ENOMEM;
                else
                        json_decref(one);
                if (r < 0) {
                        json_decref(*out);
                        *out = NULL;
                        return r;
                }
        }
        return 0;
}

void volume_unbind_all(const char *binds)
{
        DIR *d = opendir(binds);
        struct dirent *de;
        char path[PATH_MAX];
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", binds, de->d_name);
                umount2(path, MNT_DETACH);
                rmdir(path);
        }
        if (d)
                closedir(d);
}

/* Binds the volume's subpath at `target` (read-only when ro). 0 or -errno with e set. */
static int bind_subpath(const struct core *core, const char *id, const char *sub, int ro,
                        const char *target, struct err *e)
{
        int fd = walk_subpath(open_root(core, id), sub, 1, e);
        if (fd < 0)
                return fd;
        char src[64];
        snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
        int r = 0;
        if ((mkdir(target, 0755) < 0 && errno != EEXIST) ||
            mount(src, target, NULL, MS_BIND, NULL) < 0)
                r = err_set(e, errno, "bind %s", target);
        else if (ro && mount(NULL, target, NULL,
                             MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
                r = err_set(e, errno, "read-only %s", target);
                umount2(target, MNT_DETACH);
        }
        close(fd);
        return r;
}

static int is_mountpoint(const char *parent, const char *path)
{
        struct stat a, b;
        return stat(parent, &a) == 0 && stat(path, &b) == 0 && a.st_dev != b.st_dev;
}

/* The volume a stored mount names is still there (and ready). 0, or -errno with e set:
 * volume_not_found when it was deleted. */
static int mount_ready(struct core *core, const json_t *it, struct err *e)
{
        const char *id = json_string_value(json_object_get(it, "volume"));
        struct volume_rec r;
        int rc = volume_ready(core, id ? id : "", &r, e);
        if (rc == -ENOENT || rc == -EBUSY)
                return err_coded(e, NS_E_VOLUME_NOT_FOUND, ENOENT,
                                 "volume %s (mounted at %s) no longer exists", id ? id : "?",
                                 json_string_value(json_object_get(it, "path")));
        return rc;
}

/* The host directory for one stored mount into *src (malloc'd). */
static int pin_one(struct core *core, const json_t *it, char **src, struct err *e)
{
        const char *id = json_string_value(json_object_get(it, "volume"));
        const char *sub = json_string_value(json_object_get(it, "subpath"));
        int ro = json_is_true(json_object_get(it, "read_only"));
        int rc = mount_ready(core, it, e);
        if (rc < 0)
                return rc;
        char mnt[PATH_MAX], binds[PATH_MAX], target[PATH_MAX + 2 * VOLUME_SUBPATH_MAX + 8];
        volume_dir(core, id, "mnt", mnt, sizeof(mnt));
        volume_dir(core, id, "binds", binds, sizeof(binds));
        if (!volume_is_mounted(core, id))
                return err_coded(e, NS_E_IO_ERROR, EIO, "volume %s is not mounted on the host", id);
        sub = sub ? sub : "";
        if (!sub[0] && !ro)
                return (*src = strdup(mnt)) ? 0 : err_set(e, ENOMEM, "volumes");
        char key[2 * VOLUME_SUBPATH_MAX + 1] = "root";
        if (sub[0])
                hex_encode((const unsigned char *)sub, strlen(sub), key);
        snprintf(target, sizeof(target), "%s/%s-%s", binds, key, ro ? "ro" : "rw");
        if (mkdir(binds, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", binds);
        if (!is_mountpoint(binds, target) && bind_subpath(core, id, sub, ro, target, e) < 0)
                return -EIO;
        return (*src = strdup(target)) ? 0 : err_set(e, ENOMEM, "volumes");
}

int volume_mounts_pin(struct core *core, const json_t *mounts, struct machine_mount **out,
                      size_t *n, struct err *e)
{
        *out = NULL;
        *n = 0;
        size_t count = json_array_size(mounts);
        if (count == 0)
                return 0;
        struct machine_mount *m = calloc(count, sizeof(*m));
        if (!m)
                return err_set(e, ENOMEM, "volumes");
        for (size_t i = 0; i < count; i++) {
                const json_t *it = json_array_get(mounts, i);
                char *src = NULL;
                int r = pin_one(core, it, &src, e);
                char *dst = r == 0 ? strdup(json_string_value(json_object_get(it, "path"))) : NULL;
                if (r == 0 && !dst)
                        r = err_set(e, ENOMEM, "volumes");
                if (r < 0) {
                        free(src);
                        volume_mounts_free(m, i);
                        return r;
                }
                m[i] = (struct machine_mount){src, dst,
                                              json_is_true(json_object_get(it, "read_only"))};
        }
        *out = m;
        *n = count;
        return 0;
}

int volume_mounts_exist(struct core *core, const json_t *mounts, struct err *e)
{
        size_t i;
        const json_t *it;
        json_array_foreach(mounts, i, it)
        {
                int rc = mount_ready(core, it, e);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

void volume_mounts_free(struct machine_mount *m, size_t n)
{
        for (size_t i = 0; m && i < n; i++) {
                free((char *)m[i].source);
                free((char *)m[i].dest);
        }
        free(m);
}
