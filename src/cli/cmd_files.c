/* nullspace files read|write|ls|stat|rm|mkdir|mv|sign — a machine's files, or a
 * volume's (its ID v_..., or volume:NAME), from the shell. read and write stream
 * (standard output / input, or --from FILE) with a progress line on a terminal. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "cli.h"

int cli_files_base(const struct cli_cmd *cmd, const char *target, char *out, size_t cap)
{
        const char *vol = strncmp(target, "volume:", 7) == 0 ? target + 7
                          : strncmp(target, "v_", 2) == 0    ? target
                                                             : NULL;
        const char *id = vol ? vol : target;
        const char *ok = vol ? "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
                             : "abcdefghijklmnopqrstuvwxyz0123456789_";
        if (!*id || strlen(id) > 64 || strspn(id, ok) != strlen(id))
                return cli_usage_error(cmd,
                                       "'%s' is not a machine ID (m_...), a volume ID (v_...) "
                                       "or volume:NAME",
                                       target);
        snprintf(out, cap, "/v1/%s/%s", vol ? "volumes" : "machines", id);
        return 0;
}

/* Parses "ID PATH..." (exactly `want` positionals); fills the escaped URL for `suffix`. */
static int target(const struct cli_cmd *cmd, int argc, char **argv, int want, const char *suffix,
                  const char *extra_query, char *url, size_t cap, int *npos)
{
        int r = cli_parse_flags(cmd, argc, argv, NULL, NULL, npos);
        if (r)
                return r;
        if (*npos != want)
                return cli_usage_error(cmd, "expected %s", cmd->args);
        char base[128];
        if ((r = cli_files_base(cmd, argv[0], base, sizeof(base))))
                return r;
        char *path = curl_easy_escape(NULL, argv[1], 0);
        snprintf(url, cap, "%s/files%s?path=%s%s", base, suffix, path ? path : "",
                 extra_query ? extra_query : "");
        curl_free(path);
        return 0;
}

static void show_path(const json_t *d)
{
        printf("%s\n", json_string_value(json_object_get(d, "path")));
}

static void show_stat(const json_t *d)
{
        printf("%-8s %6o %12lld  %s\n", json_string_value(json_object_get(d, "type")),
               (unsigned)json_integer_value(json_object_get(d, "mode")),
               (long long)json_integer_value(json_object_get(d, "size")),
               json_string_value(json_object_get(d, "path")));
}

static void show_list(const json_t *d)
{
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(d, "entries"), i, e) show_stat(e);
        if (json_is_true(json_object_get(d, "truncated")))
                printf("(listing truncated)\n");
}

int cmd_files_ls(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("files ls");
        const char *v[1] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (v[0] &&
            (strspn(v[0], "0123456789") != strlen(v[0]) || atoi(v[0]) < 1 || atoi(v[0]) > 32))
                return cli_usage_error(cmd, "--depth takes 1 to 32");
        char extra[32] = "", url[4096];
        if (v[0])
                snprintf(extra, sizeof(extra), "&depth=%s", v[0]);
        r = target(cmd, npos, argv, 2, "/list", extra, url, sizeof(url), &npos);
        return r ? r : cli_call(c, "GET", url, NULL, show_list);
}

int cmd_files_stat(struct cli *c, int argc, char **argv)
{
        char url[4096];
        int npos, r = target(cli_find("files stat"), argc, argv, 2, "/stat", NULL, url, sizeof(url),
                             &npos);
        return r ? r : cli_call(c, "GET", url, NULL, show_stat);
}

int cmd_files_rm(struct cli *c, int argc, char **argv)
{
        char url[4096];
        int npos,
            r = target(cli_find("files rm"), argc, argv, 2, "", NULL, url, sizeof(url), &npos);
        return r ? r : cli_call(c, "DELETE", url, NULL, NULL);
}

static int action(struct cli *c, const char *name, const char *op, int argc, char **argv, int want)
{
        const struct cli_cmd *cmd = cli_find(name);
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r)
                return r;
        if (npos != want)
                return cli_usage_error(cmd, "expected %s", cmd->args);
        char base[128], url[256];
        if ((r = cli_files_base(cmd, argv[0], base, sizeof(base))))
                return r;
        snprintf(url, sizeof(url), "%s/files/%s", base, op);
        json_t *body = json_pack("{s:s}", "path", argv[1]);
        if (want == 3)
                json_object_set_new(body, strcmp(op, "chmod") ? "to" : "mode",
                                    json_string(argv[2]));
        return cli_call(c, "POST", url, body, show_path);
}

int cmd_files_chmod(struct cli *c, int argc, char **argv)
{
        return action(c, "files chmod", "chmod", argc, argv, 3);
}

int cmd_files_mkdir(struct cli *c, int argc, char **argv)
{
        return action(c, "files mkdir", "mkdir", argc, argv, 2);
}

int cmd_files_mv(struct cli *c, int argc, char **argv)
{
        return action(c, "files mv", "rename", argc, argv, 3);
}

int cmd_files_read(struct cli *c, int argc, char **argv)
{
        char url[4096];
        int npos,
            r = target(cli_find("files read"), argc, argv, 2, "", NULL, url, sizeof(url), &npos);
        if (r)
                return r;
        if (!c->json)
                return cli_transfer(c, "GET", url, NULL, stdout);
        /* --json: the content as base64 in a document (up to 64 MiB) */
        char *mem = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&mem, &len);
        if (!f)
                return 1;
        r = cli_transfer(c, "GET", url, NULL, f);
        fclose(f);
        if (r == 0 && len > (64u << 20)) {
                free(mem);
                return cli_usage_error(cli_find("files read"),
                                       "the file is larger than --json shows (64 MiB)");
        }
        if (r == 0) {
                json_t *doc = json_pack("{s:s,s:I,s:s,s:o}", "path", argv[1], "bytes",
                                        (json_int_t)len, "encoding", "base64", "content",
                                        json_base64(mem, len) ?: json_null());
                cli_print_json(doc);
                json_decref(doc);
        }
        free(mem);
        return r;
}

int cmd_files_write(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("files write");
        const char *v[2] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (v[0] && (strlen(v[0]) > 4 || strspn(v[0], "01234567") != strlen(v[0])))
                return cli_usage_error(cmd, "--mode takes octal permission bits, like 644");
        char extra[32] = "", url[4096];
        if (v[0])
                snprintf(extra, sizeof(extra), "&mode=%s", v[0]);
        r = target(cmd, npos, argv, 2, "", extra, url, sizeof(url), &npos);
        if (r)
                return r;
        FILE *in = stdin;
        if (v[1] && !(in = fopen(v[1], "rb")))
                return cli_usage_error(cmd, "cannot read %s", v[1]);
        r = cli_transfer(c, "PUT", url, in, NULL);
        if (in != stdin)
                fclose(in);
        return r;
}

static void show_url(const json_t *d)
{
        printf("%s\n", json_string_value(json_object_get(d, "url")));
}

int cmd_files_sign(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("files sign");
        const char *v[2] = {0};
        char base[128];
        int r = cli_target_path_args(cmd, argc, argv, v, base, sizeof(base));
        if (r)
                return r;
        json_t *body = json_pack("{s:s}", "path", argv[1]);
        if (v[0])
                json_object_set_new(body, "method", json_string(v[0]));
        if ((r = cli_set_int(cmd, body, "expires_in_s", "--expires-s", v[1]))) {
                json_decref(body);
                return r;
        }
        char path[160];
        snprintf(path, sizeof(path), "%s/signed-urls", base);
        return cli_call(c, "POST", path, body, show_url);
}
