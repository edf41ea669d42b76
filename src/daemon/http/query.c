#include "query.h"

#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes src[0..len) into dst (cap bytes incl. NUL); -1 on bad escapes, NUL or overflow. */
static int pct_decode(const char *src, size_t len, char *dst, size_t cap)
{
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
                char c = src[i];
                if (c == '+') {
                        c = ' ';
                } else if (c == '%') {
                        if (i + 2 >= len)
                                return -1;
                        int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -1;
                        c = (char)(hi * 16 + lo);
                        i += 2;
                }
                if (c == '\0' || o + 1 >= cap)
                        return -1;
                dst[o++] = c;
        }
        dst[o] = '\0';
        return 0;
}

int query_parse(const char *query, struct query_param *params, size_t n, char *msg, size_t cap)
{
        for (size_t i = 0; i < n; i++) {
                params[i].present = 0;
                params[i].value[0] = '\0';
        }
        const char *p = query;
        while (*p) {
                size_t len = strcspn(p, "&");
                const char *eq = memchr(p, '=', len);
                size_t klen = eq ? (size_t)(eq - p) : len;
                char key[64];
                if (len == 0) {
                        p++;
                        continue;
                }
                if (pct_decode(p, klen, key, sizeof(key)) < 0) {
                        snprintf(msg, cap, "malformed query parameter name");
                        return -1;
                }
                size_t i = 0;
                while (i < n && strcmp(params[i].name, key) != 0)
                        i++;
                if (i == n) {
                        snprintf(msg, cap, "unknown query parameter '%s'", key);
                        return -1;
                }
                if (params[i].present) {
                        snprintf(msg, cap, "query parameter '%s' given twice", key);
                        return -1;
                }
                const char *v = eq ? eq + 1 : p + len;
                size_t vlen = eq ? len - klen - 1 : 0;
                if (pct_decode(v, vlen, params[i].value, sizeof(params[i].value)) < 0) {
                        snprintf(msg, cap, "query parameter '%s' is malformed or too long", key);
                        return -1;
                }
                params[i].present = 1;
                p += len;
                if (*p == '&')
                        p++;
        }
        return 0;
}
