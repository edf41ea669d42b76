/* `nullspace shell ID [--cmd CMD | --attach PID|TAG]`: an interactive terminal in a
 * machine. It starts a PTY session over the WebSocket (/v1/ws, process.start with "pty":
 * true; no command: the login shell) or attaches to a running one (process.attach, its
 * output replayed first), puts our terminal in raw mode, relays keys and output, follows
 * window size changes (process.resize), and exits with the session's exit code. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "../common/util.h"
#include "cli.h"

struct shell {
        struct cli_ws ws;
        uint32_t channel; /* 0 until the session started */
        int pid;          /* the session's process */
        int done, exit_code;
        const char *machine;
        int attach; /* attached to a running session (--attach) */
};

static void send_resize(struct shell *sh);

/* ---- what the daemon sends ------------------------------------------------------------ */

static void on_text(struct shell *sh, const char *data, size_t len)
{
        json_t *msg = json_loadb(data, len, 0, NULL);
        const char *type = json_string_value(json_object_get(msg, "type"));
        if (type && !strcmp(type, "reply") && json_integer_value(json_object_get(msg, "id")) == 1) {
                sh->channel = (uint32_t)json_integer_value(json_object_get(msg, "channel"));
                sh->pid = (int)json_integer_value(json_object_get(msg, "pid"));
                if (sh->attach) /* an attached session takes our window's size */
                        send_resize(sh);
        } else if (type && !strcmp(type, "error")) {
                int status = cli_ws_error(msg, "\r\n");
                if (json_integer_value(json_object_get(msg, "id")) == 1) { /* the start failed */
                        sh->done = 1;
                        sh->exit_code = status;
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

static void on_output(void *ud, const uint8_t *p, size_t len)
{
        (void)ud;
        if (len <= 5)
                return;
        p += 5, len -= 5;
        while (len > 0) {
                ssize_t w = write(STDOUT_FILENO, p, len);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        break;
                p += w;
                len -= (size_t)w;
        }
}

static void on_text_msg(void *ud, const char *data, size_t len)
{
        on_text(ud, data, len);
}

/* ---- the session -------------------------------------------------------------------------- */

static void window_size(unsigned *cols, unsigned *rows)
{
        struct winsize ws;
        *cols = 80, *rows = 24;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row)
                *cols = ws.ws_col, *rows = ws.ws_row;
}

static void send_resize(struct shell *sh)
{
        unsigned cols, rows;
        window_size(&cols, &rows);
        cli_ws_send_json(&sh->ws, json_pack("{s:s,s:i,s:s,s:i,s:i,s:i}", "type", "process.resize",
                                            "id", 2, "machine", sh->machine, "pid", sh->pid, "cols",
                                            cols, "rows", rows));
}

static void relay(struct shell *sh, int sigfd)
{
        int stdin_open = 1;
        while (!sh->done) {
                struct pollfd p[3] = {
                    {sh->ws.fd, cli_ws_events(&sh->ws), 0},
                    /* a negative fd is skipped (POLLHUP would be reported regardless) */
                    {stdin_open && sh->channel ? STDIN_FILENO : -1, POLLIN, 0},
                    {sigfd, POLLIN, 0}};
                if (poll(p, 3, cli_ws_timeout(&sh->ws)) < 0 && errno != EINTR)
                        break;
                if (p[1].revents & (POLLIN | POLLHUP)) {
                        char buf[4096];
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n > 0) {
                                cli_ws_send_input(&sh->ws, sh->channel, buf, (size_t)n);
                        } else if (n == 0 || errno != EINTR) {
                                stdin_open = 0; /* end of input: ^D */
                                cli_ws_send_input(&sh->ws, sh->channel, NULL, 0);
                        }
                }
                if (p[2].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sigfd, &si, sizeof(si)) == sizeof(si))
                                ;
                        send_resize(sh);
                }
                if (cli_ws_io(&sh->ws, p[0].revents) < 0 && !sh->done)
                        break;
        }
}

int cmd_shell(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("shell");
        const char *v[2] = {0}; /* --cmd --attach */
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        struct shell sh = {.machine = id, .exit_code = 1, .attach = v[1] != NULL};
        sh.ws.on_text = on_text_msg;
        sh.ws.on_binary = on_output;
        sh.ws.ud = &sh;
        if ((r = cli_ws_open(c, &sh.ws)))
                return r;
        unsigned cols, rows;
        window_size(&cols, &rows);
        if (v[0] && v[1]) {
                cli_ws_close(&sh.ws);
                return cli_usage_error(cmd, "--cmd and --attach exclude each other");
        }
        json_t *start;
        if (v[1]) { /* the session's size follows ours once attached (process.resize) */
                start = json_pack("{s:s,s:i,s:s,s:b}", "type", "process.attach", "id", 1, "machine",
                                  id, "replay", 1);
                if (strspn(v[1], "0123456789") == strlen(v[1]) && *v[1])
                        json_object_set_new(start, "pid", json_integer(atoll(v[1])));
                else
                        json_object_set_new(start, "tag", json_string(v[1]));
        } else {
                start = json_pack("{s:s,s:i,s:s,s:b,s:i,s:i}", "type", "process.start", "id", 1,
                                  "machine", id, "pty", 1, "cols", cols, "rows", rows);
        }
        if (v[0])
                json_object_set_new(start, "cmd", json_string(v[0]));
        cli_ws_send_json(&sh.ws, start);
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
        relay(&sh, sigfd);
        if (tty)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        cli_ws_close(&sh.ws);
        close(sigfd);
        return sh.done ? sh.exit_code : ns_code_def(NS_E_CONNECTION_FAILED)->exit_code;
}
