/* Template names, builder steps and their commands, cache keys (build_spec.h). */
#include "build_spec.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/util.h"

static int name_ok(const char *s, size_t n, size_t max, int tag)
{
        if (n == 0 || n > max)
                return 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                int alnum = tag ? isalnum(c) : (islower(c) || isdigit(c));
                if (!(alnum || (i == 0 && tag && c == '_') ||
                      (i > 0 && (c == '.' || c == '_' || c == '-'))))
                        return 0;
        }
        return 1;
}

int template_ref_norm(const char *in, char *out, struct err *e)
{
        const char *colon = strchr(in, ':');
        size_t nlen = colon ? (size_t)(colon - in) : strlen(in);
        const char *tag = colon ? colon + 1 : "latest";
        if (!name_ok(in, nlen, 64, 0))
                return err_say(e, EINVAL,
                               "template name '%.*s': 1 to 64 of a-z 0-9 . _ -, starting with a "
                               "letter or digit",
                               (int)(nlen > 80 ? 80 : nlen), in);
        /* the words of /v1/templates/... routes: a template named so could not be reached */
        static const char *const reserved[] = {"builds", "contexts", "prune"};
        for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
                if (nlen == strlen(reserved[i]) && strncmp(in, reserved[i], nlen) == 0)
                        return err_say(e, EINVAL,
                                       "template name '%s' is reserved (a route of /v1/templates)",
                                       reserved[i]);
        if (!name_ok(tag, strlen(tag), 32, 1))
                return err_say(e, EINVAL,
                               "template tag '%.40s': 1 to 32 of A-Z a-z 0-9 . _ -, not starting "
                               "with . or -",
                               tag);
        snprintf(out, TEMPLATE_REF_MAX + 1, "%.*s:%s", (int)nlen, in, tag);
        return 0;
}

/* ---- checks ---------------------------------------------------------------------- */

static int strings_ok(const json_t *a, size_t max_n, size_t max_len, int (*ok)(const char *))
{
        if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > max_n)
                return 0;
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
                const char *s = json_string_value(v);
                if (!s || !*s || strlen(s) > max_len || (ok && !ok(s)))
                        return 0;
        }
        return 1;
}

static int package_ok(const char *s)
{
        if (s[0] == '-')
                return 0;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && !strchr("._+:=<>~^@/!*,-", *s))
                        return 0;
        return 1;
}

/* A context path: relative (a leading / is dropped), no "..", no NUL. */
static int context_path_ok(const char *s)
{
        for (const char *p = s; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return 0;
                p += n;
                p += *p == '/';
        }
        return 1;
}

static int string_field(const json_t *step, const char *key, size_t max, int required)
{
        json_t *v = json_object_get(step, key);
        if (!v)
                return !required;
        const char *s = json_string_value(v);
        return s && (*s || !required) && strlen(s) <= max;
}

static int strmap_ok(const json_t *o)
{
        if (!json_is_object(o) || json_object_size(o) > 256)
                return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)o, k, v) if (!*k || strlen(k) > 256 || strchr(k, '=') ||
                                                   !json_is_string(v) ||
                                                   json_string_length(v) > 32768) return 0;
        return 1;
}

static int command_ok(const json_t *step)
{
        json_t *cmd = json_object_get(step, "cmd"), *argv = json_object_get(step, "argv");
        if (!cmd == !argv)
                return 0;
        return cmd ? string_field(step, "cmd", 65536, 1) : strings_ok(argv, 256, 65536, NULL);
}

const char *build_step_check(const json_t *step)
{
        const char *op = json_string_value(json_object_get(step, "op"));
        if (!json_is_object(step) || !op)
                return "a step is an object with \"op\"";
        if (!strcmp(op, "run"))
                return command_ok(step) && (!json_object_get(step, "args") ||
                                            strmap_ok(json_object_get(step, "args")))
                           ? NULL
                           : "run needs one of cmd (a string) and argv (strings)";
        if (!strcmp(op, "start"))
                return command_ok(step) ? NULL : "start needs one of cmd and argv";
        if (!strcmp(op, "apt") || !strcmp(op, "pip") || !strcmp(op, "npm"))
                return strings_ok(json_object_get(step, "packages"), 256, BUILD_MAX_PACKAGE,
                                  package_ok)
                           ? NULL
                           : "packages: 1 to 256 names (letters, digits, ._+:=<>~^@/!*,-)";
        if (!strcmp(op, "copy")) {
                const char *dest = json_string_value(json_object_get(step, "dest"));
                if (!strings_ok(json_object_get(step, "src"), 64, 4096, context_path_ok))
                        return "copy src: 1 to 64 paths inside the context (no '..')";
                if (!dest || dest[0] != '/' || strlen(dest) > 4096)
                        return "copy dest: an absolute path";
                return string_field(step, "chown", 64, 0) ? NULL : "copy chown: user[:group]";
        }
        if (!strcmp(op, "env"))
                return strmap_ok(json_object_get(step, "vars")) &&
                               json_object_size(json_object_get(step, "vars")) > 0
                           ? NULL
                           : "env vars: an object of strings (names without '=')";
        if (!strcmp(op, "workdir")) {
                const char *p = json_string_value(json_object_get(step, "path"));
                return p && p[0] == '/' && strlen(p) <= 4096 ? NULL : "workdir: an absolute path";
        }
        if (!strcmp(op, "user"))
                return string_field(step, "user", 64, 1) ? NULL : "user: a user name or uid";
        if (!strcmp(op, "expose")) {
                json_t *ports = json_object_get(step, "ports"), *v;
                size_t i;
                if (!json_is_array(ports) || json_array_size(ports) == 0)
                        return "expose ports: an array of port numbers";
                json_array_foreach(ports, i,
                                   v) if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                                          json_integer_value(v) > 65535) return "expose "
                                                                                "ports: "
                                                                                "1..65535";
                return NULL;
        }
        return "unknown op (run, apt, pip, npm, copy, env, workdir, user, expose, start)";
}

int build_steps_check(const json_t *steps, struct err *e)
{
        if (!json_is_array(steps) || json_array_size(steps) > BUILD_MAX_STEPS)
                return err_say(e, EINVAL, "steps: an array of at most %d steps", BUILD_MAX_STEPS);
        size_t i;
        json_t *step;
        json_array_foreach(steps, i, step)
        {
                const char *why = build_step_check(step);
                if (why)
                        return err_say(e, EINVAL, "step %zu: %s", i + 1, why);
        }
        return 0;
}

int build_step_is_layer(const json_t *step)
{
        const char *op = json_string_value(json_object_get(step, "op"));
        static const char *const layered[] = {"run", "apt", "pip", "npm", "copy"};
        for (size_t i = 0; op && i < sizeof(layered) / sizeof(layered[0]); i++)
                if (!strcmp(op, layered[i]))
                        return 1;
        return 0;
}

/* ---- commands -------------------------------------------------------------------- */

/* Appends s single-quoted for sh. */
static void quote(struct buf *b, const char *s)
{
        buf_append(b, "'", 1);
        for (; *s; s++) {
                if (*s == '\'')
                        buf_append(b, "'\\''", 4);
                else
                        buf_append(b, s, 1);
        }
        buf_append(b, "'", 1);
}

static void quote_all(struct buf *b, const json_t *a)
{
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
                buf_append(b, " ", 1);
                quote(b, json_string_value(v));
        }
}

static void text(struct buf *b, const char *s)
{
        buf_append_str(b, s);
}

#define APT_INSTALL                                                                                \
        "export DEBIAN_FRONTEND=noninteractive\n"                                                  \
        "apt-get update -q\n"                                                                      \
        "apt-get install -y -q --no-install-recommends"
#define APT_CLEAN "apt-get clean\nrm -rf /var/lib/apt/lists/*\n"

/* COPY: the context arrives as a tar on stdin, is unpacked in a temporary directory
 * (gone afterwards, so not in the layer) and each source copied like Docker does: a
 * directory's contents into dest, a file into dest/ or as dest. */
static const char copy_prologue[] =
    "set -e\n"
    "ctx=$(mktemp -d /tmp/.nullspace-context.XXXXXX)\n"
    "trap 'rm -rf \"$ctx\"' EXIT\n"
    "tar -x --no-same-owner -C \"$ctx\" -f -\n"
    "cd \"$ctx\"\n"
    "ns_copy() {\n"
    "  s=$1; d=$2\n"
    "  [ -e \"$s\" ] || [ -L \"$s\" ] || { echo \"COPY: '$s' is not in the build context\" >&2; "
    "exit 1; }\n"
    "  if [ -d \"$s\" ] && [ ! -L \"$s\" ]; then mkdir -p \"$d\"; cp -a \"$s\"/. \"$d\"/; t=$d\n"
    "  else\n"
    "    case \"$d\" in */) dir=1 ;; *) dir=$MULTI; [ -d \"$d\" ] && dir=1 ;; esac\n"
    "    if [ \"$dir\" = 1 ]; then mkdir -p \"$d\"; t=\"${d%/}/$(basename \"$s\")\"\n"
    "    else mkdir -p \"$(dirname \"$d\")\"; t=$d; fi\n"
    "    cp -a \"$s\" \"$t\"\n"
    "  fi\n"
    "  if [ -n \"$CHOWN\" ]; then chown -R \"$CHOWN\" \"$t\"; fi\n"
    "}\n";

static void copy_script(struct buf *b, const json_t *step)
{
        json_t *src = json_object_get(step, "src");
        text(b, copy_prologue);
        text(b, json_array_size(src) > 1 ? "MULTI=1\n" : "MULTI=0\n");
        text(b, "CHOWN=");
        quote(b, json_string_value(json_object_get(step, "chown")) ?: "");
        text(b, "\n");
        size_t i;
        json_t *v;
        json_array_foreach(src, i, v)
        {
                const char *s = json_string_value(v);
                while (*s == '/')
                        s++;
                text(b, "ns_copy ");
                quote(b, *s ? s : ".");
                text(b, " ");
                quote(b, json_string_value(json_object_get(step, "dest")));
                text(b, "\n");
        }
}

char *build_step_script(const json_t *step)
{
        const char *op = json_string_value(json_object_get(step, "op"));
        json_t *pkgs = json_object_get(step, "packages");
        struct buf b;
        buf_init(&b, 1u << 20);
        if (!strcmp(op, "apt")) {
                text(&b, "set -e\n" APT_INSTALL);
                quote_all(&b, pkgs);
                text(&b, "\n" APT_CLEAN);
        } else if (!strcmp(op, "pip")) {
                text(&b, "set -e\nif ! python3 -m pip --version >/dev/null 2>&1; then\n" APT_INSTALL
                         " python3-pip\n" APT_CLEAN "fi\n"
                         "python3 -m pip install --no-cache-dir --break-system-packages");
                quote_all(&b, pkgs);
                text(&b, "\n");
        } else if (!strcmp(op, "npm")) {
                text(&b, "set -e\nif ! command -v npm >/dev/null 2>&1; then\n" APT_INSTALL
                         " nodejs npm\n" APT_CLEAN "fi\n"
                         "npm install -g --no-fund --no-audit");
                quote_all(&b, pkgs);
                /* its download cache is not part of the layer */
                text(&b, "\nnpm cache clean --force >/dev/null 2>&1 || true\n");
        } else if (!strcmp(op, "copy")) {
                copy_script(&b, step);
        } else {
                text(&b, json_string_value(json_object_get(step, "cmd")) ?: "");
        }
        /* the steps' checked bounds keep a script well under the buffer's limit; its
         * memory (NUL-terminated) becomes the caller's */
        return b.data ? b.data : strdup("");
}

void build_step_title(const json_t *step, char *out, size_t cap)
{
        const char *op = json_string_value(json_object_get(step, "op")) ?: "?";
        char upper[16];
        size_t i = 0;
        for (; op[i] && i < sizeof(upper) - 1; i++)
                upper[i] = (char)toupper((unsigned char)op[i]);
        upper[i] = '\0';
        json_t *rest = json_deep_copy(step);
        json_object_del(rest, "op");
        json_object_del(rest, "line");
        json_object_del(rest, "args");
        const char *cmd = json_string_value(json_object_get(rest, "cmd"));
        char *dump = cmd ? NULL : json_dumps(rest, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(out, cap, "%s %s", upper, cmd ? cmd : dump ? dump : "");
        for (char *p = out; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        free(dump);
        json_decref(rest);
}

/* ---- cache keys ------------------------------------------------------------------ */

static void digest(const char *const *parts, size_t n, char out[65])
{
        unsigned char md[32];
        unsigned len = 0;
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        EVP_DigestInit_ex(c, EVP_sha256(), NULL);
        for (size_t i = 0; i < n; i++) {
                EVP_DigestUpdate(c, parts[i], strlen(parts[i]));
                EVP_DigestUpdate(c, "\n", 1);
        }
        EVP_DigestFinal_ex(c, md, &len);
        EVP_MD_CTX_free(c);
        hex_encode(md, sizeof(md), out);
}

void build_key_base(const char *base, char out[65])
{
        const char *parts[] = {"nullspace-build-1", base};
        digest(parts, 2, out);
}

void build_key_next(const char *prev, const json_t *step, const json_t *env, const char *user,
                    const char *cwd, const char *context_id, char out[65])
{
        json_t *s = json_deep_copy(step);
        json_object_del(s, "line");
        char *st = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
        char *en = json_dumps(env, JSON_COMPACT | JSON_SORT_KEYS);
        int copy = !strcmp(json_string_value(json_object_get(step, "op")) ?: "", "copy");
        const char *parts[] = {prev,           st ? st : "",
                               en ? en : "",   user ? user : "",
                               cwd ? cwd : "", copy && context_id ? context_id : ""};
        digest(parts, 6, out);
        free(st);
        free(en);
        json_decref(s);
}
