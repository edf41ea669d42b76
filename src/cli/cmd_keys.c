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
        cli_print_rows(d, "keys", key_row);
}

static void show_one(const json_t *d)
{
        key_row(d);
}

int cmd_keys_create(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("keys create");
        const char *v[2] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[0]);
        json_t *body = json_object();
        if (v[0])
                json_object_set_new(body, "name", json_string(v[0]));
        if (v[1])
                json_object_set_new(body, "format", json_string(v[1]));
        return cli_call(c, "POST", "/v1/keys", body, show_created);
}

int cmd_keys_list(struct cli *c, int argc, char **argv)
{
        return cli_list_cmd(c, "keys list", "/v1/keys", argc, argv, show_list);
}

int cmd_keys_get(struct cli *c, int argc, char **argv)
{
        return cli_id_cmd(c, "keys get", "GET", "/v1/keys", "a key ID (key_...)", NULL, argc, argv,
                          show_one);
}

int cmd_keys_revoke(struct cli *c, int argc, char **argv)
{
        return cli_id_cmd(c, "keys revoke", "DELETE", "/v1/keys", "a key ID (key_...)", "revoked",
                          argc, argv, NULL);
}
