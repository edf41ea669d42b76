/* Whether /dev/kvm can really run a guest: a one-instruction guest (hlt) in real mode
 * must come back with KVM_EXIT_HLT. A device node that exists but cannot run guests
 * (nested virtualisation off, a sandbox) fails here, and VMs are emulated instead. */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Runs the guest on vcpu fd; 0 when it halted. */
static int run_hlt(int kvm, int vcpu, struct err *e)
{
        int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
        struct kvm_run *run =
            size > 0 ? mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0)
                     : MAP_FAILED;
        if (run == MAP_FAILED)
                return err_set(e, errno ? errno : EINVAL, "KVM_GET_VCPU_MMAP_SIZE");
        struct kvm_sregs sregs;
        struct kvm_regs regs = {.rip = 0, .rflags = 2};
        int r = ioctl(vcpu, KVM_GET_SREGS, &sregs);
        if (r == 0) {
                sregs.cs.base = 0;
                sregs.cs.selector = 0;
                r = ioctl(vcpu, KVM_SET_SREGS, &sregs);
        }
        if (r == 0)
                r = ioctl(vcpu, KVM_SET_REGS, &regs);
        if (r == 0)
                r = ioctl(vcpu, KVM_RUN, 0);
        if (r < 0)
                r = err_set(e, errno, "KVM_RUN");
        else if (run->exit_reason != KVM_EXIT_HLT)
                r = err_set(e, EINVAL, "the test guest did not halt (exit reason %u)",
                            run->exit_reason);
        munmap(run, (size_t)size);
        return r;
}

int kvm_usable(struct err *e)
{
        int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (kvm < 0)
                return err_set(e, errno, "/dev/kvm");
        int vm = -1, vcpu = -1, r;
        void *mem = MAP_FAILED;
        if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
                r = err_set(e, EINVAL, "unexpected KVM API version");
                goto out;
        }
        if ((vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0) {
                r = err_set(e, errno, "KVM_CREATE_VM");
                goto out;
        }
        mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
                r = err_set(e, errno, "mmap");
                goto out;
        }
        ((unsigned char *)mem)[0] = 0xf4; /* hlt */
        struct kvm_userspace_memory_region region = {
            .slot = 0, .guest_phys_addr = 0, .memory_size = 4096, .userspace_addr = (__u64)mem};
        if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
                r = err_set(e, errno, "KVM_SET_USER_MEMORY_REGION");
                goto out;
        }
        if ((vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0) {
                r = err_set(e, errno, "KVM_CREATE_VCPU");
                goto out;
        }
        r = run_hlt(kvm, vcpu, e);
out:
        if (vcpu >= 0)
                close(vcpu);
        if (mem != MAP_FAILED)
                munmap(mem, 4096);
        if (vm >= 0)
                close(vm);
        close(kvm);
        return r;
}
