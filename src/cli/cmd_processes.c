/* `nullspace processes ...`: background and PTY processes of a machine (list, start,
 * logs, kill, stdin), over the /v1/machines/{id}/processes routes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "cli.h"

#define PROC_STDIN_MAX (768u << 10) /* one stdin message (the route's bound) */

static void show_list(const json_t *doc)
{
        json_t *procs = json_object_get(doc, "processes"), *p;
        size_t i;
        printf("%-8s %-16s %-8s %-6s %s\n", "PID", "TAG", "STATE", "EXIT", "COMMAND");
        json_array_foreach(procs, i, p)
        {
                int running = json_is_true(json_object_get(p, "running"));
                char exit_s[16] = "-";
                if (!running)
                        snprintf(exit_s, sizeof(exit_s), "%lld",
                                 (long long)json_integer_value(json_object_get(p, "exit_code")));
                printf("%-8lld %-16s %-8s %-6s %s%s\n",
                       (long long)json_integer_value(json_object_get(p, "pid")),
                       json_string_value(json_object_get(p, "tag"))[0]
                           ? json_string_value(json_object_get(p, "tag"))
                           : "-",
                       running ? "running" : "exited", exit_s,
                       json_is_true(json_object_get(p, "pty")) ? "[pty] " : "",
                       json_string_value(json_object_get(p, "cmd")));
        }
}

/* The machine ID and, when `with_ref`, the process (PID or tag) of a command line;
 * NULL after a usage error in *ret. */
static const char *target(const struct cli_cmd *cmd, int npos, char **argv, int with_ref,
                          char *path, size_t cap, const char *suffix, int *ret)
{
        const char *id = cli_machine_id(cmd, npos, argv, ret);
        if (!id)
                return NULL;
        if (with_ref && (npos < 2 || !argv[1][0] || strlen(argv[1]) > 64 ||
                         strspn(argv[1], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_.-") != strlen(argv[1]))) {
                *ret = cli_usage_error(cmd, "expected a process: a PID or a tag");
                return NULL;
        }
        snprintf(path, cap, "/v1/machines/%s/processes%s%s%s", id, with_ref ? "/" : "",
                 with_ref ? argv[1] : "", suffix);
        return id;
}

int cmd_processes_list(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("processes list");
        char path[256];
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r || !target(cmd, npos, argv, 0, path, sizeof(path), "", &r))
                return r;
        return cli_call(c, "GET", path, NULL, show_list);
}

static void show_started(const json_t *doc)
{
        printf("%lld\n", (long long)json_integer_value(json_object_get(doc, "pid")));
}

int cmd_processes_start(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("processes start");
        const char *v[7] = {0};
        struct cli_multi multi[7] = {0};
        char path[256];
        int npos, r = cli_parse_flags(cmd, argc, argv, v, multi, &npos);
        if (r || !target(cmd, npos, argv, 0, path, sizeof(path), "", &r))
                return r;
        json_t *body = json_object(), *env = NULL, *args = json_array();
        for (int i = 1; i < npos; i++)
                json_array_append_new(args, json_string(argv[i]));
        if (npos > 1)
                json_object_set_new(body, "argv", args);
        else
                json_decref(args);
        if (npos < 2 && !v[1]) {
                json_decref(body);
                return cli_usage_error(cmd, "give the command after the machine ID (-- cmd "
                                            "args); only --pty may go without one");
        }
        if (v[0])
                json_object_set_new(body, "tag", json_string(v[0]));
        if (v[1])
                json_object_set_new(body, "pty", json_true());
        if (v[2])
                json_object_set_new(body, "cwd", json_string(v[2]));
        if (v[3])
                json_object_set_new(body, "user", json_string(v[3]));
        if ((r = cli_pairs(cmd, &multi[4], "--env", &env)) ||
            (r = cli_set_int(cmd, body, "cols", "--cols", v[5])) ||
            (r = cli_set_int(cmd, body, "rows", "--rows", v[6]))) {
                json_decref(body);
                json_decref(env);
                return r;
        }
        if (env)
                json_object_set_new(body, "env", env);
        return cli_call(c, "POST", path, body, show_started);
}

/* Writes a logs answer's stream (base64 when the answer says so) to f. */
static void write_stream(const json_t *doc, const char *key, FILE *f)
{
        const char *s = json_string_value(json_object_get(doc, key));
        size_t n = s ? strlen(s) : 0;
        if (strcmp(json_string_value(json_object_get(doc, "encoding")) ?: "", "base64") != 0) {
                fwrite(s ? s : "", 1, n, f);
                return;
        }
        cli_write_base64(f, s);
}

static void show_logs(const json_t *doc)
{
        write_stream(doc, "stdout", stdout);
        write_stream(doc, "stderr", stderr);
}

int cmd_processes_logs(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("processes logs");
        char path[256];
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r || !target(cmd, npos, argv, 1, path, sizeof(path), "/logs", &r))
                return r;
        return cli_call(c, "GET", path, NULL, show_logs);
}

int cmd_processes_kill(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("processes kill");
        const char *v[1] = {0};
        char path[256];
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r || !target(cmd, npos, argv, 1, path, sizeof(path), "/signal", &r))
                return r;
        return cli_call(c, "POST", path, json_pack("{s:s}", "signal", v[0] ? v[0] : "KILL"), NULL);
}

int cmd_processes_stdin(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("processes stdin");
        const char *v[1] = {0};
        char path[256];
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r || !target(cmd, npos, argv, 1, path, sizeof(path), "/stdin", &r))
                return r;
        size_t len;
        char *in = cli_read_stdin(PROC_STDIN_MAX, &len);
        if (!in)
                return cli_usage_error(cmd, "standard input is larger than 768 KiB");
        json_t *data = json_base64(in, len);
        free(in);
        json_t *body = json_pack("{s:o,s:s,s:b}", "data", data ? data : json_null(), "encoding",
                                 "base64", "eof", v[0] != NULL);
        return cli_call(c, "POST", path, body, NULL);
}

int cmd_processes_resize(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("processes resize");
        char path[256];
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r || !target(cmd, npos, argv, 1, path, sizeof(path), "/resize", &r))
                return r;
        if (npos != 4 || !argv[2][0] || !argv[3][0] ||
            strspn(argv[2], "0123456789") != strlen(argv[2]) ||
            strspn(argv[3], "0123456789") != strlen(argv[3]) || strlen(argv[2]) > 4 ||
            strlen(argv[3]) > 4)
                return cli_usage_error(cmd, "expected COLS and ROWS (whole numbers)");
        return cli_call(c, "POST", path,
                        json_pack("{s:i,s:i}", "cols", atoi(argv[2]), "rows", atoi(argv[3])), NULL);
}
