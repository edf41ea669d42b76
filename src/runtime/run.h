/* Running a host tool (runsc, ip, nft, rm) from a helper: one place for fork, exec and
 * the wait. Blocks until the tool exits; for child processes and the rare short call
 * the loop thread makes (nft, a few ms). */
#ifndef NS_RUN_H
#define NS_RUN_H

/* Runs argv (PATH lookup) with `input` on its stdin (NULL: /dev/null), stdout on
 * /dev/null and stderr too when quiet (else inherited). Returns its wait status, or -1
 * when it could not be started. */
int run_cmd(const char *const argv[], const char *input, int quiet);

#endif
