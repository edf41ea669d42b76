/* nsagent main loop: frames in on stdin, frames out on stdout, children and files in
 * between. Started as the machine's first process (PID 1): it also reaps orphans. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define OUT_LIMIT (64u << 20) /* hard cap; flow control keeps it far below */

#define REARM_POLL_MS   5
#define REARM_WINDOW_MS 1000

uint64_t agent_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void drain_note(int fd, size_t *left)
{
        int n = 0;
        *left = fd >= 0 && ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (size_t)n : 0;
}

void drain_read(size_t *left, size_t n)
{
        *left -= n < *left ? n : *left;
}

int drain_pending(const size_t left[3], int fd_out, int fd_err)
{
        return (fd_out >= 0 && left[NSP_STDOUT] > 0) || (fd_err >= 0 && left[NSP_STDERR] > 0);
}

int agent_send(struct agent *a, uint16_t type, uint16_t flags, uint32_t chan, const void *p,
               size_t n)
{
        struct nsp_hdr h = {(uint32_t)n, type, flags, chan};
        unsigned char hdr[NSP_HDR_SIZE];
        nsp_hdr_encode(&h, hdr);
        if (buf_append(&a->out, hdr, sizeof(hdr)) < 0 || (n && buf_append(&a->out, p, n) < 0))
                return -1;
        return 0;
}

/* Queues doc (stolen) as a frame; a RESP says whether it is an error (protocol 2). */
static int send_doc(struct agent *a, uint16_t type, uint16_t flags, uint32_t chan, json_t *doc)
{
        char *text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!text)
                return -1;
        if (type == NSP_RESP)
                flags |= NSP_RESP_MARKED;
        int r = agent_send(a, type, flags, chan, text, strlen(text));
        free(text);
        return r;
}

void agent_grant_stdin(struct agent *a, uint32_t chan, size_t n)
{
        unsigned char credit[4] = {(unsigned char)n, (unsigned char)(n >> 8),
                                   (unsigned char)(n >> 16), (unsigned char)(n >> 24)};
        agent_send(a, NSP_WINDOW, NSP_STDIN, chan, credit, 4);
}

int agent_send_json(struct agent *a, uint16_t type, uint32_t chan, json_t *doc)
{
        return send_doc(a, type, 0, chan, doc);
}

void agent_send_error(struct agent *a, uint32_t chan, const char *code, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        send_doc(a, NSP_RESP, NSP_RESP_ERROR, chan,
                 json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void agent_send_errno(struct agent *a, uint32_t chan, int err, const char *what)
{
        const char *code = "io_error";
        switch (err) {
        case ENOENT:
                code = "file_not_found";
                break;
        case EEXIST:
        case ENOTEMPTY:
                code = "file_exists";
                break;
        case EACCES:
        case EPERM:
        case EROFS:
                code = "permission_denied";
                break;
        case ENOTDIR:
        case EISDIR:
        case ENAMETOOLONG:
        case ELOOP:
        case EINVAL:
                code = "invalid_path";
                break;
        case ENOSPC:
        case EDQUOT:
                code = "no_space";
                break;
        }
        agent_send_error(a, chan, code, "%s: %s", what, strerror(err));
}

struct chan *agent_chan_find(struct agent *a, uint32_t id)
{
        for (struct chan *c = a->chans; c; c = c->next)
                if (c->id == id)
                        return c;
        return NULL;
}

struct chan *agent_chan_new(struct agent *a, uint32_t id, int kind)
{
        if (a->nchans >= AGENT_MAX_CHANNELS || agent_chan_find(a, id))
                return NULL;
        struct chan *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->id = id;
        c->kind = kind;
        c->fd = c->fd_in = c->fd_out = c->fd_err = -1;
        c->credit[NSP_STDOUT] = c->credit[NSP_STDERR] = NSP_WINDOW_INIT;
        buf_init(&c->in_pending, NSP_WINDOW_INIT);
        c->next = a->chans;
        a->chans = c;
        a->nchans++;
        return c;
}

void agent_chan_free(struct agent *a, struct chan *c)
{
        for (struct chan **pp = &a->chans; *pp; pp = &(*pp)->next) {
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
        }
        a->nchans--;
        int fds[] = {c->fd, c->fd_in, c->fd_out, c->fd_err};
        for (unsigned i = 0; i < 4; i++) {
                if (fds[i] >= 0) {
                        agent_unwatch(a, fds[i]);
                        close(fds[i]);
                }
        }
        if (c->tmp_path)
                unlink(c->tmp_path);
        if (c->kind == CHAN_WATCH)
                watch_free(c);
        if (c->tar)
                tar_chan_free(c);
        free(c->path);
        free(c->tmp_path);
        buf_fini(&c->in_pending);
        free(c);
}

/* What each fd is registered for, so an unchanged registration costs no system call
 * (each one is expensive inside gVisor). Index: fd; 0 = not registered. */
#define REG_MAX 4096
static struct {
        uint64_t key;
        uint32_t events;
        int on;
} reg[REG_MAX];

int agent_watch(struct agent *a, int fd, uint32_t events, uint32_t chan, int which)
{
        uint64_t key = (uint64_t)chan << 8 | (unsigned)which;
        if (fd >= 0 && fd < REG_MAX && reg[fd].on && reg[fd].key == key && reg[fd].events == events)
                return 0;
        struct epoll_event ev = {.events = events, .data.u64 = key};
        int r = epoll_ctl(a->epfd, EPOLL_CTL_MOD, fd, &ev);
        if (r < 0)
                r = epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev);
        if (fd >= 0 && fd < REG_MAX)
                reg[fd].on = r == 0, reg[fd].key = key, reg[fd].events = events;
        return r;
}

void agent_unwatch(struct agent *a, int fd)
{
        if (fd >= 0 && fd < REG_MAX && !reg[fd].on)
                return;
        epoll_ctl(a->epfd, EPOLL_CTL_DEL, fd, NULL);
        if (fd >= 0 && fd < REG_MAX)
                reg[fd].on = 0;
}

static uint32_t get_u32(const unsigned char *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A new daemon took over the stream (it restarted): the channels of the old one have
 * no reader any more. Exec commands die with their client; background processes run
 * on, no longer held back by readers that are gone. */
static void detach_all(struct agent *a, uint32_t chan)
{
        while (a->chans) {
                struct chan *c = a->chans;
                if (c->kind == CHAN_EXEC)
                        exec_detach(a, c);
                else
                        agent_chan_free(a, c);
        }
        agent_send_json(a, NSP_RESP, chan, json_object());
}

/* TCP sockets of the machine that are neither listening nor closed: gVisor cannot
 * checkpoint them (TIME_WAIT ones included, for up to 60 s). */
static int tcp_connections(void)
{
        static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
        int n = 0;
        for (unsigned i = 0; i < 2; i++) {
                FILE *f = fopen(files[i], "re");
                char line[512];
                while (f && fgets(line, sizeof(line), f)) {
                        unsigned st;
                        if (sscanf(line, " %*d: %*s %*s %x", &st) == 1 && st != 0x0A && st != 0x07)
                                n++;
                }
                if (f)
                        fclose(f);
        }
        return n;
}

static void op_detach_all(struct agent *a, uint32_t chan, json_t *req)
{
        (void)req;
        detach_all(a, chan);
}

/* Before a checkpoint: re-arm once restored; tell how many TCP connections are open. */
static void op_quiesce(struct agent *a, uint32_t chan, json_t *req)
{
        (void)req;
        a->rearm_pending = 1;
        a->rearm_until = 0;
        agent_send_json(a, NSP_RESP, chan,
                        json_pack("{s:i}", "tcp_connections", tcp_connections()));
}

static const struct agent_op main_ops[] = {
    {"exec", exec_start},     {"attach", attach_request},
    {"watch", watch_request}, {"identity", identity_apply},
    {"env", env_apply},       {"detach_all", op_detach_all},
    {"quiesce", op_quiesce},  {NULL, NULL},
};

static const struct agent_op watch_ops[] = {
    {"watch", watch_request},
    {NULL, NULL},
};

static const struct agent_op *const op_tables[] = {main_ops, proc_ops,        files_ops,
                                                   tar_ops,  files_batch_ops, upload_ops};

/* With --files-only (a volume's agent on the host, daemon/core/volume_files.c): files
 * and watches, nothing that starts a process or changes the system. */
static const struct agent_op *const files_only_tables[] = {files_ops, tar_ops, files_batch_ops,
                                                           upload_ops, watch_ops};

static int files_only;

static const struct agent_op *find_op(const char *name)
{
        const struct agent_op *const *tables = files_only ? files_only_tables : op_tables;
        size_t n = files_only ? sizeof(files_only_tables) / sizeof(files_only_tables[0])
                              : sizeof(op_tables) / sizeof(op_tables[0]);
        for (size_t t = 0; t < n; t++)
                for (const struct agent_op *o = tables[t]; o->name; o++)
                        if (strcmp(o->name, name) == 0)
                                return o;
        return NULL;
}

static void on_request(struct agent *a, uint32_t chan, const unsigned char *p, size_t n)
{
        json_error_t jerr;
        json_t *req = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
        const char *op = json_string_value(json_object_get(req, "op"));
        const struct agent_op *o;
        if (!req || !json_is_object(req) || !op)
                agent_send_error(a, chan, "invalid_request", "a request is a JSON object with op");
        else if (chan == 0 || agent_chan_find(a, chan))
                agent_send_error(a, chan, "invalid_request", "channel %u is in use", chan);
        else if (!(o = find_op(op)))
                agent_send_error(a, chan, "invalid_request", "unknown operation '%.64s'", op);
        else
                o->fn(a, chan, req);
        json_decref(req);
}

static void on_frame(struct agent *a, const struct nsp_hdr *h, const unsigned char *p)
{
        if (a->rearm_pending && !a->rearm_until) { /* restored (or no checkpoint came) */
                a->rearm_until = agent_now_ms() + REARM_WINDOW_MS;
                a->rearms_left = REARM_WINDOW_MS / REARM_POLL_MS;
        }
        struct chan *c = h->type == NSP_REQ ? NULL : agent_chan_find(a, h->chan);
        switch (h->type) {
        case NSP_REQ:
                on_request(a, h->chan, p, h->len);
                break;
        case NSP_DATA:
        case NSP_EOF:
                if (c && c->kind == CHAN_EXEC)
                        exec_on_stdin(a, c, p, h->len, h->type == NSP_EOF);
                else if (c && c->kind == CHAN_ATTACH)
                        proc_on_stdin(a, c, p, h->len, h->type == NSP_EOF);
                else if (c && c->kind == CHAN_WRITE)
                        files_on_data(a, c, p, h->len, h->type == NSP_EOF);
                else if (c && c->kind == CHAN_TAR_WRITE)
                        tar_on_data(a, c, p, h->len, h->type == NSP_EOF);
                break; /* data for a finished channel is dropped */
        case NSP_WINDOW:
                if (c && h->flags != NSP_STDIN) {
                        uint64_t v = (uint64_t)c->credit[h->flags] + get_u32(p);
                        c->credit[h->flags] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
                }
                break;
        case NSP_SIGNAL:
                if (c && c->kind == CHAN_EXEC)
                        exec_signal(a, c, (int)get_u32(p));
                else if (c && c->kind == CHAN_ATTACH)
                        proc_signal_pid(a, c->pid, (int)get_u32(p));
                else if (c)
                        agent_chan_free(a, c); /* a transfer abandoned by the daemon */
                break;
        case NSP_DETACH: /* the daemon forgets the channel: no answer */
                if (c && c->kind == CHAN_EXEC)
                        exec_detach(a, c);
                else if (c)
                        agent_chan_free(a, c);
                break;
        default:
                break;
        }
}

static void read_input(struct agent *a)
{
        for (;;) {
                size_t room = nsp_reader_room(&a->reader);
                struct nsp_hdr h;
                const unsigned char *payload;
                int r;
                while ((r = nsp_reader_next(&a->reader, &h, &payload)) == 1)
                        on_frame(a, &h, payload);
                if (r < 0) {
                        fprintf(stderr, "nsagent: protocol error from the daemon\n");
                        exit(3);
                }
                room = nsp_reader_room(&a->reader);
                if (room == 0)
                        return;
                /* every syscall is costly inside gVisor: read as much as a frame allows,
                 * straight into the reader */
                unsigned char *dst = nsp_reader_space(&a->reader, room);
                if (!dst)
                        exit(4);
                ssize_t n = read(a->in_fd, dst, room);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        a->in_closed = 1;
                        agent_unwatch(a, a->in_fd);
                        return;
                }
                nsp_reader_commit(&a->reader, (size_t)n);
        }
}

static void flush_output(struct agent *a)
{
        size_t done = 0; /* consumed once: a partial write moves the rest only once */
        while (done < a->out.len) {
                ssize_t w = write(a->out_fd, a->out.data + done, a->out.len - done);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno == EAGAIN)
                        break;
                if (w <= 0)
                        exit(0); /* the daemon is gone */
                done += (size_t)w;
        }
        buf_consume(&a->out, done);
        agent_watch(a, a->out_fd, a->out.len ? EPOLLOUT : 0, 0, W_OUT);
}

static void pump_all(struct agent *a, uint64_t now)
{
        proc_drain(a, now);
        struct chan *c = a->chans, *next;
        for (; c; c = next) {
                next = c->next;
                if (c->kind == CHAN_EXEC)
                        exec_pump(a, c);
                else if (c->kind == CHAN_ATTACH)
                        attach_pump(a, c);
                else if (c->kind == CHAN_WATCH)
                        watch_pump(a, c);
                else if (c->kind == CHAN_TAR_READ)
                        tar_pump(a, c);
                else
                        files_pump(a, c);
        }
        proc_pump_all(a);
}

/* Builds the epoll set anew. After a restore from a checkpoint, readiness of the (new)
 * stdio descriptors does not reach the old registrations: after a "quiesce" the agent
 * does this every REARM_POLL_MS until REARM_WINDOW_MS after the first frame that
 * follows (and at least REARM_WINDOW_MS / REARM_POLL_MS times), and on SIGUSR1 (sent by the daemon
 * through `runsc kill` once the restored sandbox runs). Channels and processes re-register in
 * pump_all. */
static void rearm(struct agent *a)
{
        close(a->epfd);
        a->epfd = epoll_create1(EPOLL_CLOEXEC);
        memset(reg, 0, sizeof(reg));
        agent_watch(a, a->in_fd, EPOLLIN, 0, W_IN);
        agent_watch(a, a->sig_fd, EPOLLIN, 0, W_SIG);
        agent_watch(a, a->out_fd, a->out.len ? EPOLLOUT : 0, 0, W_OUT);
}

static int setup(struct agent *a)
{
        a->in_fd = STDIN_FILENO;
        a->out_fd = STDOUT_FILENO;
        fcntl(a->in_fd, F_SETFL, fcntl(a->in_fd, F_GETFL) | O_NONBLOCK);
        fcntl(a->out_fd, F_SETFL, fcntl(a->out_fd, F_GETFL) | O_NONBLOCK);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        /* the agent keeps CAP_SYS_ADMIN (to set a forked machine's hostname); what it
         * starts never gets it (fails harmlessly when not started by the daemon) */
        prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0);
        a->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        a->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (a->sig_fd < 0 || a->epfd < 0)
                return -1;
        buf_init(&a->out, OUT_LIMIT);
        nsp_reader_init(&a->reader);
        if (agent_watch(a, a->in_fd, EPOLLIN, 0, W_IN) < 0 ||
            agent_watch(a, a->sig_fd, EPOLLIN, 0, W_SIG) < 0)
                return -1;
        /* the output fd is registered with no events until something is queued */
        return agent_watch(a, a->out_fd, 0, 0, W_OUT);
}

/* In a gVisor machine whose root has glibc: what the agent starts preloads the statx
 * fix the runtime mounts (src/agent/statx_fix.c). */
static void preload_statx_fix(void)
{
        static const char fix[] = "/.nsagent/libnsstatx.so";
        static const char *const libcs[] = {"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6",
                                            "/usr/lib/x86_64-linux-gnu/libc.so.6"};
        int glibc = 0;
        for (size_t i = 0; i < sizeof(libcs) / sizeof(libcs[0]); i++)
                glibc |= access(libcs[i], R_OK) == 0;
        if (!glibc || access(fix, R_OK) < 0)
                return;
        const char *old = getenv("LD_PRELOAD");
        char v[1024];
        snprintf(v, sizeof(v), "%s%s%s", fix, old && *old ? ":" : "", old ? old : "");
        setenv("LD_PRELOAD", v, 1);
}

int main(int argc, char **argv)
{
        static struct agent a;
        files_only = argc > 1 && strcmp(argv[1], "--files-only") == 0;
        if (!files_only)
                preload_statx_fix();
        uint64_t now = agent_now_ms(); /* read once per round: clocks cost inside gVisor */
        if (setup(&a) < 0) {
                perror("nsagent: setup");
                return 1;
        }
        char host[256] = "";
        gethostname(host, sizeof(host) - 1);
        agent_send_json(&a, NSP_HELLO, 0,
                        json_pack("{s:i,s:i,s:s}", "version", NSP_VERSION, "pid", (int)getpid(),
                                  "hostname", host));
        for (;;) {
                flush_output(&a);
                if (a.in_closed && !a.chans && a.out.len == 0)
                        return 0;
                struct epoll_event evs[32];
                int timeout = exec_next_deadline(&a, now);
                int t2 = proc_next_deadline(&a, now);
                if (t2 >= 0 && (timeout < 0 || t2 < timeout))
                        timeout = t2;
                if (a.rearm_pending && (timeout < 0 || timeout > REARM_POLL_MS))
                        timeout = REARM_POLL_MS;
                int n = epoll_wait(a.epfd, evs, 32, timeout);
                now = agent_now_ms();
                /* the window is both a time and a number of rebuilds: a sandbox frozen
                 * right after its restore (a warm pool parks its members at once) sees
                 * the window's time pass while frozen, and its last rebuild may predate
                 * the restore's end; the rebuilds owed go on once it is thawed */
                if (a.rearm_pending && a.rearm_until && now > a.rearm_until && !a.rearms_left)
                        a.rearm_pending = 0;
                if (n == 0 && a.rearm_pending) {
                        rearm(&a);
                        a.rearms_left -= a.rearms_left > 0;
                }
                for (int i = 0; i < n; i++) {
                        uint32_t chan = (uint32_t)(evs[i].data.u64 >> 8);
                        int which = (int)(evs[i].data.u64 & 0xff);
                        if (chan == 0 && which == W_IN) {
                                read_input(&a);
                        } else if (chan == 0 && which == W_SIG) {
                                struct signalfd_siginfo si;
                                int rearm_needed = 0;
                                while (read(a.sig_fd, &si, sizeof(si)) == sizeof(si))
                                        rearm_needed |= si.ssi_signo == SIGUSR1;
                                exec_reap(&a);
                                if (rearm_needed)
                                        rearm(&a);
                        } else if (which >= W_PROC && which < W_WATCH) {
                                proc_on_fd(&a, (pid_t)chan, which - W_PROC);
                        } else if (chan != 0) {
                                struct chan *c = agent_chan_find(&a, chan);
                                if (c && c->kind == CHAN_EXEC)
                                        exec_on_fd(&a, c, which, evs[i].events);
                                else if (c && c->kind == CHAN_WATCH)
                                        watch_on_fd(&a, c);
                        }
                }
                exec_check_deadlines(&a, now);
                pump_all(&a, now);
        }
}
