#!/usr/bin/env bash
# The guest side of VM machines ({"runtime":"vm"}, docs/vm.md), made once per host into
# CACHE_DIR/vm (the argument, else $NULLSPACE_CACHE_DIR, else /var/cache/nullspace).
# The daemon runs it at start-up (from beside its binaries, with vm-init.sh) when QEMU
# is installed; scripts/start.sh and scripts/test.sh need not.
#   vmlinuz      Debian 12's cloud kernel (package linux-image-*-cloud-amd64, downloaded
#                and unpacked, never installed on the host)
#   initrd.cpio  busybox (static) + the virtio modules the kernel needs to reach its disk
#                and the agent's port (virtio_ring, virtio, virtio_pci*, virtio_blk,
#                virtio_console, virtio_net; fuse and virtiofs for volumes) + the init that
#                mounts the disk and the machine's volumes, configures the network the
#                daemon gave the machine and starts nsagent
# Safe to run again: does nothing when both exist and neither script changed (the stamp
# is the sha256 of the two scripts' contents, this one first: the daemon checks it too).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="${1:-${NULLSPACE_CACHE_DIR:-/var/cache/nullspace}}/vm"
stamp="$out/assets.sha256"
want=$(cat "$here/vm-assets.sh" "$here/vm-init.sh" | sha256sum | cut -d' ' -f1)
if [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.cpio" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
kernel_pkg() {
  apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'
}
fetch() { # as root apt's sandbox user needs to write here
  chmod 777 .
  pkg=$(kernel_pkg)
  [ -n "$pkg" ] && apt-get download "$pkg" >/dev/null 2>&1
}
echo "== downloading the guest kernel"
if ! fetch; then # package lists missing or stale: refresh them once
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  fetch || { echo "vm-assets: cannot download linux-image-cloud-amd64" >&2; exit 1; }
fi
echo "== guest kernel: $pkg" >&2
echo "== unpacking"
dpkg-deb -x ./*.deb root
moddir=$(echo root/lib/modules/*)
mkdir -p initrd/bin initrd/dev initrd/proc initrd/sys initrd/newroot initrd/modules
cp /bin/busybox initrd/bin/busybox
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
         drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk \
         drivers/char/virtio_console net/core/failover drivers/net/net_failover \
         drivers/net/virtio_net fs/fuse/fuse fs/fuse/virtiofs; do
  cp "$moddir/kernel/$m.ko" initrd/modules/
done
echo "== packing the initramfs"
cp "$here/vm-init.sh" "$work/initrd/init"
chmod 755 "$work/initrd/init"
(cd "$work/initrd" && find . | busybox cpio -o -H newc 2>/dev/null > "$work/initrd.cpio")
cp "$work"/root/boot/vmlinuz-* "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
cp "$work/initrd.cpio" "$out/initrd.tmp" && mv "$out/initrd.tmp" "$out/initrd.cpio"
echo "$want" > "$stamp"
echo "== guest assets in $out" >&2
