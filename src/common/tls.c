/* TLS ClientHello server name (see tls.h; RFC 8446 4.1.2, RFC 6066 3). */
#include "tls.h"

#include <ctype.h>
#include <string.h>

static size_t get16(const unsigned char *p)
{
        return (size_t)p[0] << 8 | p[1];
}

/* Skips a vector with an len_bytes-byte length at *off; -1 when it runs past end. */
static int skip_vec(const unsigned char *p, size_t end, size_t *off, int len_bytes)
{
        if (*off + (size_t)len_bytes > end)
                return -1;
        size_t l = len_bytes == 1 ? p[*off] : get16(p + *off);
        *off += (size_t)len_bytes + l;
        return *off > end ? -1 : 0;
}

/* The server_name extension's body [off, end): the first host_name entry. */
static int read_sni(const unsigned char *p, size_t off, size_t end, char *out, size_t cap)
{
        if (off + 2 > end || off + 2 + get16(p + off) > end)
                return -1;
        end = off + 2 + get16(p + off);
        off += 2;
        while (off + 3 <= end) {
                unsigned type = p[off];
                size_t l = get16(p + off + 1);
                off += 3;
                if (off + l > end)
                        return -1;
                if (type == 0) {
                        if (l == 0 || l >= cap)
                                return -1;
                        for (size_t i = 0; i < l; i++)
                                out[i] = (char)tolower(p[off + i]);
                        out[l] = '\0';
                        return memchr(out, '\0', l) ? -1 : 1;
                }
                off += l;
        }
        return 0;
}

int tls_hello_sni(const unsigned char *p, size_t n, char *out, size_t cap)
{
        if (n < 1)
                return -2;
        if (p[0] != 22) /* handshake record */
                return -1;
        if (n < 5)
                return -2;
        size_t rec = get16(p + 3);
        if (rec < 4 || rec > 16384)
                return -1;
        if (n < 5 + rec)
                return -2;
        const unsigned char *h = p + 5;
        if (h[0] != 1) /* ClientHello */
                return -1;
        size_t hl = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
        if (hl + 4 > rec)
                return -1;                     /* spread over several records: not looked at */
        size_t end = 4 + hl, off = 4 + 2 + 32; /* version, random */
        if (off > end || skip_vec(h, end, &off, 1) < 0 || skip_vec(h, end, &off, 2) < 0 ||
            skip_vec(h, end, &off, 1) < 0)
                return -1;
        if (off == end)
                return 0; /* no extensions */
        if (off + 2 > end || off + 2 + get16(h + off) > end)
                return -1;
        size_t ext_end = off + 2 + get16(h + off);
        off += 2;
        while (off + 4 <= ext_end) {
                size_t type = get16(h + off), l = get16(h + off + 2);
                off += 4;
                if (off + l > ext_end)
                        return -1;
                if (type == 0)
                        return read_sni(h, off, off + l, out, cap);
                off += l;
        }
        return 0;
}
