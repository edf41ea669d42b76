/* Snapshot records beyond their capture (core/capture.c) and spawns (core/spawn.c):
 * deletion, guarded while machines spawned from a snapshot exist, and the clean-up of
 * snapshots a stopped daemon left half-captured. Loop thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "machine_internal.h"

void snapshots_recover(struct core *core)
{
        int64_t after = 0;
        for (;;) {
                struct snapshot_rec *v;
                size_t n;
                struct err e = {0};
                if (store_snapshot_list(core->store, NULL, after, 256, &v, &n, &e) < 0)
                        return;
                if (n == 0) {
                        free(v);
                        return;
                }
                for (size_t i = 0; i < n; i++) {
                        after = v[i].seq;
                        if (strcmp(v[i].state, "creating") == 0) {
                                char dir[PATH_MAX + 64];
                                layers_snapshot_dir(core, v[i].id, dir, sizeof(dir));
                                store_snapshot_delete(core->store, v[i].id, &e);
                                layers_remove_later(dir);
                                log_warn("snapshot_dropped", "snapshot=%s reason=%s", v[i].id,
                                         "the daemon stopped while capturing it");
                        }
                        store_snapshot_rec_free(&v[i]);
                }
                free(v);
        }
}

int snapshot_delete(struct core *core, const char *id, struct err *e)
{
        struct snapshot_rec r;
        int rc = store_snapshot_get(core->store, id, &r, e);
        if (rc < 0) {
                e->code = rc == -ENOENT ? NS_E_SNAPSHOT_NOT_FOUND : NS_E_INTERNAL;
                if (rc == -ENOENT)
                        err_set(e, ENOENT, "no snapshot with ID '%s'", id);
                return rc;
        }
        int creating = strcmp(r.state, "creating") == 0;
        store_snapshot_rec_free(&r);
        char **users = NULL;
        size_t n = 0;
        if (!creating && store_snapshot_users(core->store, id, &users, &n, e) < 0) {
                e->code = NS_E_INTERNAL;
                return -EIO;
        }
        if (creating || n > 0) {
                e->code = NS_E_SNAPSHOT_IN_USE;
                if (creating)
                        err_set(e, 0, "snapshot %s is still being captured", id);
                else
                        err_set(e, 0, "snapshot %s is in use by %zu machine(s), first %s", id, n,
                                users[0]);
                strv_free(users);
                return -EBUSY;
        }
        strv_free(users);
        if (store_snapshot_delete(core->store, id, e) < 0) {
                e->code = NS_E_INTERNAL;
                return -EIO;
        }
        char dir[PATH_MAX + 64];
        layers_snapshot_dir(core, id, dir, sizeof(dir));
        layers_remove_later(dir);
        layers_collect(core);
        core_event(core, "snapshot.deleted", "snapshot", id, NULL, NULL);
        return 0;
}
