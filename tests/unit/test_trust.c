/* The certificates machines trust beyond Debian's (core/trust.c): what a source gives
 * (a file, a directory, none), what it refuses, the layer made from a base's bundle. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/common/util.h"
#include "../../src/core/core.h"
#include "../../src/core/trust.h"
#include "tap.h"

#define CERT(x) "-----BEGIN CERTIFICATE-----\n" x "\n-----END CERTIFICATE-----\n"

static char root[64];

static void put(const char *rel, const char *text)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", root, rel);
        FILE *f = fopen(path, "w");
        fputs(text, f);
        fclose(f);
}

static char *slurp(const char *rel)
{
        static char text[4096];
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", root, rel);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
        if (f)
                fclose(f);
        text[n] = '\0';
        return f ? text : NULL;
}

static unsigned mode_of(const char *rel)
{
        char path[256];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", root, rel);
        return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

static int init(struct core *c, const char *source, struct err *e)
{
        trust_fini(c);
        memset(e, 0, sizeof(*e));
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", root, source);
        return trust_init(c, strchr(source, '/') || strchr(source, '.') ? path : source, e);
}

static void sources(struct core *c)
{
        struct err e;
        ok(init(c, "none", &e) == 0 && !c->trust_id[0], "none: no layer");
        put("one.pem", "comment before\n" CERT("AAAA") "trailing\n" CERT("BBBB"));
        ok(init(c, "one.pem", &e) == 0 && !strncmp(c->trust_id, "k_trust-", 8), "a PEM file");
        is_str(c->trust_pem, CERT("AAAA") CERT("BBBB"), "only its certificate blocks are kept");
        char id[32];
        snprintf(id, sizeof(id), "%s", c->trust_id);
        put("one.pem", CERT("AAAA") "\n\n" CERT("BBBB"));
        ok(init(c, "one.pem", &e) == 0 && !strcmp(c->trust_id, id),
           "the same certificates give the same layer");
        char sub[128];
        snprintf(sub, sizeof(sub), "%s/dir/sub", root);
        mkdir_p(sub, 0755);
        put("dir/b.crt", CERT("BBBB"));
        put("dir/a.pem", CERT("AAAA"));
        put("dir/notes.txt", "not read");
        put("dir/sub/c.crt", CERT("CCCC"));
        ok(init(c, "dir/", &e) == 0, "a directory");
        is_str(c->trust_pem, CERT("AAAA") CERT("BBBB") CERT("CCCC"),
               "its .crt and .pem files in name order, subdirectories too");
        put("dir/z.crt", "no certificate here\n");
        ok(init(c, "dir/", &e) < 0 && strstr(e.msg, "z.crt holds no PEM certificate"),
           "a file without a certificate is refused: %s", e.msg);
        ok(init(c, "missing.pem", &e) < 0 && strstr(e.msg, "--machine-ca"),
           "a missing path is refused: %s", e.msg);
        ok(!c->trust_id[0], "a refused source leaves no layer");
}

static void layer(struct core *c)
{
        struct err e = {0};
        char dir[128];
        snprintf(dir, sizeof(dir), "%s/base/etc/ssl/certs", root);
        ok(mkdir_p(dir, 0755) == 0, "a base");
        put("base/etc/ssl/certs/ca-certificates.crt", CERT("DEBIAN")); /* ends in a newline */
        snprintf(c->templates.base_rootfs, sizeof(c->templates.base_rootfs), "%s/base", root);
        snprintf(c->cache_dir, sizeof(c->cache_dir), "%s/cache", root);
        put("one.pem", CERT("EXTRA"));
        ok(init(c, "one.pem", &e) == 0, "certificates");
        ok(trust_layer_ensure(c, &e) == 0, "the layer is made: %s", e.msg);
        char rel[128];
        snprintf(rel, sizeof(rel), "cache/layers/%s/etc/ssl/certs/ca-certificates.crt",
                 c->trust_id + 2);
        is_str(slurp(rel), CERT("DEBIAN") CERT("EXTRA"), "the base's bundle, then them");
        is_int(mode_of(rel), 0644, "the bundle is world-readable");
        snprintf(rel, sizeof(rel), "cache/layers/%s" TRUST_CERT_PATH, c->trust_id + 2);
        is_str(slurp(rel), CERT("EXTRA"), "them alone, where update-ca-certificates looks");
        snprintf(rel, sizeof(rel), "cache/layers/%s/etc", c->trust_id + 2);
        is_int(mode_of(rel), 0755, "its directories are 0755 (an overlay shows them)");
        put("base/etc/ssl/certs/ca-certificates.crt", "changed");
        ok(trust_layer_ensure(c, &e) == 0, "made once: a second call finds it");
        snprintf(rel, sizeof(rel), "cache/layers/%s/etc/ssl/certs/ca-certificates.crt",
                 c->trust_id + 2);
        is_str(slurp(rel), CERT("DEBIAN") CERT("EXTRA"), "and leaves it as it was");
        json_t *layers = trust_base_layers(c), *env = json_object();
        is_str(json_string_value(json_array_get(layers, 0)), c->trust_id, "the base's layers");
        json_object_set_new(env, "REQUESTS_CA_BUNDLE", json_string("/mine.pem"));
        trust_env(layers, env);
        is_str(json_string_value(json_object_get(env, "NODE_EXTRA_CA_CERTS")), TRUST_CERT_PATH,
               "Node is pointed at them");
        is_str(json_string_value(json_object_get(env, "REQUESTS_CA_BUNDLE")), "/mine.pem",
               "what the create set is kept");
        json_decref(layers);
        json_decref(env);
        ok(init(c, "none", &e) == 0, "none");
        layers = trust_base_layers(c);
        is_int((long long)json_array_size(layers), 0, "no layer without certificates");
        json_decref(layers);
}

int main(void)
{
        snprintf(root, sizeof(root), "/tmp/ns-trust-XXXXXX");
        if (!mkdtemp(root))
                return 1;
        static struct core c;
        sources(&c);
        layer(&c);
        trust_fini(&c);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        if (system(cmd) != 0)
                return 1;
        return tap_done();
}
