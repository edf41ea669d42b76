/* The client half of an RFB stream, framed (rfb.h). A message is a fixed head whose
 * length its type tells (and, for QEMU's messages, its subtype), then a variable part
 * whose length the head tells. Input messages are dropped whole, head and rest. */
#include <string.h>

#include "rfb.h"

enum { RFB_VERSION, RFB_SECURITY, RFB_INIT, RFB_MESSAGES };

#define VERSION_LEN 12 /* "RFB 003.008\n" */
#define SEC_NONE    1

/* The fixed length of a message whose head so far is h[0..have): 0 when the type is
 * unknown, or have itself when more of the head is needed to tell. */
static size_t head_len(const unsigned char *h, size_t have)
{
        switch (h[0]) {
        case 0: /* SetPixelFormat */
                return 20;
        case 2: /* SetEncodings */
                return 4;
        case 3: /* FramebufferUpdateRequest */
                return 10;
        case 4: /* KeyEvent */
                return 8;
        case 5: /* PointerEvent */
                return 6;
        case 6: /* ClientCutText */
                return 8;
        case 150: /* EnableContinuousUpdates */
                return 10;
        case 248: /* ClientFence */
                return 9;
        case 250: /* xvp */
                return 4;
        case 251: /* SetDesktopSize */
                return 8;
        case 255: /* QEMU: subtype 0 is the extended key event */
                return have < 2 ? 2 : h[1] == 0 ? 12 : 0;
        default:
                return 0;
        }
}

/* The bytes after a complete head. */
static uint64_t rest_len(const unsigned char *h)
{
        switch (h[0]) {
        case 2:
                return 4u * ((unsigned)h[2] << 8 | h[3]);
        case 6: { /* a negative length is the extended clipboard's: its magnitude follows */
                uint32_t v =
                    (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
                return v & 0x80000000u ? (uint64_t)(~v) + 1 : v;
        }
        case 248:
                return h[8];
        case 251:
                return 16u * h[6];
        default:
                return 0;
        }
}

static int is_input(unsigned char type)
{
        return type == 4 || type == 5 || type == 6 || type == 250 || type == 251 || type == 255;
}

void rfb_filter_init(struct rfb_filter *f)
{
        memset(f, 0, sizeof(*f));
        f->state = RFB_VERSION;
}

/* A complete handshake part in f->head: 0, or -1 with why. */
static int handshake(struct rfb_filter *f, const char **why)
{
        if (f->state == RFB_VERSION) {
                const unsigned char *h = f->head;
                if (memcmp(h, "RFB 003.", 8) != 0 || h[11] != '\n' || h[8] < '0' || h[8] > '9' ||
                    h[9] < '0' || h[9] > '9' || h[10] < '0' || h[10] > '9') {
                        *why = "not an RFB client (no protocol version)";
                        return -1;
                }
                int minor = (h[8] - '0') * 100 + (h[9] - '0') * 10 + (h[10] - '0');
                f->state = minor >= 7 ? RFB_SECURITY : RFB_INIT; /* 3.3: the server chose */
        } else if (f->state == RFB_SECURITY) {
                if (f->head[0] != SEC_NONE) {
                        *why = "the viewer asked for a security type other than None";
                        return -1;
                }
                f->state = RFB_INIT;
        } else {
                f->state = RFB_MESSAGES; /* ClientInit: the shared flag */
        }
        return 0;
}

static size_t wanted(const struct rfb_filter *f)
{
        switch (f->state) {
        case RFB_VERSION:
                return VERSION_LEN;
        case RFB_SECURITY:
        case RFB_INIT:
                return 1;
        default:
                return f->have ? head_len(f->head, f->have) : 1;
        }
}

int rfb_filter_feed(struct rfb_filter *f, const unsigned char *p, size_t n, struct buf *out,
                    const char **why)
{
        while (n) {
                if (f->rest) { /* the variable part of a message: passed or dropped as it comes */
                        size_t k = f->rest < n ? (size_t)f->rest : n;
                        if (!f->drop && buf_append(out, p, k) < 0)
                                return -2;
                        f->rest -= k;
                        p += k;
                        n -= k;
                        continue;
                }
                size_t want = wanted(f), k = want - f->have < n ? want - f->have : n;
                memcpy(f->head + f->have, p, k); /* more of the head */
                f->have += k;
                p += k;
                n -= k;
                want = wanted(f); /* the type byte (a QEMU subtype) tells the head's length */
                if (want == 0) {
                        *why = "the viewer sent a message type the daemon does not know";
                        return -1;
                }
                if (f->have < want)
                        continue;
                if (f->state != RFB_MESSAGES) {
                        if (handshake(f, why) < 0)
                                return -1;
                        if (buf_append(out, f->head, f->have) < 0)
                                return -2;
                } else {
                        f->drop = is_input(f->head[0]);
                        if (!f->drop && buf_append(out, f->head, f->have) < 0)
                                return -2;
                        f->rest = rest_len(f->head);
                        f->dropped += (uint64_t)f->drop;
                }
                f->have = 0;
        }
        return 0;
}
