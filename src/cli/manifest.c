/* A small TOML reader: a cursor over the text, one value at a time. */
#include "manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"

struct cur {
        const char *p, *end;
        int line;
        char *err;
        size_t cap;
};

static int fail(struct cur *c, const char *what)
{
        snprintf(c->err, c->cap, "nullspace.toml:%d: %s", c->line, what);
        return -1;
}

/* Skips blanks, and with nl newlines and comments too. */
static void skip(struct cur *c, int nl)
{
        while (c->p < c->end) {
                if (*c->p == ' ' || *c->p == '\t' || *c->p == '\r')
                        c->p++;
                else if (*c->p == '#')
                        while (c->p < c->end && *c->p != '\n')
                                c->p++;
                else if (nl && *c->p == '\n') {
                        c->line++;
                        c->p++;
                } else
                        return;
        }
}

/* \uXXXX as UTF-8 into b. */
static int put_unicode(struct cur *c, struct buf *b)
{
        unsigned v = 0;
        for (int i = 0; i < 4; i++, c->p++) {
                char h = c->p < c->end ? *c->p : 0;
                int d = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
                if (d < 0)
                        return fail(c, "\\u takes four hex digits");
                v = v * 16 + (unsigned)d;
        }
        if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
                return fail(c, "\\u names no character");
        char u[3];
        int n = v < 0x80 ? (u[0] = (char)v, 1)
                : v < 0x800
                    ? (u[0] = (char)(0xc0 | v >> 6), u[1] = (char)(0x80 | (v & 0x3f)), 2)
                    : (u[0] = (char)(0xe0 | v >> 12), u[1] = (char)(0x80 | ((v >> 6) & 0x3f)),
                       u[2] = (char)(0x80 | (v & 0x3f)), 3);
        return buf_append(b, u, (size_t)n);
}

/* A quoted string at the cursor (its quote first). */
static json_t *string(struct cur *c)
{
        char q = *c->p++;
        struct buf b;
        buf_init(&b, MANIFEST_MAX);
        buf_append(&b, "", 0);
        while (c->p < c->end && *c->p != q && *c->p != '\n') {
                char ch = *c->p++;
                if (ch == '\\' && q == '"') {
                        char x = c->p < c->end ? *c->p++ : 0;
                        const char *from = "\"\\ntr", *to = "\"\\\n\t\r";
                        const char *k = x ? strchr(from, x) : NULL;
                        if (x == 'u') {
                                if (put_unicode(c, &b) < 0) {
                                        buf_fini(&b);
                                        return NULL;
                                }
                                continue;
                        }
                        if (!k) {
                                buf_fini(&b);
                                fail(c, "unknown escape in a string");
                                return NULL;
                        }
                        ch = to[k - from];
                }
                buf_append(&b, &ch, 1);
        }
        if (c->p >= c->end || *c->p != q) {
                buf_fini(&b);
                fail(c, "a string does not end on its line");
                return NULL;
        }
        c->p++;
        json_t *s = json_stringn(b.data, b.len);
        buf_fini(&b);
        if (!s)
                fail(c, "a string is not valid UTF-8");
        return s;
}

static json_t *value(struct cur *c, int depth);

static json_t *array(struct cur *c, int depth)
{
        c->p++;
        json_t *a = json_array();
        for (;;) {
                skip(c, 1);
                if (c->p < c->end && *c->p == ']') {
                        c->p++;
                        return a;
                }
                json_t *v = value(c, depth + 1);
                if (!v || json_array_size(a) >= 1024) {
                        if (v)
                                fail(c, "an array holds at most 1024 values");
                        json_decref(v);
                        json_decref(a);
                        return NULL;
                }
                json_array_append_new(a, v);
                skip(c, 1);
                if (c->p < c->end && *c->p == ',')
                        c->p++;
                else if (c->p >= c->end || *c->p != ']') {
                        fail(c, "an array's values are separated by ',' and end with ']'");
                        json_decref(a);
                        return NULL;
                }
        }
}

static json_t *value(struct cur *c, int depth)
{
        if (c->p >= c->end)
                return fail(c, "a value is missing"), NULL;
        if (*c->p == '"' || *c->p == '\'')
                return string(c);
        if (*c->p == '[')
                return depth < 4 ? array(c, depth) : (fail(c, "arrays nest too deep"), NULL);
        size_t n = 0;
        while (c->p + n < c->end && !strchr(" \t\r\n#,]", c->p[n]))
                n++;
        if (n == 4 && !strncmp(c->p, "true", 4))
                return c->p += 4, json_true();
        if (n == 5 && !strncmp(c->p, "false", 5))
                return c->p += 5, json_false();
        char num[24];
        if (n == 0 || n >= sizeof(num))
                return fail(c, "a value is a \"string\", a number, true, false or an array"), NULL;
        memcpy(num, c->p, n);
        num[n] = '\0';
        char *end;
        errno = 0;
        long long v = strtoll(num, &end, 10);
        if (*end || errno)
                return fail(c, "a value is a \"string\", a number, true, false or an array"), NULL;
        c->p += n;
        return json_integer(v);
}

/* A bare key at the cursor into key (cap bytes). */
static int bare_key(struct cur *c, char *key, size_t cap)
{
        size_t n = 0;
        while (c->p < c->end && n + 1 < cap &&
               strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *c->p) &&
               *c->p)
                key[n++] = *c->p++;
        key[n] = '\0';
        return n ? 0 : fail(c, "expected a key ([A-Za-z0-9_-])");
}

/* One line: a [table] header or key = value into *table. */
static int line(struct cur *c, json_t *root, json_t **table)
{
        char key[129];
        if (*c->p == '[') {
                c->p++;
                skip(c, 0);
                if (bare_key(c, key, sizeof(key)) < 0)
                        return -1;
                skip(c, 0);
                if (c->p >= c->end || *c->p++ != ']')
                        return fail(c, "a table header is [name]");
                if (json_object_get(root, key))
                        return fail(c, "this table or key is given twice");
                *table = json_object();
                json_object_set_new(root, key, *table);
        } else {
                if (bare_key(c, key, sizeof(key)) < 0)
                        return -1;
                skip(c, 0);
                if (c->p >= c->end || *c->p++ != '=')
                        return fail(c, "expected key = value");
                skip(c, 0);
                json_t *v = value(c, 0);
                if (!v)
                        return -1;
                if (json_object_get(*table, key)) {
                        json_decref(v);
                        return fail(c, "this key is given twice");
                }
                json_object_set_new(*table, key, v);
        }
        skip(c, 0);
        if (c->p < c->end && *c->p != '\n')
                return fail(c, "unexpected text after the value");
        return 0;
}

json_t *manifest_parse(const char *text, size_t len, char *err, size_t cap)
{
        struct cur c = {text, text + len, 1, err, cap};
        if (len > MANIFEST_MAX)
                return fail(&c, "the manifest is larger than 64 KiB"), NULL;
        if (memchr(text, '\0', len))
                return fail(&c, "the manifest holds a NUL byte"), NULL;
        json_t *root = json_object(), *table = root;
        for (;;) {
                skip(&c, 1);
                if (c.p >= c.end)
                        return root;
                if (line(&c, root, &table) < 0) {
                        json_decref(root);
                        return NULL;
                }
        }
}
