/* The KVM probe: VMs use hardware virtualisation only where it works. */
#ifndef NS_KVM_H
#define NS_KVM_H

#include "../common/err.h"

/* 0 when /dev/kvm runs a test guest (a hlt); else -errno with e saying what failed.
 * Blocking for a few milliseconds; any thread. */
int kvm_usable(struct err *e);

#endif
