#!/bin/busybox sh
# PID 1 of a VM machine's initramfs (packed by scripts/vm-assets.sh): loads the virtio
# modules, mounts the machine's disk (/dev/vda: its own copy-on-write overlay of the
# template's image) as the root, puts nsagent there (from the per-machine part of the
# initramfs: /ns/nsagent, /ns/env, /ns/hostname, written by the daemon) and becomes
# nsagent, its stdin and stdout on the virtio-serial port the daemon's shim holds.
/bin/busybox --install -s /bin
fail() {
  echo "nullspace-init: $*" >&2
  poweroff -f
}
mount -t devtmpfs dev /dev || fail "devtmpfs"
mount -t proc proc /proc
mount -t sysfs sys /sys
case "$(cat /proc/cmdline)" in
*nullspace.probe*) # the daemon's KVM probe: the kernel runs; that is all it asks
  echo nullspace-probe-ok
  poweroff -f
  ;;
esac
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk \
         virtio_console failover net_failover virtio_net; do
  insmod "/modules/$m.ko" || fail "insmod $m"
done
i=0
while [ ! -b /dev/vda ] || [ ! -c /dev/vport0p1 ]; do
  i=$((i + 1))
  [ "$i" -gt 1000 ] && fail "no disk or agent port"
  usleep 10000
done
mount -t ext4 /dev/vda /newroot || fail "mount /dev/vda"
if [ -f /ns/mounts ]; then # volumes: "TAG PATH ro|rw" lines, each a virtio-fs device
  insmod /modules/fuse.ko && insmod /modules/virtiofs.ko || fail "insmod virtiofs"
  while read -r tag path mode; do
    mkdir -p "/newroot$path" && mount -t virtiofs -o "$mode" "$tag" "/newroot$path" ||
      fail "mount volume $tag at $path"
  done < /ns/mounts
fi
ip link set lo up
if [ -f /ns/net ]; then # "ADDRESS GATEWAY MTU": the machine's /30 (docs/networking.md)
  read -r addr gw mtu < /ns/net
  [ "${mtu:-0}" = 0 ] || ip link set eth0 mtu "$mtu" || fail "mtu $mtu"
  ip link set eth0 up && ip addr add "$addr/30" dev eth0 && ip route add default via "$gw" ||
    fail "network $addr via $gw"
fi
mkdir -p /newroot/.nsagent /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/etc
cp /ns/nsagent /newroot/.nsagent/nsagent || fail "agent"
host=$(cat /ns/hostname)
hostname "$host"
echo "$host" > /newroot/etc/hostname
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
. /ns/env
exec 0<>/newroot/dev/vport0p1 1>&0
exec switch_root /newroot /.nsagent/nsagent
