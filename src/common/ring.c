/* Byte ring with absolute offsets (see ring.h). Storage grows by doubling up to cap,
 * so a process that writes little costs little. */
#include "ring.h"

#include <stdlib.h>
#include <string.h>

void ring_init(struct ring *r, size_t cap)
{
        *r = (struct ring){.cap = cap};
}

void ring_fini(struct ring *r)
{
        free(r->data);
        r->data = NULL;
        r->size = 0;
}

uint64_t ring_tail(const struct ring *r)
{
        /* until the storage reaches cap nothing wrapped and head <= size */
        return r->head - (r->head < r->size ? r->head : r->size);
}

/* Grows storage (only while nothing wrapped: head <= size) to hold `need` bytes. */
static int grow(struct ring *r, size_t need)
{
        if (r->size >= r->cap || need <= r->size)
                return 0;
        size_t n = r->size ? r->size : 4096;
        while (n < need && n < r->cap)
                n *= 2;
        if (n > r->cap)
                n = r->cap;
        unsigned char *d = realloc(r->data, n);
        if (!d)
                return -1;
        r->data = d;
        r->size = n;
        return 0;
}

int ring_write(struct ring *r, const void *p, size_t n)
{
        const unsigned char *s = p;
        if (r->cap == 0 || n == 0)
                return 0;
        if (r->head + n <= r->cap && grow(r, (size_t)(r->head + n)) < 0)
                return -1;
        if (r->head + n > r->cap && grow(r, r->cap) < 0)
                return -1;
        if (n > r->size) { /* only the last `size` bytes survive */
                r->head += n - r->size;
                s += n - r->size;
                n = r->size;
        }
        size_t at = (size_t)(r->head % r->size);
        size_t first = r->size - at < n ? r->size - at : n;
        memcpy(r->data + at, s, first);
        memcpy(r->data, s + first, n - first);
        r->head += n;
        return 0;
}

size_t ring_read(const struct ring *r, uint64_t off, void *dst, size_t n, uint64_t *from)
{
        uint64_t tail = ring_tail(r);
        if (off < tail)
                off = tail;
        if (from)
                *from = off;
        if (off >= r->head || !r->size)
                return 0;
        if (n > r->head - off)
                n = (size_t)(r->head - off);
        size_t at = (size_t)(off % r->size);
        size_t first = r->size - at < n ? r->size - at : n;
        memcpy(dst, r->data + at, first);
        memcpy((unsigned char *)dst + first, r->data, n - first);
        return n;
}
