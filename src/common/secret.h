/* Small files the daemon must not lose half-written or leak: written atomically, and
 * random secrets made once and kept (signing keys, SSH certificate authorities). Any
 * thread. */
#ifndef NS_SECRET_H
#define NS_SECRET_H

#include <stddef.h>

#include "err.h"

/* Writes `data` to path atomically (temp file, fsync, rename) with `mode`. Returns 0 or
 * -errno with e set. */
int write_file_atomic(const char *path, const char *data, size_t len, unsigned mode, struct err *e);

/* Reads the n-byte secret kept in path into out, or, when the file does not exist,
 * makes one from the CSPRNG and writes it (0600). Returns 0, or -errno with e set (-EIO:
 * the file is there but not n bytes long; it is never replaced). */
int secret_load(const char *path, unsigned char *out, size_t n, struct err *e);

#endif
