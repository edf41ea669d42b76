/* nullspace templates build|list|get|delete|alias|logs */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DOCKERFILE_MAX (256u << 10)
#define CONTEXT_MAX    (1u << 30)

static void template_row(const json_t *t)
{
        const json_t *start = json_object_get(t, "start"), *pool = json_object_get(t, "pool");
        char warm[32];
        snprintf(warm, sizeof(warm), "%lld/%lld",
                 (long long)json_integer_value(json_object_get(pool, "ready")),
                 (long long)json_integer_value(json_object_get(pool, "size")));
        printf("%-32s %-20s %-20s %-7s %-6s %s\n", json_string_value(json_object_get(t, "ref")),
               json_string_value(json_object_get(t, "build_id")),
               json_string_value(json_object_get(t, "snapshot")) ?: "-",
               json_string_value(json_object_get(t, "runtime")) ?: "-", warm,
               json_string_value(json_object_get(start, "cmd")) ?: "-");
}

static void show_template(const json_t *t)
{
        template_row(t);
}

static void show_list(const json_t *d)
{
        printf("%-32s %-20s %-20s %-7s %-6s %s\n", "TEMPLATE", "BUILD", "SNAPSHOT", "RUNTIME",
               "POOL", "START");
        cli_print_rows(d, "templates", template_row);
}

int cmd_templates_list(struct cli *c, int argc, char **argv)
{
        return cli_list_cmd(c, "templates list", "/v1/templates", argc, argv, show_list);
}

int cmd_templates_get(struct cli *c, int argc, char **argv)
{
        return cli_ref_cmd(c, "templates get", "GET", "/v1/templates", NULL, argc, argv,
                           show_template);
}

int cmd_templates_delete(struct cli *c, int argc, char **argv)
{
        return cli_ref_cmd(c, "templates delete", "DELETE", "/v1/templates", "deleted", argc, argv,
                           NULL);
}

int cmd_templates_alias(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("templates alias");
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        if (r)
                return r;
        if (npos != 2)
                return cli_usage_error(cmd, "expected a template and its new name");
        if ((r = cli_ref_arg(cmd, argv[0], "a template name[:tag]")) ||
            (r = cli_ref_arg(cmd, argv[1], "a new name[:tag]")))
                return r;
        char path[180];
        snprintf(path, sizeof(path), "/v1/templates/%s/aliases", argv[0]);
        return cli_call(c, "POST", path, json_pack("{s:s}", "name", argv[1]), show_template);
}

int cmd_templates_pool(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("templates pool");
        const char *v[1] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos != 1 || !v[0])
                return cli_usage_error(cmd, "expected a template and --size N");
        if ((r = cli_ref_arg(cmd, argv[0], "a template name[:tag]")))
                return r;
        json_t *body = json_object();
        if ((r = cli_set_int(cmd, body, "size", "--size", v[0]))) {
                json_decref(body);
                return r;
        }
        char path[180];
        snprintf(path, sizeof(path), "/v1/templates/%s/pool", argv[0]);
        return cli_call(c, "PUT", path, body, show_template);
}

static void show_pruned(const json_t *r)
{
        printf("cache entries %lld, uploads %lld, images %lld, layers %lld removed\n",
               (long long)json_integer_value(json_object_get(r, "cache_entries")),
               (long long)json_integer_value(json_object_get(r, "contexts")),
               (long long)json_integer_value(json_object_get(r, "images")),
               (long long)json_integer_value(json_object_get(r, "layers")));
}

int cmd_templates_prune(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("templates prune");
        const char *v[1] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos != 0)
                return cli_usage_error(cmd, "no arguments expected");
        json_t *body = json_object();
        if ((r = cli_set_int(cmd, body, "older_than_s", "--older-than-s", v[0]))) {
                json_decref(body);
                return r;
        }
        return cli_call(c, "POST", "/v1/templates/prune", body, show_pruned);
}

static void show_build(const json_t *b)
{
        printf("%s %s %s\n", json_string_value(json_object_get(b, "id")),
               json_string_value(json_object_get(b, "state")),
               json_string_value(json_object_get(b, "error")) ?: "");
}

int cmd_templates_cancel(struct cli *c, int argc, char **argv)
{
        return cli_id_cmd(c, "templates cancel", "DELETE", "/v1/templates/builds",
                          "a build ID (b_...)", NULL, argc, argv, show_build);
}

/* ---- logs -------------------------------------------------------------------------- */

/* Writes a log line as text to out, or appends it to collect (when not NULL). */
static void print_line(FILE *out, json_t *collect, json_t *l)
{
        const char *stream = json_string_value(json_object_get(l, "stream")) ?: "";
        const char *text = json_string_value(json_object_get(l, "text")) ?: "";
        if (collect)
                json_array_append(collect, l);
        else if (!strcmp(stream, "system"))
                fprintf(out, "#%lld %s\n",
                        (long long)json_integer_value(json_object_get(l, "step")), text);
        else
                fprintf(out, "   | %s\n", text);
}

int cli_follow_build(struct cli *c, const char *build, int follow, FILE *out, json_t *collect,
                     char *state, size_t cap)
{
        long long cursor = 0;
        for (;;) {
                char path[160];
                snprintf(path, sizeof(path), "/v1/templates/builds/%s/logs?cursor=%lld", build,
                         cursor);
                json_t *page = NULL;
                int rc = cli_fetch(c, "GET", path, NULL, 200, &page);
                if (rc)
                        return rc;
                size_t i;
                json_t *l;
                json_array_foreach(json_object_get(page, "logs"), i, l) print_line(out, collect, l);
                fflush(out);
                cursor = (long long)json_integer_value(json_object_get(page, "next_cursor"));
                snprintf(state, cap, "%s", json_string_value(json_object_get(page, "state")) ?: "");
                int done = json_is_true(json_object_get(page, "done"));
                int more = json_array_size(json_object_get(page, "logs")) > 0;
                json_decref(page);
                if (done || (!follow && !more))
                        return 0;
                if (!more) {
                        struct timespec ts = {0, 300 * 1000000L};
                        nanosleep(&ts, NULL);
                }
        }
}

int cmd_templates_logs(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("templates logs");
        const char *v[1] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (r)
                return r;
        if (npos != 1)
                return cli_usage_error(cmd, "expected one build ID");
        if ((r = cli_id_arg(cmd, argv[0], "a build ID (b_...)")))
                return r;
        char state[32];
        json_t *lines = c->json ? json_array() : NULL;
        r = cli_follow_build(c, argv[0], v[0] != NULL, stdout, lines, state, sizeof(state));
        if (lines && r == 0) {
                json_t *doc =
                    json_pack("{s:s,s:s,s:O}", "build", argv[0], "state", state, "logs", lines);
                cli_print_json(doc);
                json_decref(doc);
        }
        json_decref(lines);
        return r;
}

/* ---- build ------------------------------------------------------------------------- */

static char *read_file(const char *path, size_t max, size_t *len)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                return NULL;
        char *data = malloc(max + 1);
        size_t n = data ? fread(data, 1, max + 1, f) : 0;
        int bad = ferror(f) || n > max;
        fclose(f);
        if (!data || bad) {
                free(data);
                errno = bad ? EFBIG : ENOMEM;
                return NULL;
        }
        data[n] = '\0';
        *len = n;
        return data;
}

/* A project's files as git sees them (untracked and not ignored, by a throwaway
 * repository's eyes: every .gitignore, and .nullspaceignore at the top), into tar; without
 * git, all but .git. */
#define PROJECT_TAR                                                                                \
        "cd \"$1\" || exit 1; T='--owner=0 --group=0 --numeric-owner';"                            \
        "if ! command -v git >/dev/null; then exec tar $T --exclude-vcs -cf - .; fi;"              \
        "g=$(mktemp -d) || exit 1; trap 'rm -rf \"$g\"' EXIT; git init -q \"$g\" || exit 1;"       \
        "x=; [ -f .nullspaceignore ] && x=--exclude-from=.nullspaceignore;"                        \
        "git --git-dir=\"$g/.git\" --work-tree=. ls-files -z --others --exclude-standard $x |"     \
        " tar $T --null --no-recursion -T - -cf -"

/* Packs dir with tar (owned by root, as COPY expects) into a temporary file; its path
 * goes to out; a project leaves out what version control would (.git, what .gitignore
 * and .nullspaceignore files name). 0 or -1 (tar failed). */
static int pack_context(const char *dir, int project, char *out, size_t cap)
{
        snprintf(out, cap, "/tmp/nullspace-context.XXXXXX");
        int fd = mkstemp(out);
        if (fd < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                dup2(fd, 1);
                if (project)
                        execl("/bin/sh", "sh", "-c", PROJECT_TAR, "sh", dir, (char *)NULL);
                else
                        execlp("tar", "tar", "-C", dir, "--owner=0", "--group=0", "--numeric-owner",
                               "-cf", "-", ".", (char *)NULL);
                _exit(127);
        }
        close(fd);
        int status = 0;
        while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Uploads dir as the build context; its id goes into body. 0 or an exit status. */
/* Uploads the tar at path (at most 1 GiB) and sets body[field] to its ID. 0 or an exit
 * status (flag names the flag in errors). */
static int upload_tar(struct cli *c, const struct cli_cmd *cmd, const char *flag, const char *path,
                      const char *field, json_t *body)
{
        size_t len = 0;
        char *data = read_file(path, CONTEXT_MAX, &len);
        if (!data)
                return cli_usage_error(cmd, "%s: cannot read it (at most 1 GiB): %s", flag,
                                       strerror(errno));
        fprintf(stderr, "uploading %s (%zu bytes)\n", flag + 2, len);
        struct cli_resp r;
        int rc = cli_request_raw(c, "PUT", "/v1/templates/contexts", data, len, &r);
        free(data);
        if (rc)
                return rc;
        if (r.status != 201 || !r.doc)
                rc = cli_fail_response(c, &r);
        else
                json_object_set(body, field, json_object_get(r.doc, "context_id"));
        cli_resp_free(&r);
        return rc;
}

int cli_upload_dir(struct cli *c, const struct cli_cmd *cmd, const char *dir, int project,
                   json_t *body)
{
        struct stat st;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return cli_usage_error(cmd, "--context %s: not a directory", dir);
        char tmp[64];
        if (pack_context(dir, project, tmp, sizeof(tmp)) < 0) {
                unlink(tmp);
                return cli_usage_error(cmd, "--context %s: could not pack it with tar", dir);
        }
        int rc = upload_tar(c, cmd, "--context", tmp, "context_id", body);
        unlink(tmp);
        return rc;
}

/* The request of `templates build` from its flags; NULL after a usage error (*rc). */
static json_t *build_body(const struct cli_cmd *cmd, const char **v, struct cli_multi *m, int *rc)
{
        json_t *body = json_pack("{s:s}", "name", v[0]);
        if (v[1]) {
                size_t len;
                char *df = read_file(v[1], DOCKERFILE_MAX, &len);
                if (!df) {
                        *rc = cli_usage_error(cmd, "--dockerfile %s: %s", v[1], strerror(errno));
                        json_decref(body);
                        return NULL;
                }
                json_object_set_new(body, "dockerfile", json_string(df));
                free(df);
        } else if (v[7]) {
                json_object_set_new(body, "from", json_string(v[7]));
        }
        static const char *const fields[] = {NULL, NULL, NULL, "ready_cmd", "start_cmd", NULL,
                                             NULL, NULL, NULL, NULL,        "runtime"};
        for (int i = 3; i <= 10; i++)
                if (fields[i] && v[i])
                        json_object_set_new(body, fields[i], json_string(v[i]));
        if (v[5])
                json_object_set_new(body, "no_cache", json_true());
        json_t *args = NULL;
        if ((*rc = cli_set_int(cmd, body, "ready_timeout_s", "--ready-timeout-s", v[8])) ||
            (*rc = cli_pairs(cmd, &m[6], "--build-arg", &args))) {
                json_decref(body);
                return NULL;
        }
        if (args)
                json_object_set_new(body, "build_args", args);
        return body;
}

int cmd_templates_build(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("templates build");
        const char *v[11] = {0};
        struct cli_multi m[11] = {0};
        int npos, rc = cli_parse_flags(cmd, argc, argv, v, m, &npos);
        if (rc)
                return rc;
        if (npos != 0 || !v[0])
                return cli_usage_error(cmd, "--name is required");
        if (v[1] && v[7])
                return cli_usage_error(cmd, "--from goes with builder steps, not --dockerfile");
        if (v[7] && v[9])
                return cli_usage_error(cmd, "give one of --from and --image");
        json_t *body = build_body(cmd, v, m, &rc);
        if (!body)
                return rc;
        if ((v[2] && (rc = cli_upload_dir(c, cmd, v[2], 0, body))) ||
            (v[9] && (rc = upload_tar(c, cmd, "--image", v[9], "from_image", body)))) {
                json_decref(body);
                return rc;
        }
        json_t *b = NULL;
        rc = cli_fetch(c, "POST", "/v1/templates/builds", body, 202, &b);
        json_decref(body);
        if (rc)
                return rc;
        char build[64], state[32] = "";
        snprintf(build, sizeof(build), "%s", json_string_value(json_object_get(b, "id")));
        json_decref(b);
        fprintf(stderr, "build %s\n", build);
        if ((rc = cli_follow_build(c, build, 1, stderr, NULL, state, sizeof(state))))
                return rc;
        char path[160];
        if (strcmp(state, "ready") != 0) { /* the build's record says why */
                snprintf(path, sizeof(path), "/v1/templates/builds/%s", build);
                struct cli_resp r;
                if (cli_request(c, "GET", path, NULL, 1, &r) == 0 && r.doc) {
                        if (c->json)
                                cli_print_json(r.doc);
                        else
                                fprintf(stderr, "error: build %s failed: %s\n", build,
                                        json_string_value(json_object_get(r.doc, "error"))
                                            ?: state);
                }
                cli_resp_free(&r);
                return ns_code_def(NS_E_MACHINE_FAILED)->exit_code;
        }
        snprintf(path, sizeof(path), "/v1/templates/%s", v[0]);
        return cli_call(c, "GET", path, NULL, show_template);
}
