/* A redactor scans what it holds for the values at each position; output stops short of
 * the last longest-1 bytes, which could be the start of a value the next piece ends. */
#include "redact.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void redactor_init(struct redactor *r)
{
        memset(r, 0, sizeof(*r));
        buf_init(&r->held, (size_t)-1);
}

int redactor_add(struct redactor *r, const char *name, const char *value)
{
        size_t len = strlen(value);
        if (len == 0)
                return 0;
        struct redact_value *v = realloc(r->v, (r->n + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        r->v = v;
        v[r->n].name = strdup(name);
        v[r->n].value = strdup(value);
        if (!v[r->n].name || !v[r->n].value) {
                free(v[r->n].name);
                free(v[r->n].value);
                return -ENOMEM;
        }
        v[r->n].len = len;
        r->n++;
        if (len > r->longest)
                r->longest = len;
        return 0;
}

/* The value that starts at p (len bytes left), the longest when several do; NULL. */
static const struct redact_value *match(const struct redactor *r, const char *p, size_t len)
{
        const struct redact_value *best = NULL;
        for (size_t i = 0; i < r->n; i++)
                if (r->v[i].len <= len && memcmp(p, r->v[i].value, r->v[i].len) == 0 &&
                    (!best || r->v[i].len > best->len))
                        best = &r->v[i];
        return best;
}

/* Hands on held bytes up to `upto` (values starting before it replaced whole); what is
 * left stays held. */
static void emit(struct redactor *r, size_t upto, redact_out out, void *ud)
{
        const char *d = r->held.data;
        size_t i = 0, plain = 0;
        while (i < upto) {
                const struct redact_value *v = match(r, d + i, r->held.len - i);
                if (!v) {
                        i++;
                        continue;
                }
                if (i > plain)
                        out(ud, d + plain, i - plain);
                char tag[160];
                int n = snprintf(tag, sizeof(tag), "[redacted:%.128s]", v->name);
                out(ud, tag, (size_t)n);
                i += v->len;
                plain = i;
        }
        if (i > plain)
                out(ud, d + plain, i - plain);
        buf_consume(&r->held, i);
}

void redactor_feed(struct redactor *r, const char *p, size_t n, redact_out out, void *ud)
{
        if (r->n == 0) {
                out(ud, p, n);
                return;
        }
        if (buf_append(&r->held, p, n) < 0) { /* out of memory: nothing held is kept */
                redactor_flush(r, out, ud);
                return;
        }
        size_t keep = r->longest - 1;
        if (r->held.len > keep)
                emit(r, r->held.len - keep, out, ud);
}

void redactor_flush(struct redactor *r, redact_out out, void *ud)
{
        if (r->held.len)
                emit(r, r->held.len, out, ud);
        buf_reset(&r->held);
}

void redactor_fini(struct redactor *r)
{
        for (size_t i = 0; i < r->n; i++) {
                free(r->v[i].name);
                free(r->v[i].value);
        }
        free(r->v);
        buf_fini(&r->held);
        memset(r, 0, sizeof(*r));
}
