#!/usr/bin/env python3
"""bench/templates: creating a machine from a template three ways, in one run.

  warm pool   POST /v1/machines {"template": T, "pool": "require"}: a machine the pool
              kept running is handed over (relabelled; no sandbox work)
  snapshot    POST /v1/machines {"template": T, "pool": "skip"}: restored from the
              template's snapshot (its service already running), fresh identity
  fresh       POST /v1/machines {"template": "base"}: a cold machine; the template's
              service would still have to be installed and started

Each is timed to the create's answer (the machine runs) and to the answer of a first
command in it (`true`); then, off the clock, the template's service is checked with curl
in the first two (curl alone takes 60-100 ms under gVisor's ptrace platform here). The
template: python3's http.server started by its start command, ready when curl answers.
Between warm-pool creates the pool refills off the clock. Also measured: the build
itself, cold and fully cached.

Target: warm-pool create p50 <= 50 ms on this machine.

Usage: bench/templates/run.py [--runs 10] [--pool 2]
Needs a built tree (build/nullspaced), runsc, and root."""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lib import Daemon, pct, summary  # noqa: E402

DOCKERFILE = """FROM base
WORKDIR /srv
RUN echo '<h1>bench</h1>' > index.html
CMD ["python3", "-m", "http.server", "8000"]
"""
PROBE = "curl -sf -o /dev/null localhost:8000"


def build(d, no_cache=False):
    return d.build({"name": "bench-web", "dockerfile": DOCKERFILE, "ready_cmd": PROBE,
                    "no_cache": no_cache})


def wait_pool(d, size, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if d.call("GET", "/v1/templates/bench-web")["pool"]["ready"] >= size:
            return
        time.sleep(0.05)
    raise RuntimeError("the pool did not fill")


def create(d, body, probe):
    t0 = time.monotonic()
    m = d.call("POST", "/v1/machines", body)
    created = (time.monotonic() - t0) * 1000
    r = d.call("POST", "/v1/machines/%s/exec" % m["id"], {"cmd": "true"})
    first = (time.monotonic() - t0) * 1000
    if r["exit_code"] == 0:
        r = d.call("POST", "/v1/machines/%s/exec" % m["id"], {"cmd": probe})
    if r["exit_code"] != 0:
        raise RuntimeError("a command failed in %s: %s" % (m["id"], r))
    return m, created, first


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--pool", type=int, default=2)
    a = ap.parse_args()
    d = Daemon()
    try:
        d.call("DELETE", "/v1/machines/" + d.call("POST", "/v1/machines", {})["id"])  # base
        cold_build = build(d, no_cache=True)
        cached_build = build(d)
        d.call("PUT", "/v1/templates/bench-web/pool", {"size": a.pool})
        kinds = [("warm pool", {"template": "bench-web", "pool": "require"}, PROBE),
                 ("snapshot", {"template": "bench-web", "pool": "skip"}, PROBE),
                 ("fresh", {"template": "base"}, "true")]
        res = {k: ([], []) for k, _, _ in kinds}
        for i in range(a.runs):
            for name, body, probe in kinds:  # alternating: same conditions for each
                if name == "warm pool":
                    wait_pool(d, a.pool)
                m, created, first = create(d, body, probe)
                if name == "warm pool" and m["checkout"] != "pool":
                    raise RuntimeError("not from the pool: %s" % m)
                res[name][0].append(created)
                res[name][1].append(first)
                d.call("DELETE", "/v1/machines/" + m["id"])
            print("run %d/%d" % (i + 1, a.runs), file=sys.stderr)
        d.call("PUT", "/v1/templates/bench-web/pool", {"size": 0})
        print("template build: cold %.0f ms, every step cached %.0f ms" % (cold_build,
                                                                            cached_build))
        for name, _, _ in kinds:
            print(summary("create, %s" % name, res[name][0]))
            print(summary("create + first command, %s" % name, res[name][1]))
        fresh = pct(res["fresh"][0], 50)
        for name in ("warm pool", "snapshot"):
            print("%-44s %.3fx of a fresh create (p50)" % (name, pct(res[name][0], 50) / fresh))
        p50 = pct(res["warm pool"][0], 50)
        print("target: warm-pool create p50 %.1f ms <= 50 ms: %s" % (p50, "met" if p50 <= 50
                                                                       else "NOT met"))
    finally:
        d.stop()


if __name__ == "__main__":
    main()
