/* WebSocket sessions (RFC 6455, framing by wslay) on top of an upgraded HTTP
 * connection. Loop thread only. */
#ifndef NS_HTTP_WS_H
#define NS_HTTP_WS_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

#define WS_MAX_MESSAGE (1u << 20)  /* largest message accepted from a client */
#define WS_MAX_QUEUED  (40u << 20) /* bytes queued towards a client before sends fail */
#define WS_LOW_WATER   (1u << 20)  /* on_writable runs while less than this is queued */

struct ws_session;

struct ws_handlers {
        /* A complete text message. `data` is valid during the call only. */
        void (*on_text)(struct ws_session *ws, const char *data, size_t len, void *user);
        /* A complete binary message. NULL: answered with close code 1003. */
        void (*on_binary)(struct ws_session *ws, const char *data, size_t len, void *user);
        /* Less than WS_LOW_WATER bytes are queued towards the client (after each write
         * round). May be NULL. */
        void (*on_writable)(struct ws_session *ws, void *user);
        /* The session ends (either side); `user` is not used by the server afterwards. */
        void (*on_close)(struct ws_session *ws, void *user);
};

/* Validates the upgrade headers of ex and answers 101 (returns 0 and the session in
 * *out, may be NULL; the connection is a WebSocket from now on) or answers an error
 * (returns -1). `h` must outlive the session; `user` is the caller's. */
int http_ws_accept(struct http_exchange *ex, const struct ws_handlers *h, void *user,
                   struct ws_session **out);

/* Queues a text message. Returns 0, or -ENOBUFS when the client is too slow and the
 * queue is full (the caller decides: drop, or close the session). */
int ws_send_text(struct ws_session *ws, const char *data, size_t len);

/* Queues a binary message made of head[0..hn) then data[0..n) (both copied; with data
 * NULL, head is the whole message). Returns 0, or -ENOBUFS when the queue is full. */
int ws_send_binary(struct ws_session *ws, const void *head, size_t hn, const void *data, size_t n);

/* Sends a binary message: written straight to the socket when nothing else waits
 * (no copy), else queued like ws_send_binary(ws, msg, n, NULL, 0). Same returns. */
int ws_send_binary_now(struct ws_session *ws, const void *msg, size_t n);

/* Bytes queued towards the client (messages not yet framed, and framed bytes not yet
 * written to the socket). */
size_t ws_queued(const struct ws_session *ws);

/* Makes the session write what was queued outside its own callbacks (from the next
 * loop round; safe to call from anywhere on the loop thread). */
void ws_kick(struct ws_session *ws);

/* Starts a close handshake with `code` and a short reason. */
void ws_close(struct ws_session *ws, uint16_t code, const char *reason);

/* The request ID of the upgrade request, for logs and error bodies. */
const char *ws_request_id(const struct ws_session *ws);

#endif
