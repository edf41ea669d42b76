/* nullspace code runs start|list|get|cancel|delete and code artifacts list|get: runs of
 * the code interpreter started asynchronously, and the files they leave
 * (docs/code-interpreter.md, "Asynchronous runs and artifacts"). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* A run or artifact ID ([A-Za-z0-9_-], up to 64). */
static int part_arg(const struct cli_cmd *cmd, const char *v, const char *what)
{
        const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        if (!*v || strlen(v) > 64 || strspn(v, ok) != strlen(v))
                return cli_usage_error(cmd, "'%s' is not %s", v, what);
        return 0;
}

/* The machine ID and npos - 1 more IDs (run, artifact) of a command, checked, into
 * path as /v1/machines/ID/code/runs[/RUN[SUFFIX][/ARTIFACT]]. */
static int runs_path(const struct cli_cmd *cmd, int npos, char **argv, int want, const char *suffix,
                     char *path, size_t cap)
{
        int r;
        const char *id = cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (npos != want)
                return cli_usage_error(cmd, want == 1 ? "expected one machine ID"
                                            : want == 2
                                                ? "expected a machine ID and a run ID"
                                                : "expected a machine, run and artifact ID");
        if ((want > 1 && (r = part_arg(cmd, argv[1], "a run ID"))) ||
            (want > 2 && (r = part_arg(cmd, argv[2], "an artifact ID"))))
                return r;
        int n = snprintf(path, cap, "/v1/machines/%s/code/runs", id);
        if (want > 1)
                n += snprintf(path + n, cap - (size_t)n, "/%s%s", argv[1], suffix);
        if (want > 2)
                snprintf(path + n, cap - (size_t)n, "/%s", argv[2]);
        return 0;
}

static const char *str(const json_t *o, const char *k)
{
        return json_string_value(json_object_get(o, k)) ?: "-";
}

static void run_row(const json_t *x)
{
        printf("%-26s %-10s %-11s %-34s %s\n", str(x, "id"), str(x, "state"), str(x, "language"),
               str(x, "context"), str(x, "created_at"));
}

static void show_runs(const json_t *doc)
{
        printf("%-26s %-10s %-11s %-34s %s\n", "ID", "STATE", "LANGUAGE", "CONTEXT", "CREATED");
        size_t i;
        json_t *x;
        json_array_foreach(doc, i, x) run_row(x);
}

static void artifact_row(const json_t *x)
{
        printf("%-8s %10lld %-24s %-6s %s\n", str(x, "id"),
               (long long)json_integer_value(json_object_get(x, "size")), str(x, "mime_type"),
               str(x, "source"), str(x, "name"));
}

static void show_artifacts(const json_t *doc)
{
        printf("%-8s %10s %-24s %-6s %s\n", "ID", "SIZE", "MIME TYPE", "SOURCE", "NAME");
        size_t i;
        json_t *x;
        json_array_foreach(doc, i, x) artifact_row(x);
}

int cmd_code_runs_start(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("code runs start");
        const char *v[4] = {0};
        struct cli_multi multi[4] = {0};
        char path[192];
        int npos, r = cli_parse_flags(cmd, argc, argv, v, multi, &npos);
        if (r || (r = runs_path(cmd, npos ? 1 : 0, argv, 1, "", path, sizeof(path))))
                return r;
        json_t *body = cli_code_request(cmd, npos, argv, v, multi, &r);
        if (!body)
                return r;
        return cli_call(c, "POST", path, body, run_row);
}

int cmd_code_runs_list(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("code runs list");
        char path[192];
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r || (r = runs_path(cmd, npos, argv, 1, "", path, sizeof(path))))
                return r;
        return cli_call(c, "GET", path, NULL, show_runs);
}

static int ended(const json_t *run)
{
        const char *s = str(run, "state");
        return !strcmp(s, "succeeded") || !strcmp(s, "failed") || !strcmp(s, "cancelled");
}

/* What the run printed (stdout, stderr), its results' text, its error and a line on
 * its state and artifacts; 1 when it failed or was cancelled. */
static int show_run(const json_t *run)
{
        const json_t *ex = json_object_get(run, "execution"), *logs = json_object_get(ex, "logs");
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(logs, "stdout"), i, x)
            fputs(json_string_value(x), stdout);
        json_array_foreach(json_object_get(logs, "stderr"), i, x)
            fputs(json_string_value(x), stderr);
        json_array_foreach(json_object_get(ex, "results"), i, x)
        {
                if (json_is_string(json_object_get(x, "text")))
                        printf("%s\n", str(x, "text"));
        }
        fflush(stdout);
        int failed = json_is_object(json_object_get(ex, "error"));
        if (failed)
                cli_code_error(json_object_get(ex, "error"));
        size_t n = json_array_size(json_object_get(run, "artifacts"));
        fprintf(stderr, "%s %s", str(run, "id"), str(run, "state"));
        if (n)
                fprintf(stderr, " (%zu artifact%s: nullspace code artifacts list)", n,
                        n == 1 ? "" : "s");
        fputc('\n', stderr);
        return failed || !strcmp(str(run, "state"), "cancelled");
}

int cmd_code_runs_get(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("code runs get");
        const char *v[1] = {0};
        char path[256], url[300];
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r || (r = runs_path(cmd, npos, argv, 2, "", path, sizeof(path))))
                return r;
        if (v[0])
                c->waiting = "waiting for the run to end";
        struct cli_resp resp = {0};
        /* --wait: ask again (each ask waits up to 60 s in the interpreter) until it ends */
        do {
                cli_resp_free(&resp);
                snprintf(url, sizeof(url), "%s%s", path, v[0] ? "?wait_s=60" : "");
                if ((r = cli_request(c, "GET", url, NULL, 1, &resp)))
                        return r;
                if (resp.status != 200) {
                        r = cli_fail_response(c, &resp);
                        cli_resp_free(&resp);
                        return r;
                }
        } while (v[0] && !ended(resp.doc));
        if (c->json) {
                cli_print_json(resp.doc);
                r = json_is_object(
                    json_object_get(json_object_get(resp.doc, "execution"), "error"));
        } else {
                r = show_run(resp.doc);
        }
        cli_resp_free(&resp);
        return r;
}

static void show_cancelled(const json_t *doc)
{
        printf("%s %s\n", str(doc, "id"),
               json_is_true(json_object_get(doc, "cancelled")) ? "cancelled" : "had already ended");
}

/* A verb on one run: METHOD .../runs/RUN[SUFFIX], shown with `show`. */
static int on_run(struct cli *c, const char *name, const char *method, const char *suffix, int argc,
                  char **argv, void (*show)(const json_t *doc))
{
        const struct cli_cmd *cmd = cli_find(name);
        char path[256];
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r || (r = runs_path(cmd, npos, argv, 2, suffix, path, sizeof(path))))
                return r;
        return cli_call(c, method, path, NULL, show);
}

int cmd_code_runs_cancel(struct cli *c, int argc, char **argv)
{
        return on_run(c, "code runs cancel", "POST", "/cancel", argc, argv, show_cancelled);
}

static void show_deleted(const json_t *doc)
{
        printf("deleted %s\n", str(doc, "id"));
}

int cmd_code_runs_delete(struct cli *c, int argc, char **argv)
{
        return on_run(c, "code runs delete", "DELETE", "", argc, argv, show_deleted);
}

int cmd_code_artifacts_list(struct cli *c, int argc, char **argv)
{
        return on_run(c, "code artifacts list", "GET", "/artifacts", argc, argv, show_artifacts);
}

int cmd_code_artifacts_get(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("code artifacts get");
        const char *v[1] = {0};
        char path[320];
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r || (r = runs_path(cmd, npos, argv, 3, "/artifacts", path, sizeof(path))))
                return r;
        return cli_download(c, cmd, path, v[0]);
}
