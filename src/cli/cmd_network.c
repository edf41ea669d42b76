/* nullspace machines network|preview: a machine's egress policy and its preview URLs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void show_list_field(const json_t *net, const char *key)
{
        size_t i;
        json_t *v;
        printf("%-22s", key);
        json_array_foreach(json_object_get(net, key), i, v)
            printf("%s%s", i ? ", " : "", json_string_value(v));
        printf("%s\n", json_array_size(json_object_get(net, key)) ? "" : "-");
}

static void show_network(const json_t *m)
{
        const json_t *net = json_object_get(m, "network");
        if (!json_is_object(net)) {
                printf("no network (networking is off on the daemon's host)\n");
                return;
        }
        printf("%-22s%s\n%-22s%s\n%-22s%s\n", "address",
               json_string_value(json_object_get(net, "address")), "gateway",
               json_string_value(json_object_get(net, "gateway")), "allow_internet_access",
               json_is_true(json_object_get(net, "allow_internet_access")) ? "true" : "false");
        show_list_field(net, "allow_out");
        show_list_field(net, "deny_out");
        printf("%-22s%s\n", "public_all",
               json_is_true(json_object_get(net, "public_all")) ? "true" : "false");
}

/* A JSON array of the flag's values ("" as the only value: an empty list). */
static json_t *cidr_list(const struct cli_multi *m)
{
        json_t *a = json_array();
        for (int i = 0; i < m->n; i++)
                if (m->v[i][0])
                        json_array_append_new(a, json_string(m->v[i]));
        return a;
}

int cmd_machines_network(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("machines network");
        const char *v[6] = {0};
        struct cli_multi multi[6] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, multi, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (npos != 1)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[1]);
        if (v[0] && v[1])
                return cli_usage_error(cmd, "--internet and --no-internet exclude each other");
        if (v[4] && v[5])
                return cli_usage_error(cmd, "--public-all and --no-public-all exclude each other");
        char path[128];
        snprintf(path, sizeof(path), "/v1/machines/%s", id);
        int change = v[0] || v[1] || multi[2].n || multi[3].n || v[4] || v[5];
        if (!change) /* no flags: show it */
                return cli_call(c, "GET", path, NULL, show_network);
        json_t *body = json_object();
        if (v[0] || v[1])
                json_object_set_new(body, "allow_internet_access", json_boolean(v[0] != NULL));
        if (multi[2].n)
                json_object_set_new(body, "allow_out", cidr_list(&multi[2]));
        if (multi[3].n)
                json_object_set_new(body, "deny_out", cidr_list(&multi[3]));
        if (v[4] || v[5])
                json_object_set_new(body, "public_all", json_boolean(v[4] != NULL));
        snprintf(path, sizeof(path), "/v1/machines/%s/network", id);
        return cli_call(c, "PUT", path, body, show_network);
}

static void show_preview(const json_t *p)
{
        printf("%s\n", json_string_value(json_object_get(p, "url")));
        const char *pub = json_string_value(json_object_get(p, "public_url"));
        if (pub)
                printf("public: %s\n", pub);
}

int cmd_machines_preview(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("machines preview");
        const char *v[3] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (npos != 2)
                return cli_usage_error(cmd, "expected a machine ID and a port");
        if (v[1] && v[2])
                return cli_usage_error(cmd, "--public and --private exclude each other");
        json_t *body = json_object();
        if ((r = cli_set_int(cmd, body, "port", "PORT", argv[1])) ||
            (r = cli_set_int(cmd, body, "expires_in_s", "--expires-s", v[0]))) {
                json_decref(body);
                return r;
        }
        if (v[1] || v[2])
                json_object_set_new(body, "public", json_boolean(v[1] != NULL));
        char path[128];
        snprintf(path, sizeof(path), "/v1/machines/%s/previews", id);
        return cli_call(c, "POST", path, body, show_preview);
}
