/* Redaction of known values from a byte stream: each occurrence of a value becomes
 * "[redacted:NAME]", also when a value arrives split across pieces (up to the longest
 * value's length less one byte is held back until the next piece or the flush). Used
 * for logs the daemon stores of output that may hold secrets. Pure (no I/O); one
 * redactor per stream, any thread. */
#ifndef NS_REDACT_H
#define NS_REDACT_H

#include <stddef.h>

#include "buf.h"

struct redact_value {
        char *name, *value; /* owned */
        size_t len;         /* of value */
};

struct redactor {
        struct redact_value *v; /* owned */
        size_t n, longest;
        struct buf held; /* bytes that may begin a value */
};

/* What a redactor hands on: n bytes at p (borrowed for the call). */
typedef void (*redact_out)(void *ud, const char *p, size_t n);

/* An empty redactor (passes everything through). */
void redactor_init(struct redactor *r);

/* Adds a value to redact under `name` (both copied; an empty value is ignored). 0 or
 * -ENOMEM. */
int redactor_add(struct redactor *r, const char *name, const char *value);

/* Passes n bytes through: out gets them with every whole value replaced, less what
 * might begin one. */
void redactor_feed(struct redactor *r, const char *p, size_t n, redact_out out, void *ud);

/* Hands on what is held back (the stream ended). */
void redactor_flush(struct redactor *r, redact_out out, void *ud);

/* Frees what r owns (its values included). */
void redactor_fini(struct redactor *r);

#endif
