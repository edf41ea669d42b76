/* Container image import (image.h): the outer tar unpacked, the manifest read (docker
 * save's manifest.json, else the OCI index.json), each layer applied in two passes —
 * its whiteouts first, then its files — so an opaque marker hides only what the layers
 * below put there. */
#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMAGE_MAX_BYTES   (16ull << 30) /* unpacked, all layers: a bound on a zip bomb */
#define IMAGE_MAX_ENTRIES 2000000

static const int SECURE = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                          ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;

/* ---- safe paths ------------------------------------------------------------------ */

/* name with leading "./" and "/" dropped into out; -1 when it has a ".." component or
 * is too long; out "" for the root itself. */
static int normalize(const char *name, char *out, size_t cap)
{
        while (name[0] == '/' || (name[0] == '.' && name[1] == '/'))
                name += name[0] == '/' ? 1 : 2;
        if (strcmp(name, ".") == 0)
                name = "";
        if (strlen(name) >= cap)
                return -1;
        for (const char *p = name; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return -1;
                p += n;
                p += *p == '/';
        }
        snprintf(out, cap, "%s", name);
        size_t len = strlen(out);
        while (len && out[len - 1] == '/')
                out[--len] = '\0';
        return 0;
}

/* Opens directory `rel` under rootfd without following any symlink on the way; -1 when
 * it is missing or not a plain directory path. */
static int open_dir_at(int rootfd, const char *rel)
{
        int fd = dup(rootfd);
        char part[NAME_MAX + 1];
        for (const char *p = rel; fd >= 0 && *p;) {
                size_t n = strcspn(p, "/");
                if (n == 0 || n > NAME_MAX) {
                        close(fd);
                        return -1;
                }
                memcpy(part, p, n);
                part[n] = '\0';
                int next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                close(fd);
                fd = next;
                p += n;
                p += *p == '/';
        }
        return fd;
}

static int remove_at(int dirfd, const char *name);

/* Removes everything inside the directory fd. */
static int clear_dir(int fd)
{
        int dup_fd = dup(fd);
        DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
        if (!d) {
                if (dup_fd >= 0)
                        close(dup_fd);
                return -1;
        }
        int r = 0;
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        r |= remove_at(fd, de->d_name);
        closedir(d);
        return r;
}

/* Removes name (a tree, if a directory) from dirfd; nothing when it is missing. */
static int remove_at(int dirfd, const char *name)
{
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -1;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dirfd, name, 0);
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r = fd >= 0 ? clear_dir(fd) : -1;
        if (fd >= 0)
                close(fd);
        return r == 0 ? unlinkat(dirfd, name, AT_REMOVEDIR) : -1;
}

/* ---- layers ---------------------------------------------------------------------- */

static struct archive *open_archive(const char *path)
{
        struct archive *a = archive_read_new();
        archive_read_support_format_all(a);
        archive_read_support_filter_all(a);
        if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
                archive_read_free(a);
                return NULL;
        }
        return a;
}

/* A whiteout entry's effect on rootfd: ".wh..wh..opq" empties its directory,
 * ".wh.NAME" removes NAME. 0 when the entry is no whiteout. */
static int whiteout(int rootfd, const char *path, struct err *e)
{
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        if (strncmp(base, ".wh.", 4) != 0)
                return 0;
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 0, path);
        int fd = open_dir_at(rootfd, dir);
        if (fd < 0)
                return 0; /* nothing below to hide */
        int r = strcmp(base, ".wh..wh..opq") == 0 ? clear_dir(fd) : remove_at(fd, base + 4);
        close(fd);
        return r < 0 ? err_set(e, errno ? errno : EIO, "whiteout %s", path) : 0;
}

/* Pass 1: the layer's whiteouts against what lies below. */
static int layer_whiteouts(int rootfd, const char *layer, struct err *e)
{
        struct archive *a = open_archive(layer);
        if (!a)
                return err_set(e, EINVAL, "layer %s is not an archive", layer);
        struct archive_entry *ent;
        int r = 0, rc;
        char path[PATH_MAX];
        while (r == 0 && (rc = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
                if (normalize(archive_entry_pathname(ent), path, sizeof(path)) < 0)
                        r = err_set(e, EINVAL, "layer %s: unsafe path %.200s", layer,
                                    archive_entry_pathname(ent));
                else if (path[0])
                        r = whiteout(rootfd, path, e);
        }
        if (r == 0 && rc != ARCHIVE_EOF)
                r = err_set(e, EINVAL, "layer %s: %s", layer, archive_error_string(a));
        archive_read_free(a);
        return r;
}

static int copy_data(struct archive *in, struct archive *out, uint64_t *total)
{
        const void *buf;
        size_t size;
        la_int64_t off;
        int rc;
        while ((rc = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK) {
                *total += size;
                if (*total > IMAGE_MAX_BYTES)
                        return -EFBIG;
                if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK)
                        return -EIO;
        }
        return rc == ARCHIVE_EOF ? 0 : -EIO;
}

/* Pass 2: the layer's files, into the current directory (the root). */
static int layer_files(const char *layer, uint64_t *total, unsigned long *entries, struct err *e)
{
        struct archive *a = open_archive(layer), *w = archive_write_disk_new();
        archive_write_disk_set_options(w, SECURE | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |
                                              ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                                              ARCHIVE_EXTRACT_UNLINK);
        struct archive_entry *ent;
        int r = a ? 0 : err_set(e, EINVAL, "layer %s is not an archive", layer), rc = 0;
        char path[PATH_MAX], link[PATH_MAX];
        while (r == 0 && (rc = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
                const char *base = strrchr(archive_entry_pathname(ent), '/');
                base = base ? base + 1 : archive_entry_pathname(ent);
                if (normalize(archive_entry_pathname(ent), path, sizeof(path)) < 0 || !path[0] ||
                    strncmp(base, ".wh.", 4) == 0)
                        continue; /* the root's own entry; whiteouts (pass 1) */
                if (++*entries > IMAGE_MAX_ENTRIES) {
                        r = err_set(e, EFBIG, "more than %d files", IMAGE_MAX_ENTRIES);
                        break;
                }
                archive_entry_set_pathname(ent, path);
                const char *hl = archive_entry_hardlink(ent);
                if (hl && normalize(hl, link, sizeof(link)) == 0)
                        archive_entry_set_hardlink(ent, link);
                if (archive_write_header(w, ent) != ARCHIVE_OK) {
                        r = err_set(e, EINVAL, "%s: %s", path, archive_error_string(w));
                        break;
                }
                int c = archive_entry_size(ent) > 0 ? copy_data(a, w, total) : 0;
                if (c == -EFBIG)
                        r = err_set(e, EFBIG, "the image unpacks to more than %llu GiB",
                                    IMAGE_MAX_BYTES >> 30);
                else if (c < 0 || archive_write_finish_entry(w) != ARCHIVE_OK)
                        r = err_set(e, EIO, "%s: %s", path,
                                    archive_error_string(c < 0 ? a : w) ?: "write failed");
        }
        if (r == 0 && a && rc != ARCHIVE_EOF)
                r = err_set(e, EINVAL, "layer %s: %s", layer, archive_error_string(a));
        archive_write_free(w);
        if (a)
                archive_read_free(a);
        return r;
}

/* ---- the outer archive and its manifest ------------------------------------------ */

static int unpack_outer(const char *src, const char *dir, struct err *e)
{
        if (chdir(dir) < 0)
                return err_set(e, errno, "chdir %s", dir);
        struct archive *a = open_archive(src), *w = archive_write_disk_new();
        archive_write_disk_set_options(w, SECURE);
        struct archive_entry *ent;
        int r = a ? 0 : err_set(e, EINVAL, "the image is not a tar"), rc = 0;
        char path[PATH_MAX];
        uint64_t total = 0;
        while (r == 0 && (rc = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
                if (normalize(archive_entry_pathname(ent), path, sizeof(path)) < 0) {
                        r = err_set(e, EINVAL, "unsafe path %.200s", archive_entry_pathname(ent));
                        break;
                }
                int type = archive_entry_filetype(ent);
                if (!path[0] || (type != AE_IFREG && type != AE_IFDIR))
                        continue; /* an image tar holds files and directories */
                archive_entry_set_pathname(ent, path);
                if (archive_write_header(w, ent) != ARCHIVE_OK ||
                    (archive_entry_size(ent) > 0 && copy_data(a, w, &total) < 0) ||
                    archive_write_finish_entry(w) != ARCHIVE_OK)
                        r = err_set(e, EIO, "unpacking %s", path);
        }
        if (r == 0 && a && rc != ARCHIVE_EOF)
                r = err_set(e, EINVAL, "the image tar: %s", archive_error_string(a));
        archive_write_free(w);
        if (a)
                archive_read_free(a);
        return r;
}

/* "sha256:HEX" → "blobs/sha256/HEX" (into out); -1 when malformed. */
static int blob_path(const char *digest, char *out, size_t cap)
{
        const char *colon = digest ? strchr(digest, ':') : NULL;
        if (!colon || colon == digest ||
            strspn(colon + 1, "0123456789abcdef") != strlen(colon + 1) ||
            strspn(digest, "abcdefghijklmnopqrstuvwxyz0123456789") != (size_t)(colon - digest))
                return -1;
        snprintf(out, cap, "blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1);
        return 0;
}

/* An OCI index's manifest for linux/amd64 (or its first), loaded (new reference). */
static json_t *oci_manifest(json_t *index, int depth)
{
        json_t *list = json_object_get(index, "manifests"), *pick = json_array_get(list, 0), *m;
        size_t i;
        json_array_foreach(list, i, m)
        {
                json_t *pf = json_object_get(m, "platform");
                const char *os = json_string_value(json_object_get(pf, "os"));
                const char *arch = json_string_value(json_object_get(pf, "architecture"));
                if (os && arch && !strcmp(os, "linux") && !strcmp(arch, "amd64"))
                        pick = m;
        }
        char path[PATH_MAX];
        if (blob_path(json_string_value(json_object_get(pick, "digest")), path, sizeof(path)) < 0)
                return NULL;
        json_t *doc = json_load_file(path, 0, NULL);
        if (doc && json_object_get(doc, "manifests") && depth < 2) { /* an index of indexes */
                json_t *inner = oci_manifest(doc, depth + 1);
                json_decref(doc);
                return inner;
        }
        return doc;
}

/* The config path and layer paths (relative to the unpacked tar) into *config and *layers
 * (a new array of strings). */
static int read_manifest(json_t **config, json_t **layers, struct err *e)
{
        char path[PATH_MAX];
        json_t *docker = json_load_file("manifest.json", 0, NULL);
        *layers = json_array();
        *config = NULL;
        if (docker) {
                json_t *m = json_array_get(docker, 0), *l;
                size_t i;
                *config = json_incref(json_object_get(m, "Config"));
                json_array_foreach(json_object_get(m, "Layers"), i, l)
                    json_array_append(*layers, l);
                json_decref(docker);
        } else {
                json_t *index = json_load_file("index.json", 0, NULL);
                json_t *man = index ? oci_manifest(index, 0) : NULL, *l;
                size_t i;
                json_decref(index);
                if (blob_path(json_string_value(
                                  json_object_get(json_object_get(man, "config"), "digest")),
                              path, sizeof(path)) == 0)
                        *config = json_string(path);
                json_array_foreach(json_object_get(man, "layers"), i, l)
                {
                        if (blob_path(json_string_value(json_object_get(l, "digest")), path,
                                      sizeof(path)) == 0)
                                json_array_append_new(*layers, json_string(path));
                }
                json_decref(man);
        }
        size_t n = json_array_size(*layers);
        if (!json_is_string(*config) || n == 0 || n > IMAGE_MAX_LAYERS)
                return err_set(e, EINVAL,
                               "no image found: want docker save output (manifest.json) or an "
                               "OCI image layout (index.json) with 1 to %d layers",
                               IMAGE_MAX_LAYERS);
        return 0;
}

/* Keeps the image config's "config" object as DIR/config.json. */
static int keep_config(const char *config_path, const char *dir, struct err *e)
{
        char safe[PATH_MAX], out[PATH_MAX + 16];
        if (normalize(config_path, safe, sizeof(safe)) < 0)
                return err_set(e, EINVAL, "unsafe config path");
        json_t *doc = json_load_file(safe, 0, NULL);
        json_t *cfg = json_object_get(doc, "config");
        cfg = json_is_object(cfg) ? json_incref(cfg) : json_object();
        snprintf(out, sizeof(out), "%s/config.json", dir);
        int r = json_dump_file(cfg, out, JSON_COMPACT);
        json_decref(cfg);
        json_decref(doc);
        return r == 0 ? 0 : err_set(e, EIO, "write %s", out);
}

/* A name server for the machine when the image brings none (Docker injects one too). */
static void add_resolv_conf(int rootfd)
{
        struct stat st;
        int etc = open_dir_at(rootfd, "etc");
        if (etc < 0 && mkdirat(rootfd, "etc", 0755) == 0)
                etc = open_dir_at(rootfd, "etc");
        if (etc < 0)
                return;
        if (fstatat(etc, "resolv.conf", &st, AT_SYMLINK_NOFOLLOW) < 0) {
                int in = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
                int out = openat(etc, "resolv.conf", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                char buf[4096];
                ssize_t n;
                while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
                        if (write(out, buf, (size_t)n) != n)
                                break;
                if (in >= 0)
                        close(in);
                if (out >= 0)
                        close(out);
        }
        close(etc);
}

int image_import(const char *src, const char *dir, struct err *e)
{
        char outer[PATH_MAX], rootfs[PATH_MAX];
        snprintf(outer, sizeof(outer), "%s/outer", dir);
        snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
        if (mkdir(dir, 0700) < 0 || mkdir(outer, 0700) < 0 || mkdir(rootfs, 0755) < 0)
                return err_set(e, errno, "mkdir %s", dir);
        json_t *config = NULL, *layers = NULL;
        int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* given back at the end */
        int r = unpack_outer(src, outer, e);
        if (r == 0)
                r = read_manifest(&config, &layers, e);
        if (r == 0)
                r = keep_config(json_string_value(config), dir, e);
        int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint64_t total = 0;
        unsigned long entries = 0;
        size_t i;
        json_t *l;
        json_array_foreach(layers, i, l)
        {
                char rel[PATH_MAX], path[PATH_MAX * 2];
                if (r < 0)
                        break;
                if (normalize(json_string_value(l) ?: "..", rel, sizeof(rel)) < 0) {
                        r = err_set(e, EINVAL, "unsafe layer path");
                        break;
                }
                snprintf(path, sizeof(path), "%s/%s", outer, rel);
                r = layer_whiteouts(rootfd, path, e);
                if (r == 0 && chdir(rootfs) < 0)
                        r = err_set(e, errno, "chdir %s", rootfs);
                if (r == 0)
                        r = layer_files(path, &total, &entries, e);
        }
        if (r == 0)
                add_resolv_conf(rootfd);
        if (rootfd >= 0)
                close(rootfd);
        int outfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (outfd >= 0) {
                remove_at(outfd, "outer");
                close(outfd);
        }
        json_decref(config);
        json_decref(layers);
        if (cwd >= 0) {
                if (fchdir(cwd) < 0 && r == 0)
                        r = err_set(e, errno, "fchdir");
                close(cwd);
        }
        return r;
}

json_t *image_config(const char *dir)
{
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/config.json", dir);
        return json_load_file(path, 0, NULL);
}
