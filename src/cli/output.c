/* Per-command flag parsing and the command lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "cli.h"

const struct cli_cmd *cli_find(const char *name)
{
        for (size_t i = 0; i < cli_ncmds; i++)
                if (strcmp(cli_cmds[i].name, name) == 0)
                        return &cli_cmds[i];
        return NULL;
}

static int flag_index(const struct cli_cmd *cmd, const char *arg, size_t len)
{
        for (int i = 0; cmd->flags && cmd->flags[i].name; i++)
                if (strlen(cmd->flags[i].name) == len && strncmp(cmd->flags[i].name, arg, len) == 0)
                        return i;
        return -1;
}

int cli_parse_flags(const struct cli_cmd *cmd, int argc, char **argv, const char **values,
                    struct cli_multi *multi, int *npos)
{
        int pos = 0, only_pos = 0;
        for (int i = 0; i < argc; i++) {
                char *a = argv[i];
                if (only_pos || a[0] != '-' || a[1] == '\0') {
                        argv[pos++] = a;
                        continue;
                }
                if (strcmp(a, "--") == 0) {
                        only_pos = 1;
                        continue;
                }
                const char *eq = strchr(a, '=');
                size_t len = eq ? (size_t)(eq - a) : strlen(a);
                int f = flag_index(cmd, a, len);
                if (f < 0)
                        return cli_usage_error(cmd, "unknown option '%.*s'", (int)len, a);
                const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
                if (cmd->flags[f].repeat && multi && cmd->flags[f].arg) {
                        if (!val)
                                return cli_usage_error(cmd, "%s needs a value (%s)",
                                                       cmd->flags[f].name, cmd->flags[f].arg);
                        if (multi[f].n >= CLI_MULTI_MAX)
                                return cli_usage_error(cmd, "too many %s", cmd->flags[f].name);
                        multi[f].v[multi[f].n++] = val;
                        if (!eq)
                                i++;
                        continue;
                }
                if (!cmd->flags[f].arg) {
                        if (eq)
                                return cli_usage_error(cmd, "%s takes no value",
                                                       cmd->flags[f].name);
                        values[f] = "1";
                } else if (eq) {
                        values[f] = eq + 1;
                } else if (i + 1 < argc) {
                        values[f] = argv[++i];
                } else {
                        return cli_usage_error(cmd, "%s needs a value (%s)", cmd->flags[f].name,
                                               cmd->flags[f].arg);
                }
        }
        *npos = pos;
        return 0;
}

int cli_id_arg(const struct cli_cmd *cmd, const char *id, const char *what)
{
        if (strlen(id) > 64 || strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(id))
                return cli_usage_error(cmd, "'%s' is not %s", id, what);
        return 0;
}

int cli_page_path(const struct cli_cmd *cmd, const char *base, const char *limit,
                  const char *cursor, char *out, size_t cap)
{
        if (limit && (!*limit || strspn(limit, "0123456789") != strlen(limit)))
                return cli_usage_error(cmd, "--limit needs a number");
        if (cursor && (!*cursor || strspn(cursor, "0123456789") != strlen(cursor)))
                return cli_usage_error(cmd, "--cursor takes the next_cursor of a previous page");
        int n = snprintf(out, cap, "%s", base);
        if (limit)
                n += snprintf(out + n, cap - (size_t)n, "?limit=%.12s", limit);
        if (cursor)
                snprintf(out + n, cap - (size_t)n, "%ccursor=%.20s", limit ? '&' : '?', cursor);
        return 0;
}

int cli_list_cmd(struct cli *c, const char *name, const char *base, int argc, char **argv,
                 void (*show)(const json_t *doc))
{
        const struct cli_cmd *cmd = cli_find(name);
        const char *v[2] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[0]);
        char path[256];
        if ((r = cli_page_path(cmd, base, v[0], v[1], path, sizeof(path))))
                return r;
        return cli_call(c, "GET", path, NULL, show);
}

void cli_print_rows(const json_t *doc, const char *key, void (*row)(const json_t *item))
{
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(doc, key), i, item) row(item);
        const char *next = json_string_value(json_object_get(doc, "next_cursor"));
        if (next)
                printf("(more: --cursor %s)\n", next);
}

int cli_ref_arg(const struct cli_cmd *cmd, const char *ref, const char *what)
{
        size_t n = strlen(ref);
        if (n == 0 || n > 96 ||
            strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") != n)
                return cli_usage_error(cmd, "expected %s, got '%.40s'", what, ref);
        return 0;
}

static int one_cmd(struct cli *c, const char *name, const char *method, const char *base,
                   const char *what, const char *done, int argc, char **argv,
                   void (*show)(const json_t *doc),
                   int (*check)(const struct cli_cmd *, const char *, const char *))
{
        const struct cli_cmd *cmd = cli_find(name);
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r)
                return r;
        if (npos != 1)
                return cli_usage_error(cmd, "expected %s", what);
        if ((r = check(cmd, argv[0], what)))
                return r;
        char path[160];
        snprintf(path, sizeof(path), "%s/%s", base, argv[0]);
        r = cli_call(c, method, path, NULL, show);
        if (r == 0 && done) {
                json_t *d = json_pack("{s:s,s:b}", "id", argv[0], done, 1);
                if (c->json)
                        cli_print_json(d);
                else
                        printf("%s %s\n", done, argv[0]);
                json_decref(d);
        }
        return r;
}

int cli_machine_args(const struct cli_cmd *cmd, int argc, char **argv, const char **values,
                     const char *suffix, char *path, size_t cap)
{
        int npos, r = cli_parse_flags(cmd, argc, argv, values, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (npos != 1)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[1]);
        snprintf(path, cap, "/v1/machines/%s%s", id, suffix);
        return 0;
}

int cli_machine_cmd(struct cli *c, const char *name, const char *method, const char *suffix,
                    int argc, char **argv, void (*show)(const json_t *doc))
{
        char path[192];
        int r = cli_machine_args(cli_find(name), argc, argv, NULL, suffix, path, sizeof(path));
        return r ? r : cli_call(c, method, path, NULL, show);
}

int cli_download(struct cli *c, const struct cli_cmd *cmd, const char *path, const char *file)
{
        int to_stdout = !file || strcmp(file, "-") == 0;
        FILE *out = to_stdout ? stdout : fopen(file, "wb");
        if (!out)
                return cli_usage_error(cmd, "cannot write %s", file);
        int r = cli_transfer(c, "GET", path, NULL, out);
        if (!to_stdout && fclose(out) != 0 && r == 0)
                r = cli_usage_error(cmd, "cannot write %s", file);
        if (!to_stdout && r != 0)
                remove(file);
        return r;
}

int cli_id_cmd(struct cli *c, const char *name, const char *method, const char *base,
               const char *what, const char *done, int argc, char **argv,
               void (*show)(const json_t *doc))
{
        return one_cmd(c, name, method, base, what, done, argc, argv, show, cli_id_arg);
}

/* A volume's ID or name: [A-Za-z0-9_-], up to 64. */
static int volume_arg(const struct cli_cmd *cmd, const char *ref, const char *what)
{
        const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        if (!*ref || strlen(ref) > 64 || strspn(ref, ok) != strlen(ref))
                return cli_usage_error(cmd, "'%s' is not %s", ref, what);
        return 0;
}

int cli_volume_cmd(struct cli *c, const char *name, const char *method, const char *done, int argc,
                   char **argv, void (*show)(const json_t *doc))
{
        return one_cmd(c, name, method, "/v1/volumes", "a volume ID or name", done, argc, argv,
                       show, volume_arg);
}

/* A secret's name: [A-Za-z0-9_], up to 128, not starting with a digit. */
static int secret_arg(const struct cli_cmd *cmd, const char *name, const char *what)
{
        const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
        if (!*name || strlen(name) > 128 || strspn(name, ok) != strlen(name) ||
            (*name >= '0' && *name <= '9'))
                return cli_usage_error(cmd, "'%s' is not %s", name, what);
        return 0;
}

int cli_secret_name_arg(const struct cli_cmd *cmd, const char *name)
{
        return secret_arg(cmd, name, "a secret's name ([A-Za-z0-9_], not starting with a digit)");
}

int cli_secret_cmd(struct cli *c, const char *name, const char *method, const char *done, int argc,
                   char **argv, void (*show)(const json_t *doc))
{
        return one_cmd(c, name, method, "/v1/secrets", "a secret's name", done, argc, argv, show,
                       secret_arg);
}

int cli_volume_name_arg(const struct cli_cmd *cmd, const char *name)
{
        return volume_arg(cmd, name, "a volume name ([A-Za-z0-9_-], up to 64)");
}

int cli_ref_cmd(struct cli *c, const char *name, const char *method, const char *base,
                const char *done, int argc, char **argv, void (*show)(const json_t *doc))
{
        return one_cmd(c, name, method, base, "a template name[:tag]", done, argc, argv, show,
                       cli_ref_arg);
}

void cli_write_base64(FILE *f, const char *s)
{
        size_t n = s ? strlen(s) : 0;
        unsigned char *raw = malloc(n / 4 * 3 + 3);
        ssize_t len = raw ? base64_decode(s ? s : "", n, raw, n / 4 * 3 + 3) : -1;
        if (len > 0)
                fwrite(raw, 1, (size_t)len, f);
        free(raw);
}
