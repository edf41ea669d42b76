/* The tar format: header blocks out, an incremental reader in (tar.h). */
#include "tar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers ------------------------------------------------------------------ */

/* An octal field (spaces and NULs around it), or GNU base-256 (high bit of the first
 * byte). -1 when malformed. */
static int64_t num(const unsigned char *f, size_t n)
{
        if (f[0] & 0x80) {
                uint64_t v = f[0] & 0x3f;
                for (size_t i = 1; i < n; i++) {
                        if (v >> 55)
                                return -1;
                        v = v << 8 | f[i];
                }
                return (f[0] & 0x40) ? -1 : (int64_t)v; /* negative: refused */
        }
        size_t i = 0;
        while (i < n && f[i] == ' ')
                i++;
        uint64_t v = 0;
        int digits = 0;
        for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
                if (v >> 60)
                        return -1;
                v = v * 8 + (uint64_t)(f[i] - '0');
        }
        for (; i < n; i++)
                if (f[i] != ' ' && f[i] != '\0')
                        return -1;
        return digits ? (int64_t)v : 0;
}

static void put_octal(unsigned char *f, size_t n, uint64_t v)
{
        if (n == 12 && v > 077777777777ull) { /* base-256 */
                memset(f, 0, n);
                for (size_t i = n - 1; i > 0; i--, v >>= 8)
                        f[i] = (unsigned char)v;
                f[0] = 0x80;
                return;
        }
        snprintf((char *)f, n, "%0*llo", (int)n - 1, (unsigned long long)v);
}

static unsigned checksum(const unsigned char *b)
{
        unsigned sum = 0;
        for (int i = 0; i < TAR_BLOCK; i++)
                sum += (i >= 148 && i < 156) ? ' ' : b[i];
        return sum;
}

static int signed_checksum(const unsigned char *b)
{
        int sum = 0;
        for (int i = 0; i < TAR_BLOCK; i++)
                sum += (i >= 148 && i < 156) ? ' ' : (signed char)b[i];
        return sum;
}

/* ---- writing ------------------------------------------------------------------ */

static void one_header(unsigned char *b, const char *name, char type, uint64_t size,
                       const struct tar_entry *e, const char *link, int gnu)
{
        memset(b, 0, TAR_BLOCK);
        memcpy(b, name, strnlen(name, 100) == 100 ? 99 : strlen(name));
        put_octal(b + 100, 8, e->mode & 07777);
        put_octal(b + 108, 8, e->uid);
        put_octal(b + 116, 8, e->gid);
        put_octal(b + 124, 12, size);
        put_octal(b + 136, 12, e->mtime > 0 ? (uint64_t)e->mtime : 0);
        b[156] = (unsigned char)type;
        if (link)
                memcpy(b + 157, link, strnlen(link, 100) == 100 ? 99 : strlen(link));
        memcpy(b + 257,
               gnu ? "ustar  "
                   : "ustar\0"
                     "00",
               8);
        snprintf((char *)b + 148, 8, "%06o", checksum(b));
        b[155] = ' ';
}

/* A GNU 'L' or 'K' member holding s; returns its length in bytes. */
static size_t long_member(unsigned char *out, char type, const char *s, const struct tar_entry *e)
{
        size_t len = strlen(s) + 1, blocks = (len + TAR_BLOCK - 1) / TAR_BLOCK;
        one_header(out, "././@LongLink", type, len, e, NULL, 1);
        memset(out + TAR_BLOCK, 0, blocks * TAR_BLOCK);
        memcpy(out + TAR_BLOCK, s, len);
        return (1 + blocks) * TAR_BLOCK;
}

ssize_t tar_header(const struct tar_entry *e, unsigned char *out, size_t cap)
{
        size_t nl = strlen(e->name), ll = strlen(e->link);
        if (nl >= TAR_NAME_MAX || ll >= TAR_NAME_MAX || cap < TAR_HEADER_MAX)
                return -ENAMETOOLONG;
        int gnu = nl > 99 || ll > 99;
        size_t off = 0;
        if (nl > 99)
                off += long_member(out + off, 'L', e->name, e);
        if (ll > 99)
                off += long_member(out + off, 'K', e->link, e);
        one_header(out + off, e->name, e->type, e->type == '0' ? e->size : 0, e,
                   ll ? e->link : NULL, gnu);
        return (ssize_t)(off + TAR_BLOCK);
}

/* ---- reading ------------------------------------------------------------------ */

void tar_reader_init(struct tar_reader *r, const struct tar_sink *sink)
{
        memset(r, 0, sizeof(*r));
        r->sink = *sink;
        r->pax_size = -1;
}

static int fail(struct tar_reader *r, int err)
{
        r->failed = err < 0 ? err : -err;
        return r->failed;
}

/* A pax extended header's records "LEN key=value\n": path, linkpath and size. */
static int apply_pax(struct tar_reader *r)
{
        const char *p = r->extra, *end = r->extra + r->nextra;
        while (p < end) {
                char *sp;
                long len = strtol(p, &sp, 10);
                if (len <= 0 || *sp != ' ' || len > end - p || p[len - 1] != '\n')
                        return -EINVAL;
                const char *kv = sp + 1, *eq = memchr(kv, '=', (size_t)(p + len - 1 - kv));
                if (!eq)
                        return -EINVAL;
                size_t klen = (size_t)(eq - kv), vlen = (size_t)(p + len - 1 - (eq + 1));
                char *dst = klen == 4 && !memcmp(kv, "path", 4)       ? r->long_name
                            : klen == 8 && !memcmp(kv, "linkpath", 8) ? r->long_link
                                                                      : NULL;
                if (dst && vlen >= TAR_NAME_MAX)
                        return -EINVAL;
                if (dst) {
                        memcpy(dst, eq + 1, vlen);
                        dst[vlen] = '\0';
                } else if (klen == 4 && !memcmp(kv, "size", 4)) {
                        char tmp[32];
                        snprintf(tmp, sizeof(tmp), "%.*s", (int)(vlen < 31 ? vlen : 31), eq + 1);
                        char *e2;
                        long long v = strtoll(tmp, &e2, 10);
                        if (*e2 || v < 0)
                                return -EINVAL;
                        r->pax_size = v;
                }
                p += len;
        }
        return 0;
}

static int meta_done(struct tar_reader *r)
{
        r->extra[r->nextra] = '\0';
        int meta = r->meta;
        r->meta = 0;
        if (meta == 'x')
                return apply_pax(r);
        char *dst = meta == 'L' ? r->long_name : r->long_link;
        if (strlen(r->extra) >= TAR_NAME_MAX)
                return -EINVAL;
        strcpy(dst, r->extra);
        return 0;
}

/* name: a long name, or ustar's prefix "/" name */
static void entry_name(struct tar_reader *r, const unsigned char *b, struct tar_entry *e)
{
        if (r->long_name[0]) {
                snprintf(e->name, sizeof(e->name), "%s", r->long_name);
        } else if (!memcmp(b + 257, "ustar\0", 6) && b[345]) {
                snprintf(e->name, sizeof(e->name), "%.155s/%.100s", (const char *)b + 345,
                         (const char *)b);
        } else {
                snprintf(e->name, sizeof(e->name), "%.100s", (const char *)b);
        }
        if (r->long_link[0])
                snprintf(e->link, sizeof(e->link), "%s", r->long_link);
        else
                snprintf(e->link, sizeof(e->link), "%.100s", (const char *)b + 157);
}

static int header(struct tar_reader *r)
{
        const unsigned char *b = r->block;
        size_t z = 0;
        while (z < TAR_BLOCK && b[z] == 0)
                z++;
        if (z == TAR_BLOCK) {
                r->done = ++r->zeros >= 2;
                return 0;
        }
        r->zeros = 0;
        int64_t sum = num(b + 148, 8), size = num(b + 124, 12);
        if (sum < 0 || size < 0 || ((unsigned)sum != checksum(b) && sum != signed_checksum(b)))
                return fail(r, EINVAL);
        char type = b[156] ? (char)b[156] : '0';
        if (type == 'L' || type == 'K' || type == 'x') {
                if ((uint64_t)size >= sizeof(r->extra))
                        return fail(r, EINVAL);
                r->meta = type;
                r->nextra = 0;
                r->left = (uint64_t)size;
                r->pad = (TAR_BLOCK - (uint64_t)size % TAR_BLOCK) % TAR_BLOCK;
                return r->left ? 0 : (meta_done(r) < 0 ? fail(r, EINVAL) : 0);
        }
        if (type == '7')
                type = '0';
        struct tar_entry *e = &r->cur;
        memset(e, 0, sizeof(*e));
        e->type = type;
        entry_name(r, b, e);
        e->size = type == '0' ? (uint64_t)(r->pax_size >= 0 ? r->pax_size : size) : 0;
        int64_t mode = num(b + 100, 8), uid = num(b + 108, 8), gid = num(b + 116, 8);
        e->mode = mode > 0 ? (unsigned)mode & 07777 : 0;
        e->uid = uid > 0 ? (uint32_t)uid : 0;
        e->gid = gid > 0 ? (uint32_t)gid : 0;
        e->mtime = num(b + 136, 12);
        uint64_t data = type == '0' ? e->size : (uint64_t)(r->pax_size >= 0 ? r->pax_size : size);
        if (type == '1' || type == '2' || type == '5')
                data = 0; /* no data, whatever the size field says */
        r->long_name[0] = r->long_link[0] = '\0';
        r->pax_size = -1;
        r->left = data;
        r->pad = (TAR_BLOCK - data % TAR_BLOCK) % TAR_BLOCK;
        int known = type == '0' || type == '1' || type == '2' || type == '5';
        r->skipping = !known;
        if (!known || !e->name[0])
                return known ? fail(r, EINVAL) : 0;
        r->entries++;
        int rc = r->sink.entry(r->sink.ud, e);
        if (rc == 0 && type == '0' && data == 0)
                rc = r->sink.end(r->sink.ud);
        return rc < 0 ? fail(r, rc) : 0;
}

int tar_reader_feed(struct tar_reader *r, const unsigned char *p, size_t n)
{
        while (n && !r->failed && !r->done) {
                if (r->left) {
                        size_t k = n < r->left ? n : (size_t)r->left;
                        int rc = 0;
                        if (r->meta) {
                                memcpy(r->extra + r->nextra, p, k);
                                r->nextra += k;
                        } else if (!r->skipping) {
                                rc = r->sink.data(r->sink.ud, p, k);
                        }
                        r->left -= k;
                        p += k;
                        n -= k;
                        if (rc == 0 && !r->left)
                                rc = r->meta       ? meta_done(r)
                                     : r->skipping ? 0
                                                   : r->sink.end(r->sink.ud);
                        if (rc < 0)
                                return fail(r, rc);
                } else if (r->pad) {
                        size_t k = n < r->pad ? n : (size_t)r->pad;
                        r->pad -= k;
                        p += k;
                        n -= k;
                } else {
                        size_t k = TAR_BLOCK - r->have < n ? TAR_BLOCK - r->have : n;
                        memcpy(r->block + r->have, p, k);
                        r->have += k;
                        p += k;
                        n -= k;
                        if (r->have == TAR_BLOCK) {
                                r->have = 0;
                                if (header(r) < 0)
                                        return r->failed;
                        }
                }
        }
        return r->failed;
}

int tar_reader_finish(struct tar_reader *r)
{
        if (r->failed)
                return r->failed;
        if (r->done || (!r->left && !r->pad && !r->have && !r->meta))
                return 0;
        return fail(r, EINVAL);
}
