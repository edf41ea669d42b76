/* The Dockerfile subset (see dockerfile.h): logical lines, then one handler per
 * instruction. */
#include "dockerfile.h"

#include "build_spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/buf.h"

#define LINE_MAX_BYTES (64u << 10)

struct parser {
        json_t *steps;
        json_t *vars;    /* ARG and ENV values seen so far: what $V means */
        json_t *argvals; /* ARG values alone: RUN gets them in its environment */
        const json_t *args;
        char workdir[4096];
        int line;
        struct err *e;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return err_set(p->e, 0, "Dockerfile line %d: %s", p->line, msg), -EINVAL;
}

/* Appends the value of the variable reference at *s (after '$') to out; moves *s. */
static int subst_var(struct parser *p, const char **s, struct buf *out)
{
        const char *c = *s;
        char name[128], word[1024] = "";
        char mode = 0;
        size_t n = 0;
        if (*c == '{') {
                c++;
                while ((isalnum((unsigned char)*c) || *c == '_') && n < sizeof(name) - 1)
                        name[n++] = *c++;
                if (*c == ':' && (c[1] == '-' || c[1] == '+')) {
                        mode = c[1];
                        c += 2;
                        size_t w = 0;
                        while (*c && *c != '}' && w < sizeof(word) - 1)
                                word[w++] = *c++;
                        word[w] = '\0';
                }
                if (*c != '}' || n == 0)
                        return fail(p, "%s", "a ${...} is not closed or has no name");
                c++;
        } else {
                while ((isalnum((unsigned char)*c) || *c == '_') && n < sizeof(name) - 1)
                        name[n++] = *c++;
                if (n == 0) { /* a lone '$' stays */
                        *s = c;
                        return buf_append(out, "$", 1) < 0 ? fail(p, "%s", "line too long") : 0;
                }
        }
        name[n] = '\0';
        *s = c;
        const char *v = json_string_value(json_object_get(p->vars, name));
        const char *put = mode == '-'   ? (v && *v ? v : word)
                          : mode == '+' ? (v && *v ? word : "")
                                        : (v ? v : "");
        return buf_append_str(out, put) < 0 ? fail(p, "%s", "line too long") : 0;
}

/* in with its variables replaced (new malloc'd string) or NULL after fail(). */
static char *subst(struct parser *p, const char *in)
{
        struct buf out;
        buf_init(&out, LINE_MAX_BYTES);
        for (const char *s = in; *s;) {
                int r = 0;
                if (s[0] == '\\' && s[1] == '$') {
                        r = buf_append(&out, "$", 1);
                        s += 2;
                } else if (*s == '$') {
                        s++;
                        r = subst_var(p, &s, &out);
                } else {
                        r = buf_append(&out, s++, 1);
                }
                if (r < 0) {
                        buf_fini(&out);
                        if (r != -EINVAL)
                                fail(p, "%s", "line too long");
                        return NULL;
                }
        }
        if (!out.data)
                return strdup("");
        return out.data;
}

/* Splits s into words (quotes and backslashes as a shell would) into a new array. */
static json_t *words(const char *s)
{
        json_t *arr = json_array();
        struct buf w;
        buf_init(&w, LINE_MAX_BYTES);
        while (*s) {
                while (isspace((unsigned char)*s))
                        s++;
                if (!*s)
                        break;
                buf_reset(&w);
                char q = 0;
                for (; *s && (q || !isspace((unsigned char)*s)); s++) {
                        if (!q && (*s == '"' || *s == '\''))
                                q = *s;
                        else if (q && *s == q)
                                q = 0;
                        else if (*s == '\\' && s[1] && q != '\'')
                                buf_append(&w, ++s, 1);
                        else
                                buf_append(&w, s, 1);
                }
                json_array_append_new(arr, json_stringn(w.data ? w.data : "", w.len));
        }
        buf_fini(&w);
        return arr;
}

/* args with its variables replaced, split into words (new array), or NULL after fail(). */
static json_t *subst_words(struct parser *p, const char *args)
{
        char *text = subst(p, args);
        if (!text)
                return NULL;
        json_t *w = words(text);
        free(text);
        return w;
}

/* The exec form ["a","b"] as an array, or NULL when args is not one. */
static json_t *exec_form(const char *args)
{
        if (args[0] != '[')
                return NULL;
        json_t *a = json_loads(args, JSON_REJECT_DUPLICATES, NULL);
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) if (!json_is_string(v))
        {
                json_decref(a);
                return NULL;
        }
        if (a && (!json_is_array(a) || json_array_size(a) == 0)) {
                json_decref(a);
                return NULL;
        }
        return a;
}

static int add_step(struct parser *p, json_t *step)
{
        if (json_array_size(p->steps) >= DOCKERFILE_MAX_STEPS) {
                json_decref(step);
                return fail(p, "more than %d instructions", DOCKERFILE_MAX_STEPS);
        }
        const char *op = json_string_value(json_object_get(step, "op"));
        const char *why = op && !strcmp(op, "from") ? NULL : build_step_check(step);
        if (why) { /* one set of rules for Dockerfiles and builder steps */
                json_decref(step);
                return fail(p, "%s", why);
        }
        json_object_set_new(step, "line", json_integer(p->line));
        json_array_append_new(p->steps, step);
        return 0;
}

/* RUN, CMD and ENTRYPOINT: the command in shell or exec form. */
static int command_step(struct parser *p, const char *op, const char *args)
{
        if (!*args)
                return fail(p, "%s needs a command", op);
        json_t *argv = exec_form(args);
        json_t *step = argv ? json_pack("{s:s,s:o}", "op", op, "argv", argv)
                            : json_pack("{s:s,s:s}", "op", op, "cmd", args);
        if (strcmp(op, "run") == 0 && json_object_size(p->argvals) > 0)
                json_object_set_new(step, "args", json_deep_copy(p->argvals));
        return add_step(p, step);
}

static int i_from(struct parser *p, const char *args)
{
        if (json_array_size(p->steps) > 0)
                return fail(p, "%s", "a second FROM: multi-stage builds are not supported");
        json_t *w = subst_words(p, args);
        if (!w)
                return -EINVAL;
        int r;
        if (json_array_size(w) == 1)
                r = add_step(p,
                             json_pack("{s:s,s:O}", "op", "from", "image", json_array_get(w, 0)));
        else
                r = fail(p, "%s",
                         "FROM takes one image (FROM ... AS and --platform are not "
                         "supported)");
        json_decref(w);
        return r;
}

static int i_arg(struct parser *p, const char *args)
{
        json_t *w = subst_words(p, args);
        if (!w)
                return -EINVAL;
        size_t i;
        json_t *v;
        json_array_foreach(w, i, v)
        {
                const char *s = json_string_value(v), *eq = strchr(s, '=');
                char name[128];
                size_t n = eq ? (size_t)(eq - s) : strlen(s);
                if (n == 0 || n >= sizeof(name)) {
                        json_decref(w);
                        return fail(p, "%s", "ARG needs a name");
                }
                memcpy(name, s, n);
                name[n] = '\0';
                json_t *given = json_object_get(p->args, name);
                if (given)
                        json_object_set(p->vars, name, given);
                else if (eq)
                        json_object_set_new(p->vars, name, json_string(eq + 1));
                else if (!json_object_get(p->vars, name))
                        json_object_set_new(p->vars, name, json_string(""));
                json_object_set(p->argvals, name, json_object_get(p->vars, name));
        }
        json_decref(w);
        return 0;
}

static int i_env(struct parser *p, const char *args)
{
        json_t *w = subst_words(p, args);
        if (!w)
                return -EINVAL;
        json_t *vars = json_object();
        const char *first = json_string_value(json_array_get(w, 0));
        int r = 0;
        if (first && !strchr(first, '=')) { /* ENV KEY value with spaces */
                const char *rest = args;
                while (*rest && !isspace((unsigned char)*rest))
                        rest++;
                while (isspace((unsigned char)*rest))
                        rest++;
                char *val = subst(p, rest);
                if (!val || !*rest)
                        r = fail(p, "%s", "ENV needs KEY=VALUE or KEY VALUE");
                else
                        json_object_set_new(vars, first, json_string(val));
                free(val);
        } else {
                size_t i;
                json_t *v;
                json_array_foreach(w, i, v)
                {
                        const char *s = json_string_value(v), *eq = strchr(s, '=');
                        if (!eq || eq == s) {
                                r = fail(p, "%s", "ENV needs KEY=VALUE");
                                break;
                        }
                        char *key = strndup(s, (size_t)(eq - s));
                        json_object_set_new(vars, key, json_string(eq + 1));
                        free(key);
                }
        }
        json_decref(w);
        if (r == 0 && json_object_size(vars) == 0)
                r = fail(p, "%s", "ENV needs KEY=VALUE");
        if (r < 0) {
                json_decref(vars);
                return r;
        }
        json_object_update(p->vars, vars);
        return add_step(p, json_pack("{s:s,s:o}", "op", "env", "vars", vars));
}

/* A path as WORKDIR sees it: absolute, or under the current workdir. -1 when too long. */
static int resolve(const struct parser *p, const char *path, char *out, size_t cap)
{
        int n = path[0] == '/'
                    ? snprintf(out, cap, "%s", path)
                    : snprintf(out, cap, "%s%s%s", p->workdir,
                               p->workdir[strlen(p->workdir) - 1] == '/' ? "" : "/", path);
        if (n < 0 || (size_t)n >= cap)
                return -1;
        /* "." components go: /a/./b -> /a/b, /a/. and /a/./ -> /a/ */
        char *dot;
        while ((dot = strstr(out, "/./")))
                memmove(dot, dot + 2, strlen(dot + 2) + 1);
        size_t l = strlen(out);
        if (l >= 2 && strcmp(out + l - 2, "/.") == 0)
                out[l - 1] = '\0';
        return 0;
}

static int i_workdir(struct parser *p, const char *args)
{
        char *path = subst(p, args);
        if (!path || !*path) {
                free(path);
                return path ? fail(p, "%s", "WORKDIR needs a path") : -EINVAL;
        }
        char abs[4096];
        int bad = resolve(p, path, abs, sizeof(abs));
        free(path);
        if (bad)
                return fail(p, "%s", "WORKDIR path too long");
        snprintf(p->workdir, sizeof(p->workdir), "%s", abs);
        return add_step(p, json_pack("{s:s,s:s}", "op", "workdir", "path", abs));
}

static int i_user(struct parser *p, const char *args)
{
        json_t *w = subst_words(p, args);
        if (!w)
                return -EINVAL;
        int r =
            json_array_size(w) == 1
                ? add_step(p, json_pack("{s:s,s:O}", "op", "user", "user", json_array_get(w, 0)))
                : fail(p, "%s", "USER takes one user[:group]");
        json_decref(w);
        return r;
}

static int i_expose(struct parser *p, const char *args)
{
        json_t *w = subst_words(p, args);
        if (!w)
                return -EINVAL;
        json_t *ports = json_array();
        size_t i;
        json_t *v;
        int r = 0;
        json_array_foreach(w, i, v)
        {
                char *end;
                long port = strtol(json_string_value(v), &end, 10);
                if (port < 1 || port > 65535 || (*end && strcasecmp(end, "/tcp") != 0)) {
                        r = fail(p, "EXPOSE %.64s: want a TCP port (1-65535)",
                                 json_string_value(v));
                        break;
                }
                json_array_append_new(ports, json_integer(port));
        }
        json_decref(w);
        if (r == 0 && json_array_size(ports) == 0)
                r = fail(p, "%s", "EXPOSE needs a port");
        if (r < 0) {
                json_decref(ports);
                return r;
        }
        return add_step(p, json_pack("{s:s,s:o}", "op", "expose", "ports", ports));
}

/* COPY and ADD: [--chown=U[:G]] SRC... DEST, or the JSON form. */
static int i_copy(struct parser *p, const char *op, const char *args)
{
        char chown[256] = "";
        while (strncmp(args, "--", 2) == 0) {
                if (strncmp(args, "--chown=", 8) != 0)
                        return fail(p, "%s: only the --chown flag is supported", op);
                size_t n = strcspn(args + 8, " \t");
                if (n == 0 || n >= sizeof(chown))
                        return fail(p, "%s: bad --chown", op);
                memcpy(chown, args + 8, n);
                chown[n] = '\0';
                args += 8 + n;
                while (isspace((unsigned char)*args))
                        args++;
        }
        char *text = subst(p, args);
        if (!text)
                return -EINVAL;
        json_t *w = exec_form(text);
        if (!w)
                w = words(text);
        free(text);
        size_t n = json_array_size(w);
        if (n < 2) {
                json_decref(w);
                return fail(p, "%s needs a source and a destination", op);
        }
        json_t *src = json_array();
        for (size_t i = 0; i + 1 < n; i++) {
                const char *s = json_string_value(json_array_get(w, i));
                if (strstr(s, "://")) {
                        json_decref(w);
                        json_decref(src);
                        return fail(p, "%s of a URL is not supported (local files only)", op);
                }
                json_array_append_new(src, json_string(s));
        }
        char dest[4096];
        int bad = resolve(p, json_string_value(json_array_get(w, n - 1)), dest, sizeof(dest));
        json_decref(w);
        if (bad) {
                json_decref(src);
                return fail(p, "%s destination too long", op);
        }
        json_t *step = json_pack("{s:s,s:o,s:s}", "op", "copy", "src", src, "dest", dest);
        if (chown[0])
                json_object_set_new(step, "chown", json_string(chown));
        return add_step(p, step);
}

static int instruction(struct parser *p, char *line)
{
        char *args = line;
        while (*args && !isspace((unsigned char)*args))
                args++;
        if (*args)
                *args++ = '\0';
        while (isspace((unsigned char)*args))
                args++;
        size_t al = strlen(args);
        while (al && isspace((unsigned char)args[al - 1]))
                args[--al] = '\0';
        if (strcasecmp(line, "ARG") == 0)
                return i_arg(p, args);
        if (strcasecmp(line, "FROM") == 0)
                return i_from(p, args);
        if (json_array_size(p->steps) == 0)
                return fail(p, "%s before FROM", line);
        if (strcasecmp(line, "RUN") == 0)
                return command_step(p, "run", args);
        if (strcasecmp(line, "CMD") == 0 || strcasecmp(line, "ENTRYPOINT") == 0)
                return command_step(p, "start", args);
        if (strcasecmp(line, "COPY") == 0 || strcasecmp(line, "ADD") == 0)
                return i_copy(p, strcasecmp(line, "COPY") == 0 ? "COPY" : "ADD", args);
        if (strcasecmp(line, "ENV") == 0)
                return i_env(p, args);
        if (strcasecmp(line, "WORKDIR") == 0)
                return i_workdir(p, args);
        if (strcasecmp(line, "USER") == 0)
                return i_user(p, args);
        if (strcasecmp(line, "EXPOSE") == 0)
                return i_expose(p, args);
        char shown[32];
        snprintf(shown, sizeof(shown), "%.31s", line);
        return fail(p,
                    "%s is not supported (FROM, RUN, COPY, ADD, ENV, WORKDIR, USER, ARG, "
                    "EXPOSE, CMD, ENTRYPOINT are)",
                    shown);
}

json_t *dockerfile_parse(const char *text, size_t len, const json_t *build_args, struct err *e)
{
        struct parser p = {.steps = json_array(),
                           .vars = json_object(),
                           .argvals = json_object(),
                           .args = build_args,
                           .e = e};
        snprintf(p.workdir, sizeof(p.workdir), "/");
        if (len > DOCKERFILE_MAX || memchr(text, '\0', len)) {
                err_set(e, 0, "the Dockerfile is over %u bytes or not text", DOCKERFILE_MAX);
                goto bad;
        }
        struct buf logical;
        buf_init(&logical, LINE_MAX_BYTES);
        int r = 0, start = 0;
        size_t i = 0;
        for (int lineno = 1; i < len && r == 0; lineno++) {
                size_t end = i;
                while (end < len && text[end] != '\n')
                        end++;
                size_t a = i, b = end;
                while (a < b && isspace((unsigned char)text[a]))
                        a++;
                while (b > a && isspace((unsigned char)text[b - 1]))
                        b--;
                i = end + 1;
                if (a == b || text[a] == '#') /* blank or comment: continuations go on */
                        continue;
                if (logical.len == 0)
                        start = lineno;
                int more = text[b - 1] == '\\';
                if (buf_append(&logical, text + a, b - a - (size_t)more) < 0 ||
                    (more && buf_append(&logical, " ", 1) < 0)) {
                        p.line = start;
                        r = fail(&p, "%s", "the instruction is too long");
                        break;
                }
                if (more && i < len)
                        continue;
                p.line = start;
                r = instruction(&p, logical.data);
                buf_reset(&logical);
        }
        buf_fini(&logical);
        if (r < 0)
                goto bad;
        if (json_array_size(p.steps) == 0) {
                err_set(e, 0, "the Dockerfile has no FROM");
                goto bad;
        }
        json_decref(p.vars);
        json_decref(p.argvals);
        return p.steps;
bad:
        json_decref(p.steps);
        json_decref(p.vars);
        json_decref(p.argvals);
        return NULL;
}
