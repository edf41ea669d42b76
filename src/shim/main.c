/* nsshim: keeps one machine's agent stream alive across daemon restarts.
 *
 *   nsshim DIR [--after-gone PATH] -- COMMAND [ARGS...]   (COMMAND is `runsc ... run ...`)
 *
 * With --after-gone, COMMAND starts only once PATH no longer exists (at most 10 s
 * later): a restore waits there for runsc to finish removing the checkpointed
 * container of the same ID, while the socket already accepts the daemon.
 *
 * It starts COMMAND with pipes for stdin/stdout (the agent's stream), listens on
 * DIR/agent.sock, and relays frames between the pipes and whichever daemon is
 * connected. It forwards only whole frames (include/nsproto.h), so a daemon that dies
 * mid-frame never leaves the agent or the next daemon out of step. While no daemon is
 * connected, frames from the agent wait (up to SHIM_BUFFER bytes, then the agent is
 * simply not read: its flow control holds it). Bulk output (large DATA frames) goes
 * from the agent's pipe to a connected daemon's socket by splice(2), not through this
 * process's memory. It exits when COMMAND exits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../include/nsproto.h"
#include "../common/buf.h"
#include "shim.h"

static int nonblock(int fd)
{
        return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Moves whole frames read from `from` into `to`'s output. Returns -1 on a bad stream. */
static int pump_frames(struct side *from, struct side *to)
{
        struct nsp_hdr h;
        const unsigned char *p;
        int r;
        while (to->out.len < SHIM_BUFFER && (r = nsp_reader_next(&from->reader, &h, &p)) == 1) {
                /* the whole frame (its header precedes p in the reader); when nothing
                 * waits, it goes straight out and only what the peer cannot take now is
                 * copied */
                const unsigned char *frame = p - NSP_HDR_SIZE;
                size_t len = NSP_HDR_SIZE + h.len, done = 0;
                if (to->out.len == 0 && to->wfd >= 0) {
                        ssize_t w = write(to->wfd, frame, len);
                        done = w > 0 ? (size_t)w : 0; /* errors show in write_side */
                }
                if (done < len && buf_append(&to->out, frame + done, len - done) < 0)
                        return -1;
        }
        return r < 0 ? -1 : 0;
}

ssize_t read_some(int fd, void *p, size_t n)
{
        for (;;) {
                ssize_t r = read(fd, p, n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 && errno == EAGAIN)
                        return 0;
                return r > 0 ? r : -1;
        }
}

int read_side(struct side *s, size_t cap)
{
        for (;;) {
                size_t room = nsp_reader_room(&s->reader);
                if (room > cap)
                        room = cap;
                if (room == 0)
                        return 0;
                /* large reads straight into the reader: each one frees pipe space the
                 * agent is woken for */
                unsigned char *dst = nsp_reader_space(&s->reader, room);
                ssize_t n = dst ? read_some(s->rfd, dst, room) : -1;
                if (n <= 0)
                        return (int)n;
                nsp_reader_commit(&s->reader, (size_t)n);
                cap -= (size_t)n;
        }
}

static int write_side(struct side *s)
{
        size_t done = 0; /* consumed once: a partial write moves the rest only once */
        int r = 0;
        while (done < s->out.len) {
                ssize_t n = write(s->wfd, s->out.data + done, s->out.len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n <= 0) {
                        r = -1;
                        break;
                }
                done += (size_t)n;
        }
        buf_consume(&s->out, done);
        return r;
}

void drop_daemon(struct side *d)
{
        close(d->rfd);
        d->rfd = d->wfd = -1;
        nsp_reader_fini(&d->reader); /* a partial frame from the old daemon is dropped */
        nsp_reader_init(&d->reader);
        buf_reset(&d->out); /* frames for it were whole; the rest wait in the agent's window */
}

/* The socket file this shim bound: a later shim of the same machine (after a restore)
 * binds its own at the same path, which this one must then leave alone. */
static struct stat own_sock;

static int listen_on(const char *dir)
{
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (snprintf(a.sun_path, sizeof(a.sun_path), "%s/agent.sock", dir) >=
            (int)sizeof(a.sun_path))
                return -1;
        unlink(a.sun_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0)
                return -1;
        chmod(a.sun_path, 0600);
        stat(a.sun_path, &own_sock);
        return fd;
}

static pid_t start(char **argv, int *to_agent, int *from_agent)
{
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
                return -1;
        fcntl(in[1], F_SETPIPE_SZ, 1 << 20);
        fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
        pid_t pid = fork();
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        *to_agent = in[1];
        *from_agent = out[0];
        nonblock(in[1]);
        nonblock(out[0]);
        return pid;
}

static void loop(int lfd, pid_t child, struct side *agent, struct side *daemon)
{
        struct direct d = {.mode = D_HEADER};
        for (;;) {
                int st;
                if (waitpid(child, &st, WNOHANG) == child)
                        return;
                struct pollfd p[4] = {
                    {lfd, daemon->rfd < 0 ? POLLIN : 0, 0},
                    {agent->rfd, agent_events(&d, agent, daemon), 0},
                    {agent->wfd, agent->out.len ? POLLOUT : 0, 0},
                    {daemon->rfd,
                     (short)(daemon->rfd < 0
                                 ? 0
                                 : POLLIN | (daemon->out.len || (d.mode == D_SPLICE && d.wait_out)
                                                 ? POLLOUT
                                                 : 0)),
                     0},
                };
                if (poll(p, 4, 500) < 0 && errno != EINTR)
                        return;
                if (p[0].revents & POLLIN) {
                        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                        if (c >= 0)
                                daemon->rfd = daemon->wfd = c;
                }
                int wake = (p[1].revents & (POLLIN | POLLHUP)) ||
                           (d.mode == D_SPLICE && (p[3].revents & POLLOUT));
                if (wake && agent_read(&d, agent, daemon) < 0)
                        return; /* the sandbox closed its output: it is going away */
                if (pump_frames(agent, daemon) < 0)
                        return;
                if (daemon->rfd >= 0 && (p[3].revents & (POLLIN | POLLHUP | POLLERR))) {
                        if (read_side(daemon, (size_t)-1) < 0 || pump_frames(daemon, agent) < 0)
                                drop_daemon(daemon);
                }
                if (daemon->rfd >= 0 && write_side(daemon) < 0)
                        drop_daemon(daemon);
                if (daemon->rfd < 0)
                        direct_lost_daemon(&d);
                if (write_side(agent) < 0)
                        return;
        }
}

static void wait_gone(const char *path)
{
        for (int i = 0; path && i < 5000 && access(path, F_OK) == 0; i++)
                usleep(2000);
}

int main(int argc, char **argv)
{
        const char *after = NULL;
        int sep = 2; /* where "--" is */
        if (argc >= 6 && strcmp(argv[2], "--after-gone") == 0) {
                after = argv[3];
                sep = 4;
        }
        if (argc < sep + 2 || strcmp(argv[sep], "--") != 0) {
                fprintf(stderr, "usage: nsshim DIR [--after-gone PATH] -- COMMAND [ARGS...]\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        setsid();
        struct side agent = {.rfd = -1, .wfd = -1}, daemon = {.rfd = -1, .wfd = -1};
        nsp_reader_init(&agent.reader);
        nsp_reader_init(&daemon.reader);
        buf_init(&agent.out, SHIM_BUFFER + NSP_HDR_SIZE + NSP_MAX_PAYLOAD);
        buf_init(&daemon.out, SHIM_BUFFER + NSP_HDR_SIZE + NSP_MAX_PAYLOAD);
        int lfd = listen_on(argv[1]);
        if (lfd >= 0)
                wait_gone(after);
        pid_t child = lfd < 0 ? -1 : start(argv + sep + 1, &agent.wfd, &agent.rfd);
        if (child < 0) {
                perror("nsshim");
                return 1;
        }
        loop(lfd, child, &agent, &daemon);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        char path[4200];
        struct stat now;
        snprintf(path, sizeof(path), "%s/agent.sock", argv[1]);
        if (stat(path, &now) == 0 && now.st_ino == own_sock.st_ino && now.st_dev == own_sock.st_dev)
                unlink(path);
        return 0;
}
