/* multipart/form-data (RFC 7578) as the e2b SDK uploads files: parts named by their
 * Content-Disposition, each file's path in its filename. A pure parser over a whole
 * body held in memory. Thread-safe. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "e2b.h"

/* The boundary parameter of a multipart/form-data content type into out; -1 if none. */
static int boundary_of(const char *ct, char *out, size_t cap)
{
        if (!ct || strncasecmp(ct, "multipart/form-data", 19) != 0)
                return -1;
        const char *b = strcasestr(ct, "boundary=");
        if (!b)
                return -1;
        b += 9;
        size_t n;
        if (*b == '"') {
                const char *end = strchr(++b, '"');
                if (!end)
                        return -1;
                n = (size_t)(end - b);
        } else {
                n = strcspn(b, "; \t");
        }
        if (n == 0 || n > 70 || n + 1 > cap) /* RFC 2046: 1 to 70 characters */
                return -1;
        memcpy(out, b, n);
        out[n] = '\0';
        return 0;
}

static const unsigned char *find(const unsigned char *hay, size_t n, const char *needle, size_t m)
{
        return m <= n ? memmem(hay, n, needle, m) : NULL;
}

/* A quoted or bare parameter `key` of a Content-Disposition value [v, end). */
static int param(const char *v, const char *end, const char *key, const char **out, size_t *n)
{
        size_t k = strlen(key);
        for (const char *p = v; p + k + 1 < end; p++) {
                if ((p == v || p[-1] == ';' || p[-1] == ' ') && strncasecmp(p, key, k) == 0 &&
                    p[k] == '=') {
                        p += k + 1;
                        if (*p == '"') {
                                const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
                                if (!q)
                                        return -1;
                                *out = p + 1, *n = (size_t)(q - p - 1);
                        } else {
                                const char *q = p;
                                while (q < end && *q != ';')
                                        q++;
                                *out = p, *n = (size_t)(q - p);
                        }
                        return 0;
                }
        }
        return -1;
}

/* The part's headers [h, end): its name and filename. */
static int part_headers(const char *h, const char *end, struct e2b_part *part)
{
        part->name = part->filename = NULL;
        part->name_len = part->filename_len = 0;
        while (h < end) {
                const char *eol =
                    (const char *)find((const unsigned char *)h, (size_t)(end - h), "\r\n", 2);
                if (!eol)
                        eol = end;
                if (eol - h > 20 && strncasecmp(h, "Content-Disposition:", 20) == 0) {
                        const char *v = h + 20;
                        if (param(v, eol, "name", &part->name, &part->name_len) < 0)
                                return -1;
                        param(v, eol, "filename", &part->filename, &part->filename_len);
                }
                h = eol + 2;
        }
        return part->name ? 0 : -1;
}

int e2b_multipart_parse(const char *content_type, const unsigned char *body, size_t len,
                        struct e2b_part *parts, size_t max, size_t *n, const char **why)
{
        char b[80], delim[84];
        *n = 0;
        *why = "expected multipart/form-data with a boundary";
        if (boundary_of(content_type, b, sizeof(b)) < 0)
                return -1;
        size_t dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", b);
        *why = "the body is not multipart/form-data as its boundary says";
        /* the first delimiter may open the body (no CRLF before it) */
        const unsigned char *p = len >= dl - 2 && memcmp(body, delim + 2, dl - 2) == 0
                                     ? body + dl - 2
                                     : find(body, len, delim, dl);
        if (!p)
                return -1;
        if (p != body + dl - 2)
                p += dl;
        const unsigned char *end = body + len;
        for (;;) {
                if (end - p >= 2 && p[0] == '-' && p[1] == '-')
                        return 0; /* the closing delimiter */
                if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
                        return -1;
                p += 2;
                const unsigned char *hend = find(p, (size_t)(end - p), "\r\n\r\n", 4);
                if (!hend)
                        return -1;
                if (*n == max) {
                        *why = "too many parts";
                        return -1;
                }
                struct e2b_part *part = &parts[*n];
                if (part_headers((const char *)p, (const char *)hend + 2, part) < 0) {
                        *why = "a part has no Content-Disposition with a name";
                        return -1;
                }
                const unsigned char *data = hend + 4;
                const unsigned char *next = find(data, (size_t)(end - data), delim, dl);
                if (!next)
                        return -1;
                part->data = data;
                part->len = (size_t)(next - data);
                (*n)++;
                p = next + dl;
        }
}

int e2b_form_filename(const char *s, size_t n, char *out, size_t cap)
{
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                /* what browsers and undici escape in a filename */
                if (c == '%' && i + 2 < n && s[i + 1] == '2' && s[i + 2] == '2')
                        c = '"', i += 2;
                else if (c == '%' && i + 2 < n && s[i + 1] == '0' &&
                         (s[i + 2] == 'A' || s[i + 2] == 'D'))
                        c = s[i + 2] == 'A' ? '\n' : '\r', i += 2;
                if (c == '\0' || o + 1 >= cap)
                        return -1;
                out[o++] = c;
        }
        out[o] = '\0';
        return o ? 0 : -1;
}
