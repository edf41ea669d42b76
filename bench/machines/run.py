#!/usr/bin/env python3
"""bench/machines: nullspaced machines against the raw runsc they wrap, in one run.

  (a) create -> first `exec true` returns   vs  `runsc run` of the same rootfs running /bin/true,
      in a network namespace of its own like a machine's (and, for reference, without);
      a cold create ("pool": "skip"), the same on a daemon that makes no network
      namespaces ahead (--netns-pool 0), and a default create taken from the base
      template's warm pool (each sample waits until the pool is full again)
  (b) `exec true` round trip via the API    vs  `runsc exec` into the same machine, and
      the floor under both: posix_spawn + wait of /bin/true timed inside the machine
  (c) file write + read, 1 KiB and 100 MiB
  (d) density: N idle machines, host memory per machine (free before/after, and PSS of
      the runsc processes), running and then all paused
  (e) a cold create with 4 secrets -> first exec  vs  the same create without, interleaved
      (the secrets are opened and handed to the agent before the machine counts as running)

Usage: bench/machines/run.py [--runs 50] [--density 200] [--only density|secrets]
Needs a built tree (build/nullspaced, build/nsagent), runsc, and root."""

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lib import Daemon, RawSandbox, pct, runsc_argv, summary  # noqa: E402


def raw_runsc_run(runs, network=False):
    """`runsc run` of the base rootfs (overlay, like a machine) running /bin/true; with
    network, in a namespace of its own set up like a machine's (timed too)."""
    work = tempfile.mkdtemp(prefix="ns-bench-raw-")
    times = []
    try:
        for i in range(runs):
            t0 = time.perf_counter()
            box = RawSandbox(work, "raw%d" % i, ["/bin/true"], network=network)
            box.runsc("run", "--bundle", box.bundle(), box.name)
            times.append((time.perf_counter() - t0) * 1000)
            box.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return times


def wait_pool_full(d):
    while True:
        pool = d.call("GET", "/v1/info")["base_pool"]
        if pool["ready"] == pool["size"] and pool["creating"] == 0:
            return
        time.sleep(0.02)


def bench_create(d, runs, pool="skip"):
    times, ids = [], []
    for _ in range(runs):
        if pool != "skip":
            wait_pool_full(d)
            time.sleep(0.2)  # the member just parked settles
        t0 = time.perf_counter()
        m = d.call("POST", "/v1/machines", {"timeout_s": 0, "pool": pool})
        d.call("POST", "/v1/machines/%s/exec" % m["id"], {"argv": ["true"]})
        times.append((time.perf_counter() - t0) * 1000)
        ids.append(m["id"])
    d.destroy_all(ids)
    return times


def bench_secrets(d, runs):
    names = ["BENCH_SECRET_%d" % i for i in range(4)]
    for n in names:
        d.call("PUT", "/v1/secrets/" + n, {"value": "s" * 64})
    plain, given, ids = [], [], []
    try:
        for _ in range(runs):
            for extra, out in (({}, plain), ({"secrets": names}, given)):
                t0 = time.perf_counter()
                m = d.call("POST", "/v1/machines", dict(extra, timeout_s=0, pool="skip"))
                d.call("POST", "/v1/machines/%s/exec" % m["id"], {"argv": ["true"]})
                out.append((time.perf_counter() - t0) * 1000)
                ids.append(m["id"])
    finally:
        d.destroy_all(ids)
        for n in names:
            d.call("DELETE", "/v1/secrets/" + n)
    return plain, given


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
        subprocess.run(runsc_argv(root, m["id"], "exec", m["id"], "/bin/true"), check=True)
        raw.append((time.perf_counter() - t0) * 1000)
    # the floor under both: creating a process inside the sandbox, timed in there
    inner = d.call("POST", "/v1/machines/%s/exec" % m["id"], {"argv": ["python3", "-c", SPAWN]},
                   conn=conn)
    conn.close()
    return m["id"], api, raw, [float(x) for x in inner["stdout"].split()]


# posix_spawn + waitpid of /bin/true inside the machine, 60 times: ms each
SPAWN = ("import os,time\n"
         "for i in range(60):\n"
         " t=time.perf_counter(); p=os.posix_spawn('/bin/true',['true'],{}); os.waitpid(p,0)\n"
         " print((time.perf_counter()-t)*1000)")


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


def in_threads(fn, items, nthreads=4):
    chunks = [items[i::nthreads] for i in range(nthreads)]
    threads = [threading.Thread(target=lambda c=c: [fn(x) for x in c]) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def bench_density(d, n):
    """n idle machines made 4 at a time (cold: "pool": "skip"); host memory per machine
    running, then with all of them paused."""
    before = used_mib()
    ids, lock = [], threading.Lock()

    def make(_):
        m = d.call("POST", "/v1/machines", {"timeout_s": 0, "pool": "skip"})
        with lock:
            ids.append(m["id"])
    t0 = time.time()
    try:
        in_threads(make, list(range(n)))
        took = time.time() - t0
        time.sleep(3)
        running = ((used_mib() - before) / len(ids), runsc_pss_mib(d.dir) / len(ids))
        t0 = time.time()
        in_threads(lambda i: d.call("POST", "/v1/machines/%s/pause" % i), list(ids))
        paused_took = time.time() - t0
        time.sleep(3)
        paused = ((used_mib() - before) / len(ids), runsc_pss_mib(d.dir) / len(ids))
        left = used_mib()
    finally:
        d.destroy_all(ids)
    return len(ids), took, running, paused, paused_took, left


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--density", type=int, default=200)
    ap.add_argument("--only", choices=["density", "secrets"], help="run only this part")
    a = ap.parse_args()
    d = Daemon()
    try:
        warm = d.call("POST", "/v1/machines", {"timeout_s": 0})  # builds the template if needed
        d.call("DELETE", "/v1/machines/" + warm["id"])
        if a.only == "secrets":
            plain, given = bench_secrets(d, a.runs)
            print("\nbench/machines (%d cores; runs=%d)" % (os.cpu_count(), a.runs))
            print(summary("(e) nullspace: cold create -> first exec", plain))
            print(summary("(e) nullspace: the same with 4 secrets", given))
            print("    ratio p50 %.2fx; the secrets cost %.1f ms p50" %
                  (pct(given, 50) / pct(plain, 50), pct(given, 50) - pct(plain, 50)))
            return
        if a.only != "density":
            raw_none = raw_runsc_run(a.runs)
            raw_a = raw_runsc_run(a.runs, network=True)
            api_a = bench_create(d, a.runs)
            d0 = Daemon(["--netns-pool", "0"])
            try:
                api_a0 = bench_create(d0, a.runs)
            finally:
                d0.stop()
            pooled = bench_create(d, a.runs, pool="require")
            mid, api_b, raw_b, spawn_b = bench_exec(d, a.runs)
            w1, r1, wmb, rmb = bench_files(d, mid, a.runs)
            d.call("DELETE", "/v1/machines/" + mid)
        dens = bench_density(d, a.density)
    finally:
        d.stop()
    print("\nbench/machines (%d cores; runs=%d)" % (os.cpu_count(), a.runs))
    if a.only != "density":
        report(raw_none, raw_a, api_a, api_a0, pooled, raw_b, api_b, spawn_b, w1, r1, wmb, rmb)
    n, took, running, paused, paused_took, left = dens
    print("(d) %d idle machines started in %.1f s: running %.1f MiB each by `free`, %.1f MiB "
          "PSS of runsc processes each (target <= 40)" % (n, took, running[0], running[1]))
    print("(d) all paused in %.1f s: %.1f MiB each by `free`, %.1f MiB PSS each; host memory "
          "in use with them %.0f MiB" % (paused_took, paused[0], paused[1], left))


def report(raw_none, raw_a, api_a, api_a0, pooled, raw_b, api_b, spawn_b, w1, r1, wmb, rmb):
    print(summary("(a) raw: runsc run /bin/true, --network none", raw_none))
    print(summary("(a) raw: same in its own netns, --network sandbox", raw_a))
    print(summary("(a) nullspace: create -> first exec", api_a))
    print("    ratio p50 %.2fx raw with a network, as machines have (target <= 1.2x);"
          " %.2fx raw without" % (pct(api_a, 50) / pct(raw_a, 50), pct(api_a, 50) / pct(raw_none, 50)))
    print(summary("(a) nullspace, --netns-pool 0: create -> first exec", api_a0))
    print("    namespaces made ahead save %.1f ms p50 (%.2fx)" %
          (pct(api_a0, 50) - pct(api_a, 50), pct(api_a, 50) / pct(api_a0, 50)))
    print(summary("(a) nullspace: default create from the base pool -> first exec", pooled))
    print("    %.2fx a cold create (target <= 30 ms p50)" % (pct(pooled, 50) / pct(api_a, 50)))
    print(summary("(b) raw: runsc exec /bin/true", raw_b))
    print(summary("(b) nullspace: POST exec true", api_b))
    print("    ratio p50 %.2fx raw (target <= 0.25x)" % (pct(api_b, 50) / pct(raw_b, 50)))
    print(summary("(b) inside the machine: posix_spawn+wait /bin/true", spawn_b))
    print("    the API's own part of an exec: %.1f ms p50 (the rest is the sandbox making the "
          "process)" % (pct(api_b, 50) - pct(spawn_b, 50)))
    print(summary("(c) write 1 KiB", w1))
    print(summary("(c) read 1 KiB", r1))
    print("(c) 100 MiB write %.0f MB/s, read %.0f MB/s (median of 5; target >= 300)" %
          (statistics.median(wmb), statistics.median(rmb)))


if __name__ == "__main__":
    sys.exit(main())
