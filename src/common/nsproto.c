#include "../../include/nsproto.h"

#include <stdlib.h>
#include <string.h>

static void put32(unsigned char *p, uint32_t v)
{
        p[0] = (unsigned char)v;
        p[1] = (unsigned char)(v >> 8);
        p[2] = (unsigned char)(v >> 16);
        p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void nsp_hdr_encode(const struct nsp_hdr *h, unsigned char out[NSP_HDR_SIZE])
{
        put32(out, h->len);
        out[4] = (unsigned char)h->type;
        out[5] = (unsigned char)(h->type >> 8);
        out[6] = (unsigned char)h->flags;
        out[7] = (unsigned char)(h->flags >> 8);
        put32(out + 8, h->chan);
}

int nsp_hdr_decode(const unsigned char in[NSP_HDR_SIZE], struct nsp_hdr *h)
{
        h->len = get32(in);
        h->type = (uint16_t)(in[4] | in[5] << 8);
        h->flags = (uint16_t)(in[6] | in[7] << 8);
        h->chan = get32(in + 8);
        if (h->type < NSP_HELLO || h->type > NSP_NOTE || h->len > NSP_MAX_PAYLOAD)
                return -1;
        if (h->type == NSP_DATA && h->len > NSP_MAX_DATA)
                return -1;
        if ((h->type == NSP_DATA || h->type == NSP_EOF || h->type == NSP_WINDOW) &&
            h->flags > NSP_STDERR)
                return -1;
        if ((h->type == NSP_WINDOW || h->type == NSP_SIGNAL) && h->len != 4)
                return -1;
        return 0;
}

void nsp_reader_init(struct nsp_reader *r)
{
        memset(r, 0, sizeof(*r));
}

void nsp_reader_fini(struct nsp_reader *r)
{
        free(r->buf);
        memset(r, 0, sizeof(*r));
}

/* Drops the frame handed out by the previous nsp_reader_next: the start moves on; the
 * bytes are moved to the front only when more must be appended (nsp_reader_space). */
static void drop_taken(struct nsp_reader *r)
{
        if (!r->taken)
                return;
        r->off += r->taken;
        r->taken = 0;
        if (r->off == r->len)
                r->off = r->len = 0;
}

/* Bytes the frame at the front needs in total, or 0 when its header is incomplete. */
static size_t frame_size(const struct nsp_reader *r)
{
        if (r->len - r->off < NSP_HDR_SIZE)
                return 0;
        return NSP_HDR_SIZE + get32(r->buf + r->off);
}

size_t nsp_reader_room(struct nsp_reader *r)
{
        drop_taken(r);
        if (r->bad)
                return 0;
        size_t need = frame_size(r);
        if (need > NSP_HDR_SIZE + NSP_MAX_PAYLOAD)
                return 0; /* nsp_reader_next reports it */
        size_t limit = need > NSP_READ_AHEAD ? need : NSP_READ_AHEAD;
        size_t held = r->len - r->off;
        return limit > held ? limit - held : 0;
}

unsigned char *nsp_reader_space(struct nsp_reader *r, size_t n)
{
        drop_taken(r);
        if (r->len + n > r->cap && r->off > 0) {
                memmove(r->buf, r->buf + r->off, r->len - r->off);
                r->len -= r->off;
                r->off = 0;
        }
        if (r->len + n > r->cap) {
                size_t cap = r->cap ? r->cap : 4096;
                while (cap < r->len + n)
                        cap *= 2;
                unsigned char *b = realloc(r->buf, cap);
                if (!b)
                        return NULL;
                r->buf = b;
                r->cap = cap;
        }
        return r->buf + r->len;
}

void nsp_reader_commit(struct nsp_reader *r, size_t n)
{
        r->len += n;
}

int nsp_reader_feed(struct nsp_reader *r, const void *data, size_t n)
{
        unsigned char *dst = nsp_reader_space(r, n);
        if (!dst)
                return -1;
        memcpy(dst, data, n);
        nsp_reader_commit(r, n);
        return 0;
}

int nsp_reader_next(struct nsp_reader *r, struct nsp_hdr *h, const unsigned char **payload)
{
        drop_taken(r);
        if (r->bad)
                return -1;
        if (r->len - r->off < NSP_HDR_SIZE)
                return 0;
        if (nsp_hdr_decode(r->buf + r->off, h) < 0) {
                r->bad = 1;
                return -1;
        }
        size_t total = NSP_HDR_SIZE + h->len;
        if (r->len - r->off < total)
                return 0;
        *payload = r->buf + r->off + NSP_HDR_SIZE;
        r->taken = total; /* the payload stays valid until the next call */
        return 1;
}
