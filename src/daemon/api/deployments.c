/* /v1/deployments: deploy a project (a build → a revision), list and inspect
 * deployments and their revisions, roll back, delete; a job's runs, their logs, and
 * cancelling one (core/deploy.h does the work). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/cleanup.h"
#include "../../common/util.h"
#include "../../core/build_spec.h"
#include "../../core/deploy.h"
#include "../../core/dockerfile.h"
#include "api.h"

struct deploy_req {
        struct build_req b; /* b.name: the deployment's name */
        char *kind, *command, *schedule, *concurrency;
        struct jv_strlist argv, secrets;
        struct jv_strmap env;
        int64_t timeout_s, retain_failed_s;
        char *health_path, *restart;
        int64_t port, idle_s, health_timeout_s;
};

#define F(field) offsetof(struct deploy_req, field)
static const struct jv_field deploy_fields[] = {
    {"name", JV_STRING, JV_REQUIRED, F(b.name), DEPLOY_NAME_MAX, 0, 0},
    {"kind", JV_STRING, 0, F(kind), 16, 0, 0},
    {"dockerfile", JV_STRING, 0, F(b.dockerfile), DOCKERFILE_MAX, 0, 0},
    {"steps", JV_ARRAY, 0, F(b.steps), 0, 0, 0},
    {"from", JV_STRING, 0, F(b.from), 128, 0, 0},
    {"context_id", JV_STRING, 0, F(b.context_id), 64, 0, 0},
    {"build_args", JV_STRMAP, 0, F(b.build_args), 64, 0, 0},
    {"no_cache", JV_BOOL, 0, F(b.no_cache), 0, 0, 0},
    {"runtime", JV_STRING, 0, F(b.runtime), 16, 0, 0},
    {"command", JV_STRING, 0, F(command), 65536, 0, 0},
    {"argv", JV_STRLIST, 0, F(argv), 256, 0, 0},
    {"env", JV_STRMAP, 0, F(env), 256, 0, 0},
    {"secrets", JV_STRLIST, 0, F(secrets), 64, 0, 0},
    {"vcpus", JV_INT, 0, F(b.vcpus), 0, 1, 16},
    {"memory_mb", JV_INT, 0, F(b.memory_mb), 0, 128, 65536},
    {"timeout_s", JV_INT, 0, F(timeout_s), 0, 1, 7 * 86400},
    {"schedule", JV_STRING, 0, F(schedule), 256, 0, 0},
    {"retain_failed_s", JV_INT, 0, F(retain_failed_s), 0, 0, DEPLOY_RETAIN_MAX},
    {"concurrency", JV_STRING, 0, F(concurrency), 16, 0, 0},
    {"port", JV_INT, 0, F(port), 0, 1, 65535},
    {"health_path", JV_STRING, 0, F(health_path), 512, 0, 0},
    {"restart", JV_STRING, 0, F(restart), 16, 0, 0},
    {"idle_s", JV_INT, 0, F(idle_s), 0, 0, 30 * 86400},
    {"health_timeout_s", JV_INT, 0, F(health_timeout_s), 0, 1, 600},
};
#undef F

/* Whether the request had field `name` (its bit in api_decode's present mask). */
static int given(uint64_t present, const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(deploy_fields); i++)
                if (!strcmp(deploy_fields[i].name, name))
                        return (present >> i) & 1;
        return 0;
}

static json_t *strlist_json(const struct jv_strlist *l)
{
        json_t *a = json_array();
        for (size_t i = 0; i < l->n; i++)
                json_array_append_new(a, json_string(l->items[i]));
        return a;
}

/* The revision's run spec from the request; the build's start steps taken out (the
 * last one's command is the default). */
static json_t *run_spec(const struct deploy_req *in, uint64_t present, json_t *build)
{
        json_t *spec = json_object(), *steps = json_object_get(build, "steps"), *start = NULL;
        for (size_t i = 0; i < json_array_size(steps);) {
                json_t *st = json_array_get(steps, i);
                if (strcmp(json_string_value(json_object_get(st, "op")), "start") != 0) {
                        i++;
                        continue;
                }
                json_decref(start);
                start = json_incref(json_object_get(st, "argv") ?: json_object_get(st, "cmd"));
                json_array_remove(steps, i);
        }
        if (in->command)
                json_object_set_new(spec, "command", json_string(in->command));
        else if (in->argv.n)
                json_object_set_new(spec, "command", strlist_json(&in->argv));
        else if (start)
                json_object_set(spec, "command", start);
        json_decref(start);
        json_object_set_new(spec, "env", api_strmap_json(&in->env));
        json_object_set_new(spec, "secrets", strlist_json(&in->secrets));
        /* a machine from the template has its snapshot's size */
        json_object_set(spec, "vcpus", json_object_get(build, "vcpus"));
        json_object_set(spec, "memory_mb", json_object_get(build, "memory_mb"));
        if (in->timeout_s)
                json_object_set_new(spec, "timeout_s", json_integer(in->timeout_s));
        if (given(present, "retain_failed_s"))
                json_object_set_new(spec, "retain_failed_s", json_integer(in->retain_failed_s));
        if (in->schedule && in->schedule[0])
                json_object_set_new(spec, "schedule", json_string(in->schedule));
        if (in->concurrency)
                json_object_set_new(spec, "concurrency", json_string(in->concurrency));
        if (in->b.runtime)
                json_object_set_new(spec, "runtime", json_string(in->b.runtime));
        if (in->port)
                json_object_set_new(spec, "port", json_integer(in->port));
        if (in->health_path)
                json_object_set_new(spec, "health_path", json_string(in->health_path));
        if (in->restart)
                json_object_set_new(spec, "restart", json_string(in->restart));
        if (given(present, "idle_s"))
                json_object_set_new(spec, "idle_s", json_integer(in->idle_s));
        if (in->health_timeout_s)
                json_object_set_new(spec, "health_timeout_s", json_integer(in->health_timeout_s));
        return spec;
}

/* Checks what the build request does not: name, kind, one command form. 0, or -1
 * after answering 400. */
static int check_request(struct http_exchange *ex, struct deploy_req *in)
{
        if (!deploy_name_valid(in->b.name)) {
                http_respond_error(ex, NS_E_INVALID_FIELD,
                                   "field 'name': 1 to %d of a-z 0-9 and '-', not starting or "
                                   "ending with '-'",
                                   DEPLOY_NAME_MAX);
                return -1;
        }
        if (in->kind && strcmp(in->kind, "job") != 0 && strcmp(in->kind, "service") != 0) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "field 'kind': job or service");
                return -1;
        }
        if (in->command && in->argv.n) {
                http_respond_error(ex, NS_E_INVALID_FIELD, "give one of 'command' and 'argv'");
                return -1;
        }
        return 0;
}

/* The build's steps for a project without a Dockerfile: its files copied to /app (the
 * working directory) before the request's own steps. */
static void project_steps(struct deploy_req *in)
{
        if (in->b.dockerfile || !in->b.context_id)
                return;
        json_t *steps = json_pack("[{s:s,s:[s],s:s},{s:s,s:s}]", "op", "copy", "src", ".", "dest",
                                  "/app", "op", "workdir", "path", "/app");
        if (json_is_array(in->b.steps))
                json_array_extend(steps, in->b.steps);
        json_decref(in->b.steps);
        in->b.steps = steps;
}

void api_deployments_create(struct http_exchange *ex)
{
        struct deploy_req in = {0};
        uint64_t present = 0;
        if (api_decode(ex, deploy_fields, ARRAY_SIZE(deploy_fields), &in, &present) < 0)
                return;
        json_t *build = NULL, *spec = NULL, *rev = NULL;
        char name[DEPLOY_NAME_MAX + 1], tpl[DEPLOY_NAME_MAX + 16];
        snprintf(name, sizeof(name), "%s", in.b.name);
        if (check_request(ex, &in) < 0)
                goto out;
        project_steps(&in);
        snprintf(tpl, sizeof(tpl), "deploy-%s", name);
        char *given = in.b.name;
        in.b.name = tpl;
        build = api_build_request(ex, &in.b);
        in.b.name = given;
        if (!build)
                goto out;
        spec = run_spec(&in, present, build);
        struct err e = {0};
        int created = 0;
        core_cause_set(api_core(ex), "user", ex->key_id);
        const char *kind = in.kind ? in.kind : "job";
        int r = deploy_spec_check(api_core(ex), kind, spec, &e);
        if (r == 0)
                r = deploy_create(api_core(ex), name, kind, build, spec, &rev, &created, &e);
        core_cause_clear(api_core(ex));
        if (r < 0)
                api_fail_err(ex, &e);
        else
                http_respond_json(ex, 202, json_incref(rev));
out:
        json_decref(build);
        json_decref(spec);
        json_decref(rev);
        jv_free(deploy_fields, ARRAY_SIZE(deploy_fields), &in);
}

/* Deployment {name}'s record with its live and newest revisions; NULL after answering. */
static json_t *deployment_view(struct http_exchange *ex, const char *name)
{
        struct err e = {0};
        struct store *st = api_core(ex)->store;
        json_t *dep = NULL, *revs = NULL, *live = NULL;
        int r = deploy_name_valid(name) ? store_deploy_get(st, name, &dep, &e) : -ENOENT;
        if (r < 0) {
                if (r == -ENOENT)
                        http_respond_error(ex, NS_E_DEPLOYMENT_NOT_FOUND,
                                           "no deployment named '%.64s'", name);
                else
                        api_fail(ex, &e);
                return NULL;
        }
        int64_t n = json_integer_value(json_object_get(dep, "revision"));
        if (n > 0)
                store_revision_get(st, name, n, &live, &e);
        store_revision_list(st, name, INT64_MAX, 1, &revs, &e);
        json_object_set_new(dep, "live_revision", live ? live : json_null());
        json_object_set(dep, "latest_revision", json_array_get(revs, 0) ?: json_null());
        json_decref(revs);
        api_deploy_urls(ex, dep);
        return dep;
}

void api_deployments_get(struct http_exchange *ex)
{
        json_t *dep = deployment_view(ex, ex->match.params[0]);
        if (dep)
                http_respond_json(ex, 200, dep);
}

void api_deployments_list(struct http_exchange *ex)
{
        struct query_param q[] = {{.name = "limit"}, {.name = "cursor"}};
        struct api_page page;
        if (api_query(ex, q, ARRAY_SIZE(q)) < 0 || api_page_parse(ex, &q[0], &q[1], &page) < 0)
                return;
        json_t *docs = NULL;
        int64_t next = 0;
        int more = 0;
        struct err e = {0};
        if (store_deploy_list(api_core(ex)->store, page.after, (unsigned)page.limit, &docs, &next,
                              &more, &e) < 0) {
                api_fail(ex, &e);
                return;
        }
        size_t i;
        json_t *d;
        json_array_foreach(docs, i, d) api_deploy_urls(ex, d);
        http_respond_json(ex, 200,
                          json_pack("{s:o,s:o}", "deployments", docs, "next_cursor",
                                    more ? json_sprintf("%lld", (long long)next) : json_null()));
}

void api_deployments_delete(struct http_exchange *ex)
{
        struct err e = {0};
        const char *name = ex->match.params[0];
        if (!deploy_name_valid(name)) {
                http_respond_error(ex, NS_E_DEPLOYMENT_NOT_FOUND, "no deployment named '%.64s'",
                                   name);
                return;
        }
        core_cause_set(api_core(ex), "user", ex->key_id);
        int r = deploy_delete(api_core(ex), name, &e);
        core_cause_clear(api_core(ex));
        if (r < 0)
                api_fail_err(ex, &e);
        else
                http_respond(ex, 204, NULL, NULL, 0);
}
