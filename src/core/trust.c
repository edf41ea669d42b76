/* The certificate authorities machines trust beyond Debian's (trust.h). */
#include "trust.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/sha256.h"
#include "../common/util.h"
#include "core.h"
#include "machine_internal.h"

#define HOST_CA_DIR   "/usr/local/share/ca-certificates"
#define BUNDLE        "/etc/ssl/certs/ca-certificates.crt"
#define BUNDLE_MAX    (16u << 20)
#define DIR_DEPTH_MAX 4
#define PEM_BEGIN     "-----BEGIN CERTIFICATE-----"
#define PEM_END       "-----END CERTIFICATE-----"

/* Appends the certificate blocks of text (NUL-terminated) to out: how many, or -E2BIG. */
static int pem_blocks(const char *text, struct buf *out)
{
        int n = 0;
        for (const char *p = strstr(text, PEM_BEGIN); p; p = strstr(p, PEM_BEGIN)) {
                const char *end = strstr(p, PEM_END);
                if (!end)
                        break;
                end += strlen(PEM_END);
                if (buf_append(out, p, (size_t)(end - p)) < 0 || buf_append(out, "\n", 1) < 0)
                        return -E2BIG;
                n++;
                p = end;
        }
        return n;
}

/* One file's certificates onto out; `lenient` skips a file without any. */
static int read_file(const char *path, int lenient, struct buf *out, struct err *e)
{
        struct buf text;
        buf_init(&text, TRUST_FILE_MAX);
        int r = buf_append_file(&text, path);
        int n = r == 0 ? pem_blocks(text.data ? text.data : "", out) : 0;
        buf_fini(&text);
        if (r == -E2BIG)
                return err_say(e, E2BIG, "--machine-ca: %s is over %u bytes", path, TRUST_FILE_MAX);
        if (r < 0)
                return err_say(e, -r, "--machine-ca: %s: %s", path, strerror(-r));
        if (n < 0)
                return err_say(e, E2BIG, "--machine-ca: over %u bytes of certificates",
                               TRUST_TOTAL_MAX);
        if (n == 0 && lenient)
                log_warn("machine_ca_skipped", "file=%s reason=no PEM certificate", path);
        else if (n == 0)
                return err_say(e, EINVAL, "--machine-ca: %s holds no PEM certificate", path);
        return 0;
}

static int cert_name(const char *name, int host)
{
        return !fnmatch("*.crt", name, 0) || (!host && !fnmatch("*.pem", name, 0));
}

/* The certificate files under dir, in name order, subdirectories too. */
static int read_dir(const char *dir, int host, int depth, struct buf *out, struct err *e)
{
        struct dirent **list = NULL;
        int n = scandir(dir, &list, NULL, alphasort);
        if (n < 0)
                return err_say(e, errno, "--machine-ca: %s: %s", dir, strerror(errno));
        int r = 0;
        for (int i = 0; i < n; i++) {
                char path[PATH_MAX];
                struct stat st;
                const char *name = list[i]->d_name;
                if (r == 0 && name[0] != '.' &&
                    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path) &&
                    stat(path, &st) == 0) {
                        if (S_ISDIR(st.st_mode) && depth < DIR_DEPTH_MAX)
                                r = read_dir(path, host, depth + 1, out, e);
                        else if (S_ISREG(st.st_mode) && cert_name(name, host))
                                r = read_file(path, host, out, e);
                }
                free(list[i]);
        }
        free(list);
        return r;
}

int trust_init(struct core *core, const char *source, struct err *e)
{
        core->trust_id[0] = '\0';
        if (!source || !strcmp(source, "none"))
                return 0;
        int host = !strcmp(source, "host");
        const char *path = host ? HOST_CA_DIR : source;
        struct stat st;
        if (stat(path, &st) < 0) {
                if (host)
                        return 0;
                return err_say(e, errno,
                               "--machine-ca: %s: %s (host, none, or a PEM file or "
                               "directory)",
                               path, strerror(errno));
        }
        struct buf pem;
        buf_init(&pem, TRUST_TOTAL_MAX);
        int r =
            S_ISDIR(st.st_mode) ? read_dir(path, host, 0, &pem, e) : read_file(path, 0, &pem, e);
        if (r < 0 || pem.len == 0) {
                buf_fini(&pem);
                return r;
        }
        struct sha256 h;
        char hex[65];
        sha256_init(&h);
        sha256_update(&h, pem.data, pem.len);
        sha256_final_hex(&h, hex);
        snprintf(core->trust_id, sizeof(core->trust_id), "k_trust-%.16s", hex);
        core->trust_pem = pem.data;
        core->trust_len = pem.len;
        log_info("machine_ca", "source=%s layer=%s bytes=%zu", path, core->trust_id, pem.len);
        return 0;
}

void trust_fini(struct core *core)
{
        free(core->trust_pem);
        core->trust_pem = NULL;
        core->trust_len = 0;
}

json_t *trust_base_layers(const struct core *core)
{
        json_t *layers = json_array();
        if (layers && core->trust_id[0] &&
            json_array_append_new(layers, json_string(core->trust_id)) < 0) {
                json_decref(layers);
                return NULL;
        }
        return layers;
}

struct part {
        const void *p;
        size_t n;
};

/* Writes the parts, in order, as a file of mode 0644. */
static int put(const char *path, const struct part *parts, size_t nparts)
{
        FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        int bad = fchmod(fileno(f), 0644) < 0;
        for (size_t i = 0; i < nparts; i++)
                bad |= parts[i].n && fwrite(parts[i].p, 1, parts[i].n, f) != parts[i].n;
        return fclose(f) == 0 && !bad ? 0 : -EIO;
}

/* The layer's directories, parents first, and its two files. */
static const char *const tree_dirs[] = {
    "",     "/etc",       "/etc/ssl",         "/etc/ssl/certs",
    "/usr", "/usr/local", "/usr/local/share", "/usr/local/share/ca-certificates"};
#define TREE_NDIRS (sizeof(tree_dirs) / sizeof(tree_dirs[0]))
static const char *const tree_files[] = {BUNDLE, TRUST_CERT_PATH};

/* Removes what make_tree made in tmp (a loser of a race, or a failure). */
static void unmake_tree(const char *tmp)
{
        char path[PATH_MAX + 192];
        for (size_t i = 0; i < 2; i++) {
                snprintf(path, sizeof(path), "%s%s", tmp, tree_files[i]);
                unlink(path);
        }
        for (size_t i = TREE_NDIRS; i-- > 0;) {
                snprintf(path, sizeof(path), "%s%s", tmp, tree_dirs[i]);
                rmdir(path);
        }
}

/* The layer's tree in tmp: directories 0755 (an overlay shows the top layer's modes);
 * the bundle (the base's, then the certificates) and the certificates alone. */
static int make_tree(const char *tmp, const struct buf *bundle, const char *pem, size_t npem)
{
        char path[PATH_MAX + 192];
        for (size_t i = 0; i < TREE_NDIRS; i++) {
                snprintf(path, sizeof(path), "%s%s", tmp, tree_dirs[i]);
                if ((mkdir(path, 0755) < 0 && errno != EEXIST) || chmod(path, 0755) < 0)
                        return -errno;
        }
        int newline = bundle->len && bundle->data[bundle->len - 1] != '\n';
        struct part all[] = {{bundle->data, bundle->len}, {"\n", (size_t)newline}, {pem, npem}};
        int r = 0;
        for (size_t i = 0; i < 2 && r == 0; i++) {
                snprintf(path, sizeof(path), "%s%s", tmp, tree_files[i]);
                r = i == 0 ? put(path, all, 3) : put(path, all + 2, 1);
        }
        return r;
}

int trust_layer_ensure(struct core *core, struct err *e)
{
        if (!core->trust_id[0])
                return 0;
        char dir[PATH_MAX + 64], tmp[PATH_MAX + 96], base[2 * PATH_MAX];
        layers_path(core, core->trust_id, dir, sizeof(dir));
        if (access(dir, F_OK) == 0)
                return 0;
        snprintf(tmp, sizeof(tmp), "%s.tmp%d", dir, (int)getpid());
        snprintf(base, sizeof(base), "%s" BUNDLE, core->templates.base_rootfs);
        struct buf bundle;
        buf_init(&bundle, BUNDLE_MAX);
        int r = buf_append_file(&bundle, base);
        if (r == 0) {
                char parent[PATH_MAX + 64];
                snprintf(parent, sizeof(parent), "%s/layers", core->cache_dir);
                unmake_tree(tmp); /* a daemon of this PID that died half-way */
                r = mkdir_p(parent, 0755);
        }
        if (r == 0)
                r = make_tree(tmp, &bundle, core->trust_pem, core->trust_len);
        buf_fini(&bundle);
        if (r == 0 && rename(tmp, dir) < 0 && errno != EEXIST && errno != ENOTEMPTY)
                r = -errno;
        unmake_tree(tmp); /* nothing left when the rename moved it */
        if (r < 0)
                return err_set(e, -r, "making the trusted-certificates layer %s", dir);
        log_info("machine_ca_layer", "layer=%s", dir);
        return 0;
}

void trust_env(const json_t *layers, json_t *env)
{
        size_t i;
        json_t *v;
        json_array_foreach(layers, i, v)
        {
                if (strncmp(json_string_value(v) ?: "", "k_trust-", 8) != 0)
                        continue;
                if (!json_object_get(env, "NODE_EXTRA_CA_CERTS"))
                        json_object_set_new(env, "NODE_EXTRA_CA_CERTS",
                                            json_string(TRUST_CERT_PATH));
                if (!json_object_get(env, "REQUESTS_CA_BUNDLE"))
                        json_object_set_new(env, "REQUESTS_CA_BUNDLE", json_string(BUNDLE));
                return;
        }
}
