/* The CLI's WebSocket client (shell, files watch): a TCP connection to the API upgraded
 * on /v1/ws, framed by wslay in client mode, driven by the caller's poll loop. */
#include <errno.h>
#include <netdb.h>
#include <openssl/sha.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/util.h"
#include <wslay/wslay.h>

#include "cli.h"

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
        (void)flags;
        struct cli_ws *sh = ud;
        if (sh->left_off < sh->left_len) {
                size_t n = sh->left_len - sh->left_off < len ? sh->left_len - sh->left_off : len;
                memcpy(buf, sh->leftover + sh->left_off, n);
                sh->left_off += n;
                return (ssize_t)n;
        }
        ssize_t r = recv(sh->fd, buf, len, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        if (r <= 0) {
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return r;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
        (void)flags;
        struct cli_ws *sh = ud;
        ssize_t r = send(sh->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        if (r < 0) {
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return r;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
        (void)ctx, (void)ud;
        return rand_bytes(buf, len) < 0 ? -1 : 0;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
        (void)ctx;
        struct cli_ws *w = ud;
        if (arg->opcode == WSLAY_TEXT_FRAME && w->on_text)
                w->on_text(w->ud, (const char *)arg->msg, arg->msg_length);
        else if (arg->opcode == WSLAY_BINARY_FRAME && w->on_binary)
                w->on_binary(w->ud, arg->msg, arg->msg_length);
        else if (arg->opcode == WSLAY_CONNECTION_CLOSE)
                w->closed = 1;
}

/* Opens a TCP connection to the API and upgrades it to a WebSocket on /v1/ws. Returns the
 * socket, or -1 after printing why. */
int cli_dial(struct cli *c, const char *what, char *hostport, size_t cap)
{
        char host[256] = "", port[16] = "80";
        if (strncmp(c->api_url, "http://", 7) != 0 ||
            sscanf(c->api_url + 7, "%255[^:/]:%15[0-9]", host, port) < 1) {
                fprintf(stderr, "error: usage: %s needs an http:// API URL (not %s)\n", what,
                        c->api_url);
                return -1;
        }
        snprintf(hostport, cap, "%s:%s", host, port);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        int fd = -1;
        if (getaddrinfo(host, port, &hints, &ai) == 0) {
                for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
                        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
                        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
                                close(fd);
                                fd = -1;
                        }
                }
                freeaddrinfo(ai);
        }
        if (fd < 0)
                fprintf(stderr, "error: connection_failed: cannot reach %s\n", c->api_url);
        return fd;
}

char *cli_read_head(int fd, char *head, size_t cap, size_t *got)
{
        char *end = NULL;
        *got = 0;
        while (!end && *got < cap - 1) {
                ssize_t r = recv(fd, head + *got, cap - 1 - *got, 0);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                *got += (size_t)r;
                head[*got] = '\0';
                end = strstr(head, "\r\n\r\n");
        }
        return end ? end + 4 : NULL;
}

static int ws_connect(struct cli *c, struct cli_ws *sh)
{
        char hostport[300];
        int fd = cli_dial(c, "shell", hostport, sizeof(hostport));
        if (fd < 0)
                return -1;
        unsigned char raw[16];
        char key[32], req[1024], want[64], material[128];
        rand_bytes(raw, sizeof(raw));
        base64_encode(raw, sizeof(raw), key);
        int n = snprintf(req, sizeof(req),
                         "GET /v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                         "Sec-WebSocket-Key: %s\r\nAuthorization: Bearer %s\r\n\r\n",
                         hostport, key, c->api_key);
        char head[4096];
        size_t got = 0;
        char *end = NULL;
        if (send(fd, req, (size_t)n, MSG_NOSIGNAL) == n)
                end = cli_read_head(fd, head, sizeof(head), &got);
        unsigned char digest[SHA_DIGEST_LENGTH];
        n = snprintf(material, sizeof(material), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
        SHA1((const unsigned char *)material, (size_t)n, digest);
        base64_encode(digest, sizeof(digest), want);
        if (!end || strncmp(head, "HTTP/1.1 101", 12) != 0 || !strstr(head, want)) {
                int status = end ? atoi(head + 9) : 0;
                fprintf(stderr, "error: %s: the WebSocket upgrade was refused (HTTP %d)\n",
                        status == 401 ? "unauthorized" : "connection_failed", status);
                close(fd);
                return -2 - (status == 401);
        }
        sh->left_len = got - (size_t)(end - head);
        memcpy(sh->leftover, end, sh->left_len);
        return fd;
}

int cli_ws_open(struct cli *c, struct cli_ws *w)
{
        w->fd = ws_connect(c, w);
        if (w->fd < 0)
                return ns_code_def(w->fd == -3 ? NS_E_UNAUTHORIZED : NS_E_CONNECTION_FAILED)
                    ->exit_code;
        struct wslay_event_callbacks cb = {recv_cb, send_cb, genmask_cb, NULL, NULL, NULL, on_msg};
        wslay_event_context_ptr ctx;
        if (wslay_event_context_client_init(&ctx, &cb, w) != 0) {
                close(w->fd);
                w->fd = -1;
                return 1;
        }
        w->ctx = ctx;
        return 0;
}

void cli_ws_close(struct cli_ws *w)
{
        if (w->ctx)
                wslay_event_context_free(w->ctx);
        if (w->fd >= 0)
                close(w->fd);
        w->ctx = NULL;
        w->fd = -1;
}

void cli_ws_send_json(struct cli_ws *w, json_t *doc)
{
        char *text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!text)
                return;
        struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
        wslay_event_queue_msg(w->ctx, &m);
        free(text);
}

void cli_ws_send_input(struct cli_ws *w, uint32_t channel, const void *p, size_t n)
{
        unsigned char *msg = malloc(n + 5);
        if (!msg)
                return;
        msg[0] = 0;
        msg[1] = (unsigned char)(channel >> 24), msg[2] = (unsigned char)(channel >> 16);
        msg[3] = (unsigned char)(channel >> 8), msg[4] = (unsigned char)channel;
        if (n)
                memcpy(msg + 5, p, n);
        struct wslay_event_msg m = {WSLAY_BINARY_FRAME, msg, n + 5};
        wslay_event_queue_msg(w->ctx, &m);
        free(msg);
}

short cli_ws_events(struct cli_ws *w)
{
        return (short)(POLLIN | (wslay_event_want_write(w->ctx) ? POLLOUT : 0));
}

int cli_ws_timeout(struct cli_ws *w)
{
        return w->left_off < w->left_len ? 0 : -1;
}

int cli_ws_io(struct cli_ws *w, short revents)
{
        if (((revents & (POLLIN | POLLHUP | POLLERR)) || w->left_off < w->left_len) &&
            wslay_event_recv(w->ctx) != 0)
                return -1;
        if (wslay_event_want_write(w->ctx) && wslay_event_send(w->ctx) != 0)
                return -1;
        return w->closed ? -1 : 0;
}

int cli_ws_error(const json_t *msg, const char *eol)
{
        json_t *e = json_object_get(msg, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        enum ns_code nc = code ? ns_code_by_name(code) : NS_E_COUNT;
        fprintf(stderr, "%serror: %s: %s%s", eol, code ? code : "?",
                json_string_value(json_object_get(e, "message")) ?: "", eol);
        return nc != NS_E_COUNT ? ns_code_def(nc)->exit_code : 1;
}

int cli_target_path_args(const struct cli_cmd *cmd, int argc, char **argv, const char **values,
                         char *base, size_t cap)
{
        int npos, r = cli_parse_flags(cmd, argc, argv, values, NULL, &npos);
        if (r)
                return r;
        if (npos != 2)
                return cli_usage_error(cmd, "expected %s", cmd->args);
        return cli_files_base(cmd, argv[0], base, cap);
}
