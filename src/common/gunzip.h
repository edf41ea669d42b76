/* Bounded gzip decoding (Content-Encoding: gzip bodies). */
#ifndef NS_COMMON_GUNZIP_H
#define NS_COMMON_GUNZIP_H

#include <stddef.h>

/* Decodes the gzip stream in[0..n) (one member, or several back to back) into a new
 * buffer *out (malloc'd, the caller's; *out_len bytes). Never writes more than max
 * bytes: a stream that would is refused (a gzip bomb), as is a truncated or corrupt
 * one. 0, or -1 with *why (static text). Thread-safe. */
int gunzip_bounded(const void *in, size_t n, size_t max, unsigned char **out, size_t *out_len,
                   const char **why);

#endif
