#!/usr/bin/env python3
"""bench/deploy: deployments against the primitives they wrap, in one run.

  redeploy        POST /v1/deployments of an unchanged service project (its build all
                  cached) until the new revision is live (health check passed)
                  vs  POST /v1/templates/builds of the same steps, all cached (the build
                  alone), and vs a machine create from the template (the machine alone)
  request asleep  GET on the service's URL while its machine is hibernated (the resume
                  included)  vs  the same request while it runs, and vs
                  POST /v1/machines/{id}/resume of that same machine hibernated, and
                  that resume followed by the same request (the first one a restored
                  server answers: its memory comes back as it is touched)
  job trigger     POST .../runs until the first byte of its log
                  vs  POST /v1/machines from the revision's template + a first exec

Target: a request to a scaled-to-zero service <= 1.5x a running one's + the resume.
Reports p50/p99 of each, and the ratios.

Usage: bench/deploy/run.py [--runs 10]
Needs a built tree (build/nullspaced), runsc, and root."""

import argparse
import http.client
import io
import os
import sys
import tarfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lib import Daemon, pct, summary  # noqa: E402

SERVER = b"""import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("0.0.0.0", 8080), H).serve_forever()
"""


def context(d):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("server.py")
        info.size = len(SERVER)
        t.addfile(info, io.BytesIO(SERVER))
    return d.call("PUT", "/v1/templates/contexts", buf.getvalue(), raw=True)["context_id"]


def wait(pred, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    raise RuntimeError("timed out")


def get(d, path):
    c = http.client.HTTPConnection(d.host, d.port, timeout=60)
    t0 = time.monotonic()
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    ms = (time.monotonic() - t0) * 1000
    c.close()
    if r.status != 200 or body != b"ok":
        raise RuntimeError("GET %s -> %d %r" % (path, r.status, body[:200]))
    return ms


def redeploy(d, ctx, runs):
    body = {"name": "bench-svc", "kind": "service", "context_id": ctx, "port": 8080,
            "command": "python3 server.py", "idle_s": 0}
    ms = []
    for i in range(runs + 1):
        t0 = time.monotonic()
        rev = d.call("POST", "/v1/deployments", body)
        wait(lambda: d.call("GET", "/v1/deployments/bench-svc")["revision"] == rev["number"] or
             d.call("GET", "/v1/deployments/bench-svc/revisions/%d" % rev["number"])["state"] == "failed")
        if i:  # the first builds the cache
            ms.append((time.monotonic() - t0) * 1000)
    build = []
    steps = [{"op": "copy", "src": ["."], "dest": "/app"}, {"op": "workdir", "path": "/app"}]
    for i in range(runs):
        build.append(d.build({"name": "bench-plain:r%d" % i, "from": "base", "steps": steps,
                              "context_id": ctx}))
    create = []
    for i in range(runs):
        t0 = time.monotonic()
        m = d.call("POST", "/v1/machines", {"template": "bench-plain:r0", "pool": "skip"})
        create.append((time.monotonic() - t0) * 1000)
        d.call("DELETE", "/v1/machines/" + m["id"])
    return ms, build, create


def asleep(d, runs):
    mid = d.call("GET", "/v1/deployments/bench-svc")["machine_id"]
    running, sleeping, resume, resume_get = [], [], [], []
    for _ in range(runs):
        running.append(get(d, "/deploy/bench-svc/"))
    for _ in range(runs):
        d.call("POST", "/v1/machines/%s/hibernate" % mid)
        time.sleep(0.5)  # the teardown after a checkpoint, off the clock (bench/lifecycle)
        sleeping.append(get(d, "/deploy/bench-svc/"))
    for _ in range(runs):  # the same machine, its server in it, resumed by the API
        d.call("POST", "/v1/machines/%s/hibernate" % mid)
        time.sleep(0.5)
        t0 = time.monotonic()
        d.call("POST", "/v1/machines/%s/resume" % mid)
        resume.append((time.monotonic() - t0) * 1000)
        get(d, "/deploy/bench-svc/")
        resume_get.append((time.monotonic() - t0) * 1000)
    return running, sleeping, resume, resume_get


def trigger(d, ctx, runs):
    d.call("POST", "/v1/deployments", {"name": "bench-job", "context_id": ctx,
                                       "command": "echo first; sleep 1", "retain_failed_s": 0})
    wait(lambda: d.call("GET", "/v1/deployments/bench-job")["revision"] == 1)
    tpl = d.call("GET", "/v1/deployments/bench-job")["live_revision"]["template"]
    first, raw = [], []
    for _ in range(runs):
        t0 = time.monotonic()
        run = d.call("POST", "/v1/deployments/bench-job/runs")
        path = "/v1/deployments/bench-job/runs/%s/logs" % run["id"]
        wait(lambda: d.call("GET", path))
        first.append((time.monotonic() - t0) * 1000)
        wait(lambda: d.call("GET", "/v1/deployments/bench-job/runs/" + run["id"])["state"]
             not in ("starting", "running"))
        t0 = time.monotonic()
        m = d.call("POST", "/v1/machines", {"template": tpl, "pool": "skip"})
        d.call("POST", "/v1/machines/%s/exec" % m["id"], {"cmd": "echo first"})
        raw.append((time.monotonic() - t0) * 1000)
        d.call("DELETE", "/v1/machines/" + m["id"])
    return first, raw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    d = Daemon()
    try:
        ctx = context(d)
        rd, build, create = redeploy(d, ctx, a.runs)
        running, sleeping, resume, resume_get = asleep(d, a.runs)
        first, raw = trigger(d, ctx, a.runs)
        for name, ms in (("redeploy (cached) -> live", rd), ("  build alone (cached)", build),
                         ("  machine create alone", create),
                         ("request, service running", running),
                         ("request, service hibernated", sleeping),
                         ("  resume alone", resume),
                         ("  resume, then the request", resume_get), ("job trigger -> first log byte", first),
                         ("  create + first exec", raw)):
            print(summary(name, ms))
        budget = 1.5 * pct(running, 50) + pct(resume, 50)
        print("asleep p50 %.1f ms vs target 1.5 x running + resume = %.1f ms: %s" % (
            pct(sleeping, 50), budget, "ok" if pct(sleeping, 50) <= budget else "OVER"))
        print("asleep / (resume, then the request) p50: %.2fx" % (
            pct(sleeping, 50) / pct(resume_get, 50)))
        print("redeploy / (build + create) p50: %.2fx" % (
            pct(rd, 50) / (pct(build, 50) + pct(create, 50))))
        print("job trigger / (create + exec) p50: %.2fx" % (pct(first, 50) / pct(raw, 50)))
    finally:
        for n in ("bench-svc", "bench-job"):
            d.request("DELETE", "/v1/deployments/" + n)
        d.stop()


if __name__ == "__main__":
    main()
