#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/log.h"
#include "../common/secret.h"
#include "../common/util.h"
#include "auth.h"

static int lock_dir(struct app *app, struct err *e)
{
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/nullspaced.lock", app->core.state_dir);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return err_set(e, errno, "open %s", path);
        /* a POSIX record lock, not flock: it belongs to this process alone, so a helper
         * forked without exec (a checkpoint, restore or destroy helper, which may outlive
         * a stopped daemon by design) does not hold it and keep the next daemon out */
        struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(fd, F_SETLK, &l) < 0) {
                int saved = errno;
                close(fd);
                if (saved == EAGAIN || saved == EACCES)
                        return err_set(e, EBUSY, "another nullspaced is using %s",
                                       app->core.state_dir);
                return err_set(e, saved, "lock %s", path);
        }
        app->lock_fd = fd;
        return 0;
}

static int first_key(struct app *app, struct err *e)
{
        int64_t n = 0;
        int r = store_key_count(app->core.store, &n, e);
        if (r < 0 || n > 0)
                return r;
        const char *given = getenv("NULLSPACE_API_KEY");
        struct key_rec k;
        char token[KEY_TOKEN_MAX];
        r = auth_create_key(app->core.store, "admin", given && *given ? given : NULL, &k, token, e);
        if (r < 0)
                return r;
        if (given && *given) {
                log_info("first_key", "id=%s source=NULLSPACE_API_KEY", k.id);
                return 0;
        }
        char path[PATH_MAX + 16], line[KEY_TOKEN_MAX + 1];
        snprintf(path, sizeof(path), "%s/api-key", app->core.state_dir);
        int len = snprintf(line, sizeof(line), "%s\n", token);
        r = write_file_atomic(path, line, (size_t)len, 0600, e);
        if (r == 0)
                log_info("first_key", "id=%s file=%s", k.id, path);
        return r;
}

/* The secret that signs file URLs: 32 random bytes, made once, kept in DIR/signing-key. */
static int signing_key(struct app *app, struct err *e)
{
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/signing-key", app->core.state_dir);
        return secret_load(path, app->signing_key, sizeof(app->signing_key), e);
}

int state_open(struct app *app, struct err *e)
{
        int r = mkdir_p(app->core.state_dir, 0700);
        if (r < 0)
                err_set(e, -r, "mkdir %s", app->core.state_dir);
        else
                r = lock_dir(app, e);
        if (r < 0)
                return r;
        char db[PATH_MAX + 16];
        snprintf(db, sizeof(db), "%s/nullspace.db", app->core.state_dir);
        r = store_open(&app->core.store, db, e);
        if (r == 0)
                r = first_key(app, e);
        if (r == 0)
                r = signing_key(app, e);
        return r;
}

int state_write_addr(struct app *app, const char *addr, struct err *e)
{
        char path[PATH_MAX + 32], line[128];
        snprintf(path, sizeof(path), "%s/nullspaced.addr", app->core.state_dir);
        int n = snprintf(line, sizeof(line), "%s\n", addr);
        return write_file_atomic(path, line, (size_t)n, 0644, e);
}
