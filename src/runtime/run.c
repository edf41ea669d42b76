/* Running a host tool (see run.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/util.h"
#include "run.h"

int run_cmd(const char *const argv[], const char *input, int quiet)
{
        int p[2] = {-1, -1};
        if (input && pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid_t pid = fork_child();
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                dup2(input ? p[0] : null, 0);
                dup2(null, 1);
                if (quiet)
                        dup2(null, 2);
                execvp(argv[0], (char *const *)argv);
                _exit(127);
        }
        if (input) {
                close(p[0]);
                size_t len = strlen(input), off = 0;
                while (pid > 0 && off < len) {
                        ssize_t n = write(p[1], input + off, len - off);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        off += (size_t)n;
                }
                close(p[1]);
        }
        int st = -1;
        while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        return pid > 0 ? st : -1;
}
