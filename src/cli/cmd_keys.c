/* nullspace keys create|list|get|revoke */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cleanup.h"
#include "cli.h"

static void show_created(const json_t *d)
{
        printf("created key %s (%s)\n\n  %s\n\nThe secret is shown once; store it now.\n",
               json_string_value(json_object_get(d, "id")),
               json_string_value(json_object_get(d, "name")),
               json_string_value(json_object_get(d, "key")));
}

static void key_row(const json_t *k)
{
        json_t *rev = json_object_get(k, "revoked_at");
        printf("%-22s %-12s %-24s %s\n", json_string_value(json_object_get(k, "id")),
               json_string_value(json_object_get(k, "prefix")),
               json_string_value(json_object_get(k, "name")),
               json_is_integer(rev) ? "revoked" : "active");
}

static void show_list(const json_t *d)
{
        printf("%-22s %-12s %-24s %s\n", "ID", "PREFIX", "NAME", "STATE");
        size_t i;
        json_t *k;
        json_array_foreach(json_object_get(d, "keys"), i, k) key_row(k);
        const char *next = json_string_value(json_object_get(d, "next_cursor"));
        if (next)
                printf("(more: --cursor %s)\n", next);
}

static void show_one(const json_t *d)
{
        key_row(d);
}

int cmd_keys_create(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("keys create");
        const char *v[1] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[0]);
        json_t *body = json_object();
        if (v[0])
                json_object_set_new(body, "name", json_string(v[0]));
        return cli_call(c, "POST", "/v1/keys", body, show_created);
}

int cmd_keys_list(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("keys list");
        const char *v[2] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[0]);
        char path[256];
        if ((r = cli_page_path(cmd, "/v1/keys", v[0], v[1], path, sizeof(path))))
                return r;
        return cli_call(c, "GET", path, NULL, show_list);
}

static int by_id(struct cli *c, const char *name, const char *method, int argc, char **argv,
                 void (*show)(const json_t *))
{
        const struct cli_cmd *cmd = cli_find(name);
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r)
                return r;
        if (npos != 1)
                return cli_usage_error(cmd, "expected one key ID");
        if ((r = cli_id_arg(cmd, argv[0], "a key ID (key_...)")))
                return r;
        char path[128];
        snprintf(path, sizeof(path), "/v1/keys/%s", argv[0]);
        r = cli_call(c, method, path, NULL, show);
        if (r == 0 && !show && !c->json)
                printf("revoked %s\n", argv[0]);
        if (r == 0 && !show && c->json) {
                json_t *d = json_pack("{s:s,s:b}", "id", argv[0], "revoked", 1);
                cli_print_json(d);
                json_decref(d);
        }
        return r;
}

int cmd_keys_get(struct cli *c, int argc, char **argv)
{
        return by_id(c, "keys get", "GET", argc, argv, show_one);
}

int cmd_keys_revoke(struct cli *c, int argc, char **argv)
{
        return by_id(c, "keys revoke", "DELETE", argc, argv, NULL);
}
