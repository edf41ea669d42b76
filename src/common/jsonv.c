#include "jsonv.h"

#include "util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(struct jv_error *e, enum ns_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct jv_error *e, enum ns_code code, const char *fmt, ...)
{
        e->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
        return -1;
}

static const char *type_name(enum jv_type t)
{
        switch (t) {
        case JV_STRING:
                return "a string";
        case JV_INT:
                return "an integer";
        case JV_BOOL:
                return "a boolean";
        case JV_STRMAP:
                return "an object of strings";
        case JV_STRLIST:
                return "an array of strings";
        case JV_OBJECT:
                return "an object";
        case JV_ARRAY:
                return "an array";
        }
        return "?";
}

static int take_string(json_t *v, size_t max, char **out)
{
        size_t n = json_string_length(v);
        if (n > max)
                return -1;
        const char *s = json_string_value(v);
        if (memchr(s, '\0', n))
                return -1;
        *out = strndup(s, n);
        return *out ? 0 : -1;
}

static void free_strv(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

static int decode_map(json_t *v, const struct jv_field *f, struct jv_strmap *m, struct jv_error *e)
{
        size_t n = json_object_size(v);
        if (n > f->max)
                return fail(e, NS_E_INVALID_FIELD, "field '%s': at most %zu entries", f->name,
                            f->max);
        m->keys = calloc(n ? n : 1, sizeof(char *));
        m->values = calloc(n ? n : 1, sizeof(char *));
        if (!m->keys || !m->values)
                return fail(e, NS_E_INTERNAL, "out of memory");
        const char *k;
        json_t *item;
        json_object_foreach(v, k, item)
        {
                if (!json_is_string(item))
                        return fail(e, NS_E_INVALID_FIELD, "field '%s.%s': expected a string",
                                    f->name, k);
                if (strlen(k) == 0 || strlen(k) > 256)
                        return fail(e, NS_E_INVALID_FIELD,
                                    "field '%s': keys must be 1 to 256 bytes", f->name);
                m->keys[m->n] = strdup(k);
                if (!m->keys[m->n] || take_string(item, JV_MAX_ITEM_LEN, &m->values[m->n]) < 0) {
                        m->n++;
                        return fail(e, NS_E_INVALID_FIELD,
                                    "field '%s.%s': at most %d bytes, no NUL", f->name, k,
                                    JV_MAX_ITEM_LEN);
                }
                m->n++;
        }
        return 0;
}

static int decode_list(json_t *v, const struct jv_field *f, struct jv_strlist *l,
                       struct jv_error *e)
{
        size_t n = json_array_size(v);
        if (n > f->max)
                return fail(e, NS_E_INVALID_FIELD, "field '%s': at most %zu items", f->name,
                            f->max);
        l->items = calloc(n ? n : 1, sizeof(char *));
        if (!l->items)
                return fail(e, NS_E_INTERNAL, "out of memory");
        for (size_t i = 0; i < n; i++) {
                json_t *item = json_array_get(v, i);
                if (!json_is_string(item) || take_string(item, JV_MAX_ITEM_LEN, &l->items[i]) < 0)
                        return fail(e, NS_E_INVALID_FIELD,
                                    "field '%s[%zu]': expected a string of at most %d bytes",
                                    f->name, i, JV_MAX_ITEM_LEN);
                l->n = i + 1;
        }
        return 0;
}

static int decode_field(json_t *v, const struct jv_field *f, char *base, struct jv_error *e)
{
        void *dst = base + f->offset;
        switch (f->type) {
        case JV_STRING:
                if (!json_is_string(v))
                        break;
                if (take_string(v, f->max, (char **)dst) < 0)
                        return fail(e, NS_E_INVALID_FIELD,
                                    "field '%s': at most %zu bytes and no NUL", f->name, f->max);
                return 0;
        case JV_INT: {
                if (!json_is_integer(v))
                        break;
                json_int_t x = json_integer_value(v);
                if (x < f->min_int || x > f->max_int)
                        return fail(e, NS_E_INVALID_FIELD,
                                    "field '%s': must be between %lld and %lld", f->name,
                                    (long long)f->min_int, (long long)f->max_int);
                *(int64_t *)dst = x;
                return 0;
        }
        case JV_BOOL:
                if (!json_is_boolean(v))
                        break;
                *(int *)dst = json_is_true(v);
                return 0;
        case JV_STRMAP:
                if (!json_is_object(v))
                        break;
                return decode_map(v, f, dst, e);
        case JV_STRLIST:
                if (!json_is_array(v))
                        break;
                return decode_list(v, f, dst, e);
        case JV_OBJECT:
        case JV_ARRAY:
                if (f->type == JV_OBJECT ? !json_is_object(v) : !json_is_array(v))
                        break;
                *(json_t **)dst = json_incref(v);
                return 0;
        }
        return fail(e, NS_E_INVALID_FIELD, "field '%s': expected %s", f->name, type_name(f->type));
}

static int decode_object(json_t *root, const struct jv_field *fields, size_t nfields, void *out,
                         uint64_t *present, struct jv_error *e)
{
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v)
        {
                size_t i = 0;
                while (i < nfields && strcmp(fields[i].name, key) != 0)
                        i++;
                if (i == nfields) {
                        char shown[64];
                        snprintf(shown, sizeof(shown), "%s", key);
                        return fail(e, NS_E_UNKNOWN_FIELD, "unknown field '%s'", shown);
                }
                if (json_is_null(v))
                        continue; /* null means "not given" */
                if (decode_field(v, &fields[i], out, e) < 0)
                        return -1;
                if (present && i < 64)
                        *present |= 1ull << i;
        }
        for (size_t i = 0; i < nfields; i++) {
                json_t *got = json_object_get(root, fields[i].name);
                if ((fields[i].flags & JV_REQUIRED) && (!got || json_is_null(got)))
                        return fail(e, NS_E_MISSING_FIELD, "field '%s' is required",
                                    fields[i].name);
        }
        return 0;
}

int jv_decode(const char *data, size_t len, const struct jv_field *fields, size_t nfields,
              void *out, uint64_t *present, struct jv_error *e)
{
        e->code = NS_OK;
        e->msg[0] = '\0';
        if (present)
                *present = 0;
        size_t i = 0;
        while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
                i++;
        json_error_t jerr;
        json_t *root =
            i == len ? json_object() : json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return fail(e, NS_E_INVALID_JSON, "invalid JSON at line %d column %d: %s",
                            jerr.line, jerr.column, jerr.text);
        int r;
        if (!json_is_object(root))
                r = fail(e, NS_E_INVALID_JSON, "the body must be a JSON object");
        else
                r = decode_object(root, fields, nfields, out, present, e);
        json_decref(root);
        if (r < 0)
                jv_free(fields, nfields, out);
        return r;
}

void jv_free(const struct jv_field *fields, size_t nfields, void *out)
{
        char *base = out;
        for (size_t i = 0; i < nfields; i++) {
                void *dst = base + fields[i].offset;
                if (fields[i].type == JV_STRING) {
                        free(*(char **)dst);
                        *(char **)dst = NULL;
                } else if (fields[i].type == JV_STRMAP) {
                        struct jv_strmap *m = dst;
                        free_strv(m->keys, m->n);
                        free_strv(m->values, m->n);
                        memset(m, 0, sizeof(*m));
                } else if (fields[i].type == JV_STRLIST) {
                        struct jv_strlist *l = dst;
                        free_strv(l->items, l->n);
                        memset(l, 0, sizeof(*l));
                } else if (fields[i].type == JV_OBJECT || fields[i].type == JV_ARRAY) {
                        json_decref(*(json_t **)dst);
                        *(json_t **)dst = NULL;
                }
        }
}

json_t *json_base64(const void *p, size_t n)
{
        char *enc = malloc(4 * (n / 3 + 1) + 1);
        if (!enc)
                return NULL;
        base64_encode(p ? p : "", n, enc);
        json_t *s = json_string(enc);
        free(enc);
        return s;
}
