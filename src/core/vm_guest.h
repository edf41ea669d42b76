/* The VM guest's kernel and initramfs (CACHE/vm/vmlinuz, initrd.cpio), made by
 * vm-assets.sh from beside the daemon's binaries: a prep task (prep.h) the daemon
 * starts at start-up where QEMU is installed; VM creates wait for it. Loop thread. */
#ifndef NS_VM_GUEST_H
#define NS_VM_GUEST_H

#include "../common/err.h"
#include "prep.h"

/* A run of vm-assets.sh past this is killed and fails. */
#define VM_GUEST_LIMIT_S 900

/* Sets p up: ready when CACHE/vm holds both files stamped with the sha256 of
 * script_dir's vm-assets.sh + vm-init.sh (the script's own check), else missing. A
 * script_dir without the scripts gives a task that fails saying so. 0 or -errno. */
int vm_guest_init(struct prep *p, struct loop *loop, struct children *children,
                  const char *script_dir, const char *cache_dir, struct err *e);

#endif
