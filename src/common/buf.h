/* Growable byte buffer with a hard upper bound. Every buffer that holds data from
 * outside has a limit, so a peer can never grow our memory past it. */
#ifndef NS_BUF_H
#define NS_BUF_H

#include <stddef.h>

struct buf {
        char *data; /* owned; NUL-terminated past `len` when non-NULL */
        size_t len;
        size_t cap;
        size_t limit; /* maximum len; buf_append fails past it */
};

/* Initialises an empty buffer that may grow to `limit` bytes. No allocation. */
void buf_init(struct buf *b, size_t limit);

/* Frees the storage and resets to empty (limit kept). */
void buf_fini(struct buf *b);

/* Appends `n` bytes. Returns 0, -E2BIG past the limit (buffer unchanged) or -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string (same errors as buf_append). */
int buf_append_str(struct buf *b, const char *s);

/* Appends the decimal (base 10) or lowercase hex (base 16) form of v. */
int buf_append_uint(struct buf *b, unsigned long long v, unsigned base);

/* Appends formatted text (same errors as buf_append). */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends the whole file at `path`. Returns 0, -E2BIG when it does not fit under the
 * limit (what was read stays appended), or -errno of open or read. */
int buf_append_file(struct buf *b, const char *path);

/* Drops the first `n` bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);

#endif
