#!/usr/bin/env python3
"""bench/vm: VM machines ({"runtime":"vm"}) against raw QEMU, in one run.

  boot        POST /v1/machines {"runtime":"vm"} until it answers (agent ready)
              vs raw: the same qemu-system-x86_64 command line (kernel, initramfs with
              nsagent, qcow2 overlay, virtio-serial on stdio) until the agent's HELLO
  exec        POST .../exec {"cmd":"true"} round trip
  hibernate   POST .../hibernate (QMP stop + migrate to a file + quit)
  resume      POST .../resume (QEMU -incoming from that file, until the guest runs)
  fork x1     POST .../fork {"count":1} (answered when the child runs)
  template    POST /v1/machines {"template":T,"pool":"skip"} of a template built with
              {"runtime":"vm"} (restored from its snapshot, its service running) vs boot

Here the host's /dev/kvm cannot boot guests, so this measures software emulation (TCG);
on a KVM host (GET /v1/info says "accel":"kvm") the same run shows hardware speed:
expect boot well under a second and exec in milliseconds.

Usage: bench/vm/run.py [--runs 3]
Needs a built tree, scripts/vm-assets.sh run, QEMU, and root."""

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lib import BUILD, CACHE, Daemon, summary  # noqa: E402

VM = os.path.join(CACHE, "vm")


def raw_boot(work, accel):
    """ms from starting QEMU to the agent's first frame (HELLO)."""
    bdir = os.path.join(CACHE, "templates", "base")  # the daemon made its disk image first
    base = max((f for f in os.listdir(bdir) if f.startswith("vm-") and f.endswith(".ext4")),
               key=lambda f: os.path.getmtime(os.path.join(bdir, f)))
    disk = os.path.join(work, "disk.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                    os.path.join(bdir, base), disk], check=True)
    guest = os.path.join(work, "guest", "ns")
    os.makedirs(guest, exist_ok=True)
    subprocess.run(["cp", os.path.join(BUILD, "nsagent"), guest], check=True)
    with open(os.path.join(guest, "hostname"), "w") as f:
        f.write("raw\n")
    with open(os.path.join(guest, "env"), "w") as f:
        f.write("export 'PATH=/usr/bin:/bin'\n")
    cpio = subprocess.run("cd %s/guest && find . | busybox cpio -o -H newc 2>/dev/null" % work,
                          shell=True, capture_output=True, check=True).stdout
    initrd = os.path.join(work, "initrd")
    with open(initrd, "wb") as f:
        f.write(open(os.path.join(VM, "initrd.cpio"), "rb").read() + cpio)
    t0 = time.monotonic()
    kvm = accel == "kvm"  # like the daemon: what its probe found
    p = subprocess.Popen(["qemu-system-x86_64", "-M", "pc", "-accel", "kvm" if kvm else "tcg",
                          "-cpu", "host" if kvm else "qemu64",
                          "-m", "512", "-nodefaults", "-no-user-config", "-display", "none",
                          "-serial", "null", "-kernel", os.path.join(VM, "vmlinuz"), "-initrd",
                          initrd, "-append", "console=ttyS0 quiet panic=-1", "-drive",
                          "file=%s,if=virtio,format=qcow2" % disk, "-device", "virtio-serial",
                          "-chardev", "stdio,id=agent,signal=off", "-device",
                          "virtserialport,chardev=agent,name=nsagent", "-no-reboot"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    n = struct.unpack("<IHHI", p.stdout.read(12))[0]
    p.stdout.read(n)
    ms = (time.monotonic() - t0) * 1000
    p.kill()
    p.wait()
    os.unlink(disk)
    return ms


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, (time.monotonic() - t0) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    d = Daemon()
    work = tempfile.mkdtemp(prefix="ns-bench-vm-")
    res = {k: [] for k in ("boot", "raw boot", "exec", "hibernate", "resume", "fork x1",
                           "template")}
    try:
        vm = [r for r in d.call("GET", "/v1/info")["runtimes"] if r["name"] == "vm"]
        accel = vm[0]["accel"] if vm else "vm runtime missing"
        print("accel: %s" % accel)
        print("template build (vm): %.0f ms" % d.build(
            {"name": "bench-vm", "runtime": "vm", "dockerfile":
             "FROM base\nRUN echo built > /opt/built\nCMD [\"sleep\", \"infinity\"]\n"}))
        for i in range(a.runs):
            m, ms = timed(lambda: d.call("POST", "/v1/machines", {"runtime": "vm"}))
            res["boot"].append(ms)
            res["raw boot"].append(raw_boot(work, accel))
            mid = m["id"]
            for _ in range(5):
                res["exec"].append(timed(lambda: d.call(
                    "POST", "/v1/machines/%s/exec" % mid, {"cmd": "true"}))[1])
            res["hibernate"].append(timed(lambda: d.call(
                "POST", "/v1/machines/%s/hibernate" % mid))[1])
            res["resume"].append(timed(lambda: d.call(
                "POST", "/v1/machines/%s/resume" % mid))[1])
            f, ms = timed(lambda: d.call("POST", "/v1/machines/%s/fork" % mid, {"count": 1}))
            res["fork x1"].append(ms)
            t, ms = timed(lambda: d.call("POST", "/v1/machines",
                                         {"template": "bench-vm", "pool": "skip"}))
            res["template"].append(ms)
            d.destroy_all([mid, t["id"]] + [k["id"] for k in f["machines"]])
            print("run %d/%d" % (i + 1, a.runs), file=sys.stderr)
        for k, v in res.items():
            print(summary(k, v))
        p50 = {k: sorted(v)[len(v) // 2] for k, v in res.items()}
        print("boot / raw boot (p50): %.2fx" % (p50["boot"] / p50["raw boot"]))
        print("template / boot (p50): %.2fx" % (p50["template"] / p50["boot"]))
    finally:
        d.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
