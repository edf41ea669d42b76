/* Bounded gzip decoding with zlib (gunzip.h). */
#include "gunzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CHUNK (256u << 10)

int gunzip_bounded(const void *in, size_t n, size_t max, unsigned char **out, size_t *out_len,
                   const char **why)
{
        z_stream z;
        memset(&z, 0, sizeof(z));
        *out = NULL;
        *out_len = 0;
        if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
                *why = "out of memory";
                return -1;
        }
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
        unsigned char *buf = NULL;
        size_t cap = 0, len = 0;
        int rc = Z_OK;
        *why = NULL;
        while (!*why) {
                if (len == cap) { /* doubled (linear time), one byte past max to tell */
                        size_t want = cap ? cap * 2 : CHUNK;
                        want = want > max + 1 ? max + 1 : want;
                        unsigned char *g = want > cap ? realloc(buf, want) : NULL;
                        if (!g) {
                                *why = want > cap ? "out of memory" : "decoded body too large";
                                break;
                        }
                        buf = g;
                        cap = want;
                }
                z.next_out = buf + len;
                z.avail_out = (uInt)(cap - len);
                rc = inflate(&z, Z_NO_FLUSH);
                len = cap - z.avail_out;
                if (len > max)
                        *why = "decoded body too large";
                else if (rc == Z_STREAM_END && z.avail_in == 0)
                        break;
                else if (rc == Z_STREAM_END) /* another member follows */
                        rc = inflateReset(&z) == Z_OK ? Z_OK : Z_DATA_ERROR;
                else if (rc == Z_BUF_ERROR && z.avail_in == 0)
                        *why = "truncated gzip stream";
                if (!*why && rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
                        *why = "corrupt gzip stream";
        }
        inflateEnd(&z);
        if (*why) {
                free(buf);
                return -1;
        }
        *out = buf;
        *out_len = len;
        return 0;
}
