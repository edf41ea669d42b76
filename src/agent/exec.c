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
#include "users.h"

#define DRAIN_MS 200 /* after the process exits, output still open this long is cut */
#define W_STDIN  10

extern char **environ;

struct spawn {
        char **argv;
        char **envp;
        const char *cwd;
        struct user_info user;
        int has_user;
        int with_stdin;
};

/* Error report from the child before exec: stage (1 cwd, 2 user, 3 exec) and errno. */
struct child_err {
        int stage;
        int err;
};

static char **strv_from_json(json_t *arr)
{
        size_t n = json_array_size(arr);
        char **v = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; v && i < n; i++)
                v[i] = strdup(json_string_value(json_array_get(arr, i)) ?: "");
        return v;
}

static void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static int env_set(char ***envp, size_t *n, const char *k, const char *v)
{
        size_t kl = strlen(k);
        char *kv = malloc(kl + strlen(v) + 2);
        if (!kv)
                return -1;
        sprintf(kv, "%s=%s", k, v);
        for (size_t i = 0; i < *n; i++) {
                if (strncmp((*envp)[i], k, kl) == 0 && (*envp)[i][kl] == '=') {
                        free((*envp)[i]);
                        (*envp)[i] = kv;
                        return 0;
                }
        }
        char **g = realloc(*envp, (*n + 2) * sizeof(char *));
        if (!g) {
                free(kv);
                return -1;
        }
        *envp = g;
        (*envp)[(*n)++] = kv;
        (*envp)[*n] = NULL;
        return 0;
}

/* The machine's environment, then the user's HOME/USER, then the request's env. */
static char **build_env(json_t *env, const struct spawn *sp)
{
        size_t n = 0;
        char **envp = calloc(1, sizeof(char *));
        for (char **e = environ; envp && *e; e++) {
                char *eq = strchr(*e, '=');
                if (!eq)
                        continue;
                char key[256];
                snprintf(key, sizeof(key), "%.*s", (int)(eq - *e), *e);
                env_set(&envp, &n, key, eq + 1);
        }
        if (!getenv("PATH"))
                env_set(&envp, &n, "PATH",
                        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        if (sp->has_user) {
                env_set(&envp, &n, "HOME", sp->user.home);
                env_set(&envp, &n, "USER", sp->user.name);
                env_set(&envp, &n, "LOGNAME", sp->user.name);
        }
        const char *k;
        json_t *v;
        json_object_foreach(env, k, v) env_set(&envp, &n, k, json_string_value(v) ?: "");
        return envp;
}

static void child(const struct spawn *sp, int in, int out, int err, int report)
{
        struct child_err ce = {0, 0};
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        if (sp->cwd && chdir(sp->cwd) < 0) {
                ce = (struct child_err){1, errno};
        } else if (sp->has_user && (setgroups(0, NULL) < 0 || setgid(sp->user.gid) < 0 ||
                                    setuid(sp->user.uid) < 0)) {
                ce = (struct child_err){2, errno};
        } else {
                if (!sp->cwd && sp->has_user && chdir(sp->user.home) < 0 && chdir("/") < 0)
                        _exit(125);
                execvpe(sp->argv[0], sp->argv, sp->envp);
                ce = (struct child_err){3, errno};
        }
        ssize_t w = write(report, &ce, sizeof(ce));
        (void)w;
        _exit(ce.stage == 3 ? (ce.err == ENOENT ? 127 : 126) : 125);
}

static int parse_spawn(struct agent *a, uint32_t chan, json_t *req, struct spawn *sp)
{
        json_t *argv = json_object_get(req, "argv");
        const char *cmd = json_string_value(json_object_get(req, "cmd"));
        const char *user = json_string_value(json_object_get(req, "user"));
        memset(sp, 0, sizeof(*sp));
        if (cmd) {
                json_t *sh = json_pack("[s,s,s]", "/bin/sh", "-c", cmd);
                sp->argv = strv_from_json(sh);
                json_decref(sh);
        } else if (json_array_size(argv) > 0) {
                sp->argv = strv_from_json(argv);
        } else {
                agent_send_error(a, chan, "invalid_request", "exec needs cmd or argv");
                return -1;
        }
        if (user && user_lookup(user, &sp->user) < 0) {
                agent_send_error(a, chan, "unknown_user", "no user '%s' in this machine", user);
                strv_free(sp->argv);
                return -1;
        }
        sp->has_user = user != NULL;
        sp->cwd = json_string_value(json_object_get(req, "cwd"));
        sp->with_stdin = json_is_true(json_object_get(req, "stdin"));
        sp->envp = build_env(json_object_get(req, "env"), sp);
        return 0;
}

/* Spawns; returns the pid, or -1 after answering the error. Fills fds[0..2] (ours). */
static pid_t spawn(struct agent *a, uint32_t chan, const struct spawn *sp, int fds[3],
                   struct child_err *ce)
{
        int pin[2], pout[2], perr[2], rep[2];
        if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 ||
            pipe2(rep, O_CLOEXEC) < 0) {
                agent_send_errno(a, chan, errno, "pipe");
                return -1;
        }
        /* vfork: no copy of our address space, which inside gVisor is most of the cost of
         * starting a process. child() only makes system calls and never returns. */
        pid_t pid = vfork();
        if (pid == 0)
                child(sp, pin[0], pout[1], perr[1], rep[1]);
        close(pin[0]);
        close(pout[1]);
        close(perr[1]);
        close(rep[1]);
        ce->stage = 0;
        if (pid > 0 && read(rep[0], ce, sizeof(*ce)) != sizeof(*ce))
                ce->stage = 0; /* exec succeeded: the pipe closed on exec */
        close(rep[0]);
        if (pid < 0) {
                agent_send_errno(a, chan, errno, "fork");
                close(pin[1]);
                close(pout[0]);
                close(perr[0]);
                return -1;
        }
        fds[0] = pin[1];
        fds[1] = pout[0];
        fds[2] = perr[0];
        for (int i = 0; i < 3; i++)
                fcntl(fds[i], F_SETFL, O_NONBLOCK);
        return pid;
}

void exec_start(struct agent *a, uint32_t chan, json_t *req)
{
        struct spawn sp;
        if (parse_spawn(a, chan, req, &sp) < 0)
                return;
        struct chan *c = agent_chan_new(a, chan, CHAN_EXEC);
        int fds[3];
        struct child_err ce;
        pid_t pid = c ? spawn(a, chan, &sp, fds, &ce) : -1;
        if (!c)
                agent_send_error(a, chan, "too_many_channels", "too many open channels");
        if (pid < 0) {
                if (c)
                        agent_chan_free(a, c);
                goto out;
        }
        if (ce.stage == 1 || ce.stage == 2) {
                waitpid(pid, NULL, 0);
                for (int i = 0; i < 3; i++)
                        close(fds[i]);
                agent_chan_free(a, c);
                agent_send_error(a, chan, ce.stage == 1 ? "invalid_cwd" : "permission_denied",
                                 "%s %s: %s", ce.stage == 1 ? "cwd" : "user",
                                 ce.stage == 1 ? sp.cwd : sp.user.name, strerror(ce.err));
                goto out;
        }
        c->pid = pid;
        c->fd_in = fds[0];
        c->fd_out = fds[1];
        c->fd_err = fds[2];
        c->start_ms = agent_now_ms();
        json_int_t t = json_integer_value(json_object_get(req, "timeout_ms"));
        c->deadline_ms = t > 0 ? c->start_ms + (uint64_t)t : 0;
        if (!sp.with_stdin) {
                close(c->fd_in);
                c->fd_in = -1;
        }
        agent_send_json(a, NSP_RESP, chan, json_pack("{s:i}", "pid", (int)pid));
        if (ce.stage == 3) {
                char msg[512];
                int n = snprintf(msg, sizeof(msg), "%s: %s\n", sp.argv[0],
                                 ce.err == ENOENT ? "command not found" : strerror(ce.err));
                agent_send(a, NSP_DATA, NSP_STDERR, chan, msg, (size_t)n);
                c->credit[NSP_STDERR] -=
                    c->credit[NSP_STDERR] > (uint32_t)n ? (uint32_t)n : c->credit[NSP_STDERR];
        }
out:
        strv_free(sp.argv);
        strv_free(sp.envp);
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

static void read_stream(struct agent *a, struct chan *c, int stream)
{
        int fd = stream == NSP_STDOUT ? c->fd_out : c->fd_err;
        if (fd < 0 || c->credit[stream] == 0 || a->out.len >= AGENT_OUT_HIGH)
                return;
        static char tmp[NSP_MAX_DATA];
        size_t want = c->credit[stream] < sizeof(tmp) ? c->credit[stream] : sizeof(tmp);
        ssize_t n = read(fd, tmp, want);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                close_stream(a, c, stream);
                return;
        }
        c->credit[stream] -= (uint32_t)n;
        agent_send(a, NSP_DATA, (uint16_t)stream, c->id, tmp, (size_t)n);
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
                unsigned char credit[4] = {(unsigned char)done, (unsigned char)(done >> 8),
                                           (unsigned char)(done >> 16),
                                           (unsigned char)(done >> 24)};
                agent_send(a, NSP_WINDOW, NSP_STDIN, c->id, credit, 4);
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
        if (which == W_STDIN)
                write_stdin(a, c);
        else
                read_stream(a, c, which - W_STDIN);
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
                for (struct chan *c = a->chans; c; c = c->next) {
                        if (c->kind == CHAN_EXEC && c->pid == pid && !c->exited) {
                                c->exited = 1;
                                c->status = status;
                                c->deadline_ms = agent_now_ms() + DRAIN_MS;
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
        set_watch(a, c, c->fd_out, room && c->credit[NSP_STDOUT] > 0, EPOLLIN,
                  W_STDIN + NSP_STDOUT);
        set_watch(a, c, c->fd_err, room && c->credit[NSP_STDERR] > 0, EPOLLIN,
                  W_STDIN + NSP_STDERR);
        set_watch(a, c, c->fd_in, c->in_pending.len > 0, EPOLLOUT, W_STDIN);
        if (!c->exited || c->fd_out >= 0 || c->fd_err >= 0)
                return;
        int st = c->status;
        int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + sig;
        json_t *exit = json_pack("{s:i,s:b,s:I}", "exit_code", code, "timed_out", c->timed_out,
                                 "duration_ms", (json_int_t)(agent_now_ms() - c->start_ms));
        json_object_set_new(exit, "signal", sig ? json_integer(sig) : json_null());
        agent_send_json(a, NSP_EXIT, c->id, exit);
        agent_chan_free(a, c);
}
