/* Configuration precedence: flags > NULLSPACE_* environment > config file > defaults. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static char *trim(char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
                s[--n] = '\0';
        if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\''))) {
                s[n - 1] = '\0';
                s++;
        }
        return s;
}

/* The config file's grammar, shared with both SDKs (docs/configuration.md, tested with
 * the same cases in tests/integration/test_config.py): `key = value` lines, blanks
 * around both trimmed; a line whose first non-blank character is '#' is a comment ('#'
 * anywhere else belongs to the value); a value in matching quotes loses them; a later
 * line wins; unknown keys are ignored; any other line is an error naming FILE:LINE. A
 * missing file is not an error unless named with --config. */
/* Whether a setting may still come from the file: not given by a flag or env. */
static int from_file(const char *from)
{
        return !from || strcmp(from, "config") == 0;
}

static int read_config(struct cli *c, const char *path, int explicit_path)
{
        FILE *f = fopen(path, "r");
        if (!f) {
                if (explicit_path) {
                        fprintf(stderr, "error: usage: cannot read config %s: %s\n", path,
                                strerror(errno));
                        return ns_code_def(NS_E_USAGE)->exit_code;
                }
                return 0;
        }
        char line[2048];
        int lineno = 0;
        while (fgets(line, sizeof(line), f)) {
                lineno++;
                char *s = trim(line);
                if (!*s || *s == '#')
                        continue;
                char *eq = strchr(s, '=');
                if (!eq) {
                        fprintf(stderr, "error: usage: %s:%d: expected key = value\n", path,
                                lineno);
                        fclose(f);
                        return ns_code_def(NS_E_USAGE)->exit_code;
                }
                *eq = '\0';
                char *k = trim(s), *v = trim(eq + 1);
                if (strcmp(k, "api_url") == 0 && from_file(c->url_from)) {
                        snprintf(c->api_url, sizeof(c->api_url), "%s", v);
                        c->url_from = "config";
                } else if (strcmp(k, "api_key") == 0 && from_file(c->key_from)) {
                        snprintf(c->api_key, sizeof(c->api_key), "%s", v);
                        c->key_from = "config";
                }
        }
        fclose(f);
        return 0;
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
