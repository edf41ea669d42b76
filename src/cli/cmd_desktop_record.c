/* nullspace desktop record start|stop|list|get|download|delete: recordings of a desktop
 * machine's screen, kept on the host until deleted (docs/desktop.md, "Recordings"). */
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "cli.h"

static long long num(const json_t *o, const char *k)
{
        return (long long)json_integer_value(json_object_get(o, k));
}

static void rec_row(const json_t *r)
{
        const char *reason = json_string_value(json_object_get(r, "reason"));
        printf("%-22s %-9s %3lld fps %10lld bytes %8.1f s%s%s\n",
               json_string_value(json_object_get(r, "id")) ?: "",
               json_string_value(json_object_get(r, "state")) ?: "", num(r, "fps"), num(r, "bytes"),
               (double)num(r, "duration_ms") / 1000.0, reason ? "  " : "", reason ? reason : "");
}

static void show_started(const json_t *r)
{
        printf("%s\n", json_string_value(json_object_get(r, "id")) ?: "");
}

static void show_list(const json_t *doc)
{
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(doc, "recordings"), i, r) rec_row(r);
}

/* The machine and the recording of argv: the recording's path with suffix. 0, or the
 * usage error's status. */
static int rec_path(const struct cli_cmd *cmd, int npos, char **argv, const char *suffix,
                    char *path, size_t cap)
{
        int r = 0;
        const char *id = cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (npos != 2)
                return cli_usage_error(cmd, "expected a machine ID and a recording ID");
        if (!is_safe_token(argv[1], 32))
                return cli_usage_error(cmd, "'%s' is not a recording ID", argv[1]);
        snprintf(path, cap, "/v1/machines/%s/desktop/recordings/%s%s", id, argv[1], suffix);
        return 0;
}

int cmd_desktop_record_start(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop record start");
        const char *v[1] = {0};
        char path[200];
        int r = cli_machine_args(cmd, argc, argv, v, "/desktop/recordings", path, sizeof(path));
        if (r)
                return r;
        json_t *body = json_object();
        if ((r = cli_set_int(cmd, body, "fps", "--fps", v[0]))) {
                json_decref(body);
                return r;
        }
        return cli_call(c, "POST", path, body, show_started);
}

/* A verb with no flags on one recording. */
static int on_rec(struct cli *c, const char *name, int argc, char **argv, const char *method,
                  const char *suffix, void (*show)(const json_t *doc))
{
        const struct cli_cmd *cmd = cli_find(name);
        char path[200];
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r || (r = rec_path(cmd, npos, argv, suffix, path, sizeof(path))))
                return r;
        return cli_call(c, method, path, NULL, show);
}

int cmd_desktop_record_stop(struct cli *c, int argc, char **argv)
{
        return on_rec(c, "desktop record stop", argc, argv, "POST", "/stop", rec_row);
}

int cmd_desktop_record_list(struct cli *c, int argc, char **argv)
{
        return cli_machine_cmd(c, "desktop record list", "GET", "/desktop/recordings", argc, argv,
                               show_list);
}

int cmd_desktop_record_get(struct cli *c, int argc, char **argv)
{
        return on_rec(c, "desktop record get", argc, argv, "GET", "", rec_row);
}

int cmd_desktop_record_delete(struct cli *c, int argc, char **argv)
{
        return on_rec(c, "desktop record delete", argc, argv, "DELETE", "", NULL);
}

int cmd_desktop_record_download(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("desktop record download");
        const char *v[1] = {0};
        char path[200];
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r || (r = rec_path(cmd, npos, argv, "/file", path, sizeof(path))))
                return r;
        if (!v[0])
                return cli_usage_error(cmd, "give --out FILE (- for standard output)");
        return cli_download(c, cmd, path, v[0]);
}
