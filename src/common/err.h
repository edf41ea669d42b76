/* Error objects passed down by the caller (after crun's libcrun_error_t).
 * Functions that can fail return a negative errno and fill `struct err` with a
 * human-readable message; they never log. The caller decides whether to log or
 * to turn the error into an API error. */
#ifndef NS_ERR_H
#define NS_ERR_H

#include <stddef.h>

#include "errcodes.h"

struct err {
        int errnum;        /* positive errno, 0 when unset */
        enum ns_code code; /* the catalogue's code for it (NS_OK: none said; internal) */
        char msg[512];     /* "context: strerror" */
};

/* Records `errnum` and a formatted context in `e` (NULL allowed: nothing recorded).
 * When errnum is non-zero, ": strerror(errnum)" is appended.
 * Returns -errnum (or -EIO when errnum is 0) so callers can `return err_set(...)`.
 * Thread context: any thread; touches only `e`. */
int err_set(struct err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like err_set, for messages meant for users: the message is fmt alone (no strerror),
 * and errnum (non-zero) only classifies it. Returns -errnum. Thread context: any. */
int err_say(struct err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like err_say, and classifies the error with catalogue code `code`, which the API
 * answers with. Returns -errnum. Thread context: any. */
int err_coded(struct err *e, enum ns_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The catalogue code of e (NS_E_INTERNAL when none was said). */
enum ns_code err_code_of(const struct err *e);

/* Clears `e` back to "no error". */
void err_clear(struct err *e);

#endif
