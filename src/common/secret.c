/* Atomic files and kept secrets (see secret.h). */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

int write_file_atomic(const char *path, const char *data, size_t len, unsigned mode, struct err *e)
{
        char tmp[PATH_MAX + 8];
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return err_set(e, errno, "open %s", tmp);
        if (fchmod(fd, mode) < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) < 0) {
                int saved = errno;
                unlink(tmp);
                return err_set(e, saved ? saved : EIO, "write %s", tmp);
        }
        if (rename(tmp, path) < 0)
                return err_set(e, errno, "rename %s", path);
        return 0;
}

int secret_load(const char *path, unsigned char *out, size_t n, struct err *e)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                ssize_t got = read(fd, out, n);
                char extra;
                int more = got == (ssize_t)n && read(fd, &extra, 1) > 0;
                close(fd);
                if (got == (ssize_t)n && !more)
                        return 0;
                return err_set(e, EIO, "%s is damaged; remove it to make a new one", path);
        }
        if (errno != ENOENT)
                return err_set(e, errno, "open %s", path);
        int r = rand_bytes(out, n);
        if (r < 0)
                return err_set(e, -r, "random bytes for %s", path);
        return write_file_atomic(path, (const char *)out, n, 0600, e);
}
