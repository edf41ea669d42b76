#include "prep.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"

static void close_output(struct prep *p);
static ssize_t read_output(struct prep *p);

int prep_init(struct prep *p, const struct prep_desc *d, struct loop *loop,
              struct children *children, const char *const *argv, int ready)
{
        memset(p, 0, sizeof(*p));
        p->desc = d;
        p->loop = loop;
        p->children = children;
        p->out.fd = -1;
        p->state = ready ? PREP_READY : PREP_MISSING;
        size_t n = 0;
        while (argv[n])
                n++;
        p->argv = calloc(n + 1, sizeof(char *));
        if (!p->argv)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(p->argv[i] = strdup(argv[i]))) {
                        prep_fini(p);
                        return -ENOMEM;
                }
        return 0;
}

void prep_fini(struct prep *p)
{
        close_output(p);
        if (p->state == PREP_BUILDING) {
                children_forget(p->children, &p->child);
                loop_timer_cancel(p->loop, &p->limit);
        }
        strv_free(p->argv);
        p->argv = NULL;
}

static void close_output(struct prep *p)
{
        if (p->out.fd >= 0) {
                loop_io_del(p->loop, &p->out);
                close(p->out.fd);
                p->out.fd = -1;
        }
}

static void finish(struct prep *p, enum prep_state state, const char *error)
{
        loop_timer_cancel(p->loop, &p->limit);
        if (p->progress.started_ms)
                p->progress.elapsed_ms = time_wall_ms() - p->progress.started_ms;
        p->state = state;
        snprintf(p->error, sizeof(p->error), "%s", error ? error : "");
        while (p->waiters) {
                struct prep_waiter *w = p->waiters;
                p->waiters = w->next;
                w->done(w, state == PREP_READY ? NULL : p->error);
        }
}

static void on_exit_status(struct child_watch *cw, int status)
{
        struct prep *p = (struct prep *)((char *)cw - offsetof(struct prep, child));
        while (p->out.fd >= 0 && read_output(p) > 0)
                ; /* its last lines (a child it left may hold the pipe: stop at EAGAIN) */
        close_output(p);
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        log_info("prep_done", "task=%s ok=%d status=%d", p->desc->name, ok, status);
        char why[200];
        if (p->killed)
                snprintf(why, sizeof(why), "%s took longer than %u s and was stopped",
                         p->desc->label, p->desc->limit_s);
        else
                snprintf(why, sizeof(why), "%s failed at step %u/%u (%s); see the daemon log",
                         p->desc->label, p->progress.step, p->desc->steps, p->progress.stage);
        finish(p, ok ? PREP_READY : PREP_FAILED, ok ? NULL : why);
}

void prep_track_line(const struct prep_desc *d, struct prep_progress *pr, const char *line)
{
        for (unsigned i = 0; i < d->nlines; i++) {
                const struct prep_stage *s = &d->lines[i];
                size_t n = strlen(s->prefix);
                if (strncmp(line, s->prefix, n) != 0)
                        continue;
                if (s->step && s->step < pr->step)
                        return; /* a late line of an earlier stage */
                if (s->step && s->step != pr->step) {
                        pr->step = s->step;
                        pr->stage = d->stage_names[s->step];
                        pr->detail[0] = '\0';
                }
                if (s->detail) {
                        const char *w = line + n;
                        size_t len = strcspn(w, " .");
                        if (len >= sizeof(pr->detail))
                                len = sizeof(pr->detail) - 1;
                        snprintf(pr->detail, sizeof(pr->detail), "%.*s", (int)len, w);
                }
                if (s->count)
                        pr->items++;
                return;
        }
}

/* Reads one chunk of output, logs its lines (the visible trace of a long run) and
 * tracks stages. Returns what read(2) did; at the end of the output the pipe is closed. */
static ssize_t read_output(struct prep *p)
{
        char chunk[4096];
        ssize_t n = read(p->out.fd, chunk, sizeof(chunk));
        if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return n;
                close_output(p);
                return n;
        }
        for (ssize_t i = 0; i < n; i++) {
                char c = chunk[i];
                if (c != '\n' && p->line_len < sizeof(p->line) - 1) {
                        p->line[p->line_len++] = c;
                        continue;
                }
                p->line[p->line_len] = '\0';
                prep_track_line(p->desc, &p->progress, p->line);
                char q[1100];
                if (p->line_len)
                        log_info("prep", "task=%s line=%s", p->desc->name,
                                 log_quote(q, sizeof(q), p->line));
                p->line_len = 0;
        }
        return n;
}

static void on_output(struct loop_io *io, uint32_t events)
{
        (void)events;
        read_output((struct prep *)((char *)io - offsetof(struct prep, out)));
}

/* A run past its limit is killed: its whole session (the script and its children). */
static void on_limit(struct loop_timer *lt)
{
        struct prep *p = (struct prep *)((char *)lt - offsetof(struct prep, limit));
        log_warn("prep_limit", "task=%s limit_s=%u pid=%d", p->desc->name, p->desc->limit_s,
                 (int)p->child.pid);
        p->killed = 1;
        kill(-p->child.pid, SIGKILL);
}

static int spawn(struct prep *p, struct err *e)
{
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return err_set(e, errno, "pipe");
        pid_t pid = fork_child();
        if (pid == 0) {
                dup2(fds[1], 1);
                dup2(fds[1], 2);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                setsid();
                execv(p->argv[0], p->argv);
                _exit(127);
        }
        close(fds[1]);
        if (pid < 0) {
                close(fds[0]);
                return err_set(e, errno, "fork");
        }
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        p->out.fd = fds[0];
        p->out.cb = on_output;
        loop_io_add(p->loop, &p->out, EPOLLIN, NULL);
        p->child.pid = pid;
        p->child.on_exit = on_exit_status;
        children_watch(p->children, &p->child);
        memset(&p->progress, 0, sizeof(p->progress));
        p->progress.steps = p->desc->steps;
        p->progress.stage = p->desc->stage_names[0];
        p->progress.started_ms = time_wall_ms();
        p->line_len = 0;
        p->killed = 0;
        loop_timer_arm(p->loop, &p->limit, (uint64_t)p->desc->limit_s * 1000, on_limit);
        log_info("prep_start", "task=%s pid=%d", p->desc->name, (int)pid);
        return 0;
}

void prep_start(struct prep *p)
{
        if (p->state == PREP_READY || p->state == PREP_BUILDING)
                return;
        struct err e = {0};
        p->state = PREP_BUILDING;
        if (spawn(p, &e) < 0)
                finish(p, PREP_FAILED, e.msg);
}

void prep_need(struct prep *p, struct prep_waiter *w)
{
        if (p->state == PREP_READY) {
                w->done(w, NULL);
                return;
        }
        w->next = p->waiters;
        p->waiters = w;
        prep_start(p);
}

void prep_cancel(struct prep *p, struct prep_waiter *w)
{
        for (struct prep_waiter **pp = &p->waiters; *pp; pp = &(*pp)->next) {
                if (*pp == w) {
                        *pp = w->next;
                        return;
                }
        }
}

const char *prep_state_name(const struct prep *p)
{
        static const char *const names[] = {"missing", "building", "ready", "failed"};
        return names[p->state];
}

void prep_progress(const struct prep *p, struct prep_progress *out)
{
        *out = p->progress;
        out->steps = p->desc->steps;
        if (!out->stage)
                out->stage = p->desc->stage_names[0];
        if (p->state == PREP_BUILDING && out->started_ms)
                out->elapsed_ms = time_wall_ms() - out->started_ms;
}
