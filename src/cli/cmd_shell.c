/* `nullspace shell ID [--cmd CMD]`: an interactive terminal in a machine. It starts a
 * PTY session over the WebSocket (/v1/ws, process.start with "pty": true; no command:
 * the login shell), puts our terminal in raw mode, relays keys and output, follows
 * window size changes (process.resize), and exits with the session's exit code. */
#include <errno.h>
#include <netdb.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "../common/util.h"
#include "cli.h"

struct shell {
        int fd;           /* the socket */
        uint32_t channel; /* 0 until the session started */
        int pid;          /* the session's process */
        int done, exit_code;
        const char *machine;
        char leftover[4096]; /* bytes read after the upgrade answer */
        size_t left_len, left_off;
};

/* ---- the WebSocket transport (wslay, client side) ----------------------------------- */

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
        (void)flags;
        struct shell *sh = ud;
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
        struct shell *sh = ud;
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

static void send_json(wslay_event_context_ptr ctx, json_t *doc)
{
        char *text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!text)
                return;
        struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
        wslay_event_queue_msg(ctx, &m);
        free(text);
}

static void send_input(wslay_event_context_ptr ctx, uint32_t channel, const char *p, size_t n)
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
        wslay_event_queue_msg(ctx, &m);
        free(msg);
}

static void on_text(struct shell *sh, const char *data, size_t len)
{
        json_t *msg = json_loadb(data, len, 0, NULL);
        const char *type = json_string_value(json_object_get(msg, "type"));
        if (type && !strcmp(type, "reply") && json_integer_value(json_object_get(msg, "id")) == 1) {
                sh->channel = (uint32_t)json_integer_value(json_object_get(msg, "channel"));
                sh->pid = (int)json_integer_value(json_object_get(msg, "pid"));
        } else if (type && !strcmp(type, "error")) {
                json_t *e = json_object_get(msg, "error");
                const char *code = json_string_value(json_object_get(e, "code"));
                enum ns_code nc = code ? ns_code_by_name(code) : NS_E_COUNT;
                fprintf(stderr, "\r\nerror: %s: %s\r\n", code ? code : "?",
                        json_string_value(json_object_get(e, "message")) ?: "");
                if (json_integer_value(json_object_get(msg, "id")) == 1) { /* the start failed */
                        sh->done = 1;
                        sh->exit_code = nc != NS_E_COUNT ? ns_code_def(nc)->exit_code : 1;
                }
        } else if (type && !strcmp(type, "exit")) {
                sh->done = 1;
                sh->exit_code = (int)json_integer_value(json_object_get(msg, "exit_code"));
        } else if (type && !strcmp(type, "detached")) {
                fprintf(stderr, "\r\nnullspace: detached (%s); the session runs on as PID %d\r\n",
                        json_string_value(json_object_get(msg, "reason")) ?: "?", sh->pid);
                sh->done = 1;
                sh->exit_code = ns_code_def(NS_E_MACHINE_BUSY)->exit_code;
        }
        json_decref(msg);
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
        (void)ctx;
        struct shell *sh = ud;
        if (arg->opcode == WSLAY_TEXT_FRAME) {
                on_text(sh, (const char *)arg->msg, arg->msg_length);
        } else if (arg->opcode == WSLAY_BINARY_FRAME && arg->msg_length > 5) {
                size_t n = arg->msg_length - 5;
                const uint8_t *p = arg->msg + 5;
                while (n > 0) {
                        ssize_t w = write(STDOUT_FILENO, p, n);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                break;
                        p += w;
                        n -= (size_t)w;
                }
        } else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
                sh->done = 1;
        }
}

/* ---- connecting ------------------------------------------------------------------------ */

/* Opens a TCP connection to the API and upgrades it to a WebSocket on /v1/ws. Returns the
 * socket, or -1 after printing why. */
static int ws_connect(struct cli *c, struct shell *sh)
{
        char host[256] = "", port[16] = "80";
        if (strncmp(c->api_url, "http://", 7) != 0 ||
            sscanf(c->api_url + 7, "%255[^:/]:%15[0-9]", host, port) < 1) {
                fprintf(stderr, "error: usage: shell needs an http:// API URL (not %s)\n",
                        c->api_url);
                return -1;
        }
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
        if (fd < 0) {
                fprintf(stderr, "error: connection_failed: cannot reach %s\n", c->api_url);
                return -1;
        }
        unsigned char raw[16];
        char key[32], req[1024], want[64], material[128];
        rand_bytes(raw, sizeof(raw));
        base64_encode(raw, sizeof(raw), key);
        int n = snprintf(req, sizeof(req),
                         "GET /v1/ws HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                         "Sec-WebSocket-Key: %s\r\nAuthorization: Bearer %s\r\n\r\n",
                         host, port, key, c->api_key);
        char head[4096];
        size_t got = 0;
        char *end = NULL;
        if (send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
                while (!end && got < sizeof(head) - 1) {
                        ssize_t r = recv(fd, head + got, sizeof(head) - 1 - got, 0);
                        if (r <= 0)
                                break;
                        got += (size_t)r;
                        head[got] = '\0';
                        end = strstr(head, "\r\n\r\n");
                }
        }
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
        end += 4;
        sh->left_len = got - (size_t)(end - head);
        memcpy(sh->leftover, end, sh->left_len);
        return fd;
}

/* ---- the session -------------------------------------------------------------------------- */

static void window_size(unsigned *cols, unsigned *rows)
{
        struct winsize ws;
        *cols = 80, *rows = 24;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row)
                *cols = ws.ws_col, *rows = ws.ws_row;
}

static void relay(wslay_event_context_ptr ctx, struct shell *sh, int sigfd)
{
        int stdin_open = 1;
        while (!sh->done) {
                struct pollfd p[3] = {
                    {sh->fd, POLLIN | (wslay_event_want_write(ctx) ? POLLOUT : 0), 0},
                    /* a negative fd is skipped (POLLHUP would be reported regardless) */
                    {stdin_open && sh->channel ? STDIN_FILENO : -1, POLLIN, 0},
                    {sigfd, POLLIN, 0}};
                if (poll(p, 3, sh->left_off < sh->left_len ? 0 : -1) < 0 && errno != EINTR)
                        break;
                if (((p[0].revents & (POLLIN | POLLHUP | POLLERR)) ||
                     sh->left_off < sh->left_len) &&
                    wslay_event_recv(ctx) != 0)
                        break;
                if (p[1].revents & (POLLIN | POLLHUP)) {
                        char buf[4096];
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n > 0) {
                                send_input(ctx, sh->channel, buf, (size_t)n);
                        } else if (n == 0 || errno != EINTR) {
                                stdin_open = 0;
                                send_input(ctx, sh->channel, NULL, 0); /* end of input: ^D */
                        }
                }
                if (p[2].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sigfd, &si, sizeof(si)) == sizeof(si))
                                ;
                        unsigned cols, rows;
                        window_size(&cols, &rows);
                        send_json(ctx, json_pack("{s:s,s:i,s:s,s:i,s:i,s:i}", "type",
                                                 "process.resize", "id", 2, "machine", sh->machine,
                                                 "pid", sh->pid, "cols", cols, "rows", rows));
                }
                if (wslay_event_want_write(ctx) && wslay_event_send(ctx) != 0)
                        break;
        }
}

int cmd_shell(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("shell");
        const char *v[1] = {0};
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        struct shell sh = {.machine = id, .exit_code = 1};
        sh.fd = ws_connect(c, &sh);
        if (sh.fd < 0)
                return sh.fd == -1   ? ns_code_def(NS_E_CONNECTION_FAILED)->exit_code
                       : sh.fd == -3 ? ns_code_def(NS_E_UNAUTHORIZED)->exit_code
                                     : ns_code_def(NS_E_CONNECTION_FAILED)->exit_code;
        struct wslay_event_callbacks cb = {recv_cb, send_cb, genmask_cb, NULL, NULL, NULL, on_msg};
        wslay_event_context_ptr ctx;
        if (wslay_event_context_client_init(&ctx, &cb, &sh) != 0) {
                close(sh.fd);
                return 1;
        }
        unsigned cols, rows;
        window_size(&cols, &rows);
        json_t *start = json_pack("{s:s,s:i,s:s,s:b,s:i,s:i}", "type", "process.start", "id", 1,
                                  "machine", id, "pty", 1, "cols", cols, "rows", rows);
        if (v[0])
                json_object_set_new(start, "cmd", json_string(v[0]));
        send_json(ctx, start);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGWINCH);
        sigprocmask(SIG_BLOCK, &set, NULL);
        int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        struct termios saved;
        int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        if (tty) {
                struct termios raw = saved;
                cfmakeraw(&raw);
                tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        }
        relay(ctx, &sh, sigfd);
        if (tty)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        wslay_event_context_free(ctx);
        close(sigfd);
        close(sh.fd);
        return sh.done ? sh.exit_code : ns_code_def(NS_E_CONNECTION_FAILED)->exit_code;
}
