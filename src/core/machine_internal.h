/* Internal to src/core: what machine.c shares with hibernate.c. Loop thread only. */
#ifndef NS_MACHINE_INTERNAL_H
#define NS_MACHINE_INTERNAL_H

#include "machine.h"

/* Persists and logs a state change (failure may be NULL). */
void set_state(struct machine *m, enum machine_state s, const char *failure);

/* Marks the machine failed with `reason` and tears its sandbox down. */
void fail(struct machine *m, const char *reason);

/* agentconn state callback: hello → running, loss → failed. */
void on_agent_state(struct agent_conn *a, json_t *hello);

/* The sandbox's process (shim) exited. */
void on_sandbox_exit(struct child_watch *w, int status);

/* The machine's environment as "K=V" strings (NULL-terminated, caller frees each). */
char **env_list(const struct machine *m);

#endif
