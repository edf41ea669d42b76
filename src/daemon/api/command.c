/* Shared command fields, checks and agent requests (see command.h). */
#include "command.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int api_cmd_check(const struct api_cmd *in, enum ns_code *code, char *msg, size_t cap)
{
        if (!in->cmd == !in->argv.n) {
                *code = NS_E_INVALID_FIELD;
                snprintf(msg, cap, "give exactly one of 'cmd' and 'argv'");
                return -1;
        }
        return 0;
}

json_t *api_cmd_request(const char *op, const struct api_cmd *in, const struct machine *m)
{
        json_t *req = json_pack("{s:s}", "op", op);
        if (in->cmd) {
                json_object_set_new(req, "cmd", json_string(in->cmd));
        } else {
                json_t *argv = json_array();
                for (size_t i = 0; i < in->argv.n; i++)
                        json_array_append_new(argv, json_string(in->argv.items[i]));
                json_object_set_new(req, "argv", argv);
        }
        json_t *env = json_object();
        for (size_t i = 0; i < in->env.n; i++)
                json_object_set_new(env, in->env.keys[i], json_string(in->env.values[i]));
        json_object_set_new(req, "env", env);
        const char *cwd = in->cwd ? in->cwd : m && m->conf.cwd[0] ? m->conf.cwd : NULL;
        const char *user = in->user ? in->user : m && m->conf.user[0] ? m->conf.user : NULL;
        if (cwd)
                json_object_set_new(req, "cwd", json_string(cwd));
        if (user)
                json_object_set_new(req, "user", json_string(user));
        if (in->timeout_s)
                json_object_set_new(req, "timeout_ms", json_integer(in->timeout_s * 1000));
        return req;
}

void api_proc_ref(json_t *req, const char *ref)
{
        size_t n = strspn(ref, "0123456789");
        if (n > 0 && n < 10 && ref[n] == '\0')
                json_object_set_new(req, "pid", json_integer(atoi(ref)));
        else
                json_object_set_new(req, "tag", json_string(ref));
}

static const struct {
        const char *name;
        int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
    {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"SYS", SIGSYS},
};

int api_signal_parse(const char *s)
{
        if (!s || !*s)
                return 0;
        if (isdigit((unsigned char)s[0])) {
                char *end;
                long v = strtol(s, &end, 10);
                return *end == '\0' && v >= 1 && v <= 64 ? (int)v : 0;
        }
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
                if (strcasecmp(s, signals[i].name) == 0)
                        return signals[i].sig;
        return 0;
}
