/* /v1/deployments/{name}/revisions, /rollback and /runs: a deployment's revisions, going
 * back to one, and a job's runs with their logs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "../../core/deploy.h"
#include "api.h"

#define LOG_PAGE (1u << 20) /* log bytes answered at a time */

/* Answers deployment {name}'s absence; 0 when it exists, else -1 after answering. */
static int known(struct http_exchange *ex, const char *name)
{
        struct err e = {0};
        json_t *dep = NULL;
        int r = deploy_name_valid(name) ? store_deploy_get(api_core(ex)->store, name, &dep, &e)
                                        : -ENOENT;
        json_decref(dep);
        if (r == -ENOENT)
                http_respond_error(ex, NS_E_DEPLOYMENT_NOT_FOUND, "no deployment named '%.64s'",
                                   name);
        else if (r < 0)
                api_fail(ex, &e);
        return r < 0 ? -1 : 0;
}

void api_deployments_revisions(struct http_exchange *ex)
{
        const char *name = ex->match.params[0];
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        long long limit = 50, before = INT64_MAX;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 ||
            (q[0].present && api_query_int(ex, &q[0], 1, 1000, &limit) < 0) ||
            (q[1].present && api_query_int(ex, &q[1], 1, INT64_MAX, &before) < 0) ||
            known(ex, name) < 0)
                return;
        json_t *docs = NULL;
        struct err e = {0};
        if (store_revision_list(api_core(ex)->store, name, before, (unsigned)limit + 1, &docs, &e) <
            0) {
                api_fail(ex, &e);
                return;
        }
        json_t *cursor = json_null();
        if (json_array_size(docs) > (size_t)limit) {
                json_array_remove(docs, (size_t)limit);
                cursor =
                    json_sprintf("%lld", (long long)json_integer_value(json_object_get(
                                             json_array_get(docs, (size_t)limit - 1), "number")));
        }
        http_respond_json(ex, 200,
                          json_pack("{s:o,s:o}", "revisions", docs, "next_cursor", cursor));
}

/* The {number} parameter: 1.. ; -1 after answering 404. */
static int64_t number_param(struct http_exchange *ex, const char *name, const char *text)
{
        char *end;
        long long n = strtoll(text, &end, 10);
        if (end == text || *end || n < 1) {
                http_respond_error(ex, NS_E_REVISION_NOT_FOUND,
                                   "deployment '%.64s' has no revision '%.32s'", name, text);
                return -1;
        }
        return n;
}

void api_deployments_revision(struct http_exchange *ex)
{
        const char *name = ex->match.params[0];
        int64_t n = number_param(ex, name, ex->match.params[1]);
        json_t *rev = NULL;
        struct err e = {0};
        int r = n < 0 || known(ex, name) < 0
                    ? -2
                    : store_revision_get(api_core(ex)->store, name, n, &rev, &e);
        if (r == 0)
                http_respond_json(ex, 200, rev);
        else if (r == -ENOENT)
                http_respond_error(ex, NS_E_REVISION_NOT_FOUND,
                                   "deployment '%s' has no revision %lld", name, (long long)n);
        else if (r != -2)
                api_fail(ex, &e);
}

struct rollback_req {
        int64_t revision;
};

static const struct jv_field rollback_fields[] = {
    {"revision", JV_INT, JV_REQUIRED, offsetof(struct rollback_req, revision), 0, 1, INT64_MAX},
};

void api_deployments_rollback(struct http_exchange *ex)
{
        struct rollback_req in = {0};
        const char *name = ex->match.params[0];
        if (api_decode(ex, rollback_fields, 1, &in, NULL) < 0 || known(ex, name) < 0)
                return;
        json_t *dep = NULL;
        struct err e = {0};
        core_cause_set(api_core(ex), "user", ex->key_id);
        int r = deploy_rollback(api_core(ex), name, in.revision, &dep, &e);
        core_cause_clear(api_core(ex));
        if (r < 0) {
                api_fail_err(ex, &e);
                return;
        }
        api_deploy_urls(ex, dep);
        http_respond_json(ex, 200, dep);
}

void api_deployments_run(struct http_exchange *ex)
{
        const char *name = ex->match.params[0];
        if (known(ex, name) < 0)
                return;
        json_t *run = NULL;
        struct err e = {0};
        core_cause_set(api_core(ex), "user", ex->key_id);
        int r = deploy_run_start(api_core(ex), name, "manual", &run, &e);
        core_cause_clear(api_core(ex));
        if (r < 0)
                api_fail_err(ex, &e);
        else
                http_respond_json(ex, 202, json_incref(run));
        json_decref(run);
}

void api_deployments_runs(struct http_exchange *ex)
{
        const char *name = ex->match.params[0];
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        long long limit = 50, before = 0;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 ||
            (q[0].present && api_query_int(ex, &q[0], 1, 1000, &limit) < 0) ||
            (q[1].present && api_query_int(ex, &q[1], 1, INT64_MAX, &before) < 0) ||
            known(ex, name) < 0)
                return;
        json_t *docs = NULL;
        int64_t next = 0;
        int more = 0;
        struct err e = {0};
        if (store_run_list(api_core(ex)->store, name, before, (unsigned)limit, &docs, &next, &more,
                           &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        http_respond_json(ex, 200,
                          json_pack("{s:o,s:o}", "runs", docs, "next_cursor",
                                    more ? json_sprintf("%lld", (long long)next) : json_null()));
}

/* Run {run_id} of deployment {name} (new reference); NULL after answering 404. */
static json_t *find_run(struct http_exchange *ex)
{
        const char *name = ex->match.params[0], *id = ex->match.params[1];
        json_t *run = NULL;
        struct err e = {0};
        if (known(ex, name) < 0)
                return NULL;
        int r = store_run_get(api_core(ex)->store, id, &run, &e);
        const char *dep = json_string_value(json_object_get(run, "deployment"));
        if (r == 0 && dep && strcmp(dep, name) == 0)
                return run;
        json_decref(run);
        if (r < 0 && r != -ENOENT)
                api_fail(ex, &e);
        else
                http_respond_error(ex, NS_E_RUN_NOT_FOUND, "deployment '%s' has no run '%.32s'",
                                   name, id);
        return NULL;
}

void api_deployments_run_get(struct http_exchange *ex)
{
        json_t *run = find_run(ex);
        if (run)
                http_respond_json(ex, 200, run);
}

void api_deployments_run_cancel(struct http_exchange *ex)
{
        json_t *run = find_run(ex);
        if (!run)
                return;
        json_decref(run);
        struct err e = {0};
        core_cause_set(api_core(ex), "user", ex->key_id);
        int r = deploy_run_cancel(api_core(ex), ex->match.params[0], ex->match.params[1], &e);
        core_cause_clear(api_core(ex));
        if (r < 0 || !(run = find_run(ex))) {
                if (r < 0)
                        api_fail_err(ex, &e);
                return;
        }
        http_respond_json(ex, 200, run);
}

/* GET .../runs/{run_id}/logs?offset=N: the log's bytes from N on (at most a MiB);
 * X-Nullspace-Next-Offset says where the next call starts and X-Nullspace-Run-State
 * whether more may come (starting, running) or not. */
void api_deployments_run_logs(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "offset"}};
        long long off = 0;
        if (api_query(ex, q, 1) < 0 ||
            (q[0].present && api_query_int(ex, &q[0], 0, INT64_MAX, &off) < 0))
                return;
        json_t *run = find_run(ex);
        if (!run)
                return;
        char path[PATH_MAX + 128], num[24];
        deploy_log_path(api_core(ex), ex->match.params[0], ex->match.params[1], path, sizeof(path));
        char *data = malloc(LOG_PAGE);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = data && fd >= 0 ? pread(fd, data, LOG_PAGE, (off_t)off) : 0;
        if (fd >= 0)
                close(fd);
        if (n < 0)
                n = 0;
        snprintf(num, sizeof(num), "%lld", off + (long long)n);
        http_add_header(ex, "X-Nullspace-Next-Offset", num);
        http_add_header(ex, "X-Nullspace-Run-State",
                        json_string_value(json_object_get(run, "state")));
        http_respond(ex, 200, "text/plain; charset=utf-8", data ? data : "", (size_t)n);
        free(data);
        json_decref(run);
}
