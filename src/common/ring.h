/* A byte ring that keeps the last `cap` bytes written, addressed by absolute offsets
 * (bytes written since the start), so several readers can each keep their own cursor
 * and a reader that fell behind learns exactly how much it lost. Not thread-safe. */
#ifndef NS_RING_H
#define NS_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
        unsigned char *data; /* owned; allocated on first write, grown up to cap */
        size_t size;         /* bytes allocated */
        size_t cap;          /* bytes kept at most */
        uint64_t head;       /* absolute offset of the next byte written */
};

/* Initialises an empty ring that keeps at most `cap` bytes. No allocation. */
void ring_init(struct ring *r, size_t cap);

/* Frees the storage (offsets are kept). */
void ring_fini(struct ring *r);

/* Appends n bytes; the oldest bytes beyond cap are dropped. Returns 0, or -1 when
 * memory cannot be had (the ring is unchanged). */
int ring_write(struct ring *r, const void *p, size_t n);

/* Absolute offset of the oldest byte still held. */
uint64_t ring_tail(const struct ring *r);

/* Copies up to n bytes from absolute offset `off` (clamped to the tail) into dst.
 * Returns the bytes copied (0 when off >= head). *from (may be NULL) gets the offset
 * actually read from. */
size_t ring_read(const struct ring *r, uint64_t off, void *dst, size_t n, uint64_t *from);

#endif
