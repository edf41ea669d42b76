#!/usr/bin/env python3
"""bench/lifecycle: hibernate, resume and fork of nullspace machines against raw
`runsc checkpoint` / `runsc restore` of an equivalent sandbox, in one run, for machines
with about 10 MiB, 256 MiB and 1 GiB of dirtied memory.

  hibernate   POST .../hibernate        vs  runsc checkpoint
  resume      POST .../resume           vs  runsc restore (until the container runs)
              of the equivalent sandbox: a machine's own OCI config with nsagent as its
              first process on pipes and the same python beside it, driven by runsc
              alone (no daemon, shim, quiesce or re-arm)
  fork x1/x8  POST .../fork {"count":N} (answered when every child runs; the parent's
              pause is reported too)
  disk        bytes on disk of a hibernated machine (its directory: checkpoint + layer)
              vs the raw checkpoint image

Targets: hibernate and resume <= 1.3x raw; fork x8 <= 3x fork x1.

Between hibernate and resume both sides rest PARKED seconds (a parked machine is not
woken the same instant): the container teardown that follows a checkpoint (raw: the
untimed `runsc delete`; a machine: `runsc run` removing it, ~100 ms, which a resume
would otherwise wait for) happens off the clock on both sides.

Usage: bench/lifecycle/run.py [--runs 10] [--sizes 10,256,1024]
Needs a built tree (build/nullspaced, build/nsagent), runsc, and root."""

import argparse
import json
import os
import subprocess
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lib import Daemon, RawSandbox, du_bytes, pct, summary  # noqa: E402

# Dirties `mib` MiB (1 MiB of random bytes repeated: incompressible in practice), marks
# /root/ready, then sleeps.
DIRTY = ("import os,time; b=bytearray(os.urandom(1<<20))*%d; "
         "open('/root/ready','w').close(); time.sleep(1e6)")


PARKED = 0.5


def memory_for(mib):
    return max(512, mib * 2 + 256)


def wait_for(pred, timeout=120, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(step)
    raise RuntimeError("timed out")


def progress(*what):
    print("..", *what, file=sys.stderr, flush=True)


def ms_since(t0):
    return (time.perf_counter() - t0) * 1000


def make_machine(d, mib):
    m = d.call("POST", "/v1/machines", {"timeout_s": 0, "memory_mb": memory_for(mib)})
    mid = m["id"]
    d.call("POST", "/v1/machines/%s/exec" % mid,
           {"cmd": "(python3 -c \"%s\" >/dev/null 2>&1 &)" % (DIRTY % mib)})
    wait_for(lambda: d.call("POST", "/v1/machines/%s/exec" % mid,
                            {"cmd": "test -e /root/ready"})["exit_code"] == 0)
    return mid


def ours(d, mib, runs):
    mid = make_machine(d, mib)
    hib, res, f1, f8, pause1, pause8 = [], [], [], [], [], []
    disk = 0
    progress("nullspace", mib, "MiB: machine", mid, "ready")
    for i in range(runs):
        t0 = time.perf_counter()
        d.call("POST", "/v1/machines/%s/hibernate" % mid)
        hib.append(ms_since(t0))
        if i == 0:
            disk = du_bytes(os.path.join(d.dir, "machines", mid))
        time.sleep(PARKED)
        t0 = time.perf_counter()
        d.call("POST", "/v1/machines/%s/resume" % mid)
        res.append(ms_since(t0))
    for count, times, pauses in ((1, f1, pause1), (8, f8, pause8)):
        progress("nullspace", mib, "MiB: fork x%d" % count)
        for _ in range(runs):
            t0 = time.perf_counter()
            r = d.call("POST", "/v1/machines/%s/fork" % mid, {"count": count})
            times.append(ms_since(t0))
            pauses.append(r["parent_pause_ms"])
            d.destroy_all([k["id"] for k in r["machines"]])
    d.call("DELETE", "/v1/machines/" + mid)
    return hib, res, f1, f8, pause1, pause8, disk


def container_status(box):
    try:
        with open(os.path.join(box.root, "%s_sandbox:%s.state" % (box.name, box.name))) as f:
            return json.load(f).get("status")
    except (OSError, ValueError):
        return None


def start_attached(box, verb, *args):
    """`runsc run|restore` attached, the agent's stdio on pipes (as under nsshim); returns
    once the container runs."""
    with open(os.path.join(box.dir, "runsc.log"), "ab") as log:
        p = subprocess.Popen(["runsc", "--root", box.root, "--network", "none", verb] +
                             list(args) + ["--bundle", box.bundle(), box.name],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    # polled as finely as the daemon's restore helper does (2 ms)
    wait_for(lambda: container_status(box) == "running" or p.poll() is not None, timeout=600,
             step=0.002)
    if p.poll() is not None:
        with open(os.path.join(box.dir, "runsc.log")) as f:
            raise RuntimeError("runsc %s exited %d: %s" % (verb, p.returncode, f.read()[-800:]))
    return p


def raw(mib, runs, like):
    """The machine's own sandbox without the daemon: the same OCI config with nsagent as
    its first process on pipes, the same python beside it, checkpointed and restored
    with runsc directly."""
    work = tempfile.mkdtemp(prefix="ns-bench-lc-")
    # the python starts first and the agent replaces the shell as PID 1 (`runsc exec` of
    # a big allocation kills this runsc's sandbox, so the python is not exec'd in)
    # a fresh container ID each time: runsc names the host cgroup after it and an old
    # one left behind would keep its old memory limit
    box = RawSandbox(work, "lc%d-%s" % (mib, os.urandom(4).hex()), ["sh", "-c", "(python3 -c \"%s\" >/dev/null 2>&1 &); "
                                  "exec /.nsagent/nsagent" % (DIRTY % mib)], memory_for(mib),
                     like=like)
    hib, res = [], []
    image = os.path.join(work, "image")
    disk = 0
    proc = None
    try:
        proc = start_attached(box, "run")
        wait_for(lambda: os.path.exists(os.path.join(box.dir, "upper/root/ready")))
        progress("raw", mib, "MiB: sandbox ready")
        for i in range(runs):
            shutil.rmtree(image, ignore_errors=True)
            os.makedirs(image)
            t0 = time.perf_counter()
            box.runsc("checkpoint", "--image-path", image, box.name)
            hib.append(ms_since(t0))
            if i == 0:
                disk = du_bytes(image)
            proc.wait(60)  # the attached runsc removes the container (untimed)
            time.sleep(PARKED)
            t0 = time.perf_counter()
            proc = start_attached(box, "restore", "--image-path", image)
            res.append(ms_since(t0))
    finally:
        box.close()
        if proc:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    return hib, res, disk


def report(mib, o, r):
    hib, res, f1, f8, pause1, pause8, disk = o
    rhib, rres, rdisk = r
    print("\n-- %d MiB dirtied --" % mib)
    print(summary("raw: runsc checkpoint", rhib))
    print(summary("nullspace: hibernate", hib))
    print("    ratio p50 %.2fx raw (target <= 1.3x)" % (pct(hib, 50) / pct(rhib, 50)))
    print(summary("raw: runsc restore", rres))
    print(summary("nullspace: resume", res))
    print("    ratio p50 %.2fx raw (target <= 1.3x)" % (pct(res, 50) / pct(rres, 50)))
    print(summary("nullspace: fork x1", f1))
    print(summary("nullspace: fork x8", f8))
    print("    fork x8 / fork x1 p50 %.2fx (target <= 3x); parent paused p50 %d ms (x1), "
          "%d ms (x8)" % (pct(f8, 50) / pct(f1, 50), pct(pause1, 50), pct(pause8, 50)))
    print("disk per hibernated machine %.1f MiB (raw image %.1f MiB)" %
          (disk / 1048576.0, rdisk / 1048576.0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--sizes", default="10,256,1024")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    d = Daemon()
    results = []
    cfg = tempfile.mkdtemp(prefix="ns-bench-cfg-")
    try:
        warm = d.call("POST", "/v1/machines", {"timeout_s": 0})  # builds the template if needed
        like = os.path.join(cfg, "config.json")
        shutil.copy(os.path.join(d.dir, "machines", warm["id"], "bundle/config.json"), like)
        d.call("DELETE", "/v1/machines/" + warm["id"])
        for mib in sizes:
            results.append((mib, ours(d, mib, a.runs), raw(mib, a.runs, like)))
    finally:
        d.stop()
        shutil.rmtree(cfg, ignore_errors=True)
    print("\nbench/lifecycle (%d cores; runs=%d)" % (os.cpu_count(), a.runs))
    for mib, o, r in results:
        report(mib, o, r)


if __name__ == "__main__":
    sys.exit(main())
