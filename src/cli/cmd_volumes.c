/* nullspace volumes create|list|get|delete, and the --volume flag of machines create.
 * A volume's files are reached with the files commands (volume:NAME or its ID). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void volume_row(const json_t *v)
{
        printf("%-20s %-8s %8lld %12lld  %s\n", json_string_value(json_object_get(v, "id")),
               json_string_value(json_object_get(v, "state")),
               (long long)json_integer_value(json_object_get(v, "size_mb")),
               (long long)json_integer_value(json_object_get(v, "used_bytes")),
               json_string_value(json_object_get(v, "name")));
}

static void show_one(const json_t *v)
{
        volume_row(v);
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(v, "machines"), i, m)
            printf("  mounted by %s\n", json_string_value(m));
}

static void show_list(const json_t *d)
{
        printf("%-20s %-8s %8s %12s  %s\n", "ID", "STATE", "SIZE_MB", "USED_BYTES", "NAME");
        cli_print_rows(d, "volumes", volume_row);
}

int cmd_volumes_create(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("volumes create");
        const char *v[2] = {0};
        struct cli_multi multi[2] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, multi, &npos);
        if (r)
                return r;
        if (npos != 1)
                return cli_usage_error(cmd, "expected one volume name");
        if ((r = cli_volume_name_arg(cmd, argv[0])))
                return r;
        json_t *body = json_pack("{s:s,s:i}", "name", argv[0], "size_mb", 1024), *meta = NULL;
        if ((r = cli_set_int(cmd, body, "size_mb", "--size-mb", v[0])) ||
            (r = cli_pairs(cmd, &multi[1], "--metadata", &meta))) {
                json_decref(body);
                return r;
        }
        if (meta)
                json_object_set_new(body, "metadata", meta);
        return cli_call(c, "POST", "/v1/volumes", body, show_one);
}

int cmd_volumes_list(struct cli *c, int argc, char **argv)
{
        return cli_list_cmd(c, "volumes list", "/v1/volumes", argc, argv, show_list);
}

int cmd_volumes_get(struct cli *c, int argc, char **argv)
{
        return cli_volume_cmd(c, "volumes get", "GET", NULL, argc, argv, show_one);
}

int cmd_volumes_delete(struct cli *c, int argc, char **argv)
{
        return cli_volume_cmd(c, "volumes delete", "DELETE", "deleted", argc, argv, NULL);
}

/* One --volume NAME:/path[:ro][:subpath=a/b] into a mount object; NULL after a usage
 * error (its status in *ret). */
static json_t *parse_mount(const struct cli_cmd *cmd, const char *spec, int *ret)
{
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", spec);
        char *save = NULL, *name = strtok_r(buf, ":", &save), *path = strtok_r(NULL, ":", &save);
        if (!name || !path) {
                *ret = cli_usage_error(
                    cmd, "--volume takes NAME:/PATH[:ro][:subpath=DIR], not '%s'", spec);
                return NULL;
        }
        json_t *m = json_pack("{s:s,s:s}", "volume", name, "path", path);
        for (char *opt; (opt = strtok_r(NULL, ":", &save));) {
                if (strcmp(opt, "ro") == 0) {
                        json_object_set_new(m, "read_only", json_true());
                } else if (strncmp(opt, "subpath=", 8) == 0) {
                        json_object_set_new(m, "subpath", json_string(opt + 8));
                } else {
                        json_decref(m);
                        *ret = cli_usage_error(cmd, "--volume option '%s': ro or subpath=DIR", opt);
                        return NULL;
                }
        }
        return m;
}

int cli_volume_mounts(const struct cli_cmd *cmd, const struct cli_multi *m, json_t *body)
{
        if (m->n == 0)
                return 0;
        json_t *arr = json_array();
        for (int i = 0; i < m->n; i++) {
                int r = 0;
                json_t *one = parse_mount(cmd, m->v[i], &r);
                if (!one) {
                        json_decref(arr);
                        return r;
                }
                json_array_append_new(arr, one);
        }
        json_object_set_new(body, "volumes", arr);
        return 0;
}
