/* nullspace code run|interrupt and code contexts list|create|delete|restart: the code
 * interpreter of machines from the code-interpreter template (docs/code-interpreter.md).
 * A run streams its output as it happens; results' text goes to stdout, their images,
 * SVG, PDF and HTML into --out DIR. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/util.h"
#include "cli.h"

#define CODE_MAX (8u << 20) /* the code of one run, from a file or stdin */

/* The files of one result kind: field, file extension, whether the field is base64. */
static const struct {
        const char *field, *ext;
        int base64;
} saved_kinds[] = {
    {"png", "png", 1}, {"jpeg", "jpg", 1},  {"pdf", "pdf", 1},
    {"svg", "svg", 0}, {"html", "html", 0},
};

struct code_run {
        struct cli *c;
        const char *out_dir; /* --out, or NULL */
        int nresults;
        int failed;  /* a result could not be saved */
        json_t *end; /* the error line, when the code raised one */
        int ended;   /* end_of_execution came */
};

/* Writes result field f of result number n into the --out directory. */
static int save_kind(struct code_run *st, int n, const char *ext, const char *data, int b64)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/result-%d.%s", st->out_dir, n, ext);
        FILE *f = fopen(path, "wb");
        if (!f) {
                fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(errno));
                return -1;
        }
        if (b64)
                cli_write_base64(f, data);
        else
                fputs(data, f);
        if (fclose(f) != 0) {
                fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(errno));
                return -1;
        }
        fprintf(stderr, "saved %s\n", path);
        return 0;
}

/* One result: its text on stdout, its files into --out (or a note that it has some). */
static void show_result(struct code_run *st, const json_t *r)
{
        int n = ++st->nresults;
        const char *text = json_string_value(json_object_get(r, "text"));
        if (text && !st->c->json)
                printf("%s\n", text);
        char kinds[64] = "";
        for (size_t i = 0; i < sizeof(saved_kinds) / sizeof(saved_kinds[0]); i++) {
                const char *data = json_string_value(json_object_get(r, saved_kinds[i].field));
                if (!data)
                        continue;
                if (st->out_dir) {
                        if (save_kind(st, n, saved_kinds[i].ext, data, saved_kinds[i].base64) < 0)
                                st->failed = 1;
                } else {
                        size_t len = strlen(kinds);
                        snprintf(kinds + len, sizeof(kinds) - len, "%s%s", len ? ", " : "",
                                 saved_kinds[i].field);
                }
        }
        if (*kinds && !st->c->json)
                fprintf(stderr, "(result %d has %s: --out DIR saves it)\n", n, kinds);
        fflush(stdout);
}

static void on_line(void *ud, json_t *line)
{
        struct code_run *st = ud;
        const char *type = json_string_value(json_object_get(line, "type"));
        if (!type)
                return;
        if (!strcmp(type, "stdout") || !strcmp(type, "stderr")) {
                FILE *f = type[3] == 'o' ? stdout : stderr;
                fputs(json_string_value(json_object_get(line, "text")) ?: "", f);
                fflush(f);
        } else if (!strcmp(type, "result")) {
                show_result(st, line);
        } else if (!strcmp(type, "error")) {
                json_decref(st->end);
                st->end = json_incref(line);
        } else if (!strcmp(type, "end_of_execution")) {
                st->ended = 1;
        }
}

int cli_code_error(const json_t *err)
{
        const char *tb = json_string_value(json_object_get(err, "traceback"));
        if (tb && *tb)
                fprintf(stderr, "%s%s", tb, tb[strlen(tb) - 1] == '\n' ? "" : "\n");
        else
                fprintf(stderr, "%s: %s\n", json_string_value(json_object_get(err, "name")) ?: "",
                        json_string_value(json_object_get(err, "value")) ?: "");
        return 1;
}

/* The code to run: the file named (or stdin for "-"); NULL after printing why. */
static char *read_code(const struct cli_cmd *cmd, const char *src, size_t *len, int *ret)
{
        char *code = cli_read_path(src, CODE_MAX, len);
        if (!code && errno == E2BIG)
                *ret = cli_usage_error(cmd, "the code is larger than 8 MiB");
        else if (!code)
                *ret = cli_usage_error(cmd, "cannot read %s: %s", src, strerror(errno));
        return code;
}

/* Builds the run's request from the code and the flags (--language, --context, --env,
 * --timeout-s); NULL after a usage error. */
static json_t *run_body(const struct cli_cmd *cmd, const char **v, struct cli_multi *multi,
                        char *code, size_t len, int *ret)
{
        json_t *body = json_object(), *env = NULL;
        json_object_set_new(body, "code", json_stringn(code, len));
        if (!json_is_string(json_object_get(body, "code"))) {
                json_decref(body);
                *ret = cli_usage_error(cmd, "the code is not UTF-8 text");
                return NULL;
        }
        if (v[0])
                json_object_set_new(body, "language", json_string(v[0]));
        if (v[1])
                json_object_set_new(body, "context", json_string(v[1]));
        if ((*ret = cli_pairs(cmd, &multi[2], "--env", &env)) ||
            (*ret = cli_set_int(cmd, body, "timeout_s", "--timeout-s", v[3]))) {
                json_decref(body);
                json_decref(env);
                return NULL;
        }
        if (env)
                json_object_set_new(body, "env", env);
        return body;
}

json_t *cli_code_request(const struct cli_cmd *cmd, int npos, char **argv, const char **v,
                         struct cli_multi *multi, int *ret)
{
        if (npos != 2) {
                *ret = cli_usage_error(cmd, "give the machine ID and a file of code (- for stdin)");
                return NULL;
        }
        if (v[0] && v[1]) {
                *ret = cli_usage_error(cmd, "give --language or --context, not both");
                return NULL;
        }
        size_t len = 0;
        char *code = read_code(cmd, argv[1], &len, ret);
        if (!code)
                return NULL;
        json_t *body = run_body(cmd, v, multi, code, len, ret);
        free(code);
        return body;
}

/* --json: the whole execution printed at once, its files saved all the same. */
static int finish_json(struct code_run *st, const struct cli_resp *resp)
{
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(resp->doc, "results"), i, r) show_result(st, r);
        cli_print_json(resp->doc);
        if (st->failed)
                return 1;
        return json_is_object(json_object_get(resp->doc, "error")) ? 1 : 0;
}

int cmd_code_run(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("code run");
        const char *v[5] = {0};
        struct cli_multi multi[5] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, multi, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        json_t *body = cli_code_request(cmd, npos, argv, v, multi, &r);
        if (!body)
                return r;
        if (v[4] && mkdir(v[4], 0755) < 0 && errno != EEXIST) {
                json_decref(body);
                return cli_usage_error(cmd, "cannot make %s: %s", v[4], strerror(errno));
        }
        char path[128];
        snprintf(path, sizeof(path), "/v1/machines/%s/code/run", id);
        struct code_run st = {.c = c, .out_dir = v[4]};
        struct cli_resp resp;
        if (c->json) /* a run takes as long as it takes (streams are unbounded anyway) */
                c->waiting = "running";
        if ((r = cli_post_streamed(c, path, body, on_line, &st, &resp)))
                return r;
        if (resp.status != 200)
                r = cli_fail_response(c, &resp);
        else if (c->json)
                r = resp.doc ? finish_json(&st, &resp) : 1;
        else if (!st.ended)
                r = (fprintf(stderr, "error: the run's stream ended before the run did\n"),
                     ns_code_def(NS_E_INTERNAL)->exit_code);
        else
                r = st.end ? cli_code_error(st.end) : st.failed;
        cli_resp_free(&resp);
        json_decref(st.end);
        return r;
}

/* A context ID ([A-Za-z0-9_-], up to 64: "default-python", or hex). */
static int context_arg(const struct cli_cmd *cmd, const char *cid)
{
        const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        if (!*cid || strlen(cid) > 64 || strspn(cid, ok) != strlen(cid))
                return cli_usage_error(cmd, "'%s' is not a context ID", cid);
        return 0;
}

static void context_row(const json_t *x)
{
        printf("%-34s %-8s %s\n", json_string_value(json_object_get(x, "id")),
               json_string_value(json_object_get(x, "language")),
               json_string_value(json_object_get(x, "cwd")));
}

static void show_contexts(const json_t *doc)
{
        printf("%-34s %-8s %s\n", "ID", "LANGUAGE", "CWD");
        size_t i;
        json_t *x;
        json_array_foreach(doc, i, x) context_row(x);
}

int cmd_code_contexts_list(struct cli *c, int argc, char **argv)
{
        return cli_machine_cmd(c, "code contexts list", "GET", "/code/contexts", argc, argv,
                               show_contexts);
}

int cmd_code_contexts_create(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("code contexts create");
        const char *v[3] = {0};
        struct cli_multi multi[3] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, multi, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (npos != 1)
                return cli_usage_error(cmd, "expected one machine ID");
        json_t *body = json_object(), *env = NULL;
        if (v[0])
                json_object_set_new(body, "language", json_string(v[0]));
        if (v[1])
                json_object_set_new(body, "cwd", json_string(v[1]));
        if ((r = cli_pairs(cmd, &multi[2], "--env", &env))) {
                json_decref(body);
                return r;
        }
        if (env)
                json_object_set_new(body, "env", env);
        char path[128];
        snprintf(path, sizeof(path), "/v1/machines/%s/code/contexts", id);
        c->waiting = "starting the interpreter";
        return cli_call(c, "POST", path, body, context_row);
}

/* `code contexts delete|restart` and `code interrupt`: METHOD .../contexts/CID[SUFFIX]. */
static int on_context(struct cli *c, const char *name, const char *method, const char *suffix,
                      int argc, char **argv, void (*show)(const json_t *doc))
{
        const struct cli_cmd *cmd = cli_find(name);
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        if (npos != 2)
                return cli_usage_error(cmd, "expected a machine ID and a context ID");
        if ((r = context_arg(cmd, argv[1])))
                return r;
        char path[256];
        snprintf(path, sizeof(path), "/v1/machines/%s/code/contexts/%s%s", id, argv[1], suffix);
        return cli_call(c, method, path, NULL, show);
}

static void show_deleted(const json_t *doc)
{
        printf("deleted %s\n", json_string_value(json_object_get(doc, "id")));
}

static void show_interrupted(const json_t *doc)
{
        printf("%s %s\n", json_string_value(json_object_get(doc, "id")),
               json_is_true(json_object_get(doc, "interrupted")) ? "interrupted"
                                                                 : "had no run under way");
}

int cmd_code_contexts_delete(struct cli *c, int argc, char **argv)
{
        return on_context(c, "code contexts delete", "DELETE", "", argc, argv, show_deleted);
}

int cmd_code_contexts_restart(struct cli *c, int argc, char **argv)
{
        c->waiting = "restarting the interpreter";
        return on_context(c, "code contexts restart", "POST", "/restart", argc, argv, context_row);
}

int cmd_code_interrupt(struct cli *c, int argc, char **argv)
{
        return on_context(c, "code interrupt", "POST", "/interrupt", argc, argv, show_interrupted);
}

/* ---- MCP ------------------------------------------------------------------------------- */

/* Moves a result's PNG and JPEG out of r into MCP image content appended to content. */
static void take_images(json_t *r, json_t *content)
{
        static const char *const kinds[][2] = {{"png", "image/png"}, {"jpeg", "image/jpeg"}};
        for (size_t k = 0; k < 2; k++) {
                json_t *data = json_object_get(r, kinds[k][0]);
                if (!json_is_string(data))
                        continue;
                json_array_append_new(content, json_pack("{s:s,s:O,s:s}", "type", "image", "data",
                                                         data, "mimeType", kinds[k][1]));
                json_object_set_new(r, kinds[k][0], json_string("(image content)"));
        }
        json_object_del(r, "pdf"); /* base64 no model reads as text */
}

json_t *cli_mcp_run_code(struct cli *c, json_t *args, int *is_error)
{
        const char *id = json_string_value(json_object_get(args, "machine_id"));
        json_t *code = json_object_get(args, "code");
        if (!id || !is_safe_token(id, 64) || !json_is_string(code)) {
                *is_error = 1;
                return json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text",
                                 "{\"error\":{\"code\":\"invalid_field\",\"message\":\"machine_id "
                                 "and code are required\"}}",
                                 "isError", 1);
        }
        json_t *body = json_pack("{s:O}", "code", code);
        const char *keys[] = {"language", "context", "env", "timeout_s"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (json_object_get(args, keys[i]))
                        json_object_set(body, keys[i], json_object_get(args, keys[i]));
        char path[128];
        snprintf(path, sizeof(path), "/v1/machines/%s/code/run", id);
        c->waiting = "running";
        struct cli_resp r;
        int rc = cli_request(c, "POST", path, body, 1, &r);
        json_decref(body);
        json_t *doc = rc      ? json_pack("{s:{s:s,s:s}}", "error", "code", "connection_failed",
                                          "message", "the daemon could not be reached or answer")
                      : r.doc ? json_incref(r.doc)
                              : json_pack("{s:I}", "status", r.status);
        int failed = rc || r.status != 200;
        if (!rc)
                cli_resp_free(&r);
        json_t *content = json_array(), *res;
        size_t i;
        if (!failed)
                json_array_foreach(json_object_get(doc, "results"), i, res)
                    take_images(res, content);
        *is_error = failed || json_is_object(json_object_get(doc, "error"));
        char *text = json_dumps(doc, JSON_INDENT(2));
        json_array_insert_new(content, 0,
                              json_pack("{s:s,s:s}", "type", "text", "text", text ? text : "{}"));
        free(text);
        json_decref(doc);
        return json_pack("{s:o,s:b}", "content", content, "isError", *is_error);
}
