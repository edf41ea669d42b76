/* Starting processes for exec and for background/PTY processes: the request's command,
 * environment, user and working directory, then vfork + exec with a report pipe that
 * tells a failed chdir, setuid or exec apart. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

extern char **environ;

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
        if (sp->tty)
                ioctl(in, TIOCSCTTY, 0);
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

/* The login shell of `user` (root when NULL) as ["SHELL","-l"]. */
static char **login_shell(const char *user)
{
        struct user_info u;
        const char *shell =
            user_lookup(user ? user : "0", &u) == 0 && u.shell[0] ? u.shell : "/bin/sh";
        json_t *v = json_pack("[s,s]", shell, "-l");
        char **argv = strv_from_json(v);
        json_decref(v);
        return argv;
}

int spawn_parse(struct agent *a, uint32_t chan, json_t *req, struct spawn *sp)
{
        json_t *argv = json_object_get(req, "argv");
        const char *cmd = json_string_value(json_object_get(req, "cmd"));
        const char *user = json_string_value(json_object_get(req, "user"));
        memset(sp, 0, sizeof(*sp));
        if (user && user_lookup(user, &sp->user) < 0) {
                agent_send_error(a, chan, "unknown_user", "no user '%s' in this machine", user);
                return -1;
        }
        if (cmd) {
                json_t *sh = json_pack("[s,s,s]", "/bin/sh", "-c", cmd);
                sp->argv = strv_from_json(sh);
                json_decref(sh);
        } else if (json_array_size(argv) > 0) {
                sp->argv = strv_from_json(argv);
        } else if (json_is_true(json_object_get(req, "login_shell"))) {
                sp->argv = login_shell(user);
        } else {
                agent_send_error(a, chan, "invalid_request", "exec needs cmd or argv");
                return -1;
        }
        sp->has_user = user != NULL;
        sp->cwd = json_string_value(json_object_get(req, "cwd"));
        sp->with_stdin = json_is_true(json_object_get(req, "stdin"));
        sp->envp = build_env(json_object_get(req, "env"), sp);
        return 0;
}

pid_t spawn_run(const struct spawn *sp, const int cfd[3], struct child_err *ce)
{
        int rep[2];
        if (pipe2(rep, O_CLOEXEC) < 0)
                return -1;
        /* vfork: no copy of our address space, which inside gVisor is most of the cost of
         * starting a process. child() only makes system calls and never returns. */
        pid_t pid = vfork();
        if (pid == 0)
                child(sp, cfd[0], cfd[1], cfd[2], rep[1]);
        int saved = errno;
        close(rep[1]);
        ce->stage = 0;
        if (pid > 0 && read(rep[0], ce, sizeof(*ce)) != sizeof(*ce))
                ce->stage = 0; /* exec succeeded: the pipe closed on exec */
        close(rep[0]);
        errno = saved;
        return pid;
}

int spawn_failed(struct agent *a, uint32_t chan, pid_t pid, const struct spawn *sp,
                 const struct child_err *ce)
{
        if (pid < 0) {
                agent_send_errno(a, chan, errno, "fork");
                return 1;
        }
        if (ce->stage != 1 && ce->stage != 2)
                return 0;
        waitpid(pid, NULL, 0);
        agent_send_error(a, chan, ce->stage == 1 ? "invalid_cwd" : "permission_denied", "%s %s: %s",
                         ce->stage == 1 ? "cwd" : "user", ce->stage == 1 ? sp->cwd : sp->user.name,
                         strerror(ce->err));
        return 1;
}

size_t spawn_exec_error(const struct spawn *sp, const struct child_err *ce, char *msg, size_t cap)
{
        if (ce->stage != 3)
                return 0;
        int n = snprintf(msg, cap, "%s: %s\n", sp->argv[0],
                         ce->err == ENOENT ? "command not found" : strerror(ce->err));
        return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

void spawn_free(struct spawn *sp)
{
        strv_free(sp->argv);
        strv_free(sp->envp);
        sp->argv = sp->envp = NULL;
}
