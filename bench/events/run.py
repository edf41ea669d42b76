#!/usr/bin/env python3
"""bench/events: event -> webhook delivery, against what it stands beside, in one run.

  (a) latency: events one at a time (a key created every 20 ms) to one loopback receiver;
      from the event's time to its arrival, p50/p99 — beside the raw primitive, a plain
      kept-alive HTTP POST of the same size to the same receiver (send -> arrival); ratio
  (b) sustained: RATE events/s for SECONDS to 3 endpoints; every event must reach every
      endpoint (lost = expected - distinct arrivals), duplicates counted; lag p50/p99;
      the daemon's CPU per 1 000 deliveries — beside the same load with no webhook (the
      event log alone), so the ratio is what delivery costs

Targets (issue "Observability"): p50 <= 20 ms; 0 lost.

Usage: bench/events/run.py [--events 300] [--rate 1000] [--seconds 30]
Needs a built tree and node. Cleans up after itself (also when it fails)."""

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lib import Daemon, pct  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class Receiver:
    def __init__(self, work, name):
        self.log = os.path.join(work, name + ".log")
        self.proc = subprocess.Popen(["node", os.path.join(HERE, "receiver.mjs"), self.log],
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.url = "http://127.0.0.1:%d/hook" % self.port

    def arrivals(self):
        """{webhook-id: [arrival ms, ...]} so far."""
        out = {}
        with open(self.log) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    out.setdefault(parts[0], []).append(float(parts[1]))
        return out

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def event_times(d, since_seq):
    """{event id: ts} of key.created events after since_seq."""
    out, cursor = {}, None
    while True:
        q = "/v1/events?type=key.created&limit=1000&since_seq=%d%s" % (
            since_seq, "&cursor=" + cursor if cursor else "")
        page = d.call("GET", q)
        for e in page["events"]:
            out[e["id"]] = e["ts"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


def last_seq(d):
    evs = []
    cursor = None
    while True:
        page = d.call("GET", "/v1/events?limit=1000" + ("&cursor=" + cursor if cursor else ""))
        evs += page["events"]
        cursor = page["next_cursor"]
        if not cursor:
            return evs[-1]["seq"] if evs else 0


def wait_for(recvs, ids, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(ids <= set(r.arrivals()) for r in recvs):
            return True
        time.sleep(0.2)
    return False


def latency(d, work, n):
    rx = Receiver(work, "latency")
    try:
        w = d.call("POST", "/v1/webhooks", {"url": rx.url, "events": ["key.created"]})
        since = last_seq(d)
        conn = http.client.HTTPConnection(d.host, d.port)
        for _ in range(n):
            d.call("POST", "/v1/keys", {"name": "lat"}, conn=conn)
            time.sleep(0.02)
        ts = event_times(d, since)
        if not wait_for([rx], set(ts), 60):
            raise RuntimeError("deliveries missing")
        got = rx.arrivals()
        lat = [got[i][0] - ts[i] for i in ts]
        body = json.dumps({"seq": 1, "id": "ev_" + "0" * 16, "type": "key.created",
                           "subject": {"type": "key", "id": "key_" + "0" * 16},
                           "reason": "user", "key_id": "key_" + "0" * 16, "ts": 0,
                           "data": {"name": "lat"}})
        raw = http.client.HTTPConnection("127.0.0.1", rx.port)
        sent = {}
        for i in range(n):
            rid = "raw-%d" % i
            sent[rid] = time.time() * 1000
            raw.request("POST", "/hook", body=body, headers={"webhook-id": rid,
                                                             "Content-Type": "application/json"})
            raw.getresponse().read()
            time.sleep(0.02)
        got = rx.arrivals()
        rawlat = [got[r][0] - sent[r] for r in sent]
        d.call("DELETE", "/v1/webhooks/" + w["id"])
        return lat, rawlat
    finally:
        rx.close()


def sustained(d, work, rate, seconds, hooks):
    rxs = [Receiver(work, "s%d-%d" % (hooks, i)) for i in range(hooks)]
    try:
        ws = [d.call("POST", "/v1/webhooks", {"url": r.url, "events": ["key.created"]})
              for r in rxs]
        since = last_seq(d)
        c0 = cpu_s(d.proc.pid)
        load = subprocess.run(["node", os.path.join(HERE, "load.mjs"),
                               "http://%s:%d" % (d.host, d.port), d.key, str(rate),
                               str(seconds), "16"], capture_output=True, text=True, check=True)
        sent = json.loads(load.stdout)
        ts = event_times(d, since)
        ok = wait_for(rxs, set(ts), 120)
        c1 = cpu_s(d.proc.pid)
        lost = dups = 0
        lags = []
        for r, w in zip(rxs, ws):
            got = r.arrivals()
            missing = set(ts) - set(got)
            lost += len(missing)
            if missing:  # say what the daemon thinks of them
                cursor, seen = None, 0
                while cursor is not False and seen < 200:
                    page = d.call("GET", "/v1/webhooks/%s/deliveries?limit=1000%s" % (
                        w["id"], "&cursor=" + cursor if cursor else ""))
                    for dl in page["deliveries"]:
                        if dl["event_id"] in missing:
                            print("    missing at %s: %s" % (r.url, json.dumps(dl)))
                    cursor = page["next_cursor"] or False
                    seen += 1
            dups += sum(len(v) - 1 for v in got.values())
            lags += [got[i][0] - ts[i] for i in ts if i in got]
        for w in ws:
            d.call("DELETE", "/v1/webhooks/" + w["id"])
        return {"sent": sent, "events": len(ts), "all_delivered": ok, "lost": lost,
                "duplicates": dups, "lags": lags, "cpu_s": c1 - c0,
                "deliveries": len(ts) * hooks}
    finally:
        for r in rxs:
            r.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=300)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=30)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ns-bench-events-")
    d = Daemon(["--webhook-allow-private"])
    try:
        lat, raw = latency(d, work, a.events)
        print("(a) event -> delivery, one at a time (n=%d)" % len(lat))
        print("    delivery        p50 %7.2f ms  p99 %7.2f ms" % (pct(lat, 50), pct(lat, 99)))
        print("    raw POST        p50 %7.2f ms  p99 %7.2f ms" % (pct(raw, 50), pct(raw, 99)))
        print("    ratio p50 %.2fx   target p50 <= 20 ms: %s" % (
            pct(lat, 50) / pct(raw, 50), "met" if pct(lat, 50) <= 20 else "MISSED"))
        base = sustained(d, work, a.rate, a.seconds, 0)
        res = sustained(d, work, a.rate, a.seconds, 3)
        s = res["sent"]
        print("(b) %d events/s for %d s to 3 endpoints: %d events recorded in %.1f s "
              "(%.0f/s), %d failed requests" % (a.rate, a.seconds, res["events"], s["seconds"],
                                                res["events"] / s["seconds"], s["failed"]))
        print("    lost %d, duplicates %d, all delivered: %s" % (
            res["lost"], res["duplicates"], res["all_delivered"]))
        if res["lags"]:
            print("    lag             p50 %7.2f ms  p99 %7.2f ms" % (pct(res["lags"], 50),
                                                                  pct(res["lags"], 99)))
        per_k = res["cpu_s"] / max(1, res["deliveries"]) * 1000
        base_per_k = base["cpu_s"] / max(1, base["events"]) * 1000
        print("    daemon CPU: %.3f s per 1000 deliveries; without webhooks %.3f s per 1000 "
              "events (the same load: %.1f s vs %.1f s of CPU, %.2fx)" % (
                  per_k, base_per_k, res["cpu_s"], base["cpu_s"],
                  res["cpu_s"] / max(0.001, base["cpu_s"])))
    finally:
        d.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
