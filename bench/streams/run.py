#!/usr/bin/env python3
"""bench/streams: output streaming through the daemon against `runsc exec`, in one run.

  (a) throughput: `cat` of a 1 GiB file inside a machine, streamed over the WebSocket
      (`exec`, binary frames) vs the same `cat` through `runsc exec` into the same
      sandbox, stdout on a pipe; both read by this process in the same way
  (b) first-byte latency: `echo x`, from sending the request to the first output byte,
      over the WebSocket vs `runsc exec`

Usage: bench/streams/run.py [--runs 3] [--latency-runs 30] [--mib 1024]
Needs a built tree (build/nullspaced, build/nsagent), runsc, and root."""

import argparse
import fcntl
import os
import subprocess
import sys
import time

F_SETPIPE_SZ = 1031
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "..", "tests", "integration"))
from lib import Daemon, pct, runsc_argv, summary  # noqa: E402
from wsclient import Session  # noqa: E402


def ws_exec(s, mid, cmd):
    """(total bytes, seconds to the first byte, seconds to the exit) of cmd's stdout."""
    t0 = time.perf_counter()
    r = s.call("exec", machine=mid, cmd=cmd)
    first, total = None, 0
    while True:
        m = s.next()
        if m.get("channel") != r["channel"]:
            continue
        if m["type"] == "data":
            if first is None:
                first = time.perf_counter() - t0
            total += len(m["data"])
        else:
            return total, first, time.perf_counter() - t0


def raw_exec(root, mid, cmd):
    """Like ws_exec, through `runsc exec`, its stdout a pipe given the 1 MiB buffer our own
    pipes have (the default 64 KiB would slow the raw side down)."""
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 1 << 20)
    t0 = time.perf_counter()
    p = subprocess.Popen(runsc_argv(root, mid, "exec", mid, "/bin/sh", "-c", cmd), stdout=w)
    os.close(w)
    first, total = None, 0
    with os.fdopen(r, "rb", buffering=0) as out:
        while True:
            d = out.read(1 << 20)
            if not d:
                break
            if first is None:
                first = time.perf_counter() - t0
            total += len(d)
    p.wait()
    return total, first, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--latency-runs", type=int, default=30)
    ap.add_argument("--mib", type=int, default=1024)
    a = ap.parse_args()
    d = Daemon()
    try:
        m = d.call("POST", "/v1/machines", {"timeout_s": 0, "memory_mb": 2048})
        mid, root = m["id"], os.path.join(d.dir, "runsc")
        d.call("POST", "/v1/machines/%s/exec" % mid,
               {"cmd": "head -c %dM /dev/zero > /root/big" % a.mib})
        s = Session(d, timeout=600)
        cat = "cat /root/big"
        ours, raw = [], []
        for _ in range(a.runs):  # alternate, so both sides see the same page cache
            n, _, t = ws_exec(s, mid, cat)
            assert n == a.mib << 20, n
            ours.append(n / t / (1 << 20))
            n, _, t = raw_exec(root, mid, cat)
            assert n == a.mib << 20, n
            raw.append(n / t / (1 << 20))
        print("(a) cat %d MiB: WebSocket exec  p50 %7.0f MiB/s   (runs %s)" %
              (a.mib, pct(ours, 50), " ".join("%.0f" % x for x in ours)))
        print("(a) cat %d MiB: runsc exec      p50 %7.0f MiB/s   (runs %s)" %
              (a.mib, pct(raw, 50), " ".join("%.0f" % x for x in raw)))
        print("(a) ratio ours/raw: %.2fx (target >= 0.5x)" % (pct(ours, 50) / pct(raw, 50)))
        lo, lr = [], []
        for _ in range(a.latency_runs):
            lo.append(ws_exec(s, mid, "echo x")[1] * 1000)
            lr.append(raw_exec(root, mid, "echo x")[1] * 1000)
        print(summary("(b) first byte: WebSocket exec", lo))
        print(summary("(b) first byte: runsc exec", lr))
        print("(b) ratio ours/raw p50: %.2fx" % (pct(lo, 50) / pct(lr, 50)))
        s.close()
        d.destroy_all([mid])
    finally:
        d.stop()


if __name__ == "__main__":
    main()
