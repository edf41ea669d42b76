/* DNS messages and domain patterns (see dns.h). */
#include "dns.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static unsigned get16(const unsigned char *p)
{
        return (unsigned)p[0] << 8 | p[1];
}

/* Reads the (possibly compressed) name at *off into out (may be NULL); moves *off past
 * it. -1 when malformed: out of bounds, a pointer loop, labels over the limits. */
static int read_name(const unsigned char *p, size_t n, size_t *off, char *out)
{
        size_t pos = *off, len = 0;
        int jumped = 0, hops = 0;
        for (;;) {
                if (pos >= n)
                        return -1;
                unsigned l = p[pos];
                if ((l & 0xC0) == 0xC0) {
                        if (pos + 1 >= n || ++hops > 16)
                                return -1;
                        if (!jumped)
                                *off = pos + 2;
                        jumped = 1;
                        pos = (l & 0x3F) << 8 | p[pos + 1];
                        continue;
                }
                if (l & 0xC0)
                        return -1;
                pos++;
                if (l == 0)
                        break;
                size_t at = len ? len + 1 : 0; /* after the dot, if any */
                if (pos + l > n || at + l >= DNS_NAME_MAX)
                        return -1;
                if (out && len)
                        out[len] = '.';
                for (unsigned i = 0; out && i < l; i++)
                        out[at + i] = (char)tolower(p[pos + i]);
                len = at + l;
                pos += l;
        }
        if (!jumped)
                *off = pos;
        if (out)
                out[len] = '\0';
        return 0;
}

int dns_parse_query(const unsigned char *p, size_t n, struct dns_query *q)
{
        if (n < 12 || (p[2] & 0xF8) != 0 || get16(p + 4) != 1)
                return -1;
        size_t off = 12;
        if (read_name(p, n, &off, q->name) < 0 || off + 4 > n)
                return -1;
        q->id = (uint16_t)get16(p);
        q->qtype = (uint16_t)get16(p + off);
        q->qclass = (uint16_t)get16(p + off + 2);
        return 0;
}

int dns_answer_a(const unsigned char *p, size_t n, uint32_t *addrs, uint32_t *ttls, int max)
{
        if (n < 12 || !(p[2] & 0x80))
                return -1;
        unsigned qd = get16(p + 4), an = get16(p + 6);
        size_t off = 12;
        for (unsigned i = 0; i < qd; i++) {
                if (read_name(p, n, &off, NULL) < 0 || off + 4 > n)
                        return -1;
                off += 4;
        }
        int got = 0;
        for (unsigned i = 0; i < an; i++) {
                if (read_name(p, n, &off, NULL) < 0 || off + 10 > n)
                        return -1;
                unsigned type = get16(p + off), cls = get16(p + off + 2);
                uint32_t ttl = (uint32_t)get16(p + off + 4) << 16 | get16(p + off + 6);
                unsigned rdlen = get16(p + off + 8);
                off += 10;
                if (off + rdlen > n)
                        return -1;
                if (type == 1 && cls == 1 && rdlen == 4 && got < max) {
                        memcpy(&addrs[got], p + off, 4);
                        ttls[got++] = ttl;
                }
                off += rdlen;
        }
        return got;
}

size_t dns_error_reply(const unsigned char *query, size_t n, unsigned rcode, unsigned char *out,
                       size_t cap)
{
        size_t off = 12;
        if (n < 12 || read_name(query, n, &off, NULL) < 0 || off + 4 > n || off + 4 > cap)
                return 0;
        off += 4;
        memcpy(out, query, off);
        out[2] = (unsigned char)(0x80 | (query[2] & 0x79)); /* QR, opcode and RD kept */
        out[3] = (unsigned char)(0x80 | (rcode & 0x0F));    /* RA */
        memset(out + 4, 0, 8);
        out[5] = 1; /* the one question */
        return off;
}

int dns_name_match(const char *name, const char *pattern)
{
        int sub_only = strncmp(pattern, "*.", 2) == 0;
        const char *base = sub_only ? pattern + 2 : pattern;
        size_t nl = strlen(name), bl = strlen(base);
        if (nl == bl)
                return !sub_only && strcasecmp(name, base) == 0;
        return nl > bl && name[nl - bl - 1] == '.' && strcasecmp(name + nl - bl, base) == 0;
}

int dns_valid_pattern(const char *s)
{
        if (!s)
                return 0;
        if (strncmp(s, "*.", 2) == 0)
                s += 2;
        size_t len = strlen(s), label = 0;
        int labels = 1;
        if (len == 0 || len > 253)
                return 0;
        for (size_t i = 0; i <= len; i++) {
                char c = s[i];
                if (c == '.' || c == '\0') {
                        if (label == 0 || label > 63 || s[i - 1] == '-')
                                return 0;
                        labels += c == '.';
                        label = 0;
                        continue;
                }
                if (!(islower((unsigned char)c) || isdigit((unsigned char)c) ||
                      (c == '-' && label > 0)))
                        return 0;
                label++;
        }
        const char *last = strrchr(s, '.');
        return labels >= 2 && last && strspn(last + 1, "0123456789") < strlen(last + 1);
}
