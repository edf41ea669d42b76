#!/usr/bin/env python3
"""bench/machines: nullspaced machines against the raw runsc they wrap, in one run.

  (a) create -> first `exec true` returns   vs  `runsc run` of the same rootfs running /bin/true
  (b) `exec true` round trip via the API    vs  `runsc exec` into the same machine
  (c) file write + read, 1 KiB and 100 MiB
  (d) density: N idle machines, host memory per machine (free before/after, and PSS of
      the runsc processes)

Usage: bench/machines/run.py [--runs 50] [--density 200]
Needs a built tree (build/nullspaced, build/nsagent), runsc, and root."""

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
CACHE = os.environ.get("NULLSPACE_CACHE_DIR", "/var/cache/nullspace")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def summary(name, ms):
    return "%-44s p50 %8.2f ms   p99 %8.2f ms   (n=%d)" % (name, pct(ms, 50), pct(ms, 99), len(ms))


class Daemon:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ns-bench-")
        env = dict(os.environ, NULLSPACE_CACHE_DIR=CACHE)
        self.proc = subprocess.Popen([os.path.join(BUILD, "nullspaced"), "--state-dir", self.dir,
                                      "--listen", "127.0.0.1:0", "--log-level", "warn",
                                      "--max-connections", "4096"],
                                     env=env, stderr=open(os.path.join(self.dir, "log"), "wb"))
        for _ in range(200):
            if os.path.exists(os.path.join(self.dir, "nullspaced.addr")):
                break
            time.sleep(0.02)
        host, port = open(os.path.join(self.dir, "nullspaced.addr")).read().strip().rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.key = open(os.path.join(self.dir, "api-key")).read().strip()

    def call(self, method, path, body=None, raw=False, conn=None):
        c = conn or http.client.HTTPConnection(self.host, self.port, timeout=600)
        h = {"Authorization": "Bearer " + self.key}
        if body is not None and not raw:
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        if r.status >= 300:
            raise RuntimeError("%s %s -> %d %s" % (method, path, r.status, data[:200]))
        return json.loads(data) if r.getheader("Content-Type", "").startswith("application/json") else data

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)
        shutil.rmtree(self.dir, ignore_errors=True)


def raw_runsc_run(runs):
    """`runsc run` of the base rootfs (overlay, like a machine) running /bin/true."""
    work = tempfile.mkdtemp(prefix="ns-bench-raw-")
    rootfs = os.path.join(CACHE, "templates/base/rootfs")
    times = []
    try:
        for i in range(runs):
            d = os.path.join(work, str(i))
            for sub in ("upper", "work", "rootfs", "bundle"):
                os.makedirs(os.path.join(d, sub))
            os.chmod(os.path.join(d, "upper"), 0o755)
            t0 = time.perf_counter()
            subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (rootfs, d, d),
                            os.path.join(d, "rootfs")], check=True)
            cfg = {"ociVersion": "1.0.2",
                   "process": {"terminal": False, "user": {"uid": 0, "gid": 0},
                               "args": ["/bin/true"], "env": ["PATH=/usr/bin:/bin"], "cwd": "/"},
                   "root": {"path": os.path.join(d, "rootfs")}, "hostname": "raw",
                   "linux": {"namespaces": [{"type": t} for t in
                                            ("pid", "ipc", "uts", "mount", "network")]}}
            json.dump(cfg, open(os.path.join(d, "bundle/config.json"), "w"))
            subprocess.run(["runsc", "--root", os.path.join(work, "runsc"), "--network", "none",
                            "run", "--bundle", os.path.join(d, "bundle"), "raw%d" % i], check=True,
                           stdout=subprocess.DEVNULL)
            times.append((time.perf_counter() - t0) * 1000)
            subprocess.run(["umount", os.path.join(d, "rootfs")], check=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return times


def bench_create(d, runs):
    times, ids = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        m = d.call("POST", "/v1/machines", {"timeout_s": 0})
        d.call("POST", "/v1/machines/%s/exec" % m["id"], {"argv": ["true"]})
        times.append((time.perf_counter() - t0) * 1000)
        ids.append(m["id"])
    destroy_all(d, ids)
    return times


def destroy_all(d, ids):
    threads = [threading.Thread(target=d.call, args=("DELETE", "/v1/machines/" + i)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def bench_exec(d, runs):
    m = d.call("POST", "/v1/machines", {"timeout_s": 0})
    conn = http.client.HTTPConnection(d.host, d.port, timeout=60)
    api, raw = [], []
    root = os.path.join(d.dir, "runsc")
    for _ in range(runs):
        t0 = time.perf_counter()
        d.call("POST", "/v1/machines/%s/exec" % m["id"], {"argv": ["true"]}, conn=conn)
        api.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        subprocess.run(["runsc", "--root", root, "exec", m["id"], "/bin/true"], check=True)
        raw.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return m["id"], api, raw


def bench_files(d, mid, runs):
    small = os.urandom(1024)
    conn = http.client.HTTPConnection(d.host, d.port, timeout=600)
    w1, r1 = [], []
    for i in range(runs):
        t0 = time.perf_counter()
        d.call("PUT", "/v1/machines/%s/files?path=/root/small%d" % (mid, i), small, raw=True, conn=conn)
        w1.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        d.call("GET", "/v1/machines/%s/files?path=/root/small%d" % (mid, i), conn=conn)
        r1.append((time.perf_counter() - t0) * 1000)
    big = os.urandom(100 << 20)
    wmb, rmb = [], []
    for i in range(5):
        t0 = time.perf_counter()
        d.call("PUT", "/v1/machines/%s/files?path=/root/big" % mid, big, raw=True, conn=conn)
        wmb.append(100 * 1.048576 / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        back = d.call("GET", "/v1/machines/%s/files?path=/root/big" % mid, conn=conn)
        rmb.append(100 * 1.048576 / (time.perf_counter() - t0))
        assert len(back) == len(big)
    conn.close()
    return w1, r1, wmb, rmb


def used_mib():
    info = {l.split(":")[0]: int(l.split()[1]) for l in open("/proc/meminfo")}
    return (info["MemTotal"] - info["MemAvailable"]) / 1024.0


def runsc_pss_mib(state_dir):
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = open("/proc/%s/cmdline" % pid, "rb").read()
            if b"runsc" not in cmd or state_dir.encode() not in cmd:
                continue
            for line in open("/proc/%s/smaps_rollup" % pid):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024.0


def bench_density(d, n):
    before = used_mib()
    ids, lock = [], threading.Lock()

    def make(k):
        for _ in range(k):
            m = d.call("POST", "/v1/machines", {"timeout_s": 0})
            with lock:
                ids.append(m["id"])
    threads = [threading.Thread(target=make, args=(n // 4,)) for _ in range(4)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - t0
    time.sleep(3)
    after = used_mib()
    pss = runsc_pss_mib(d.dir)
    destroy_all(d, ids)
    return len(ids), took, (after - before) / len(ids), pss / len(ids)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--density", type=int, default=200)
    a = ap.parse_args()
    d = Daemon()
    try:
        warm = d.call("POST", "/v1/machines", {"timeout_s": 0})  # builds the template if needed
        d.call("DELETE", "/v1/machines/" + warm["id"])
        raw_a = raw_runsc_run(a.runs)
        api_a = bench_create(d, a.runs)
        mid, api_b, raw_b = bench_exec(d, a.runs)
        w1, r1, wmb, rmb = bench_files(d, mid, a.runs)
        d.call("DELETE", "/v1/machines/" + mid)
        n, took, free_per, pss_per = bench_density(d, a.density)
    finally:
        d.stop()
    print("\nbench/machines (%d cores; runs=%d)" % (os.cpu_count(), a.runs))
    print(summary("(a) raw: runsc run /bin/true", raw_a))
    print(summary("(a) nullspace: create -> first exec", api_a))
    print("    ratio p50 %.2fx raw (target <= 1.2x)" % (pct(api_a, 50) / pct(raw_a, 50)))
    print(summary("(b) raw: runsc exec /bin/true", raw_b))
    print(summary("(b) nullspace: POST exec true", api_b))
    print("    ratio p50 %.2fx raw (target <= 0.25x)" % (pct(api_b, 50) / pct(raw_b, 50)))
    print(summary("(c) write 1 KiB", w1))
    print(summary("(c) read 1 KiB", r1))
    print("(c) 100 MiB write %.0f MB/s, read %.0f MB/s (median of 5; target >= 300)" %
          (statistics.median(wmb), statistics.median(rmb)))
    print("(d) %d idle machines started in %.1f s: %.1f MiB each by `free`, %.1f MiB PSS of "
          "runsc processes each (target <= 40)" % (n, took, free_per, pss_per))


if __name__ == "__main__":
    sys.exit(main())
