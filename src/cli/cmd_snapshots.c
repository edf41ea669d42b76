/* nullspace snapshots create|list|get|delete */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void snapshot_row(const json_t *s)
{
        printf("%-20s %-8s %-20s %10lld  %s\n", json_string_value(json_object_get(s, "id")),
               json_string_value(json_object_get(s, "state")),
               json_string_value(json_object_get(s, "machine_id")),
               (long long)json_integer_value(json_object_get(s, "size_bytes")),
               json_string_value(json_object_get(s, "name")));
}

static void show_one(const json_t *s)
{
        snapshot_row(s);
}

static void show_list(const json_t *d)
{
        printf("%-20s %-8s %-20s %10s  %s\n", "ID", "STATE", "MACHINE", "BYTES", "NAME");
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(d, "snapshots"), i, s) snapshot_row(s);
        const char *next = json_string_value(json_object_get(d, "next_cursor"));
        if (next)
                printf("(more: --cursor %s)\n", next);
}

int cmd_snapshots_create(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("snapshots create");
        const char *v[1] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos != 1)
                return cli_usage_error(cmd, "expected one machine ID");
        if ((r = cli_id_arg(cmd, argv[0], "a machine ID (m_...)")))
                return r;
        json_t *body = json_object();
        if (v[0])
                json_object_set_new(body, "name", json_string(v[0]));
        char path[128];
        snprintf(path, sizeof(path), "/v1/machines/%s/snapshots", argv[0]);
        return cli_call(c, "POST", path, body, show_one);
}

int cmd_snapshots_list(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("snapshots list");
        const char *v[2] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[0]);
        char path[256];
        if ((r = cli_page_path(cmd, "/v1/snapshots", v[0], v[1], path, sizeof(path))))
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
                return cli_usage_error(cmd, "expected one snapshot ID");
        if ((r = cli_id_arg(cmd, argv[0], "a snapshot ID (s_...)")))
                return r;
        char path[128];
        snprintf(path, sizeof(path), "/v1/snapshots/%s", argv[0]);
        r = cli_call(c, method, path, NULL, show);
        if (r == 0 && !show) {
                json_t *d = json_pack("{s:s,s:b}", "id", argv[0], "deleted", 1);
                if (c->json)
                        cli_print_json(d);
                else
                        printf("deleted %s\n", argv[0]);
                json_decref(d);
        }
        return r;
}

int cmd_snapshots_get(struct cli *c, int argc, char **argv)
{
        return by_id(c, "snapshots get", "GET", argc, argv, show_one);
}

int cmd_snapshots_delete(struct cli *c, int argc, char **argv)
{
        return by_id(c, "snapshots delete", "DELETE", argc, argv, NULL);
}
