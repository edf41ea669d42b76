/* Commands the daemon itself runs in a machine (template builds): an exec channel on
 * the machine's agent, stdin fed from a host file, output handed over as it comes
 * (its credit returned at once), then the exit. Loop thread only. */
#ifndef NS_MACHINE_CMD_H
#define NS_MACHINE_CMD_H

#include <jansson.h>
#include <stddef.h>

struct machine;
struct machine_cmd;

struct machine_cmd_ops {
        /* A piece of output on stream 1 (stdout) or 2 (stderr). */
        void (*output)(void *ud, int stream, const char *p, size_t n);
        /* The end: exit_code (128+N for signal N), or -1 with error set when the command
         * could not run or the machine went away. The run is freed before this call. */
        void (*done)(void *ud, int exit_code, const char *error);
};

/* Runs the exec request req (borrowed: {"op":"exec", cmd|argv, env, cwd, user}) on the
 * running machine m. stdin_fd (owned; -1: none) is read to its end and sent as stdin.
 * Returns the run, or NULL when the agent cannot take it (ops->done is not called). */
struct machine_cmd *machine_cmd_start(struct machine *m, const json_t *req, int stdin_fd,
                                      const struct machine_cmd_ops *ops, void *ud);

/* Abandons a run: its process is killed, no callback follows. */
void machine_cmd_cancel(struct machine_cmd *r);

#endif
