/* Internal to the HTTP server: one client connection. */
#ifndef NS_HTTP_CONN_H
#define NS_HTTP_CONN_H

#include "server.h"

#define CONN_IN_SIZE   16384
#define CONN_OUT_LIMIT (16u << 20)  /* queued response bytes */
#define CONN_OUT_HIGH  (256u << 10) /* stop pulling a stream / pipelined input above this */

enum conn_state {
        CONN_READING,   /* parsing a request */
        CONN_HANDLING,  /* handler owns the exchange; input paused */
        CONN_STREAMING, /* body pulled from a source */
        CONN_WS,        /* upgraded to WebSocket */
        CONN_CLOSING,   /* flush what is queued, then linger */
        CONN_LINGER,    /* response sent, write side shut: drain the peer's bytes, then close */
};

struct ws_session;

struct http_conn {
        struct loop_io io;
        struct http_server *srv;
        struct http_conn *prev, *next;
        enum conn_state state;
        struct http_parser parser;
        struct http_exchange ex;
        char in[CONN_IN_SIZE];
        size_t in_len;
        struct buf out;
        struct http_body_src src;
        int src_active;
        int src_waiting; /* the source said HTTP_SRC_AGAIN */
        int partial;     /* bytes of an unfinished request have arrived */
        int close_after; /* close once the current response is out */
        int peer_closed;
        int in_process;    /* inside process_input: responses only queue */
        int dead;          /* closed; waiting in the graveyard to be freed */
        uint64_t last_ms;  /* last I/O progress */
        uint64_t start_ms; /* first byte of the current request */
        size_t lingered;   /* bytes discarded while lingering */
        size_t head_used;  /* bytes of c->in the handed-over request's head took */
        struct ws_session *ws;
        char peer[64];
};

/* Takes ownership of an accepted socket. Returns the connection or NULL (fd closed). */
struct http_conn *conn_new(struct http_server *s, int fd, const char *peer);

#define CONN_LINGER_MS    2000
#define CONN_LINGER_BYTES (1u << 20)

/* Over the connection limit: answers 503 too_many_connections and closes (through the
 * lingering close, so the answer is not lost to a TCP reset). */
void conn_refuse(struct http_server *s, int fd, const char *peer);

/* Frees closed connections (timer callback). */
void http_server_reap(struct loop_timer *t);

/* Closes now and frees from a timer; safe from any callback. An asynchronous handler
 * holding the exchange is told through ex->on_abort first. */
void conn_close(struct http_conn *c);

/* Sends queued output until done or EAGAIN. Returns -1 on a socket error (the caller
 * closes), 0 otherwise. */
int conn_send_some(struct http_conn *c);

/* Writes what is queued; returns -1 when the connection was closed. */
int conn_flush(struct http_conn *c);

/* Re-computes the epoll interest from the state. */
void conn_update_events(struct http_conn *c);

/* Sweep helper: closes the connection when it is past a timeout. */
void conn_check_timeouts(struct http_conn *c, uint64_t now_ms);

/* WebSocket hand-over (ws.c): `leftover` are bytes read after the upgrade request.
 * Both return -1 when the connection was closed (and freed), 0 otherwise. */
int ws_start(struct http_conn *c, const char *leftover, size_t len);
int ws_on_io(struct http_conn *c, uint32_t events);

/* Logs the finished exchange (the upgrade request of a WebSocket, too). */
void conn_log_exchange(struct http_conn *c);
void ws_free(struct ws_session *ws);

#endif
