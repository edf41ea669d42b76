/* nullspace deployments list|get|revisions|rollback|delete|run|runs|logs|cancel */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "cli.h"

static void when(const json_t *ms, char *out, size_t cap)
{
        if (!json_is_integer(ms)) {
                snprintf(out, cap, "-");
                return;
        }
        time_t t = (time_t)(json_integer_value(ms) / 1000);
        strftime(out, cap, "%Y-%m-%d %H:%M:%S", gmtime(&t));
}

static void deployment_row(const json_t *d)
{
        char at[32];
        when(json_object_get(d, "updated_at"), at, sizeof(at));
        printf("%-32s %-8s %-9lld %s\n", json_string_value(json_object_get(d, "name")),
               json_string_value(json_object_get(d, "kind")),
               (long long)json_integer_value(json_object_get(d, "revision")), at);
}

static void show_list(const json_t *d)
{
        printf("%-32s %-8s %-9s %s\n", "NAME", "KIND", "REVISION", "UPDATED (UTC)");
        cli_print_rows(d, "deployments", deployment_row);
}

static void revision_row(const json_t *r)
{
        char at[32];
        when(json_object_get(r, "created_at"), at, sizeof(at));
        printf("%-9lld %-9s %-22s %s\n",
               (long long)json_integer_value(json_object_get(r, "number")),
               json_string_value(json_object_get(r, "state")),
               json_string_value(json_object_get(r, "build_id")), at);
}

static void show_revisions(const json_t *d)
{
        printf("%-9s %-9s %-22s %s\n", "REVISION", "STATE", "BUILD", "CREATED (UTC)");
        cli_print_rows(d, "revisions", revision_row);
}

static void run_row(const json_t *r)
{
        char at[32], code[16] = "-";
        when(json_object_get(r, "created_at"), at, sizeof(at));
        if (json_is_integer(json_object_get(r, "exit_code")))
                snprintf(code, sizeof(code), "%lld",
                         (long long)json_integer_value(json_object_get(r, "exit_code")));
        printf("%-20s %-10s %-5s %-9s %-8s %s%s\n", json_string_value(json_object_get(r, "id")),
               json_string_value(json_object_get(r, "state")), code,
               json_string_value(json_object_get(r, "trigger")),
               json_is_true(json_object_get(r, "retained")) ? "retained" : "-", at, "");
}

static void show_runs(const json_t *d)
{
        printf("%-20s %-10s %-5s %-9s %-8s %s\n", "RUN", "STATE", "EXIT", "TRIGGER", "MACHINE",
               "STARTED (UTC)");
        cli_print_rows(d, "runs", run_row);
}

static void show_deployment(const json_t *d)
{
        deployment_row(d);
        if (json_is_string(json_object_get(d, "url")))
                printf("url: %s (also %s)\n", json_string_value(json_object_get(d, "url")),
                       json_string_value(json_object_get(d, "path_url")));
        const json_t *live = json_object_get(d, "live_revision");
        if (json_is_object(live))
                printf("live: revision %lld, template %s\n",
                       (long long)json_integer_value(json_object_get(live, "number")),
                       json_string_value(json_object_get(live, "template")));
}

/* The deployment's name (the first argument) into path "/v1/deployments/NAME" + suffix.
 * 0 or a usage error. */
static int name_path(const struct cli_cmd *cmd, int npos, char **argv, int want, const char *suffix,
                     char *path, size_t cap)
{
        if (npos != want)
                return cli_usage_error(cmd, "expected %s", cmd->args);
        const char *n = argv[0];
        size_t len = strlen(n);
        if (!len || len > 48 || strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-") != len)
                return cli_usage_error(cmd, "'%s' is not a deployment's name", n);
        snprintf(path, cap, "/v1/deployments/%s%s", n, suffix);
        return 0;
}

/* A command with the name as its only argument: METHOD /v1/deployments/NAME + suffix. */
static int simple(struct cli *c, const char *verb, const char *method, const char *suffix, int argc,
                  char **argv, void (*show)(const json_t *d))
{
        const struct cli_cmd *cmd = cli_find(verb);
        char path[160];
        int npos, rc = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (rc || (rc = name_path(cmd, npos, argv, 1, suffix, path, sizeof(path))))
                return rc;
        return cli_call(c, method, path, NULL, show);
}

int cmd_deployments_list(struct cli *c, int argc, char **argv)
{
        return cli_list_cmd(c, "deployments list", "/v1/deployments", argc, argv, show_list);
}

int cmd_deployments_get(struct cli *c, int argc, char **argv)
{
        return simple(c, "deployments get", "GET", "", argc, argv, show_deployment);
}

int cmd_deployments_revisions(struct cli *c, int argc, char **argv)
{
        return simple(c, "deployments revisions", "GET", "/revisions", argc, argv, show_revisions);
}

int cmd_deployments_runs(struct cli *c, int argc, char **argv)
{
        return simple(c, "deployments runs", "GET", "/runs", argc, argv, show_runs);
}

int cmd_deployments_delete(struct cli *c, int argc, char **argv)
{
        int r = simple(c, "deployments delete", "DELETE", "", argc, argv, NULL);
        if (r == 0) {
                json_t *d = json_pack("{s:s,s:b}", "name", argv[0], "deleted", 1);
                if (c->json)
                        cli_print_json(d);
                else
                        printf("deleted %s\n", argv[0]);
                json_decref(d);
        }
        return r;
}

int cmd_deployments_rollback(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("deployments rollback");
        char path[160];
        int npos, rc = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (rc || (rc = name_path(cmd, npos, argv, 2, "/rollback", path, sizeof(path))))
                return rc;
        char *end;
        long long n = strtoll(argv[1], &end, 10);
        if (*end || n < 1)
                return cli_usage_error(cmd, "'%s' is not a revision number", argv[1]);
        return cli_call(c, "POST", path, json_pack("{s:I}", "revision", (json_int_t)n),
                        show_deployment);
}

static void show_cancelled(const json_t *d)
{
        printf("%s %s\n", json_string_value(json_object_get(d, "id")),
               json_string_value(json_object_get(d, "state")));
}

int cmd_deployments_cancel(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("deployments cancel");
        char path[200];
        int npos, rc = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (rc || (rc = name_path(cmd, npos, argv, 2, "/runs/", path, sizeof(path))))
                return rc;
        if ((rc = cli_id_arg(cmd, argv[1], "a run ID (r_...)")))
                return rc;
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s/cancel", argv[1]);
        return cli_call(c, "POST", path, NULL, show_cancelled);
}

/* Prints run's log from offset on until the run ends (follow) or once; the run's final
 * record into *run. 0 or an exit status. */
static int print_log(struct cli *c, const char *base, int follow, json_t **run)
{
        long long off = 0;
        FILE *out = c->json ? stderr : stdout; /* --json: the record alone on stdout */
        for (;;) {
                char path[256];
                snprintf(path, sizeof(path), "%s/logs?offset=%lld", base, off);
                struct cli_resp r;
                int rc = cli_request(c, "GET", path, NULL, 1, &r);
                if (rc)
                        return rc;
                if (r.status != 200) {
                        rc = cli_fail_response(c, &r);
                        cli_resp_free(&r);
                        return rc;
                }
                fwrite(r.body.data ? r.body.data : "", 1, r.body.len, out);
                fflush(out);
                off += (long long)r.body.len;
                size_t got = r.body.len;
                cli_resp_free(&r);
                if (got)
                        continue;
                /* the state goes with each page: ask for the record when nothing came */
                if ((rc = cli_request(c, "GET", base, NULL, 1, &r)))
                        return rc;
                const char *st = r.doc ? json_string_value(json_object_get(r.doc, "state")) : "";
                int active = st && (!strcmp(st, "starting") || !strcmp(st, "running"));
                if (!follow || !active) {
                        /* a last read: what came between the empty page and the record */
                        if (active || !r.doc) {
                                *run = r.doc ? json_incref(r.doc) : NULL;
                                cli_resp_free(&r);
                                return 0;
                        }
                        *run = json_incref(r.doc);
                        cli_resp_free(&r);
                        snprintf(path, sizeof(path), "%s/logs?offset=%lld", base, off);
                        if (cli_request(c, "GET", path, NULL, 1, &r) == 0 && r.status == 200)
                                fwrite(r.body.data ? r.body.data : "", 1, r.body.len, out);
                        cli_resp_free(&r);
                        return 0;
                }
                cli_resp_free(&r);
                struct timespec ts = {0, 250 * 1000000L};
                nanosleep(&ts, NULL);
        }
}

/* The exit status a run ended with: its exit code, 1 when it failed without one. */
static int run_status(const json_t *run)
{
        const char *st = json_string_value(json_object_get(run, "state")) ?: "";
        if (!strcmp(st, "succeeded"))
                return 0;
        json_t *code = json_object_get(run, "exit_code");
        return json_is_integer(code) && json_integer_value(code) > 0
                   ? (int)(json_integer_value(code) & 0xff)
                   : 1;
}

int cmd_deployments_run(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("deployments run");
        const char *v[1] = {0};
        char path[160];
        int npos, rc = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (rc || (rc = name_path(cmd, npos, argv, 1, "/runs", path, sizeof(path))))
                return rc;
        json_t *run = NULL;
        if ((rc = cli_fetch(c, "POST", path, NULL, 202, &run)))
                return rc;
        char base[200];
        snprintf(base, sizeof(base), "%s/%s", path, json_string_value(json_object_get(run, "id")));
        if (!v[0]) {
                if (c->json)
                        cli_print_json(run);
                else
                        printf("%s\n", json_string_value(json_object_get(run, "id")));
                json_decref(run);
                return 0;
        }
        fprintf(stderr, "run %s\n", json_string_value(json_object_get(run, "id")));
        json_decref(run);
        run = NULL;
        if ((rc = print_log(c, base, 1, &run)))
                return rc;
        if (c->json)
                cli_print_json(run);
        else
                fprintf(stderr, "run %s %s\n", json_string_value(json_object_get(run, "id")),
                        json_string_value(json_object_get(run, "state")));
        rc = run_status(run);
        json_decref(run);
        return rc;
}

/* The newest run's ID of the deployment at base ("/v1/deployments/NAME") into id. */
static int newest_run(struct cli *c, const char *base, char *id, size_t cap)
{
        char path[200];
        snprintf(path, sizeof(path), "%s/runs?limit=1", base);
        json_t *page = NULL;
        int rc = cli_fetch(c, "GET", path, NULL, 200, &page);
        if (rc)
                return rc;
        const char *s = json_string_value(
            json_object_get(json_array_get(json_object_get(page, "runs"), 0), "id"));
        snprintf(id, cap, "%s", s ? s : "");
        json_decref(page);
        if (!id[0]) {
                fprintf(stderr, "error: the deployment has no runs yet\n");
                return ns_code_def(NS_E_RUN_NOT_FOUND)->exit_code;
        }
        return 0;
}

/* A service's logs: its live machine's start process's buffered output (stdout, then
 * stderr); with follow, what is new every second until interrupted. */
static int service_logs(struct cli *c, const json_t *dep, int follow)
{
        const char *mid = json_string_value(json_object_get(dep, "machine_id"));
        if (!mid) {
                fprintf(stderr, "error: the service has no live machine yet\n");
                return ns_code_def(NS_E_MACHINE_NOT_RUNNING)->exit_code;
        }
        char path[160];
        snprintf(path, sizeof(path), "/v1/machines/%s/processes/start/logs", mid);
        size_t shown[2] = {0, 0};
        for (;;) {
                json_t *out = NULL;
                int rc = cli_fetch(c, "GET", path, NULL, 200, &out);
                if (rc)
                        return rc;
                static const char *const keys[] = {"stdout", "stderr"};
                for (int i = 0; i < 2; i++) {
                        const char *t = json_string_value(json_object_get(out, keys[i])) ?: "";
                        size_t n = strlen(t);
                        if (n < shown[i]) /* the buffer moved on: show it whole */
                                shown[i] = 0;
                        fwrite(t + shown[i], 1, n - shown[i], i ? stderr : stdout);
                        shown[i] = n;
                }
                fflush(stdout);
                json_decref(out);
                if (!follow)
                        return 0;
                sleep(1);
        }
}

int cmd_deployments_logs(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("deployments logs");
        const char *v[2] = {0};
        char base[160], id[64];
        int npos, rc = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (rc || (rc = name_path(cmd, npos, argv, 1, "", base, sizeof(base))))
                return rc;
        if (v[0] && (rc = cli_id_arg(cmd, v[0], "a run ID (r_...)")))
                return rc;
        json_t *dep = NULL;
        if ((rc = cli_fetch(c, "GET", base, NULL, 200, &dep)))
                return rc;
        int service = !strcmp(json_string_value(json_object_get(dep, "kind")) ?: "", "service");
        rc = service ? service_logs(c, dep, v[1] != NULL) : 0;
        json_decref(dep);
        if (service)
                return rc;
        if (v[0])
                snprintf(id, sizeof(id), "%s", v[0]);
        else if ((rc = newest_run(c, base, id, sizeof(id))))
                return rc;
        char path[240];
        snprintf(path, sizeof(path), "%s/runs/%s", base, id);
        json_t *run = NULL;
        rc = print_log(c, path, v[1] != NULL, &run);
        json_decref(run);
        return rc;
}
