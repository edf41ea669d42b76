/* Processes: start with pipes, stream stdout/stderr within the daemon's credit, feed
 * stdin, signal, time out, reap, report the exit. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

#define DRAIN_MS 200 /* after the process exits, output still open this long is cut */

/* Pipes for a child's stdin, stdout and stderr: ours[i] is our end (non-blocking),
 * theirs[i] the child's. Returns 0, or -1 with errno set (nothing left open). */
static int make_pipes(int ours[3], int theirs[3])
{
        int p[3][2];
        for (int i = 0; i < 3; i++) {
                if (pipe2(p[i], O_CLOEXEC) < 0) {
                        int saved = errno;
                        for (int k = 0; k < i; k++) {
                                close(p[k][0]);
                                close(p[k][1]);
                        }
                        errno = saved;
                        return -1;
                }
        }
        for (int i = 0; i < 3; i++) {
                ours[i] = p[i][i == 0 ? 1 : 0];
                theirs[i] = p[i][i == 0 ? 0 : 1];
                fcntl(ours[i], F_SETFL, O_NONBLOCK);
                if (i > 0) /* fewer, larger reads of the output (each is a costly syscall) */
                        fcntl(ours[i], F_SETPIPE_SZ, 1 << 20);
        }
        return 0;
}

pid_t exec_spawn_pipes(struct agent *a, uint32_t chan, const struct spawn *sp, int fds[3],
                       struct child_err *ce)
{
        int theirs[3];
        if (make_pipes(fds, theirs) < 0) {
                agent_send_errno(a, chan, errno, "pipe");
                return -1;
        }
        pid_t pid = spawn_run(sp, theirs, ce);
        for (int i = 0; i < 3; i++)
                close(theirs[i]);
        if (spawn_failed(a, chan, pid, sp, ce)) {
                for (int i = 0; i < 3; i++)
                        close(fds[i]);
                return -1;
        }
        return pid;
}

void exec_start(struct agent *a, uint32_t chan, json_t *req)
{
        struct spawn sp;
        if (spawn_parse(a, chan, req, &sp) < 0)
                return;
        struct chan *c = agent_chan_new(a, chan, CHAN_EXEC);
        int fds[3];
        struct child_err ce = {0, 0};
        pid_t pid = -1;
        if (!c)
                agent_send_error(a, chan, "too_many_channels", "too many open channels");
        else
                pid = exec_spawn_pipes(a, chan, &sp, fds, &ce);
        if (pid < 0) {
                if (c)
                        agent_chan_free(a, c);
                spawn_free(&sp);
                return;
        }
        c->pid = pid;
        c->fd_in = fds[0];
        c->fd_out = fds[1];
        c->fd_err = fds[2];
        c->start_ms = agent_now_ms();
        json_int_t w = json_integer_value(json_object_get(req, "window"));
        if (w >= (json_int_t)NSP_WINDOW_INIT && w <= (json_int_t)NSP_WINDOW_MAX)
                c->credit[NSP_STDOUT] = c->credit[NSP_STDERR] = (uint32_t)w;
        json_int_t t = json_integer_value(json_object_get(req, "timeout_ms"));
        c->deadline_ms = t > 0 ? c->start_ms + (uint64_t)t : 0;
        if (!sp.with_stdin) {
                close(c->fd_in);
                c->fd_in = -1;
        }
        agent_send_json(a, NSP_RESP, chan, json_pack("{s:i}", "pid", (int)pid));
        char *cmd = proc_describe(req, &sp);
        agent_note_process(a, pid, NULL, cmd, 0, NULL);
        free(cmd);
        char msg[512]; /* the shell's convention: the reason on stderr, exit 126/127 */
        size_t n = spawn_exec_error(&sp, &ce, msg, sizeof(msg));
        if (n) {
                agent_send(a, NSP_DATA, NSP_STDERR, chan, msg, n);
                c->credit[NSP_STDERR] -=
                    c->credit[NSP_STDERR] > n ? (uint32_t)n : c->credit[NSP_STDERR];
        }
        spawn_free(&sp);
}

static void close_stream(struct agent *a, struct chan *c, int stream)
{
        int *fd = stream == NSP_STDOUT ? &c->fd_out : &c->fd_err;
        if (*fd < 0)
                return;
        agent_unwatch(a, *fd);
        close(*fd);
        *fd = -1;
        agent_send(a, NSP_EOF, (uint16_t)stream, c->id, NULL, 0);
}

#define READ_MAX (1u << 20) /* one read of a command's output, sent as several frames */

static void read_stream(struct agent *a, struct chan *c, int stream)
{
        static char tmp[READ_MAX];
        for (;;) {
                int fd = stream == NSP_STDOUT ? c->fd_out : c->fd_err;
                if (fd < 0 || c->credit[stream] == 0 || a->out.len >= AGENT_OUT_HIGH)
                        return;
                size_t want = c->credit[stream] < sizeof(tmp) ? c->credit[stream] : sizeof(tmp);
                ssize_t n = read(fd, tmp, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        close_stream(a, c, stream);
                        return;
                }
                c->credit[stream] -= (uint32_t)n;
                drain_read(&c->left[stream], (size_t)n);
                for (size_t off = 0; off < (size_t)n; off += NSP_MAX_DATA) {
                        size_t len =
                            (size_t)n - off < NSP_MAX_DATA ? (size_t)n - off : NSP_MAX_DATA;
                        agent_send(a, NSP_DATA, (uint16_t)stream, c->id, tmp + off, len);
                }
                if ((size_t)n < want)
                        return; /* drained for now: no extra read just to see EAGAIN */
        }
}

static void write_stdin(struct agent *a, struct chan *c)
{
        if (c->fd_in < 0)
                return;
        size_t done = 0;
        while (done < c->in_pending.len) {
                ssize_t w = write(c->fd_in, c->in_pending.data + done, c->in_pending.len - done);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno == EAGAIN)
                        break;
                if (w <= 0) { /* the process closed its stdin: drop what is left */
                        done = c->in_pending.len;
                        c->in_eof = 1;
                        break;
                }
                done += (size_t)w;
        }
        if (done) {
                buf_consume(&c->in_pending, done);
                agent_grant_stdin(a, c->id, done);
        }
        if (c->in_eof && c->in_pending.len == 0) {
                agent_unwatch(a, c->fd_in);
                close(c->fd_in);
                c->fd_in = -1;
        }
}

void exec_on_fd(struct agent *a, struct chan *c, int which, uint32_t events)
{
        (void)events;
        if (which == W_EXEC)
                write_stdin(a, c);
        else
                read_stream(a, c, which - W_EXEC);
}

void exec_on_stdin(struct agent *a, struct chan *c, const unsigned char *p, size_t n, int eof)
{
        if (eof)
                c->in_eof = 1;
        else if (c->fd_in >= 0 && buf_append(&c->in_pending, p, n) < 0)
                c->in_eof = 1; /* the daemon overran the window: a protocol bug; cut stdin */
        write_stdin(a, c);
}

void exec_signal(struct agent *a, struct chan *c, int sig)
{
        (void)a;
        if (!c->exited && sig > 0 && sig < 65)
                kill(-c->pid, sig);
}

void exec_reap(struct agent *a)
{
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                proc_on_exit(a, pid, status);
                for (struct chan *c = a->chans; c; c = c->next) {
                        if (c->kind == CHAN_EXEC && c->pid == pid && !c->exited) {
                                agent_note_process(a, pid, NULL, NULL, 0, &status);
                                c->exited = 1;
                                c->status = status;
                                c->deadline_ms = agent_now_ms() + DRAIN_MS;
                                drain_note(c->fd_out, &c->left[NSP_STDOUT]);
                                drain_note(c->fd_err, &c->left[NSP_STDERR]);
                        }
                }
        }
}

void exec_check_deadlines(struct agent *a, uint64_t now)
{
        for (struct chan *c = a->chans; c; c = c->next) {
                if (c->kind != CHAN_EXEC || !c->deadline_ms || now < c->deadline_ms)
                        continue;
                if (!c->exited) {
                        kill(-c->pid, SIGKILL);
                        c->timed_out = 1;
                        c->deadline_ms = 0;
                } else if (drain_pending(c->left, c->fd_out, c->fd_err)) {
                        c->deadline_ms = now + DRAIN_MS; /* its reader is behind: wait */
                } else {
                        /* output held open by background children is cut here */
                        c->deadline_ms = 0;
                        c->credit[NSP_STDOUT] = c->credit[NSP_STDERR] = 0;
                        close_stream(a, c, NSP_STDOUT);
                        close_stream(a, c, NSP_STDERR);
                }
        }
}

int exec_next_deadline(struct agent *a, uint64_t now)
{
        uint64_t best = 0;
        for (struct chan *c = a->chans; c; c = c->next)
                if (c->kind == CHAN_EXEC && c->deadline_ms && (!best || c->deadline_ms < best))
                        best = c->deadline_ms;
        if (!best)
                return -1;
        return best <= now ? 0 : (int)(best - now > 60000 ? 60000 : best - now);
}

static void set_watch(struct agent *a, struct chan *c, int fd, int want, uint32_t ev, int which)
{
        if (fd < 0)
                return;
        if (want)
                agent_watch(a, fd, ev, c->id, which);
        else
                agent_unwatch(a, fd);
}

void exec_pump(struct agent *a, struct chan *c)
{
        int room = a->out.len < AGENT_OUT_HIGH;
        set_watch(a, c, c->fd_out, room && c->credit[NSP_STDOUT] > 0, EPOLLIN, W_EXEC + NSP_STDOUT);
        set_watch(a, c, c->fd_err, room && c->credit[NSP_STDERR] > 0, EPOLLIN, W_EXEC + NSP_STDERR);
        set_watch(a, c, c->fd_in, c->in_pending.len > 0, EPOLLOUT, W_EXEC);
        if (!c->exited || c->fd_out >= 0 || c->fd_err >= 0)
                return;
        agent_send_json(a, NSP_EXIT, c->id,
                        exec_exit_json(c->status, c->timed_out, agent_now_ms() - c->start_ms));
        agent_chan_free(a, c);
}

json_t *exec_exit_json(int status, int timed_out, uint64_t duration_ms)
{
        int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + sig;
        json_t *exit = json_pack("{s:i,s:b,s:I}", "exit_code", code, "timed_out", timed_out,
                                 "duration_ms", (json_int_t)duration_ms);
        json_object_set_new(exit, "signal", sig ? json_integer(sig) : json_null());
        return exit;
}

void exec_detach(struct agent *a, struct chan *c)
{
        if (!c->exited)
                kill(-c->pid, SIGKILL); /* a foreground command dies with its client */
        agent_chan_free(a, c);
}
