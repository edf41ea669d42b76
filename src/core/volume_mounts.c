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

/* The parts of sub that exist are directories, not symlinks (what is missing is made
 * when the machine starts). 0, or -EINVAL with e set (invalid_path). */
static int subpath_ok(struct core *core, const char *id, const char *sub, size_t i, struct err *e)
{
        char mnt[PATH_MAX], part[NAME_MAX + 1];
        volume_dir(core, id, "mnt", mnt, sizeof(mnt));
        int fd = open(mnt, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        while (fd >= 0 && *sub) {
                size_t n = strcspn(sub, "/");
                snprintf(part, sizeof(part), "%.*s", (int)n, sub);
                sub += n + (sub[n] == '/');
                int next = openat(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int missing = next < 0 && errno == ENOENT;
                close(fd);
                if (missing)
                        return 0;
                if (next < 0)
                        return err_coded(e, NS_E_INVALID_PATH, EINVAL,
                                         "volumes[%zu].subpath: '%s' is not a directory of the "
                                         "volume (a symlink or a file)",
                                         i, part);
                fd = next;
        }
        if (fd >= 0)
                close(fd);
        return 0;
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
        int rc = store_volume_get(core->store, ref, &r, e);
        if (rc == -ENOENT)
                return err_coded(e, NS_E_VOLUME_NOT_FOUND, ENOENT, "volumes[%zu]: no volume '%s'",
                                 i, ref);
        if (rc < 0)
                return rc;
        store_volume_rec_free(&r);
        if (strcmp(r.state, "ready") != 0)
                return err_coded(e, NS_E_CONFLICT, EBUSY, "volumes[%zu]: volume %s is %s", i, r.id,
                                 r.state);
        if (sub[0] && subpath_ok(core, r.id, sub, i, e) < 0)
                return -EINVAL;
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

/* Opens the subpath beneath the volume's root fd (taken), making missing directories;
 * a symlink or a file on the way fails. Returns an O_PATH fd or -errno with e set. */
static int open_beneath(int fd, const char *sub, struct err *e)
{
        char part[NAME_MAX + 1];
        while (*sub) {
                size_t n = strcspn(sub, "/");
                snprintf(part, sizeof(part), "%.*s", (int)n, sub);
                sub += n + (sub[n] == '/');
                if (mkdirat(fd, part, 0755) < 0 && errno != EEXIST) {
                        int r = err_set(e, errno, "subpath part '%s'", part);
                        close(fd);
                        return r;
                }
                int next = openat(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                close(fd);
                if (next < 0)
                        return err_coded(e, NS_E_INVALID_PATH, errno,
                                         "subpath part '%s' is not a directory of the volume "
                                         "(a symlink or a file)",
                                         part);
                fd = next;
        }
        return fd;
}

/* Binds the volume's subpath at `target` (read-only when ro). 0 or -errno with e set. */
static int bind_subpath(const char *mnt, const char *sub, int ro, const char *target, struct err *e)
{
        int fd = open(mnt, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return err_set(e, errno, "open %s", mnt);
        if ((fd = open_beneath(fd, sub, e)) < 0)
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

/* The host directory for one stored mount into *src (malloc'd). */
static int pin_one(struct core *core, const json_t *it, char **src, struct err *e)
{
        const char *id = json_string_value(json_object_get(it, "volume"));
        const char *sub = json_string_value(json_object_get(it, "subpath"));
        const char *path = json_string_value(json_object_get(it, "path"));
        int ro = json_is_true(json_object_get(it, "read_only"));
        struct volume_rec r;
        int rc = id ? store_volume_get(core->store, id, &r, e) : -ENOENT;
        if (rc == -ENOENT || (rc == 0 && strcmp(r.state, "ready") != 0))
                return err_coded(e, NS_E_VOLUME_NOT_FOUND, ENOENT,
                                 "volume %s (mounted at %s) no longer exists", id ? id : "?",
                                 path ? path : "?");
        if (rc < 0)
                return rc;
        store_volume_rec_free(&r);
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
        if (!is_mountpoint(binds, target) && bind_subpath(mnt, sub, ro, target, e) < 0)
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
                const char *id = json_string_value(json_object_get(it, "volume"));
                struct volume_rec r;
                int rc = id ? store_volume_get(core->store, id, &r, e) : -ENOENT;
                if (rc == 0)
                        store_volume_rec_free(&r);
                if (rc == -ENOENT || (rc == 0 && strcmp(r.state, "ready") != 0))
                        return err_coded(e, NS_E_VOLUME_NOT_FOUND, ENOENT,
                                         "volume %s (mounted at %s) no longer exists",
                                         id ? id : "?",
                                         json_string_value(json_object_get(it, "path")));
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
