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
        cli_print_rows(d, "snapshots", snapshot_row);
}

int cmd_snapshots_create(struct cli *c, int argc, char **argv)
{
        c->waiting = "snapshotting";
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
        return cli_list_cmd(c, "snapshots list", "/v1/snapshots", argc, argv, show_list);
}

int cmd_snapshots_get(struct cli *c, int argc, char **argv)
{
        return cli_id_cmd(c, "snapshots get", "GET", "/v1/snapshots", "a snapshot ID (s_...)", NULL,
                          argc, argv, show_one);
}

int cmd_snapshots_delete(struct cli *c, int argc, char **argv)
{
        return cli_id_cmd(c, "snapshots delete", "DELETE", "/v1/snapshots", "a snapshot ID (s_...)",
                          "deleted", argc, argv, NULL);
}
