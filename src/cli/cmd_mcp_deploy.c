/* The MCP server's deployment tools: list jobs, run one (waiting for its end, with its
 * log), read a run's log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define LOG_TAIL (32u << 10) /* bytes of a run's log a tool result carries (its end) */

static const char *name_arg(json_t *args)
{
        const char *n = json_string_value(json_object_get(args, "name"));
        size_t len = n ? strlen(n) : 0;
        return len && len <= 48 && strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-") == len ? n
                                                                                             : NULL;
}

static json_t *t_list(struct cli *c, json_t *args, int *is_error)
{
        (void)args;
        (void)is_error;
        return cli_mcp_api(c, "GET", "/v1/deployments?limit=1000", NULL);
}

/* {run, log} for run path `base` (/v1/deployments/NAME/runs/ID): the record and the
 * end of its log; a tool error when either cannot be read. */
static json_t *run_and_log(struct cli *c, const char *base, int *is_error)
{
        struct cli_resp r;
        json_t *err = cli_mcp_get(c, base, &r, is_error);
        if (err)
                return err;
        json_t *run = json_incref(r.doc);
        cli_resp_free(&r);
        long long bytes = (long long)json_integer_value(json_object_get(run, "log_bytes"));
        long long from = bytes > (long long)LOG_TAIL ? bytes - (long long)LOG_TAIL : 0;
        char path[256];
        snprintf(path, sizeof(path), "%s/logs?offset=%lld", base, from);
        json_t *log = json_string("");
        if (cli_request(c, "GET", path, NULL, 1, &r) == 0 && r.status == 200 && r.body.len) {
                json_decref(log);
                log = json_stringn_nocheck(r.body.data, r.body.len);
                if (!json_string_value(log) || !json_is_string(log))
                        log = json_string("(the log is not text)");
        }
        cli_resp_free(&r);
        return cli_mcp_text_result(
            json_pack("{s:o,s:o,s:b}", "run", run, "log", log, "log_truncated", from > 0), 0);
}

static json_t *t_run(struct cli *c, json_t *args, int *is_error)
{
        const char *name = name_arg(args);
        if (!name)
                return cli_mcp_bad_args(is_error, "name (a deployment's) is required");
        int wait = !json_is_false(json_object_get(args, "wait"));
        json_int_t limit = json_integer_value(json_object_get(args, "timeout_s"));
        char path[160], base[240];
        snprintf(path, sizeof(path), "/v1/deployments/%s/runs", name);
        struct cli_resp r;
        if (cli_request(c, "POST", path, NULL, 1, &r) != 0)
                return cli_mcp_bad_args(is_error, "the daemon could not be reached");
        if (r.status != 202 || !r.doc) { /* its error, as the tool's */
                *is_error = 1;
                json_t *res = cli_mcp_text_result(r.doc ? json_incref(r.doc) : json_object(), 1);
                cli_resp_free(&r);
                return res;
        }
        snprintf(base, sizeof(base), "%s/%s", path,
                 json_string_value(json_object_get(r.doc, "id")));
        cli_resp_free(&r);
        time_t end = time(NULL) + (limit > 0 ? limit : 600);
        while (wait && time(NULL) < end) {
                json_t *err = cli_mcp_get(c, base, &r, is_error);
                if (err)
                        return err;
                const char *st = json_string_value(json_object_get(r.doc, "state")) ?: "";
                int active = !strcmp(st, "starting") || !strcmp(st, "running");
                cli_resp_free(&r);
                if (!active)
                        break;
                struct timespec ts = {0, 250 * 1000000L};
                nanosleep(&ts, NULL);
        }
        return run_and_log(c, base, is_error);
}

static json_t *t_logs(struct cli *c, json_t *args, int *is_error)
{
        const char *name = name_arg(args);
        const char *id = json_string_value(json_object_get(args, "run_id"));
        if (!name)
                return cli_mcp_bad_args(is_error, "name (a deployment's) is required");
        char base[240];
        struct cli_resp r;
        if (!id) { /* the newest run */
                snprintf(base, sizeof(base), "/v1/deployments/%s/runs?limit=1", name);
                json_t *err = cli_mcp_get(c, base, &r, is_error);
                if (err)
                        return err;
                id = json_string_value(
                    json_object_get(json_array_get(json_object_get(r.doc, "runs"), 0), "id"));
                snprintf(base, sizeof(base), "/v1/deployments/%s/runs/%s", name, id ? id : "none");
                cli_resp_free(&r);
        } else {
                if (strlen(id) > 40 || strspn(id, "r_0123456789abcdef") != strlen(id))
                        return cli_mcp_bad_args(is_error, "run_id is a run's ID (r_...)");
                snprintf(base, sizeof(base), "/v1/deployments/%s/runs/%s", name, id);
        }
        return run_and_log(c, base, is_error);
}

#define NAME_PROP "\"name\":{\"type\":\"string\",\"description\":\"the deployment's name\"}"

const struct cli_mcp_tool cli_mcp_deploy_tools[] = {
    {"list_deployments",
     "List deployments (jobs deployed with `nullspace deploy`), each with its live revision.",
     "{\"type\":\"object\",\"properties\":{}}", t_list},
    {"run_deployment",
     "Start a run of a deployed job in a fresh machine; by default wait for it to end and "
     "return its record (state, exit_code) and the end of its output (secrets redacted).",
     "{\"type\":\"object\",\"properties\":{" NAME_PROP ",\"wait\":{\"type\":\"boolean\","
     "\"default\":true},\"timeout_s\":{\"type\":\"integer\",\"minimum\":1,\"description\":"
     "\"how long to wait (default 600)\"}},\"required\":[\"name\"]}",
     t_run},
    {"deployment_logs",
     "A job run's record and the end of its output (the newest run unless run_id), kept after "
     "its machine is gone.",
     "{\"type\":\"object\",\"properties\":{" NAME_PROP ",\"run_id\":{\"type\":\"string\"}},"
     "\"required\":[\"name\"]}",
     t_logs},
};
const size_t cli_mcp_ndeploy_tools = sizeof(cli_mcp_deploy_tools) / sizeof(cli_mcp_deploy_tools[0]);
