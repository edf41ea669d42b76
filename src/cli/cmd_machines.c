/* nullspace machines create|list|get|exec|destroy|timeout|hibernate|resume|fork */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "cli.h"

#define STDIN_MAX (8u << 20)

static void machine_row(const json_t *m)
{
        printf("%-20s %-10s %-8s %s\n", json_string_value(json_object_get(m, "id")),
               json_string_value(json_object_get(m, "state")),
               json_string_value(json_object_get(m, "template")),
               json_string_value(json_object_get(m, "failure_reason")) ?: "");
}

static void show_one(const json_t *m)
{
        machine_row(m);
}

static void show_list(const json_t *d)
{
        printf("%-20s %-10s %-8s %s\n", "ID", "STATE", "TEMPLATE", "REASON");
        cli_print_rows(d, "machines", machine_row);
}

static int is_number(const char *s)
{
        return s && *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 10;
}

int cli_pairs(const struct cli_cmd *cmd, const struct cli_multi *m, const char *flag, json_t **out)
{
        *out = NULL;
        if (m->n == 0)
                return 0;
        *out = json_object();
        for (int i = 0; i < m->n; i++) {
                const char *eq = strchr(m->v[i], '=');
                if (!eq || eq == m->v[i]) {
                        json_decref(*out);
                        *out = NULL;
                        return cli_usage_error(cmd, "%s takes KEY=VALUE, not '%s'", flag, m->v[i]);
                }
                char key[257];
                snprintf(key, sizeof(key), "%.*s", (int)(eq - m->v[i]), m->v[i]);
                json_object_set_new(*out, key, json_string(eq + 1));
        }
        return 0;
}

int cli_set_int(const struct cli_cmd *cmd, json_t *body, const char *field, const char *flag,
                const char *v)
{
        if (!v)
                return 0;
        if (!is_number(v))
                return cli_usage_error(cmd, "%s needs a whole number", flag);
        json_object_set_new(body, field, json_integer(atoll(v)));
        return 0;
}

int cmd_machines_create(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("machines create");
        const char *v[19] = {0};
        static struct cli_multi multi[19];
        memset(multi, 0, sizeof(multi));
        int npos, r = cli_parse_flags(cmd, argc, argv, v, multi, &npos);
        if (r)
                return r;
        if (npos)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[0]);
        if (v[12] && strcmp(v[12], "prefer") && strcmp(v[12], "require") && strcmp(v[12], "skip"))
                return cli_usage_error(cmd, "--pool takes prefer, require or skip");
        json_t *body = json_object(), *env = NULL, *meta = NULL;
        if (v[0])
                json_object_set_new(body, "template", json_string(v[0]));
        if ((r = cli_set_int(cmd, body, "vcpus", "--vcpus", v[1])) ||
            (r = cli_set_int(cmd, body, "memory_mb", "--memory-mb", v[2])) ||
            (r = cli_set_int(cmd, body, "timeout_s", "--timeout-s", v[3])) ||
            (r = cli_pairs(cmd, &multi[4], "--env", &env)) ||
            (r = cli_pairs(cmd, &multi[5], "--metadata", &meta)) ||
            (r = cli_volume_mounts(cmd, &multi[14], body))) {
                json_decref(body);
                json_decref(env);
                json_decref(meta);
                return r;
        }
        if (env)
                json_object_set_new(body, "env", env);
        if (meta)
                json_object_set_new(body, "metadata", meta);
        if (v[6])
                json_object_set_new(body, "user", json_string(v[6]));
        if (v[7])
                json_object_set_new(body, "cwd", json_string(v[7]));
        if (v[8])
                json_object_set_new(body, "timeout_action", json_string(v[8]));
        if (v[9])
                json_object_set_new(body, "auto_resume", json_false());
        if (v[10])
                json_object_set_new(body, "snapshot", json_string(v[10]));
        if (v[11])
                json_object_set_new(body, "network",
                                    json_pack("{s:b}", "allow_internet_access", 0));
        if (v[12])
                json_object_set_new(body, "pool", json_string(v[12]));
        if (v[13])
                json_object_set_new(body, "runtime", json_string(v[13]));
        int dw, dh, end = 0;
        if (v[17] && (sscanf(v[17], "%dx%d%n", &dw, &dh, &end) != 2 || v[17][end])) {
                json_decref(body);
                return cli_usage_error(cmd, "--desktop takes WIDTHxHEIGHT (1920x1080)");
        }
        if (v[17])
                json_object_set_new(body, "desktop",
                                    json_pack("{s:i,s:i}", "width", dw, "height", dh));
        if (multi[18].n) {
                json_t *names = json_array();
                for (int i = 0; i < multi[18].n; i++)
                        json_array_append_new(names, json_string(multi[18].v[i]));
                json_object_set_new(body, "secrets", names);
        }
        if (v[15] || v[16]) {
                json_t *idle = json_object();
                json_object_set_new(body, "idle", idle);
                if ((r = cli_set_int(cmd, idle, "pause_after_s", "--idle-pause-s", v[15])) ||
                    (r = cli_set_int(cmd, idle, "hibernate_after_s", "--idle-hibernate-s",
                                     v[16]))) {
                        json_decref(body);
                        return r;
                }
        }
        c->waiting = "creating";
        return cli_call(c, "POST", "/v1/machines", body, show_one);
}

int cmd_machines_list(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("machines list");
        const char *v[3] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[0]);
        if ((v[1] && !is_number(v[1])) || (v[2] && strspn(v[2], "0123456789") != strlen(v[2])))
                return cli_usage_error(cmd, "--limit and --cursor take numbers");
        if (v[0] && strspn(v[0], "abcdefghijklmnopqrstuvwxyz") != strlen(v[0]))
                return cli_usage_error(cmd, "--state takes a state name");
        char path[256] = "/v1/machines";
        const char *names[] = {"state", "limit", "cursor"};
        for (int i = 0; i < 3; i++)
                if (v[i])
                        snprintf(path + strlen(path), sizeof(path) - strlen(path), "%c%s=%s",
                                 strchr(path, '?') ? '&' : '?', names[i], v[i]);
        return cli_call(c, "GET", path, NULL, show_list);
}

const char *cli_machine_id(const struct cli_cmd *cmd, int npos, char **argv, int *ret)
{
        if (npos < 1) {
                *ret = cli_usage_error(cmd, "expected a machine ID");
                return NULL;
        }
        *ret = cli_id_arg(cmd, argv[0], "a machine ID (m_...)");
        return *ret ? NULL : argv[0];
}

static int by_id(struct cli *c, const char *name, const char *method, const char *suffix, int argc,
                 char **argv)
{
        return cli_machine_cmd(c, name, method, suffix, argc, argv, show_one);
}

static void show_doc(const json_t *doc)
{
        cli_print_json(doc);
}

static void point_row(const json_t *p)
{
        const char *keys[] = {"ts",         "cpu_ns",       "memory_bytes",
                              "disk_bytes", "net_rx_bytes", "net_tx_bytes"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                json_t *v = json_object_get(p, keys[i]);
                if (json_is_integer(v))
                        printf("%-14lld ", (long long)json_integer_value(v));
                else
                        printf("%-14s ", "-");
        }
        putchar('\n');
}

static void show_series(const json_t *d)
{
        printf("%-14s %-14s %-14s %-14s %-14s %-14s\n", "TS", "CPU_NS", "MEMORY", "DISK", "NET_RX",
               "NET_TX");
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(d, "points"), i, p) point_row(p);
}

int cmd_machines_metrics(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("machines metrics");
        const char *v[1] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (v[0] && !is_number(v[0]))
                return cli_usage_error(cmd, "--since is a time in ms since the epoch (0: all)");
        char path[200];
        snprintf(path, sizeof(path), "/v1/machines/%s/metrics%s%s", id, v[0] ? "?since=" : "",
                 v[0] ? v[0] : "");
        return cli_call(c, "GET", path, NULL, v[0] ? show_series : show_doc);
}

static void show_events(const json_t *d)
{
        cli_print_rows(d, "events", cli_event_row);
}

int cmd_machines_events(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("machines events");
        const char *v[2] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if ((v[0] && !is_number(v[0])) || (v[1] && strspn(v[1], "0123456789") != strlen(v[1])))
                return cli_usage_error(cmd, "--limit and --cursor are whole numbers");
        char path[256];
        snprintf(path, sizeof(path), "/v1/machines/%s/events?limit=%s%s%s", id, v[0] ? v[0] : "100",
                 v[1] ? "&cursor=" : "", v[1] ? v[1] : "");
        return cli_call(c, "GET", path, NULL, show_events);
}

int cmd_machines_get(struct cli *c, int argc, char **argv)
{
        return by_id(c, "machines get", "GET", "", argc, argv);
}

int cmd_machines_destroy(struct cli *c, int argc, char **argv)
{
        return by_id(c, "machines destroy", "DELETE", "", argc, argv);
}

int cmd_machines_hibernate(struct cli *c, int argc, char **argv)
{
        c->waiting = "hibernating";
        return by_id(c, "machines hibernate", "POST", "/hibernate", argc, argv);
}

int cmd_machines_resume(struct cli *c, int argc, char **argv)
{
        c->waiting = "resuming";
        return by_id(c, "machines resume", "POST", "/resume", argc, argv);
}

int cmd_machines_pause(struct cli *c, int argc, char **argv)
{
        return by_id(c, "machines pause", "POST", "/pause", argc, argv);
}

static void show_forked(const json_t *d)
{
        printf("%-20s %-10s %-8s %s\n", "ID", "STATE", "TEMPLATE", "REASON");
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(d, "machines"), i, m) machine_row(m);
        printf("(the parent was paused %lld ms)\n",
               (long long)json_integer_value(json_object_get(d, "parent_pause_ms")));
}

int cmd_machines_fork(struct cli *c, int argc, char **argv)
{
        c->waiting = "forking";
        const struct cli_cmd *cmd = cli_find("machines fork");
        const char *v[2] = {0};
        struct cli_multi multi[2] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, multi, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (npos != 1)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[1]);
        json_t *body = json_object(), *meta;
        if ((r = cli_set_int(cmd, body, "count", "--count", v[0])) ||
            (r = cli_pairs(cmd, &multi[1], "--metadata", &meta))) {
                json_decref(body);
                return r;
        }
        if (meta)
                json_object_set_new(body, "metadata", meta);
        char path[128];
        snprintf(path, sizeof(path), "/v1/machines/%s/fork", id);
        return cli_call(c, "POST", path, body, show_forked);
}

int cmd_machines_timeout(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("machines timeout");
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (npos != 2 || !is_number(argv[1]))
                return cli_usage_error(cmd, "expected a machine ID and seconds");
        char path[128];
        snprintf(path, sizeof(path), "/v1/machines/%s/timeout", id);
        return cli_call(c, "POST", path,
                        json_pack("{s:I}", "timeout_s", (json_int_t)atoll(argv[1])), show_one);
}

/* All of fd (up to max bytes) as cli_read_stdin answers; errno E2BIG when larger. */
static char *read_fd(int fd, size_t max, size_t *len)
{
        struct buf b;
        buf_init(&b, max);
        char tmp[65536];
        ssize_t n;
        while ((n = read(fd, tmp, sizeof(tmp))) > 0)
                if (buf_append(&b, tmp, (size_t)n) < 0) {
                        buf_fini(&b);
                        errno = E2BIG;
                        return NULL;
                }
        if (n < 0) {
                buf_fini(&b);
                return NULL;
        }
        *len = b.len;
        return b.data ? b.data : strdup("");
}

char *cli_read_stdin(size_t max, size_t *len)
{
        return read_fd(0, max, len);
}

char *cli_read_path(const char *path, size_t max, size_t *len)
{
        if (strcmp(path, "-") == 0)
                return read_fd(0, max, len);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        char *s = read_fd(fd, max, len);
        int saved = errno;
        close(fd);
        errno = saved;
        return s;
}

/* Prints the command's output on our stdout/stderr and returns its exit code. */
static int show_exec(struct cli *c, const struct cli_resp *r)
{
        if (c->json) {
                cli_print_json(r->doc);
        } else {
                const char *out = json_string_value(json_object_get(r->doc, "stdout"));
                const char *err = json_string_value(json_object_get(r->doc, "stderr"));
                fputs(out ? out : "", stdout);
                fputs(err ? err : "", stderr);
                if (json_is_true(json_object_get(r->doc, "timed_out")))
                        fprintf(stderr, "nullspace: the command timed out and was killed\n");
        }
        return (int)json_integer_value(json_object_get(r->doc, "exit_code"));
}

/* A streamed exec: output written as it comes, then the exit (or an error) line. */
struct exec_stream {
        json_t *end; /* the exit or error line */
};

static void on_exec_line(void *ud, json_t *line)
{
        struct exec_stream *st = ud;
        const char *type = json_string_value(json_object_get(line, "type"));
        const char *data = json_string_value(json_object_get(line, "data"));
        if (type && data && (!strcmp(type, "stdout") || !strcmp(type, "stderr"))) {
                FILE *f = type[3] == 'o' ? stdout : stderr;
                size_t n = strlen(data);
                if (json_object_get(line, "encoding")) /* base64: not UTF-8 on its own */
                        cli_write_base64(f, data);
                else
                        fwrite(data, 1, n, f);
                fflush(f);
        } else if (type && (!strcmp(type, "exit") || !strcmp(type, "error"))) {
                json_decref(st->end);
                st->end = json_incref(line);
        }
}

static int exec_stream_end(struct cli *c, struct exec_stream *st)
{
        if (!st->end) {
                fprintf(stderr, "error: the output stream ended without an exit status\n");
                return ns_code_def(NS_E_INTERNAL)->exit_code;
        }
        json_t *err = json_object_get(st->end, "error");
        if (err) {
                struct cli_resp fake = {.status = 500, .doc = json_pack("{s:O}", "error", err)};
                int r = cli_fail_response(c, &fake);
                json_decref(fake.doc);
                return r;
        }
        if (json_is_true(json_object_get(st->end, "timed_out")))
                fprintf(stderr, "nullspace: the command timed out and was killed\n");
        return (int)json_integer_value(json_object_get(st->end, "exit_code"));
}

int cmd_machines_exec(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("machines exec");
        const char *v[5] = {0};
        struct cli_multi multi[5] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, multi, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (npos < 2)
                return cli_usage_error(cmd, "give the command after the machine ID (-- cmd args)");
        json_t *body = json_object(), *env = NULL, *args = json_array();
        for (int i = 1; i < npos; i++)
                json_array_append_new(args, json_string(argv[i]));
        json_object_set_new(body, "argv", args);
        if (v[0])
                json_object_set_new(body, "cwd", json_string(v[0]));
        if (v[1])
                json_object_set_new(body, "user", json_string(v[1]));
        if ((r = cli_set_int(cmd, body, "timeout_s", "--timeout-s", v[2])) ||
            (r = cli_pairs(cmd, &multi[3], "--env", &env))) {
                json_decref(body);
                return r;
        }
        if (env)
                json_object_set_new(body, "env", env);
        if (v[4]) {
                size_t len;
                char *in = cli_read_stdin(STDIN_MAX, &len);
                if (!in) {
                        json_decref(body);
                        return cli_usage_error(cmd, "stdin is larger than 8 MiB");
                }
                json_object_set_new(body, "stdin", json_stringn(in, len));
                free(in);
        }
        char path[128];
        snprintf(path, sizeof(path), "/v1/machines/%s/exec", id);
        struct cli_resp resp;
        struct exec_stream st = {0};
        if ((r = cli_post_streamed(c, path, body, on_exec_line, &st, &resp)))
                return r;
        if (resp.status != 200)
                r = cli_fail_response(c, &resp);
        else if (c->json)
                r = resp.doc ? show_exec(c, &resp) : 1;
        else
                r = exec_stream_end(c, &st);
        cli_resp_free(&resp);
        json_decref(st.end);
        return r;
}
