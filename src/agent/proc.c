/* Background and PTY processes: sessions that outlive the channels (and daemon
 * connections) that watch them. Their output goes into a replay ring per stream; a
 * process is read only while no attached reader lags PROC_ATTACH_LAG behind, so an
 * attached client slows it down and a detached one loses only what the ring drops. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../common/util.h"
#include "agent.h"

#define DRAIN_MS  200 /* after the process exits, output still open this long is cut */
#define READ_SIZE NSP_MAX_DATA

struct proc *proc_find(struct agent *a, pid_t pid)
{
        for (struct proc *p = a->procs; p; p = p->next)
                if (p->pid == pid)
                        return p;
        return NULL;
}

struct proc *proc_find_tag(struct agent *a, const char *tag)
{
        struct proc *best = NULL; /* the newest process with the tag */
        for (struct proc *p = a->procs; p; p = p->next)
                if (strcmp(p->tag, tag) == 0 && (!best || p->start_ms >= best->start_ms))
                        best = p;
        return best;
}

int proc_finished(const struct proc *p)
{
        return p->exited && p->fd_out < 0 && p->fd_err < 0;
}

static int attached(struct agent *a, const struct proc *p)
{
        for (struct chan *c = a->chans; c; c = c->next)
                if (c->kind == CHAN_ATTACH && c->pid == p->pid)
                        return 1;
        return 0;
}

static void close_fd(struct agent *a, int *fd)
{
        if (*fd < 0)
                return;
        agent_unwatch(a, *fd);
        close(*fd);
        *fd = -1;
}

static void proc_free(struct agent *a, struct proc *p)
{
        for (struct proc **pp = &a->procs; *pp; pp = &(*pp)->next) {
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        }
        a->nprocs--;
        close_fd(a, &p->fd_in);
        close_fd(a, &p->fd_out);
        close_fd(a, &p->fd_err);
        ring_fini(&p->ring[1]);
        ring_fini(&p->ring[2]);
        buf_fini(&p->in_pending);
        free(p->cmd);
        free(p);
}

/* Makes room for one more process: the oldest finished one nobody watches goes. */
static int make_room(struct agent *a)
{
        if (a->nprocs < AGENT_MAX_PROCS)
                return 0;
        struct proc *old = NULL;
        for (struct proc *p = a->procs; p; p = p->next)
                if (proc_finished(p) && !attached(a, p) && (!old || p->end_ms < old->end_ms))
                        old = p;
        if (!old)
                return -1;
        proc_free(a, old);
        return 0;
}

/* A terminal: the master (ours, non-blocking) and the slave (the child's). */
static int open_tty(unsigned cols, unsigned rows, int *master, int *slave)
{
        *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (*master < 0)
                return -1;
        char name[64];
        if (grantpt(*master) < 0 || unlockpt(*master) < 0 ||
            ptsname_r(*master, name, sizeof(name)) != 0 ||
            (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
                int saved = errno;
                close(*master);
                errno = saved;
                return -1;
        }
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
        ioctl(*master, TIOCSWINSZ, &ws);
        fcntl(*master, F_SETFL, O_NONBLOCK);
        return 0;
}

static pid_t start_tty(struct agent *a, uint32_t chan, struct proc *p, const struct spawn *sp,
                       struct child_err *ce)
{
        int master, slave;
        if (open_tty(p->cols, p->rows, &master, &slave) < 0) {
                agent_send_errno(a, chan, errno, "pty");
                return -1;
        }
        int cfd[3] = {slave, slave, slave};
        pid_t pid = spawn_run(sp, cfd, ce);
        close(slave);
        if (spawn_failed(a, chan, pid, sp, ce)) {
                close(master);
                return -1;
        }
        p->fd_out = master;
        p->fd_in = dup(master); /* its own epoll registration for writing */
        p->fd_err = -1;
        return pid;
}

/* The command line for listings: cmd as given, else argv joined (at most 1 KiB). */
char *proc_describe(json_t *req, const struct spawn *sp)
{
        const char *cmd = json_string_value(json_object_get(req, "cmd"));
        if (cmd)
                return strndup(cmd, 1024);
        char line[1025] = "";
        size_t n = 0;
        for (char **a = sp->argv; a && *a && n < sizeof(line) - 1; a++)
                n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", *a);
        return strdup(line);
}

static struct proc *proc_new(const char *tag, json_t *req, const struct spawn *sp)
{
        struct proc *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->fd_in = p->fd_out = p->fd_err = -1;
        snprintf(p->tag, sizeof(p->tag), "%s", tag ? tag : "");
        p->cmd = proc_describe(req, sp);
        ring_init(&p->ring[1], PROC_RING_SIZE);
        ring_init(&p->ring[2], PROC_RING_SIZE);
        buf_init(&p->in_pending, PROC_STDIN_MAX);
        return p;
}

/* {"op":"spawn", cmd|argv, env, cwd, user, "tag", "pty":{"cols","rows"}, "attach",
 * "stdin"}: RESP {"pid"} (terminal unless "attach", which makes chan an attach channel).
 * "stdin": false closes a pipe process's stdin at once (absent: it stays open). */
static void spawn_request(struct agent *a, uint32_t chan, json_t *req)
{
        json_t *pty = json_object_get(req, "pty");
        const char *tag = json_string_value(json_object_get(req, "tag"));
        if (pty && !json_object_get(json_object_get(req, "env"), "TERM")) {
                if (!json_is_object(json_object_get(req, "env")))
                        json_object_set_new(req, "env", json_object());
                json_object_set_new(json_object_get(req, "env"), "TERM",
                                    json_string("xterm-256color"));
        }
        struct spawn sp;
        if (make_room(a) < 0) {
                agent_send_error(a, chan, "too_many_processes", "%d processes run already",
                                 AGENT_MAX_PROCS);
                return;
        }
        if (spawn_parse(a, chan, req, &sp) < 0)
                return;
        struct proc *p = proc_new(tag, req, &sp);
        struct child_err ce = {0, 0};
        pid_t pid = -1;
        if (!p) {
                agent_send_error(a, chan, "internal", "out of memory");
        } else if (pty) {
                sp.tty = 1;
                p->tty = 1;
                p->cols = (unsigned)json_integer_value(json_object_get(pty, "cols"));
                p->rows = (unsigned)json_integer_value(json_object_get(pty, "rows"));
                pid = start_tty(a, chan, p, &sp, &ce);
        } else {
                int fds[3];
                pid = exec_spawn_pipes(a, chan, &sp, fds, &ce);
                if (pid > 0) {
                        p->fd_in = fds[0];
                        p->fd_out = fds[1];
                        p->fd_err = fds[2];
                        if (json_is_false(json_object_get(req, "stdin"))) {
                                close(p->fd_in); /* asked for none: reads see EOF */
                                p->fd_in = -1;
                        }
                }
        }
        if (pid < 0) {
                free(p ? p->cmd : NULL);
                free(p);
                spawn_free(&sp);
                return;
        }
        p->pid = pid;
        p->start_ms = agent_now_ms();
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        p->started_at = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        char msg[512];
        size_t n = spawn_exec_error(&sp, &ce, msg, sizeof(msg));
        ring_write(&p->ring[p->tty ? NSP_STDOUT : NSP_STDERR], msg, n);
        p->next = a->procs;
        a->procs = p;
        a->nprocs++;
        spawn_free(&sp);
        agent_note_process(a, pid, p->tag, p->cmd, 1, NULL);
        json_t *resp = json_pack("{s:i,s:s}", "pid", (int)pid, "tag", p->tag);
        if (json_is_true(json_object_get(req, "attach")))
                attach_start(a, chan, p, 1, 1, resp);
        else
                agent_send_json(a, NSP_RESP, chan, resp);
}

static json_t *proc_json(const struct proc *p)
{
        json_t *o =
            json_pack("{s:i,s:s,s:s,s:b,s:b,s:I,s:I,s:I}", "pid", (int)p->pid, "tag", p->tag, "cmd",
                      p->cmd, "pty", p->tty, "running", !p->exited, "started_at",
                      (json_int_t)p->started_at, "stdout_bytes", (json_int_t)p->ring[1].head,
                      "stderr_bytes", (json_int_t)p->ring[2].head);
        if (p->tty)
                json_object_set_new(o, "size",
                                    json_pack("{s:i,s:i}", "cols", p->cols, "rows", p->rows));
        if (p->exited)
                json_object_update(o, exec_exit_json(p->status, 0, p->end_ms - p->start_ms));
        return o;
}

static void list_request(struct agent *a, uint32_t chan)
{
        json_t *arr = json_array();
        for (struct proc *p = a->procs; p; p = p->next)
                json_array_append_new(arr, proc_json(p));
        agent_send_json(a, NSP_RESP, chan, json_pack("{s:o}", "processes", arr));
}

/* The process a request names by "pid" or "tag", or NULL after answering. */
static struct proc *named(struct agent *a, uint32_t chan, json_t *req)
{
        const char *tag = json_string_value(json_object_get(req, "tag"));
        struct proc *p = tag ? proc_find_tag(a, tag)
                             : proc_find(a, (pid_t)json_integer_value(json_object_get(req, "pid")));
        if (!p)
                agent_send_error(a, chan, "process_not_found", "no such process");
        return p;
}

static void write_stdin(struct agent *a, struct proc *p)
{
        while (p->fd_in >= 0 && p->in_pending.len > 0) {
                ssize_t w = write(p->fd_in, p->in_pending.data, p->in_pending.len);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno == EAGAIN)
                        return;
                if (w <= 0) { /* the process closed its stdin: drop what is left */
                        buf_reset(&p->in_pending);
                        p->in_eof = 1;
                        break;
                }
                buf_consume(&p->in_pending, (size_t)w);
        }
        if (p->in_eof && p->in_pending.len == 0 && !p->tty)
                close_fd(a, &p->fd_in);
        else if (p->in_eof && p->in_pending.len == 0 && p->fd_in >= 0)
                (void)!write(p->fd_in, "\x04", 1); /* a terminal's end of input: ^D */
        if (p->tty && p->in_eof)
                p->in_eof = 0; /* ^D sent once; the terminal stays usable */
}

/* Queues stdin bytes; returns 0, or -1 when over PROC_STDIN_MAX or stdin is closed. */
static int queue_stdin(struct agent *a, struct proc *p, const void *d, size_t n, int eof)
{
        if (p->fd_in < 0 || (n && buf_append(&p->in_pending, d, n) < 0))
                return -1;
        p->in_eof |= eof;
        write_stdin(a, p);
        return 0;
}

/* {"op":"proc_input","pid"|"tag","data":base64,"eof"} → RESP {"queued"} */
static void input_request(struct agent *a, uint32_t chan, json_t *req)
{
        struct proc *p = named(a, chan, req);
        if (!p)
                return;
        const char *b64 = json_string_value(json_object_get(req, "data")) ?: "";
        size_t cap = strlen(b64) / 4 * 3 + 3;
        unsigned char *raw = malloc(cap);
        ssize_t n = raw ? base64_decode(b64, strlen(b64), raw, cap) : -1;
        if (n < 0)
                agent_send_error(a, chan, "invalid_request", "data must be base64");
        else if (queue_stdin(a, p, raw, (size_t)n, json_is_true(json_object_get(req, "eof"))) < 0)
                agent_send_error(a, chan, p->fd_in < 0 ? "stdin_closed" : "stdin_full",
                                 p->fd_in < 0 ? "the process's stdin is closed"
                                              : "the process has %u bytes of stdin unread",
                                 (unsigned)p->in_pending.len);
        else
                agent_send_json(a, NSP_RESP, chan, json_pack("{s:I}", "queued", (json_int_t)n));
        free(raw);
}

void proc_on_stdin(struct agent *a, struct chan *c, const unsigned char *d, size_t n, int eof)
{
        struct proc *p = proc_find(a, c->pid);
        if (p)
                queue_stdin(a, p, d, n, eof); /* the daemon keeps within PROC_STDIN_MAX */
}

void proc_signal_pid(struct agent *a, pid_t pid, int sig)
{
        struct proc *p = proc_find(a, pid);
        if (p && !p->exited && sig > 0 && sig < 65)
                kill(-p->pid, sig);
}

static void signal_request(struct agent *a, uint32_t chan, json_t *req)
{
        struct proc *p = named(a, chan, req);
        int sig = (int)json_integer_value(json_object_get(req, "signal"));
        if (!p)
                return;
        if (sig < 1 || sig > 64)
                agent_send_error(a, chan, "invalid_request", "signal must be 1..64");
        else if (p->exited)
                agent_send_error(a, chan, "process_exited", "process %d has exited", p->pid);
        else if (kill(-p->pid, sig) < 0 && kill(p->pid, sig) < 0)
                agent_send_errno(a, chan, errno, "kill");
        else
                agent_send_json(a, NSP_RESP, chan, json_object());
}

static void resize_request(struct agent *a, uint32_t chan, json_t *req)
{
        struct proc *p = named(a, chan, req);
        if (!p)
                return;
        struct winsize ws = {
            .ws_row = (unsigned short)json_integer_value(json_object_get(req, "rows")),
            .ws_col = (unsigned short)json_integer_value(json_object_get(req, "cols"))};
        if (!p->tty || p->fd_out < 0) {
                agent_send_error(a, chan, "not_a_terminal", "process %d has no terminal", p->pid);
        } else if (ioctl(p->fd_out, TIOCSWINSZ, &ws) < 0) {
                agent_send_errno(a, chan, errno, "resize");
        } else {
                p->cols = ws.ws_col;
                p->rows = ws.ws_row;
                agent_send_json(a, NSP_RESP, chan, json_object());
        }
}

static void list_op(struct agent *a, uint32_t chan, json_t *req)
{
        (void)req;
        list_request(a, chan);
}

const struct agent_op proc_ops[] = {
    {"spawn", spawn_request},        {"proc_list", list_op},          {"proc_input", input_request},
    {"proc_signal", signal_request}, {"proc_resize", resize_request}, {NULL, NULL},
};

/* May the process's output be read now? Not while an attached reader lags too far. */
static int may_read(struct agent *a, const struct proc *p, int stream)
{
        uint64_t min = attach_min_cursor(a, p, stream);
        return p->ring[stream].head - min < PROC_ATTACH_LAG;
}

void proc_on_fd(struct agent *a, pid_t pid, int stream)
{
        struct proc *p = proc_find(a, pid);
        if (!p)
                return;
        if (stream == NSP_STDIN) {
                write_stdin(a, p);
                return;
        }
        int *fd = stream == NSP_STDOUT ? &p->fd_out : &p->fd_err;
        static unsigned char tmp[READ_SIZE];
        while (*fd >= 0 && may_read(a, p, stream)) {
                ssize_t n = read(*fd, tmp, sizeof(tmp));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) { /* EOF, or EIO: a terminal whose last user left */
                        if (*fd == p->fd_out && p->tty)
                                close_fd(a, &p->fd_in);
                        close_fd(a, fd);
                        return;
                }
                ring_write(&p->ring[stream], tmp, (size_t)n);
                drain_read(&p->left[stream], (size_t)n);
                if ((size_t)n < sizeof(tmp))
                        return;
        }
}

void agent_note_process(struct agent *a, pid_t pid, const char *tag, const char *cmd,
                        int background, const int *status)
{
        json_t *doc =
            json_pack("{s:s,s:i,s:s,s:b}", "event", status ? "process.exit" : "process.start",
                      "pid", (int)pid, "tag", tag ? tag : "", "background", background);
        if (cmd)
                json_object_set_new(doc, "cmd", json_stringn(cmd, strnlen(cmd, 200)));
        if (status) {
                int sig = WIFSIGNALED(*status) ? WTERMSIG(*status) : 0;
                json_object_set_new(
                    doc, "exit_code",
                    json_integer(WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + sig));
                json_object_set_new(doc, "signal", sig ? json_integer(sig) : json_null());
        }
        agent_send_json(a, NSP_NOTE, 0, doc);
}

void proc_on_exit(struct agent *a, pid_t pid, int status)
{
        struct proc *p = proc_find(a, pid);
        if (!p || p->exited)
                return;
        agent_note_process(a, pid, p->tag, NULL, 1, &status);
        p->exited = 1;
        p->status = status;
        p->end_ms = agent_now_ms();
        p->drain_ms = p->end_ms + DRAIN_MS;
        drain_note(p->fd_out, &p->left[NSP_STDOUT]);
        drain_note(p->fd_err, &p->left[NSP_STDERR]);
}

static void set_watch(struct agent *a, struct proc *p, int fd, int want, uint32_t ev, int stream)
{
        if (fd < 0)
                return;
        if (want)
                agent_watch(a, fd, ev, (uint32_t)p->pid, W_PROC + stream);
        else
                agent_unwatch(a, fd);
}

void proc_drain(struct agent *a, uint64_t now)
{
        for (struct proc *p = a->procs; p; p = p->next) {
                if (p->exited && p->drain_ms && now >= p->drain_ms) {
                        /* output held open by the process's own children is cut here,
                         * once what it left itself was read (an attached reader lags) */
                        proc_on_fd(a, p->pid, NSP_STDOUT);
                        proc_on_fd(a, p->pid, NSP_STDERR);
                        if (drain_pending(p->left, p->fd_out, p->fd_err)) {
                                p->drain_ms = now + DRAIN_MS;
                                continue;
                        }
                        close_fd(a, &p->fd_in);
                        close_fd(a, &p->fd_out);
                        close_fd(a, &p->fd_err);
                        p->drain_ms = 0;
                }
        }
}

void proc_pump_all(struct agent *a)
{
        for (struct proc *p = a->procs; p; p = p->next) {
                set_watch(a, p, p->fd_out, may_read(a, p, NSP_STDOUT), EPOLLIN, NSP_STDOUT);
                set_watch(a, p, p->fd_err, may_read(a, p, NSP_STDERR), EPOLLIN, NSP_STDERR);
                set_watch(a, p, p->fd_in, p->in_pending.len > 0, EPOLLOUT, NSP_STDIN);
        }
}

int proc_next_deadline(struct agent *a, uint64_t now)
{
        uint64_t best = 0;
        for (struct proc *p = a->procs; p; p = p->next)
                if (p->drain_ms && (!best || p->drain_ms < best))
                        best = p->drain_ms;
        if (!best)
                return -1;
        return best <= now ? 0 : (int)(best - now);
}
