/* QEMU's machine protocol (QMP) from a helper process: one connection on a machine's
 * DIR/qmp.sock, commands answered in order. Blocking, with timeouts; any thread (one
 * connection per thread). */
#ifndef NS_QMP_H
#define NS_QMP_H

#include <jansson.h>
#include <stddef.h>

#include "../common/err.h"

struct qmp {
        int fd;
        char in[4096];
        size_t off, len;
};

/* Connects (retrying up to timeout_ms while QEMU is not listening yet), reads the
 * greeting and negotiates capabilities. 0 or -errno with e set. */
int qmp_open(struct qmp *q, const char *path, int timeout_ms, struct err *e);

/* Runs `command` with args (stolen, may be NULL); returns its "return" value (new
 * reference), or NULL with e set (QMP error, timeout, connection lost). */
json_t *qmp_call(struct qmp *q, const char *command, json_t *args, int timeout_ms, struct err *e);

void qmp_close(struct qmp *q);

#endif
