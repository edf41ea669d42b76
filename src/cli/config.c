/* Configuration precedence: flags > NULLSPACE_* environment > config file > defaults. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/kvconf.h"
#include "cli.h"

void cli_config_default_path(char *out, size_t cap)
{
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        if (xdg && *xdg)
                snprintf(out, cap, "%s/nullspace/config", xdg);
        else
                snprintf(out, cap, "%s/.config/nullspace/config", home ? home : "");
}

/* Whether a setting may still come from the file: not given by a flag or env. */
static int from_file(const char *from)
{
        return !from || strcmp(from, "config") == 0;
}

/* A pair of the config file: the keys we know; others are for other tools. */
static int on_pair(void *ud, const char *k, const char *v, int line, struct err *e)
{
        (void)line, (void)e;
        struct cli *c = ud;
        if (strcmp(k, "api_url") == 0 && from_file(c->url_from)) {
                snprintf(c->api_url, sizeof(c->api_url), "%s", v);
                c->url_from = "config";
        } else if (strcmp(k, "api_key") == 0 && from_file(c->key_from)) {
                snprintf(c->api_key, sizeof(c->api_key), "%s", v);
                c->key_from = "config";
        }
        return 0;
}

/* The config file (src/common/kvconf.h has its grammar, shared with both SDKs and
 * tested with the same cases in tests/integration/test_config.py): a later line wins;
 * unknown keys are ignored; a bad line is an error naming FILE:LINE. A missing file is
 * not an error unless named with --config. */
static int read_config(struct cli *c, const char *path, int explicit_path)
{
        struct err e = {0};
        int r = kvconf_read(path, on_pair, c, &e);
        if (r == 0 || (r == -ENOENT && !explicit_path))
                return 0;
        fprintf(stderr, "error: usage: %s\n", e.msg);
        return ns_code_def(NS_E_USAGE)->exit_code;
}

/* Default key: the local daemon's generated key file, when this user can read it. */
static void default_key(struct cli *c)
{
        char path[1024];
        const char *dir = getenv("NULLSPACE_STATE_DIR");
        snprintf(path, sizeof(path), "%s/api-key", dir && *dir ? dir : "/var/lib/nullspace");
        FILE *f = fopen(path, "r");
        if (!f)
                return;
        if (fgets(c->api_key, sizeof(c->api_key), f)) {
                c->api_key[strcspn(c->api_key, "\r\n")] = '\0';
                c->key_from = "state-dir";
        }
        fclose(f);
}

int cli_config_resolve(struct cli *c)
{
        const char *env_url = getenv("NULLSPACE_API_URL");
        const char *env_key = getenv("NULLSPACE_API_KEY");
        if (!c->url_from && env_url && *env_url) {
                snprintf(c->api_url, sizeof(c->api_url), "%s", env_url);
                c->url_from = "env";
        }
        if (!c->key_from && env_key && *env_key) {
                snprintf(c->api_key, sizeof(c->api_key), "%s", env_key);
                c->key_from = "env";
        }
        char path[1024];
        const char *cfg = c->config_path ? c->config_path : getenv("NULLSPACE_CONFIG");
        if (!cfg) {
                cli_config_default_path(path, sizeof(path));
                cfg = path;
        }
        int r = read_config(c, cfg, c->config_path != NULL);
        if (r)
                return r;
        if (!c->url_from) {
                snprintf(c->api_url, sizeof(c->api_url), "http://127.0.0.1:7700");
                c->url_from = "default";
        }
        if (!c->key_from)
                default_key(c);
        size_t n = strlen(c->api_url);
        while (n > 0 && c->api_url[n - 1] == '/')
                c->api_url[--n] = '\0';
        return 0;
}
