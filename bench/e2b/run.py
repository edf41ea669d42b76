#!/usr/bin/env python3
"""bench/e2b: the official e2b SDK against our own TypeScript SDK, same machine, same run.

  commands.run("true")  — E2B: process.Process/Start (Connect stream) vs ours: POST exec.
                          The e2b SDK runs `/bin/bash -l -c "true"` (a login shell, as on
                          E2B), so it is also compared with ours running that same argv:
                          that ratio is the protocol's cost, the first the user's.
  files.read (4 KiB)    — E2B: GET /e2b/envd/files       vs ours: GET /v1/machines/{id}/files

Each round trip is timed in one Node process, the two SDKs interleaved call by call;
reported as p50/p99 and the ratio E2B / ours. Target (issue "E2B compatibility"):
<= 1.3x.

Usage: bench/e2b/run.py [--runs 50]
Needs a built tree, node and tests/e2b's npm packages (scripts/test.sh installs them).
Cleans up after itself (also when it fails)."""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lib import Daemon, pct  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    d = Daemon()
    try:
        key = d.call("POST", "/v1/keys", {"name": "bench-e2b", "format": "e2b"})["key"]
        url = "http://%s:%d" % (d.host, d.port)
        env = dict(os.environ, E2B_API_URL=url + "/e2b", E2B_SANDBOX_URL=url + "/e2b/envd",
                   E2B_API_KEY=key, NULLSPACE_API_URL=url, NULLSPACE_API_KEY=key)
        r = subprocess.run(["node", os.path.join(HERE, "bench.mjs"), str(args.runs)], env=env,
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            sys.exit("bench.mjs failed:\n" + r.stderr[-4000:])
        res = json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        d.stop()
    rows = (('commands.run("true")', "e2b_run", "ours_run"),
            ("  same argv (bash -l -c)", "e2b_run", "ours_login"),
            ("files.read 4 KiB", "e2b_read", "ours_read"))
    for name, a, b in rows:
        e, o = res[a], res[b]
        print("%-26s e2b p50 %7.2f ms p99 %7.2f   ours p50 %7.2f ms p99 %7.2f   ratio %.2fx"
              % (name, pct(e, 50), pct(e, 99), pct(o, 50), pct(o, 99), pct(e, 50) / pct(o, 50)))


if __name__ == "__main__":
    main()
