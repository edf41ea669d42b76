#include "ws.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <wslay/wslay.h>

#include "../../common/util.h"
#include "conn.h"

struct ws_session {
        struct http_conn *conn;
        wslay_event_context_ptr ctx;
        const struct ws_handlers *h;
        void *user;
        const char *leftover; /* bytes read with the upgrade request, not yet consumed */
        size_t leftover_len;
        char request_id[48];
        int closed_cb_done;
};

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static int header_has_token(const char *v, const char *token)
{
        size_t tl = strlen(token);
        while (v && *v) {
                while (*v == ' ' || *v == ',')
                        v++;
                size_t n = strcspn(v, ",");
                size_t m = n;
                while (m > 0 && v[m - 1] == ' ')
                        m--;
                if (m == tl && strncasecmp(v, token, tl) == 0)
                        return 1;
                v += n;
        }
        return 0;
}

int http_ws_accept(struct http_exchange *ex, const struct ws_handlers *h, void *user,
                   struct ws_session **out)
{
        const struct http_req *r = ex->req;
        const char *up = http_req_header(r, "Upgrade");
        const char *conn = http_req_header(r, "Connection");
        const char *ver = http_req_header(r, "Sec-WebSocket-Version");
        const char *key = http_req_header(r, "Sec-WebSocket-Key");
        if (!up || strcasecmp(up, "websocket") != 0 || !header_has_token(conn, "upgrade") || !ver ||
            strcmp(ver, "13") != 0 || !key || strlen(key) != 24) {
                ex->conn->close_after = 1;
                http_respond_error(ex, NS_E_INVALID_REQUEST,
                                   "a WebSocket upgrade needs Upgrade: websocket, Connection: "
                                   "Upgrade, Sec-WebSocket-Version: 13 and a "
                                   "Sec-WebSocket-Key");
                return -1;
        }
        struct ws_session *ws = calloc(1, sizeof(*ws));
        if (!ws) {
                ex->conn->close_after = 1;
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return -1;
        }
        char material[128], accept[64];
        unsigned char digest[SHA_DIGEST_LENGTH];
        int n = snprintf(material, sizeof(material), "%s%s", key, ws_guid);
        SHA1((const unsigned char *)material, (size_t)n, digest);
        base64_encode(digest, sizeof(digest), accept);
        ws->h = h;
        ws->user = user;
        ws->conn = ex->conn;
        snprintf(ws->request_id, sizeof(ws->request_id), "%s", ex->request_id);
        http_add_header(ex, "Upgrade", "websocket");
        http_add_header(ex, "Connection", "Upgrade");
        http_add_header(ex, "Sec-WebSocket-Accept", accept);
        struct http_conn *c = ex->conn;
        c->ws = ws;
        /* a 101 has no body and no Content-Length */
        ex->responded = 1;
        ex->status = 101;
        buf_printf(&c->out, "HTTP/1.1 101 Switching Protocols\r\nX-Request-Id: %s\r\n%s\r\n",
                   ex->request_id, ex->headers.data);
        c->state = CONN_WS;
        if (out)
                *out = ws;
        return 0;
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user_data)
{
        (void)flags;
        struct ws_session *ws = user_data;
        if (ws->leftover_len > 0) {
                size_t n = len < ws->leftover_len ? len : ws->leftover_len;
                memcpy(buf, ws->leftover, n);
                ws->leftover += n;
                ws->leftover_len -= n;
                return (ssize_t)n;
        }
        ssize_t r;
        do {
                r = recv(ws->conn->io.fd, buf, len, 0);
        } while (r < 0 && errno == EINTR);
        if (r < 0 && errno == EAGAIN) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        if (r <= 0) {
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return r;
}

/* Frames go through the connection's bounded output buffer, after the 101. */
static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user_data)
{
        (void)flags;
        struct ws_session *ws = user_data;
        struct buf *out = &ws->conn->out;
        if (out->len >= CONN_OUT_HIGH) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        size_t n = len < CONN_OUT_HIGH - out->len ? len : CONN_OUT_HIGH - out->len;
        if (out->len == 0) { /* nothing waits: straight to the socket, saving a copy */
                ssize_t w = send(ws->conn->io.fd, data, n, MSG_NOSIGNAL);
                if (w > 0) {
                        ws->conn->last_ms = ws->conn->srv->loop->now_ms;
                        return w;
                }
                if (w < 0 && errno != EAGAIN && errno != EINTR) {
                        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                        return -1;
                }
        }
        if (buf_append(out, data, n) < 0) {
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return (ssize_t)n;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user_data)
{
        (void)ctx;
        (void)user_data;
        return rand_bytes(buf, len) < 0 ? -1 : 0;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user_data)
{
        struct ws_session *ws = user_data;
        if (arg->opcode == WSLAY_TEXT_FRAME && ws->h->on_text) {
                ws->h->on_text(ws, (const char *)arg->msg, arg->msg_length, ws->user);
        } else if (arg->opcode == WSLAY_BINARY_FRAME) {
                if (ws->h->on_binary)
                        ws->h->on_binary(ws, (const char *)arg->msg, arg->msg_length, ws->user);
                else
                        wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA,
                                                (const uint8_t *)"binary frames not accepted", 26);
        }
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .genmask_callback = genmask_cb,
    .on_msg_recv_callback = on_msg,
};

int ws_start(struct http_conn *c, const char *leftover, size_t len)
{
        struct ws_session *ws = c->ws;
        if (wslay_event_context_server_init(&ws->ctx, &callbacks, ws) != 0) {
                conn_close(c);
                return -1;
        }
        wslay_event_config_set_max_recv_msg_length(ws->ctx, WS_MAX_MESSAGE);
        ws->leftover = leftover;
        ws->leftover_len = len;
        return ws_on_io(c, EPOLLIN);
}

void ws_free(struct ws_session *ws)
{
        if (!ws->closed_cb_done && ws->h->on_close)
                ws->h->on_close(ws, ws->user);
        if (ws->ctx)
                wslay_event_context_free(ws->ctx);
        free(ws);
}

static int ws_pump(struct http_conn *c)
{
        struct ws_session *ws = c->ws;
        if (wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) != 0)
                return -1;
        /* wslay hands frames over only while the output buffer has room */
        size_t before;
        do {
                before = c->out.len;
                if (conn_send_some(c) < 0)
                        return -1;
                if (wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) != 0)
                        return -1;
        } while (c->out.len > 0 && c->out.len != before);
        int want_r = wslay_event_want_read(ws->ctx);
        int want_w = wslay_event_want_write(ws->ctx) || c->out.len > 0;
        if (!want_r && !want_w)
                return 1; /* the close handshake is done */
        uint32_t ev = (want_r ? EPOLLIN : 0) | (want_w ? EPOLLOUT : 0);
        loop_io_mod(c->srv->loop, &c->io, ev);
        if (ws->h->on_writable && ws_queued(ws) < WS_LOW_WATER)
                ws->h->on_writable(ws, ws->user);
        return 0;
}

int ws_on_io(struct http_conn *c, uint32_t events)
{
        struct ws_session *ws = c->ws;
        int failed = (events & EPOLLERR) != 0;
        if (!failed && (events & (EPOLLIN | EPOLLHUP)) && wslay_event_want_read(ws->ctx))
                failed = wslay_event_recv(ws->ctx) != 0;
        int r = failed ? -1 : ws_pump(c);
        if (r == 1 && shutdown(c->io.fd, SHUT_WR) == 0) {
                /* drain what the peer still sends, so the close frame is not lost */
                c->state = CONN_LINGER;
                c->last_ms = c->srv->loop->now_ms;
                conn_update_events(c);
                return 0;
        }
        if (r != 0) {
                conn_close(c);
                return -1;
        }
        return 0;
}

int ws_send_text(struct ws_session *ws, const char *data, size_t len)
{
        if (wslay_event_get_queued_msg_length(ws->ctx) + len > WS_MAX_QUEUED)
                return -ENOBUFS;
        struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)data, len};
        if (wslay_event_queue_msg(ws->ctx, &msg) != 0)
                return -ENOBUFS;
        return 0;
}

int ws_send_binary(struct ws_session *ws, const void *head, size_t hn, const void *data, size_t n)
{
        if (wslay_event_get_queued_msg_length(ws->ctx) + hn + n > WS_MAX_QUEUED)
                return -ENOBUFS;
        if (!data) { /* one piece already: wslay copies it once */
                struct wslay_event_msg one = {WSLAY_BINARY_FRAME, head, hn};
                return wslay_event_queue_msg(ws->ctx, &one) != 0 ? -ENOBUFS : 0;
        }
        unsigned char *msgbuf = malloc(hn + n);
        if (!msgbuf)
                return -ENOMEM;
        memcpy(msgbuf, head, hn);
        if (n)
                memcpy(msgbuf + hn, data, n);
        struct wslay_event_msg msg = {WSLAY_BINARY_FRAME, msgbuf, hn + n};
        int r = wslay_event_queue_msg(ws->ctx, &msg) != 0 ? -ENOBUFS : 0;
        free(msgbuf);
        return r;
}

int ws_send_binary_now(struct ws_session *ws, const void *msg, size_t n)
{
        struct http_conn *c = ws->conn;
        if (c->state != CONN_WS || wslay_event_want_write(ws->ctx) || c->out.len > 0 ||
            wslay_event_get_close_sent(ws->ctx))
                return ws_send_binary(ws, msg, n, NULL, 0);
        /* nothing is queued or half sent: frame it here and write it straight out (a
         * server's frames are not masked), keeping only what the socket cannot take */
        unsigned char hdr[10] = {0x82};
        size_t hn = 2;
        if (n < 126) {
                hdr[1] = (unsigned char)n;
        } else if (n < 65536) {
                hdr[1] = 126, hdr[2] = (unsigned char)(n >> 8), hdr[3] = (unsigned char)n;
                hn = 4;
        } else {
                hdr[1] = 127;
                for (int i = 0; i < 8; i++)
                        hdr[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
                hn = 10;
        }
        struct iovec iov[2] = {{hdr, hn}, {(void *)msg, n}};
        ssize_t w;
        do {
                w = writev(c->io.fd, iov, 2);
        } while (w < 0 && errno == EINTR);
        size_t done = w > 0 ? (size_t)w : 0;
        if (done < hn &&
            (buf_append(&c->out, hdr + done, hn - done) < 0 || buf_append(&c->out, msg, n) < 0))
                return -ENOBUFS;
        if (done >= hn && done < hn + n &&
            buf_append(&c->out, (const char *)msg + (done - hn), hn + n - done) < 0)
                return -ENOBUFS;
        if (done)
                c->last_ms = c->srv->loop->now_ms;
        return 0;
}

size_t ws_queued(const struct ws_session *ws)
{
        return wslay_event_get_queued_msg_length(ws->ctx) + ws->conn->out.len;
}

void ws_kick(struct ws_session *ws)
{
        struct http_conn *c = ws->conn;
        if (c->state == CONN_WS)
                loop_io_mod(c->srv->loop, &c->io, EPOLLIN | EPOLLOUT);
}

void ws_close(struct ws_session *ws, uint16_t code, const char *reason)
{
        wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason, strlen(reason));
}

const char *ws_request_id(const struct ws_session *ws)
{
        return ws->request_id;
}
