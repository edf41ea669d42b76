#!/usr/bin/env python3
"""bench/lifecycle/pause.py: pausing a machine in memory, same run, same machine:

  pause / resume   POST .../pause, POST .../resume      (the daemon: freezer + state + event)
  raw runsc        runsc pause / runsc resume            (the issue's raw primitive)
  raw freezer      write FROZEN / THAWED to the sandbox's cgroup and wait for it
  exec             POST .../exec `true`: on a machine running all along (steady), right
                   after it was continued (running), and on a paused one (which it
                   continues first, with auto_resume)

Targets: resume <= 5 ms p50 and <= 1.3x raw runsc resume; an exec on a paused machine
<= 10 ms p50 end to end.

Usage: bench/lifecycle/pause.py [--runs 50]"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lib import Daemon, pct, summary  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()
    d = Daemon()
    try:
        mid = d.call("POST", "/v1/machines", {"timeout_s": 3600})["id"]
        conn = http.client.HTTPConnection(d.host, d.port, timeout=60)

        def post(path, body=None):
            return d.call("POST", "/v1/machines/%s%s" % (mid, path), body, conn=conn)

        freezer = "/sys/fs/cgroup/freezer/%s/freezer.state" % mid
        runsc = ["ip", "netns", "exec", "nsm-" + mid, "runsc", "--root",
                 os.path.join(d.dir, "runsc")]

        def freeze(word):
            for _ in range(20000):  # written again while FREEZING, as the daemon does
                with open(freezer, "w") as f:
                    f.write(word)
                with open(freezer) as f:
                    if f.read().strip() == word:
                        return
            with open(freezer, "w") as f:
                f.write("THAWED")
            raise RuntimeError("the freezer did not settle")

        t = {k: [] for k in ("pause", "resume", "runsc pause", "runsc resume", "freeze", "thaw",
                             "exec steady", "exec running", "exec paused")}
        for _ in range(a.runs):  # an exec into a machine that has been running all along
            t["exec steady"].append(timed(lambda: post("/exec", {"argv": ["true"]})))
        for _ in range(a.runs):
            t["pause"].append(timed(lambda: post("/pause")))
            t["resume"].append(timed(lambda: post("/resume")))
            t["runsc pause"].append(timed(lambda: subprocess.run(runsc + ["pause", mid],
                                                                 check=True)))
            t["runsc resume"].append(timed(lambda: subprocess.run(runsc + ["resume", mid],
                                                                  check=True)))
            if os.path.exists(freezer):
                t["freeze"].append(timed(lambda: freeze("FROZEN")))
                t["thaw"].append(timed(lambda: freeze("THAWED")))
            t["exec running"].append(timed(lambda: post("/exec", {"argv": ["true"]})))
            post("/pause")
            t["exec paused"].append(timed(lambda: post("/exec", {"argv": ["true"]})))
        for name, ms in t.items():
            if ms:
                print(summary(name, ms))
        print("resume / raw runsc resume p50: %.2fx" %
              (pct(t["resume"], 50) / pct(t["runsc resume"], 50)))
        if t["thaw"]:
            print("resume / raw freezer thaw p50: %.2fx" % (pct(t["resume"], 50) /
                                                           pct(t["thaw"], 50)))
        print("exec on a paused machine adds %.2f ms p50" %
              (pct(t["exec paused"], 50) - pct(t["exec running"], 50)))
        print(json.dumps({k: round(pct(v, 50), 3) for k, v in t.items() if v}))
    finally:
        d.stop()


if __name__ == "__main__":
    main()
