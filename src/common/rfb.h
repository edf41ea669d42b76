/* The client-to-server half of an RFB (VNC) stream, framed message by message so that a
 * view-only viewer's input can be dropped on its way to the server (api/viewer_relay.c).
 * RFB is RFC 6143 plus the extensions noVNC sends (fences, continuous updates, desktop
 * size, xvp, QEMU key events); the handshake it follows is the one a server without a
 * password offers (security type None). No I/O, no allocation beyond `out`; thread-safe
 * for distinct filters. */
#ifndef NS_COMMON_RFB_H
#define NS_COMMON_RFB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RFB_HEAD_MAX 20 /* the longest fixed part of a client message (SetPixelFormat) */

struct rfb_filter {
        int state;                        /* RFB_VERSION ... RFB_MESSAGES (rfb.c) */
        unsigned char head[RFB_HEAD_MAX]; /* the current message's fixed part so far */
        size_t have;
        uint64_t rest;    /* bytes of the current message still to come after its head */
        int drop;         /* the current message is input: it does not pass */
        uint64_t dropped; /* input messages dropped so far */
};

/* Starts a filter at the beginning of a client's stream. */
void rfb_filter_init(struct rfb_filter *f);

/* Takes the next n bytes the client sent and appends to out what may reach the server:
 * everything but key and pointer events, clipboard text, desktop resizes, xvp
 * (shutdown, reboot) and QEMU key events. Returns 0; -1 when the stream is not an RFB
 * client's, asks for a security type other than None, or sends a message type it does
 * not know (its length cannot be told, so nothing after it can be framed) with a reason
 * in why (static); -2 when out is full. After an error the filter must not be fed
 * again. */
int rfb_filter_feed(struct rfb_filter *f, const unsigned char *p, size_t n, struct buf *out,
                    const char **why);

#endif
