/* A runtime driver for unit tests of the core: no root, no runsc, no QEMU. A machine's
 * "sandbox" is a child process that serves a unix socket in the machine's directory
 * (DIR/fake.sock, like the shim's) and answers the agent protocol: HELLO on its first
 * connection, a RESP to every request (quiesce: no TCP connections). A "checkpoint"
 * is a directory with DRIVER_IMAGE_DONE, a "layer" a directory. The knobs make the
 * next operations fail or wait, so tests reach the core's error paths. Loop thread. */
#ifndef NS_TEST_FAKE_DRIVER_H
#define NS_TEST_FAKE_DRIVER_H

#include "../../src/runtime/driver.h"

struct fake_knobs {
        int fail_start;       /* start returns an error */
        int fail_hibernate;   /* the checkpoint helper exits 1, the sandbox runs on */
        int fail_restore;     /* the restore helper exits 1 */
        int sandbox_dies;     /* the sandbox exits before it listens */
        unsigned helper_ms;   /* checkpoint / restore / destroy helpers sleep this long first */
        unsigned listen_ms;   /* a new sandbox listens only after this long */
        int starts, restores; /* counters: how many of each ran */
};

extern struct fake_knobs fake_knobs;
extern const struct driver fake_driver;

#endif
