/* What every driver shares about the machine's shim (src/shim): the agent stream is
 * reached on DIR/agent.sock whatever runs the machine (runsc, QEMU). */
#ifndef NS_RUNTIME_SHIM_H
#define NS_RUNTIME_SHIM_H

#include <sys/types.h>

#include "driver.h"

/* driver.h's connect: the agent stream of a machine whose shim was just launched.
 * -EAGAIN while the shim does not listen yet. Never blocks. */
int shim_connect(const struct driver_ctx *ctx, const char *dir, struct machine_run *run,
                 struct err *e);

/* driver.h's attach: the agent stream of a machine an earlier daemon started (run.pid 0:
 * not our child). -ENOENT when its shim is gone. */
int shim_attach(const struct driver_ctx *ctx, const char *id, const char *dir,
                struct machine_run *run, struct err *e);

/* fork() for a helper: in the child, the daemon's blocked signals are unblocked. */
pid_t shim_fork_helper(void);

/* In a checkpoint helper just forked: waits (up to 5 s) until DIR/DRIVER_OP_PID names
 * this process, and exits 0 without doing anything when it never does (the daemon died
 * before recording it: the next daemon did not wait for it, and a checkpoint now would
 * stop a machine that daemon has adopted as running). Helper child only. */
void shim_helper_gate(const char *dir);

#endif
