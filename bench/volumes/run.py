#!/usr/bin/env python3
"""bench/volumes: volumes against what they stand beside, in one run.

  (a) inside a gVisor machine: sequential 1 GiB write (fsync'd) and read on a volume vs
      on the machine's own rootfs vs raw on the host (the volume's own directory, and a
      plain directory of the state filesystem); ratio volume/rootfs
  (b) inside a machine: 10 000 small-file creates (1 KiB each) on a volume vs rootfs vs
      host; ratio volume/rootfs
  (c) direct API: a 1 GiB upload to a volume's file vs the same to a machine's file, and
      the downloads back; a resumable upload (8 MiB pieces)
  (d) a 2 GiB directory downloaded as tar: the daemon's peak RSS before and after
  (e) volume create: p50 of N creates
  (f) inside a VM machine (virtio-fs; TCG where KVM cannot run guests): sequential write
      (fsync) and read on the volume vs the VM's own disk; ratio

Targets (issue "Volumes"): volume >= 0.8x rootfs throughput in the machine, small files
>= 0.5x rootfs, direct upload >= 300 MB/s.

Usage: bench/volumes/run.py [--runs 5] [--mib 1024]
Needs a built tree (build/nullspaced, build/nsagent), runsc, and root. Cleans up after
itself (also when it fails)."""

import argparse
import hashlib
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lib import Daemon, pct  # noqa: E402

SMALL = ("import os, sys, time\n"
         "d = sys.argv[1]\n"
         "os.makedirs(d, exist_ok=True)\n"
         "b = b'x' * 1024\n"
         "t = time.perf_counter()\n"
         "for i in range(10000):\n"
         "    with open('%s/f%05d' % (d, i), 'wb') as f:\n"
         "        f.write(b)\n"
         "print((time.perf_counter() - t) * 1000)\n")


def sh(d, mid, cmd):
    r = d.call("POST", "/v1/machines/%s/exec" % mid, {"cmd": cmd, "timeout_s": 900})
    if r["exit_code"] != 0:
        raise RuntimeError("%s: %s" % (cmd, r["stderr"][-400:]))
    return r["stdout"]


def dd_in_machine(d, mid, path, mib):
    """MB/s of a write (fsync'd) then a read of `mib` MiB at path, inside the machine."""
    t = time.perf_counter()
    sh(d, mid, "dd if=/dev/zero of=%s bs=1M count=%d conv=fsync 2>/dev/null" % (path, mib))
    w = mib * 1.048576 / (time.perf_counter() - t)
    t = time.perf_counter()
    sh(d, mid, "dd if=%s of=/dev/null bs=1M 2>/dev/null" % path)
    r = mib * 1.048576 / (time.perf_counter() - t)
    sh(d, mid, "rm -f %s" % path)
    return w, r


def dd_on_host(path, mib):
    t = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", "of=" + path, "bs=1M", "count=%d" % mib,
                    "conv=fsync"], check=True, capture_output=True)
    w = mib * 1.048576 / (time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run(["dd", "if=" + path, "of=/dev/null", "bs=1M"], check=True,
                   capture_output=True)
    r = mib * 1.048576 / (time.perf_counter() - t)
    os.unlink(path)
    return w, r


def small_files_host(path):
    out = subprocess.run([sys.executable, "-c", SMALL, path], check=True, capture_output=True,
                         text=True).stdout
    shutil.rmtree(path)
    return float(out)


def med(xs):
    return statistics.median(xs)


class Body:
    """n MiB of pseudo-random bytes, generated as they are sent (no disk, little memory)."""

    def __init__(self, mib):
        self.left = mib << 20
        self.block = hashlib.sha256(b"bench").digest() * (1 << 15)  # 1 MiB

    def read(self, n=-1):
        if self.left <= 0:
            return b""
        k = min(len(self.block), self.left)
        self.left -= k
        return self.block[:k]


def put(d, path, mib):
    c = http.client.HTTPConnection(d.host, d.port, timeout=900)
    t = time.perf_counter()
    c.putrequest("PUT", path)
    c.putheader("Authorization", "Bearer " + d.key)
    c.putheader("Content-Type", "application/octet-stream")
    c.putheader("Content-Length", str(mib << 20))
    c.endheaders()
    b = Body(mib)
    while True:
        chunk = b.read()
        if not chunk:
            break
        c.send(chunk)
    r = c.getresponse()
    r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError("PUT %s -> %d" % (path, r.status))
    return mib * 1.048576 / (time.perf_counter() - t)


def get(d, path):
    c = http.client.HTTPConnection(d.host, d.port, timeout=900)
    t = time.perf_counter()
    c.request("GET", path, headers={"Authorization": "Bearer " + d.key})
    r = c.getresponse()
    n = 0
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        n += len(chunk)
    c.close()
    return n / 1e6 / (time.perf_counter() - t), n


def resumable(d, owner, mib):
    u = d.call("POST", owner + "/uploads", {"path": "/res.bin", "size": mib << 20})
    piece = Body(8).block * 8
    t = time.perf_counter()
    off = 0
    conn = http.client.HTTPConnection(d.host, d.port, timeout=900)
    while off < mib << 20:
        r = d.call("PUT", "%s/uploads/%s?offset=%d" % (owner, u["id"], off), piece, raw=True,
                   conn=conn)
        off = r["offset"]
    d.call("POST", "%s/uploads/%s/complete" % (owner, u["id"]))
    return mib * 1.048576 / (time.perf_counter() - t)


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--tree-gib", type=int, default=2)
    ap.add_argument("--creates", type=int, default=20)
    ap.add_argument("--vm-mib", type=int, default=256, help="0: no VM part")
    a = ap.parse_args()
    d = Daemon()
    plain = tempfile.mkdtemp(prefix="ns-bench-plain-", dir=d.dir)
    try:
        size = max(4096, a.mib * 3, a.tree_gib * 1024 + 512)
        v = d.call("POST", "/v1/volumes", {"name": "bench", "size_mb": size})
        mnt = os.path.join(d.dir, "volumes", v["id"], "mnt")
        m = d.call("POST", "/v1/machines", {"timeout_s": 0, "memory_mb": 2048,
                                            "volumes": [{"volume": "bench", "path": "/data"}]})
        mid = m["id"]
        print("== (a) sequential %d MiB, MB/s (median of %d): write (fsync) / read" %
              (a.mib, a.runs))
        cases = (("machine: volume /data", lambda: dd_in_machine(d, mid, "/data/seq", a.mib)),
                 ("machine: rootfs /root", lambda: dd_in_machine(d, mid, "/root/seq", a.mib)),
                 ("host: the volume's directory", lambda: dd_on_host(mnt + "/seq", a.mib)),
                 ("host: a plain state directory", lambda: dd_on_host(plain + "/seq", a.mib)))
        got = {name: [] for name, _ in cases}
        for run in range(a.runs):  # interleaved, each run in another order: the host's
            for name, fn in cases[run % 4:] + cases[:run % 4]:  # writeback is not steady
                got[name].append(fn())
        rows = {}
        for name, _ in cases:  # the spread too: this host's disk is shared and noisy
            ws, rs = zip(*got[name])
            rows[name] = (med(ws), med(rs))
            print("  %-32s %8.0f / %8.0f   (writes %.0f-%.0f)" % (name, med(ws), med(rs),
                                                                  min(ws), max(ws)))
        vw, vr = rows["machine: volume /data"]
        fw, fr = rows["machine: rootfs /root"]
        print("  ratio volume/rootfs in the machine: write %.2fx  read %.2fx" % (vw / fw, vr / fr))

        print("== (b) 10 000 small-file creates (1 KiB), ms (median of %d)" % a.runs)
        d.call("PUT", "/v1/machines/%s/files?path=/root/small.py" % mid, SMALL.encode(), raw=True)
        small = (("machine: volume", lambda: float(sh(d, mid, "python3 /root/small.py /data/s && rm -rf /data/s").split()[0])),
                 ("machine: rootfs", lambda: float(sh(d, mid, "python3 /root/small.py /root/s && rm -rf /root/s").split()[0])),
                 ("host: the volume's directory", lambda: small_files_host(mnt + "/s")),
                 ("host: a plain state directory", lambda: small_files_host(plain + "/s")))
        got = {name: [] for name, _ in small}
        for run in range(a.runs):
            for name, fn in small[run % 4:] + small[:run % 4]:
                got[name].append(fn())
        res = {name: med(v) for name, v in got.items()}
        for name, _ in small:
            print("  %-32s %8.0f ms" % (name, res[name]))
        print("  ratio volume/rootfs in the machine (throughput): %.2fx" %
              (res["machine: rootfs"] / res["machine: volume"]))

        print("== (c) direct API, %d MiB, MB/s (median of %d)" % (a.mib, a.runs))
        vol_up = med([put(d, "/v1/volumes/bench/files?path=/up.bin", a.mib) for _ in range(a.runs)])
        m_up = med([put(d, "/v1/machines/%s/files?path=/root/up.bin" % mid, a.mib)
                    for _ in range(a.runs)])
        vol_down = med([get(d, "/v1/volumes/bench/files?path=/up.bin")[0] for _ in range(a.runs)])
        m_down = med([get(d, "/v1/machines/%s/files?path=/root/up.bin" % mid)[0]
                      for _ in range(a.runs)])
        res_up = med([resumable(d, "/v1/volumes/bench", a.mib) for _ in range(a.runs)])
        print("  upload   volume %8.0f   machine %8.0f   ratio %.2fx" % (vol_up, m_up, vol_up / m_up))
        print("  download volume %8.0f   machine %8.0f   ratio %.2fx" %
              (vol_down, m_down, vol_down / m_down))
        print("  resumable upload to a volume (8 MiB pieces) %8.0f" % res_up)
        d.call("DELETE", "/v1/volumes/bench/files?path=/up.bin")
        d.call("DELETE", "/v1/volumes/bench/files?path=/res.bin")
        sh(d, mid, "rm -f /root/up.bin")

        print("== (d) a %d GiB directory downloaded as tar" % a.tree_gib)
        tree = os.path.join(mnt, "tree")
        os.makedirs(tree)
        for i in range(a.tree_gib * 4):
            subprocess.run(["dd", "if=/dev/zero", "of=%s/part%02d" % (tree, i), "bs=1M",
                            "count=256"], check=True, capture_output=True)
        before = peak_rss_kib(d.proc.pid)
        t = time.perf_counter()
        rate, n = get(d, "/v1/volumes/bench/files?path=/tree&format=tar")
        after = peak_rss_kib(d.proc.pid)
        print("  %.2f GB in %.1f s (%.0f MB/s); daemon peak RSS %d KiB before, %d KiB after" %
              (n / 1e9, time.perf_counter() - t, rate, before, after))
        shutil.rmtree(tree)

        print("== (e) volume create (p50 of %d)" % a.creates)
        times = []
        for i in range(a.creates):
            t = time.perf_counter()
            d.call("POST", "/v1/volumes", {"name": "c%d" % i, "size_mb": 1024})
            times.append((time.perf_counter() - t) * 1000)
        print("  create p50 %.1f ms  p99 %.1f ms;  mkfs.ext4 alone on the host:" %
              (pct(times, 50), pct(times, 99)), end="")
        img = os.path.join(plain, "img")
        mk = []
        for _ in range(5):
            subprocess.run(["truncate", "-s", "1G", img], check=True)
            t = time.perf_counter()
            subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", "-E",
                            "lazy_itable_init=1,lazy_journal_init=1", img], check=True)
            mk.append((time.perf_counter() - t) * 1000)
            os.unlink(img)
        print(" p50 %.1f ms" % pct(mk, 50))
        if a.vm_mib:
            print("== (f) VM machine, %d MiB, MB/s (median of %d): write (fsync) / read" %
                  (a.vm_mib, a.runs))
            vm = d.call("POST", "/v1/machines", {"runtime": "vm", "timeout_s": 0,
                                                 "volumes": [{"volume": "bench",
                                                              "path": "/data"}]})["id"]
            vcases = (("VM: volume /data (virtio-fs)", "/data/seq"),
                      ("VM: its own disk /root", "/root/seq"))
            got = {name: [] for name, _ in vcases}
            for run in range(a.runs):
                for name, path in vcases[run % 2:] + vcases[:run % 2]:
                    got[name].append(dd_in_machine(d, vm, path, a.vm_mib))
            for name, _ in vcases:
                ws, rs = zip(*got[name])
                print("  %-32s %8.0f / %8.0f" % (name, med(ws), med(rs)))
            (vw, vr), (fw, fr) = [tuple(map(med, zip(*got[n]))) for n, _ in vcases]
            print("  ratio volume/own disk in the VM: write %.2fx  read %.2fx" % (vw / fw, vr / fr))
            d.call("DELETE", "/v1/machines/" + vm)
        d.call("DELETE", "/v1/machines/" + mid)
        for i in range(a.creates):
            d.call("DELETE", "/v1/volumes/c%d" % i)
        d.call("DELETE", "/v1/volumes/bench")
    finally:
        d.stop()


if __name__ == "__main__":
    main()
