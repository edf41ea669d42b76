/* A byte relay between two sockets on the event loop: what one side sends the other
 * gets, with a bounded buffer per direction (a side that does not read stops the
 * other from being read: flow control, no growth), half-closes passed on, and an
 * idle timeout. Used by the preview proxy. Loop thread only. */
#ifndef NS_HTTP_RELAY_H
#define NS_HTTP_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/loop.h"

#define RELAY_BUF (64u << 10)

struct relay;

/* Told once when the relay ends: `connected` says whether the upstream connection was
 * ever made (0: the connect failed or timed out; nothing was relayed, the client
 * socket is still open and is the callback's to answer and close: *client_fd). */
typedef void (*relay_end_cb)(void *ud, int connected, int *client_fd);

struct relay_side {
        struct loop_io io;
        struct relay *r;
        char *buf; /* bytes read from this side, waiting for the other */
        size_t len, off;
        int eof;  /* read returned 0 */
        int shut; /* we shut down writing to this side */
};

struct relay {
        struct loop *loop;
        struct relay_side s[2]; /* 0: client, 1: upstream */
        int connecting;
        unsigned idle_ms;
        uint64_t last_ms;
        struct loop_timer timer; /* connect / idle timeout */
        struct loop_timer reap;
        relay_end_cb on_end;
        void *ud;
        int ended;
        /* the upstream closed before it had our FIN: it is reset at the end (so it never
         * waits in TIME_WAIT) */
        int upstream_closed_first;
        int abort_upstream; /* never a FIN upstream: the client's end resets it (relay_abortive) */
        struct relay *next; /* the owner's list */
};

/* Starts relaying between client (connected) and upstream (a non-blocking connect in
 * progress); `pre` (len bytes, at most RELAY_BUF) is sent upstream first. Takes both
 * fds. Returns the relay or NULL (fds untouched on failure). */
struct relay *relay_start(struct loop *loop, int client, int upstream, const void *pre, size_t len,
                          unsigned connect_ms, unsigned idle_ms, relay_end_cb on_end, void *ud);

/* Queues n bytes (at most RELAY_BUF) for the client, sent once the upstream connect
 * succeeds and before anything upstream sends: an answer that switches protocols.
 * Call right after relay_start. */
void relay_reply(struct relay *r, const void *p, size_t n);

/* The upstream is never half-closed: when the client's side ends (or the relay does)
 * the upstream connection is reset, so the upstream never lingers in TIME_WAIT, whoever
 * closed first (a gVisor sandbox cannot checkpoint a TIME_WAIT connection). For
 * protocols that end on their own messages, not on a half-close (SSH). Call right after
 * relay_start. */
void relay_abortive(struct relay *r);

/* Ends the relay now (both sockets closed; on_end told with connected 1). The relay is
 * freed from a timer. */
void relay_stop(struct relay *r);

#endif
