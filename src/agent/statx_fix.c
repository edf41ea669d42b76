/* libnsstatx.so: preloaded into glibc programs in gVisor machines (the agent sets
 * LD_PRELOAD when the machine's root has glibc and the library is mounted at
 * /.nsagent/libnsstatx.so). The gVisor release Debian 12 ships refuses statx(2) with
 * AT_NO_AUTOMOUNT (EINVAL), which coreutils always passes, so `ls -l` and `stat` failed
 * on every path. Nothing automounts inside a sandbox: the flag is dropped and the call
 * made as asked otherwise. Any thread (as statx). */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int statx(int dirfd, const char *restrict path, int flags, unsigned int mask,
          struct statx *restrict buf)
{
        return (int)syscall(SYS_statx, dirfd, path, flags & ~AT_NO_AUTOMOUNT, mask, buf);
}
