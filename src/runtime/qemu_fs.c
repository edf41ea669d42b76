/* Volumes in VM machines: virtio-fs. The Debian cloud kernel the guests boot has no 9p
 * but has virtiofs, and QEMU ships virtiofsd: one virtiofsd per mount serves the
 * directory the core pinned (read-only ones are read-only bind mounts on the host, so
 * the guest's writes fail with EROFS), QEMU's guest memory is a shared memfd (vhost-user
 * needs it), and the guest's init mounts each tag at its path (DIR/mounts, copied into
 * the initramfs). vhost-user-fs devices cannot migrate: the core refuses to checkpoint
 * a VM machine that mounts volumes (docs/volumes.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "qemu_internal.h"

#define VIRTIOFSD "/usr/lib/qemu/virtiofsd"

static void sock_path(const struct machine_spec *s, size_t i, char *out, size_t cap)
{
        snprintf(out, cap, "%s/vfs%zu.sock", s->dir, i);
}

int qemu_volumes_start(const struct machine_spec *s)
{
        if (!s->nmounts)
                return 0;
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/mounts", s->dir);
        FILE *f = fopen(path, "w");
        if (!f)
                return -1;
        for (size_t i = 0; i < s->nmounts; i++) /* "TAG PATH ro|rw": paths have no spaces */
                fprintf(f, "nsvol%zu %s %s\n", i, s->mounts[i].dest,
                        s->mounts[i].read_only ? "ro" : "rw");
        if (fclose(f) != 0)
                return -1;
        for (size_t i = 0; i < s->nmounts; i++) {
                char sock[PATH_MAX + 16], src[PATH_MAX + 16];
                sock_path(s, i, sock, sizeof(sock));
                snprintf(src, sizeof(src), "source=%s", s->mounts[i].source);
                unlink(sock);
                pid_t pid = fork_child();
                if (pid == 0) {
                        char arg[PATH_MAX + 32];
                        snprintf(arg, sizeof(arg), "--socket-path=%s", sock);
                        /* no flock/posix_lock: this virtiofsd refuses blocking locks
                         * (EOPNOTSUPP), so the guest's kernel keeps locks itself, within
                         * the machine, as gVisor's does */
                        execl(VIRTIOFSD, "virtiofsd", arg, "-o", src, "-o", "cache=auto", "-o",
                              "xattr", (char *)NULL);
                        _exit(127);
                }
                if (pid < 0)
                        return -1;
                struct stat st;
                for (int t = 0; t < 500 && stat(sock, &st) < 0; t++)
                        usleep(10000); /* QEMU connects at once: the socket must be there */
                if (stat(sock, &st) < 0) {
                        fprintf(stderr, "nullspace: virtiofsd for %s did not start\n",
                                s->mounts[i].source);
                        return -1;
                }
        }
        return 0;
}

int qemu_volume_args(const struct machine_spec *s, const char **argv, size_t cap, char *store,
                     size_t store_cap)
{
        size_t n = 0, used = 0;
        if (!s->nmounts)
                return 0;
#define ARG(...)                                                                                   \
        do {                                                                                       \
                int k = snprintf(store + used, store_cap - used, __VA_ARGS__);                     \
                if (k < 0 || (size_t)k >= store_cap - used || n + 1 >= cap)                        \
                        return -1;                                                                 \
                argv[n++] = store + used;                                                          \
                used += (size_t)k + 1;                                                             \
        } while (0)
        ARG("-object");
        ARG("memory-backend-memfd,id=mem,size=%uM,share=on", s->memory_mb ? s->memory_mb : 512);
        ARG("-numa");
        ARG("node,memdev=mem");
        for (size_t i = 0; i < s->nmounts; i++) {
                char sock[PATH_MAX + 16];
                sock_path(s, i, sock, sizeof(sock));
                ARG("-chardev");
                ARG("socket,id=vfs%zu,path=%s", i, sock);
                ARG("-device");
                ARG("vhost-user-fs-pci,chardev=vfs%zu,tag=nsvol%zu", i, i);
        }
#undef ARG
        return (int)n;
}
