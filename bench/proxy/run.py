#!/usr/bin/env python3
"""bench/proxy: HTTP through a preview URL against the same server reached directly, in
one run. A keep-alive HTTP/1.1 server (bench/proxy/server.py, asyncio) runs in a
machine; wrk drives

  (a) the preview URL: wrk -> daemon (Host: PORT-ID-TOKEN.localhost) -> the machine
  (b) direct: wrk -> the machine's own address on its veth (what the proxy connects to)

alternating, same connections and duration, and reports req/s and latency p50/p99 of
each, the ratio of req/s (target >= 0.6x) and the p99 the proxy adds.

Usage: bench/proxy/run.py [--runs 3] [--seconds 5] [--connections 8]
Needs a built tree, runsc, wrk (Debian package), nftables, and root."""

import argparse
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from lib import Daemon, pct  # noqa: E402

WEB = os.path.join(HERE, "server.py")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url, host, seconds, conns):
    """(req/s, p50 ms, p99 ms) of wrk against url with the Host header."""
    cmd = ["wrk", "-t", "2", "-c", str(conns), "-d", "%ds" % seconds, "--latency", url]
    if host:
        cmd[1:1] = ["-H", "Host: " + host]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for q in ("50", "99"):
        v, unit = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)" % q, out, re.M).groups()
        lat[q] = float(v) * UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert not errors, out
    return rps, lat["50"], lat["99"]


def wait_port(addr, port):
    for _ in range(150):
        try:
            socket.create_connection((addr, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server in the machine did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=8)
    a = ap.parse_args()
    d = Daemon()
    try:
        m = d.call("POST", "/v1/machines", {"timeout_s": 0})
        mid, addr = m["id"], m["network"]["address"]
        with open(WEB, "rb") as f:
            d.call("PUT", "/v1/machines/%s/files?path=/srv/web.py" % mid, f.read(), raw=True)
        d.call("POST", "/v1/machines/%s/processes" % mid, {"cmd": "python3 /srv/web.py 8000"})
        wait_port(addr, 8000)
        p = d.call("POST", "/v1/machines/%s/previews" % mid, {"port": 8000})
        host = urllib.parse.urlsplit(p["url"]).netloc
        ours, direct = [], []
        for _ in range(a.runs):
            ours.append(wrk("http://%s:%d/x" % (d.host, d.port), host, a.seconds, a.connections))
            direct.append(wrk("http://%s:8000/x" % addr, None, a.seconds, a.connections))
        for name, rs in (("preview URL", ours), ("direct", direct)):
            print("%-12s req/s p50 %8.0f  latency p50 %6.2f ms  p99 %6.2f ms   (req/s runs %s)" %
                  (name, pct([r[0] for r in rs], 50), pct([r[1] for r in rs], 50),
                   pct([r[2] for r in rs], 50), " ".join("%.0f" % r[0] for r in rs)))
        ratio = pct([r[0] for r in ours], 50) / pct([r[0] for r in direct], 50)
        added = pct([r[2] for r in ours], 50) - pct([r[2] for r in direct], 50)
        print("ratio preview/direct req/s: %.2fx (target >= 0.6x); p99 added: %+.2f ms" %
              (ratio, added))
        d.destroy_all([mid])
    finally:
        d.stop()


if __name__ == "__main__":
    main()
