/* The shim side shared by the drivers (shim.h). */
#include "../common/util.h"
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Connects to DIR/agent.sock once. -EAGAIN while nobody listens there yet. */
static int connect_agent(const char *dir, struct err *e)
{
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (snprintf(a.sun_path, sizeof(a.sun_path), "%s/agent.sock", dir) >=
            (int)sizeof(a.sun_path))
                return err_set(e, ENAMETOOLONG, "socket path in %s", dir);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_set(e, errno, "socket");
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
                return fd;
        int saved = errno;
        close(fd);
        if (saved == ENOENT || saved == ECONNREFUSED)
                return -EAGAIN;
        return err_set(e, saved, "connect %s", a.sun_path);
}

int shim_connect(const struct driver_ctx *ctx, const char *dir, struct machine_run *run,
                 struct err *e)
{
        (void)ctx;
        int fd = connect_agent(dir, e);
        if (fd < 0)
                return fd;
        run->agent_rfd = run->agent_wfd = fd;
        return 0;
}

int shim_attach(const struct driver_ctx *ctx, const char *id, const char *dir,
                struct machine_run *run, struct err *e)
{
        (void)ctx;
        (void)id;
        int fd = connect_agent(dir, e);
        if (fd < 0)
                return fd == -EAGAIN ? -ENOENT : fd;
        run->pid = 0;
        run->agent_rfd = run->agent_wfd = fd;
        return 0;
}

pid_t shim_fork_helper(void)
{
        pid_t pid = fork_child();
        if (pid == 0) {
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
        }
        return pid;
}

void shim_helper_gate(const char *dir)
{
        char path[PATH_MAX + 32], text[32];
        snprintf(path, sizeof(path), "%s/" DRIVER_OP_PID, dir);
        for (int i = 0; i < 5000; i++) {
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
                if (fd >= 0)
                        close(fd);
                if (n > 0) {
                        text[n] = '\0';
                        if (atoi(text) == (int)getpid())
                                return;
                }
                usleep(1000);
        }
        _exit(0);
}
