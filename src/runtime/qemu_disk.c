/* The disk a VM machine's qcow2 overlay stands on (qemu_internal.h): the same
 * templates as gVisor machines, turned into ext4 images without loop devices. A rootfs
 * becomes ROOTFS/../vm-STAMP.ext4 (STAMP: when its template was made); a stack of
 * sealed layer directories (a template build's steps) becomes TOP.vm.ext4 beside its
 * top layer, made from a read-only overlay mount of the stack in a mount namespace of
 * its own; a layer a VM sealed is a qcow2 file already. Each image is made once
 * (flock'd) and shared by every machine on it; each machine writes to a qcow2 overlay
 * of its own on it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay.h"
#include "qemu_internal.h"
#include "run.h"

/* $1 the tree (or "" with $3 the overlay stack to mount), $2 the image */
static const char mkdisk_script[] =
    "set -e\n"
    "src=$1 out=$2 lower=$3\n"
    "exec 9>\"$out.lock\"\n"
    "flock 9\n"
    "[ ! -e \"$out\" ] || exit 0\n"
    "if [ -n \"$lower\" ]; then\n"
    "  src=\"$out.mnt\"\n"
    "  mkdir -p \"$src\"\n"
    "  mount -t overlay -o \"ro,lowerdir=$lower\" overlay \"$src\"\n"
    "fi\n"
    "size=$(( $(du -sxm \"$src\" | cut -f1) * 2 + 512 ))\n"
    "mkfs.ext4 -q -F -d \"$src\" -L nsroot \"$out.tmp\" \"${size}M\"\n"
    "mv \"$out.tmp\" \"$out\"\n"
    "if [ -n \"$lower\" ]; then umount \"$src\" && rmdir \"$src\"; fi\n";

static int make_disk(const char *src, const char *out, const char *lower, struct err *e)
{
        struct stat st;
        if (stat(out, &st) == 0)
                return 0;
        const char *argv[] = {"unshare", "-m",  "--propagation", "private",
                              "sh",      "-ec", mkdisk_script,   "nullspace-vm-disk",
                              src,       out,   lower,           NULL};
        if (run_cmd(argv, NULL, 0) != 0)
                return err_set(e, EIO, "making the disk image %s failed", out);
        return 0;
}

static int qemu_backing(const struct machine_spec *s, char *out, size_t cap, const char **fmt,
                        struct err *e)
{
        const char *top = s->layers ? s->layers[0] : NULL;
        struct stat st;
        *fmt = "raw";
        if (top && stat(top, &st) == 0 && S_ISREG(st.st_mode)) { /* sealed by a VM */
                *fmt = "qcow2";
                return snprintf(out, cap, "%s", top) < (int)cap
                           ? 0
                           : err_set(e, ENAMETOOLONG, "%s", top);
        }
        if (top) {
                char lower[OVERLAY_LOWER_MAX];
                if (overlay_lower(s, lower, sizeof(lower), e) < 0)
                        return -1;
                if (snprintf(out, cap, "%s.vm.ext4", top) >= (int)cap)
                        return err_set(e, ENAMETOOLONG, "%s", top);
                return make_disk("", out, lower, e);
        }
        char ready[PATH_MAX + 16];
        snprintf(ready, sizeof(ready), "%s/../ready", s->rootfs);
        long long stamp = stat(ready, &st) == 0 ? (long long)st.st_mtime : 0;
        if (snprintf(out, cap, "%s/../vm-%lld.ext4", s->rootfs, stamp) >= (int)cap)
                return err_set(e, ENAMETOOLONG, "%s", s->rootfs);
        return make_disk(s->rootfs, out, "", e);
}

int qemu_overlay(const char *backing, const char *fmt, const char *disk)
{
        const char *argv[] = {"qemu-img", "create", "-q",    "-f", "qcow2", "-F",
                              fmt,        "-b",     backing, disk, NULL};
        return run_cmd(argv, NULL, 1) == 0 ? 0 : -1;
}

int qemu_new_disk(const struct machine_spec *s, struct err *e)
{
        char backing[PATH_MAX + 32], disk[PATH_MAX + 32];
        const char *fmt;
        snprintf(disk, sizeof(disk), "%s/disk.qcow2", s->dir);
        if (access(disk, F_OK) == 0)
                return 0;
        if (qemu_backing(s, backing, sizeof(backing), &fmt, e) < 0)
                return -1;
        if (qemu_overlay(backing, fmt, disk) < 0)
                return err_set(e, EIO, "qemu-img create over %s", backing);
        return 0;
}
