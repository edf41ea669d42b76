/* The state directory: created on first start, locked against a second daemon,
 * holding the database, the first API key and the bound address. */
#ifndef NS_STATE_H
#define NS_STATE_H

#include "app.h"
#include "../common/secret.h"

/* Creates (0700) and locks app->core.state_dir, opens the store, and on a fresh store
 * creates the first admin key (NULLSPACE_API_KEY or generated into DIR/api-key).
 * Returns 0 or -errno with `e` set (-EBUSY: another daemon holds the directory). */
int state_open(struct app *app, struct err *e);

/* Writes DIR/nullspaced.addr with the address the server is bound to (atomically). */
int state_write_addr(struct app *app, const char *addr, struct err *e);

#endif
