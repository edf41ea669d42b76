/* nullspace deploy DIR: the project's manifest (nullspace.toml) and what its files say
 * (a Dockerfile, requirements.txt, pyproject.toml, package.json) become a deploy
 * request; the directory is uploaded, the revision's build followed, and its end
 * reported. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "cli.h"
#include "manifest.h"

#define DOCKERFILE_MAX (256u << 10)

static int exists(const char *dir, const char *file)
{
        char p[4096];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, file);
        return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir/file's text (malloc'd, at most max bytes), or NULL. */
static char *read_in(const char *dir, const char *file, size_t max, size_t *len)
{
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", dir, file);
        return cli_read_path(p, max, len);
}

/* The manifest (an empty one when the project has none); NULL after a usage error. */
static json_t *read_manifest(const struct cli_cmd *cmd, const char *dir, int *rc)
{
        size_t len = 0;
        char *text = read_in(dir, "nullspace.toml", MANIFEST_MAX, &len);
        if (!text) {
                if (errno == ENOENT)
                        return json_object();
                *rc = cli_usage_error(cmd, "%s/nullspace.toml: %s", dir, strerror(errno));
                return NULL;
        }
        char err[256];
        json_t *m = manifest_parse(text, len, err, sizeof(err));
        free(text);
        if (!m)
                *rc = cli_usage_error(cmd, "%s", err);
        return m;
}

/* The steps that install a detected project's dependencies (new reference; [] when
 * none is detected). */
static json_t *detected_install(const char *dir)
{
        if (exists(dir, "requirements.txt"))
                return json_pack("[{s:s,s:[s]},{s:s,s:s}]", "op", "apt", "packages", "python3-pip",
                                 "op", "run", "cmd",
                                 "pip install --break-system-packages --no-cache-dir -r "
                                 "requirements.txt");
        if (exists(dir, "pyproject.toml"))
                return json_pack("[{s:s,s:[s]},{s:s,s:s}]", "op", "apt", "packages", "python3-pip",
                                 "op", "run", "cmd",
                                 "pip install --break-system-packages --no-cache-dir .");
        if (exists(dir, "package.json")) /* on the built-in template node */
                return json_pack("[{s:s,s:s}]", "op", "run", "cmd",
                                 "npm install --omit=dev --no-audit --no-fund");
        return json_array();
}

/* The template a project builds on: the manifest's, else node for a Node project (a
 * package.json without a requirements.txt or pyproject.toml), else base. */
static const char *base_template(const char *dir, const json_t *m)
{
        const char *named = json_string_value(json_object_get(m, "template"));
        if (named)
                return named;
        if (exists(dir, "package.json") && !exists(dir, "requirements.txt") &&
            !exists(dir, "pyproject.toml"))
                return "node";
        return "base";
}

/* The command a detected project starts with, or NULL. */
static const char *detected_command(const char *dir)
{
        static const char *const py[] = {"main.py", "app.py", "agent.py", "job.py", "server.py"};
        static char cmd[64];
        for (size_t i = 0; i < ARRAY_SIZE(py); i++)
                if (exists(dir, py[i])) {
                        snprintf(cmd, sizeof(cmd), "python3 %s", py[i]);
                        return cmd;
                }
        if (exists(dir, "package.json")) {
                size_t len;
                char *pkg = read_in(dir, "package.json", 1u << 20, &len);
                json_t *doc = pkg ? json_loads(pkg, 0, NULL) : NULL;
                free(pkg);
                int has_start = json_object_get(json_object_get(doc, "scripts"), "start") != NULL;
                json_decref(doc);
                if (has_start)
                        return "npm start";
                if (exists(dir, "index.js"))
                        return "node index.js";
        }
        return NULL;
}

/* Copies manifest key `key` of table t (a string, integer or array as the API takes it)
 * to body[field]. */
static void take(json_t *body, const char *field, const json_t *t, const char *key)
{
        json_t *v = json_object_get(t, key);
        if (v)
                json_object_set(body, field, v);
}

/* install: a command or a list of commands, as run steps. */
static json_t *install_steps(const json_t *install)
{
        json_t *steps = json_array();
        if (json_is_string(install))
                json_array_append_new(steps, json_pack("{s:s,s:O}", "op", "run", "cmd", install));
        size_t i;
        json_t *v;
        json_array_foreach(install, i, v)
            json_array_append_new(steps, json_pack("{s:s,s:O}", "op", "run", "cmd", v));
        return steps;
}

/* The Dockerfile the project builds with, into body (0), or none (0) or a usage error. */
static int dockerfile(const struct cli_cmd *cmd, const char *dir, const json_t *m, json_t *body)
{
        const char *df = json_string_value(json_object_get(m, "dockerfile"));
        if (!df && (json_object_get(m, "template") || !exists(dir, "Dockerfile")))
                return 0;
        size_t len;
        char *text = read_in(dir, df ? df : "Dockerfile", DOCKERFILE_MAX, &len);
        if (!text)
                return cli_usage_error(cmd, "%s/%s: %s", dir, df ? df : "Dockerfile",
                                       strerror(errno));
        json_object_set_new(body, "dockerfile", json_string(text));
        free(text);
        return 0;
}

/* The deploy request from the manifest m and the project's files. 0 or a usage error. */
static int request(const struct cli_cmd *cmd, const char *dir, const json_t *m, json_t *body)
{
        int rc = dockerfile(cmd, dir, m, body);
        if (rc)
                return rc;
        if (!json_object_get(body, "dockerfile")) {
                json_object_set_new(body, "from", json_string(base_template(dir, m)));
                json_t *install = json_object_get(m, "install");
                json_object_set_new(body, "steps",
                                    install ? install_steps(install) : detected_install(dir));
        }
        json_t *command = json_object_get(m, "command");
        if (json_is_array(command))
                json_object_set(body, "argv", command);
        else if (command)
                json_object_set(body, "command", command);
        else if (!json_object_get(body, "dockerfile") && detected_command(dir))
                json_object_set_new(body, "command", json_string(detected_command(dir)));
        static const char *const top[] = {"secrets", "vcpus", "memory_mb", "timeout_s", "runtime"};
        for (size_t i = 0; i < ARRAY_SIZE(top); i++)
                take(body, top[i], m, top[i]);
        take(body, "env", m, "env");
        static const char *const job[] = {"schedule", "retain_failed_s", "concurrency"};
        for (size_t i = 0; i < ARRAY_SIZE(job); i++)
                take(body, job[i], json_object_get(m, "job"), job[i]);
        static const char *const svc[] = {"port", "health_path", "restart", "idle_s",
                                          "health_timeout_s"};
        for (size_t i = 0; i < ARRAY_SIZE(svc); i++)
                take(body, svc[i], json_object_get(m, "service"), svc[i]);
        return 0;
}

/* The deployment's name: --name, the manifest's, else the directory's (lower-cased,
 * other characters as '-'). */
static void pick_name(const char *flag, const json_t *m, const char *dir, char *out, size_t cap)
{
        const char *n = flag ?: json_string_value(json_object_get(m, "name"));
        if (n) {
                snprintf(out, cap, "%s", n);
                return;
        }
        char abs[4096];
        const char *base = realpath(dir, abs) ? basename(abs) : "app";
        size_t k = 0;
        for (; base[k] && k + 1 < cap && k < 48; k++) {
                char ch = base[k];
                out[k] = ch >= 'A' && ch <= 'Z'                                 ? (char)(ch + 32)
                         : (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch
                                                                                : '-';
        }
        out[k] = '\0';
}

/* GETs path every 200 ms until done(doc, number) says so; that answer into *doc. 0 or an
 * exit status. */
static int poll_until(struct cli *c, const char *path, int (*done)(const json_t *, long long),
                      long long number, json_t **doc)
{
        for (;;) {
                int rc = cli_fetch(c, "GET", path, NULL, 200, doc);
                if (rc || done(*doc, number))
                        return rc;
                json_decref(*doc);
                struct timespec ts = {0, 200 * 1000000L};
                nanosleep(&ts, NULL);
        }
}

/* A revision's record: its build has ended. */
static int built(const json_t *rev, long long number)
{
        (void)number;
        return strcmp(json_string_value(json_object_get(rev, "state")) ?: "", "building") != 0;
}

/* A service's record: revision `number` is live, or will not be (failed, or a newer one
 * came). */
static int settled(const json_t *dep, long long number)
{
        const json_t *latest = json_object_get(dep, "latest_revision");
        const char *st = json_string_value(json_object_get(latest, "state")) ?: "";
        return json_integer_value(json_object_get(dep, "revision")) == number ||
               json_integer_value(json_object_get(latest, "number")) != number ||
               strcmp(st, "ready") != 0;
}

/* Sends the request, follows the build and reports the revision. */
static int deploy(struct cli *c, json_t *body)
{
        json_t *rev = NULL, *dep = NULL;
        int rc = cli_fetch(c, "POST", "/v1/deployments", body, 202, &rev);
        if (rc)
                return rc;
        char name[64], build[64], state[32], path[160];
        snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(rev, "deployment")));
        snprintf(build, sizeof(build), "%s", json_string_value(json_object_get(rev, "build_id")));
        long long number = (long long)json_integer_value(json_object_get(rev, "number"));
        json_decref(rev);
        fprintf(stderr, "deploying %s revision %lld (build %s)\n", name, number, build);
        snprintf(path, sizeof(path), "/v1/deployments/%s/revisions/%lld", name, number);
        if ((rc = cli_follow_build(c, build, 1, stderr, NULL, state, sizeof(state))) ||
            (rc = poll_until(c, path, built, number, &rev)))
                return rc;
        int ok = !strcmp(json_string_value(json_object_get(rev, "state")) ?: "", "ready");
        if (ok && json_object_get(rev, "port")) { /* a service: live once healthy */
                fprintf(stderr, "waiting for revision %lld to pass its health check\n", number);
                snprintf(path, sizeof(path), "/v1/deployments/%s", name);
                if ((rc = poll_until(c, path, settled, number, &dep))) {
                        json_decref(rev);
                        return rc;
                }
        }
        if (dep) { /* a service: live, or its revision failed its health check */
                json_decref(rev);
                rev = dep;
                ok = json_integer_value(json_object_get(dep, "revision")) == number;
        }
        if (c->json)
                cli_print_json(rev);
        else if (ok && dep)
                printf("deployed %s revision %lld: %s (also %s)\n", name, number,
                       json_string_value(json_object_get(dep, "url")),
                       json_string_value(json_object_get(dep, "path_url")));
        else if (dep)
                fprintf(stderr, "error: revision %lld of %s did not go live: %s\n", number, name,
                        json_string_value(
                            json_object_get(json_object_get(dep, "latest_revision"), "error"))
                            ?: "unhealthy");
        else if (ok)
                printf("deployed %s revision %lld: run it with `nullspace deployments run %s`\n",
                       name, number, name);
        else
                fprintf(stderr, "error: revision %lld of %s failed: %s\n", number, name,
                        json_string_value(json_object_get(rev, "error")) ?: "its build failed");
        json_decref(rev);
        return ok ? 0 : ns_code_def(NS_E_MACHINE_FAILED)->exit_code;
}

int cmd_deploy(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("deploy");
        const char *v[3] = {0};
        int npos, rc = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (rc)
                return rc;
        if (npos != 1)
                return cli_usage_error(cmd, "expected the project's directory");
        const char *dir = argv[0];
        json_t *m = read_manifest(cmd, dir, &rc);
        if (!m)
                return rc;
        const char *kind = v[1]   ? "job"
                           : v[2] ? "service"
                                  : json_string_value(json_object_get(m, "kind"));
        if (v[1] && v[2])
                rc = cli_usage_error(cmd, "give one of --job and --service");
        else if (kind && strcmp(kind, "job") != 0 && strcmp(kind, "service") != 0)
                rc = cli_usage_error(cmd, "nullspace.toml: kind = \"job\" or \"service\"");
        if (rc) {
                json_decref(m);
                return rc;
        }
        char name[64];
        pick_name(v[0], m, dir, name, sizeof(name));
        json_t *body = json_pack("{s:s,s:s}", "name", name, "kind", kind ? kind : "job");
        if (!(rc = request(cmd, dir, m, body)) && !(rc = cli_upload_dir(c, cmd, dir, 1, body)))
                rc = deploy(c, body);
        json_decref(body);
        json_decref(m);
        return rc;
}
