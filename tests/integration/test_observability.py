"""Observability against a real daemon and a real HTTP receiver: the event log and its
filters, signed webhook deliveries for machine lifecycles with reasons, the retry rules,
endpoints that never hold each other up, deliveries that survive a SIGKILL, and
/metrics checked by promtool."""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import unittest

from harness import CLI, Daemon, DaemonTest, error_code
from webhook_receiver import Receiver, verify
from wsclient import Session, WsError


class Helpers:
    def hook(self, path, events=None, **extra):
        body = {"url": self.rx.url(path)}
        if events is not None:
            body["events"] = events
        body.update(extra)
        st, _, w = self.d.request("POST", "/v1/webhooks", body)
        self.assertEqual(st, 201, w)
        self.addCleanup(self.d.request, "DELETE", "/v1/webhooks/" + w["id"])
        return w

    def deliveries(self, wid):
        st, _, page = self.d.request("GET", "/v1/webhooks/%s/deliveries" % wid)
        self.assertEqual(st, 200, page)
        return page["deliveries"]

    def new_key(self, name="k"):
        st, _, k = self.d.request("POST", "/v1/keys", {"name": name})
        self.assertEqual(st, 201, k)
        return k


class Events(Helpers, DaemonTest):
    daemon_args = ("--webhook-allow-private",)

    def test_events_name_their_cause_and_filter(self):
        _, _, keys = self.d.request("GET", "/v1/keys")
        admin = keys["keys"][0]["id"]
        k = self.new_key("audited")
        st, _, page = self.d.request("GET", "/v1/events?type=key.created&subject=" + k["id"])
        self.assertEqual(st, 200, page)
        (ev,) = page["events"]
        self.assertEqual((ev["type"], ev["subject"], ev["reason"], ev["key_id"]),
                         ("key.created", {"type": "key", "id": k["id"]}, "user", admin))
        self.assertTrue(ev["id"].startswith("ev_") and ev["seq"] > 0 and ev["ts"] > 0, ev)
        self.assertEqual(ev["data"], {"name": "audited"})
        later = self.new_key("later")
        st, _, page = self.d.request("GET", "/v1/events?type=key.*&since_seq=%d" % ev["seq"])
        self.assertEqual([e["subject"]["id"] for e in page["events"]], [later["id"]])
        st, _, page = self.d.request("GET", "/v1/events?limit=1&type=key.*")
        self.assertEqual(len(page["events"]), 1)
        self.assertIsNotNone(page["next_cursor"])
        st, _, nxt = self.d.request("GET", "/v1/events?limit=1&type=key.*&cursor=%s" %
                                    page["next_cursor"])
        self.assertGreater(nxt["events"][0]["seq"], page["events"][0]["seq"])
        for bad in ("type=Machine", "type=a.*.b", "since_seq=-1", "since=x"):
            st, _, b = self.d.request("GET", "/v1/events?" + bad)
            self.assertEqual(st, 400, bad)

    def test_cli_lists_and_follows_events(self):
        k = self.new_key("cli-seen")
        r = self.d.cli("events", "--type", "key.created", "--subject", k["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("key.created", r.stdout)
        self.assertIn(k["id"], r.stdout)
        env = dict(os.environ, NULLSPACE_API_URL=self.d.url, NULLSPACE_API_KEY=self.d.key,
                   HOME=self.d.state_dir)
        p = subprocess.Popen([CLI, "events", "--follow", "--json", "--type", "key.*",
                              "--since-seq", "0"], env=env, stdout=subprocess.PIPE, text=True)
        try:
            first = json.loads(p.stdout.readline())
            self.assertEqual(first["type"], "key.created", "stored events come first")
            live = self.new_key("cli-live")
            while True:
                ev = json.loads(p.stdout.readline())
                if ev["subject"]["id"] == live["id"]:
                    break
        finally:
            p.kill()
            p.wait()
        r = self.d.cli("events", "--since-seq", "x")
        self.assertEqual(r.returncode, 2)

    def setUp(self):
        self.rx = Receiver()
        self.addCleanup(self.rx.close)

    def test_webhook_crud_shows_the_secret_once(self):
        w = self.hook("/crud", ["machine.*"], description="ops")
        self.assertTrue(w["secret"].startswith("whsec_"))
        st, _, got = self.d.request("GET", "/v1/webhooks/" + w["id"])
        self.assertEqual(st, 200)
        self.assertNotIn("secret", got)
        self.assertEqual((got["events"], got["enabled"], got["description"]),
                         (["machine.*"], True, "ops"))
        st, _, up = self.d.request("PATCH", "/v1/webhooks/" + w["id"],
                                   {"enabled": False, "events": ["key.created"]})
        self.assertEqual((st, up["enabled"], up["events"]), (200, False, ["key.created"]))
        st, _, b = self.d.request("POST", "/v1/webhooks/%s/test" % w["id"])
        self.assertEqual((st, error_code(b)), (409, "conflict"))
        st, _, rot = self.d.request("POST", "/v1/webhooks/%s/rotate-secret" % w["id"])
        self.assertEqual(st, 200)
        self.assertNotEqual(rot["secret"], w["secret"])
        st, _, page = self.d.request("GET", "/v1/webhooks")
        self.assertIn(w["id"], [x["id"] for x in page["webhooks"]])
        for body in ({"url": "ftp://x/"}, {"url": "http://u:p@h/"}, {"events": ["x"]},
                     {"url": self.rx.url("/"), "events": ["Machine.*"]},
                     {"url": self.rx.url("/"), "bogus": 1}):
            st, _, b = self.d.request("POST", "/v1/webhooks", body)
            self.assertEqual(st, 400, (body, b))
        st, _, b = self.d.request("GET", "/v1/webhooks/wh_nope")
        self.assertEqual((st, error_code(b)), (404, "webhook_not_found"))
        st, _, b = self.d.request("GET", "/v1/webhooks/%s/deliveries/dl_nope" % w["id"])
        self.assertEqual((st, error_code(b)), (404, "delivery_not_found"))

    def test_ping_is_signed_and_delivered(self):
        w = self.hook("/ping")
        st, _, _ = self.d.request("POST", "/v1/webhooks/%s/test" % w["id"])
        self.assertEqual(st, 202)
        def pings():
            return [r for r in self.rx.requests("/ping") if b'"webhook.ping"' in r[2]]

        self.assertTrue(self.rx.wait(pings))
        path, hdrs, body, _ = pings()[0]
        verify(w["secret"], hdrs, body)
        ev = json.loads(body)
        self.assertEqual((ev["type"], ev["id"]), ("webhook.ping", hdrs["webhook-id"]))
        with self.assertRaises(ValueError):
            verify(w["secret"], dict(hdrs, **{"webhook-id": "ev_other"}), body)
        # a rotation: for a day deliveries are signed with both secrets
        st, _, rot = self.d.request("POST", "/v1/webhooks/%s/rotate-secret" % w["id"])
        self.assertEqual(st, 200, rot)
        self.assertGreater(rot["previous_secret_expires_at"], time.time() * 1000 + 23 * 3600e3)
        self.d.request("POST", "/v1/webhooks/%s/test" % w["id"])
        self.assertTrue(self.rx.wait(lambda: len(pings()) == 2))
        _, hdrs, body, _ = pings()[1]
        self.assertEqual(len(hdrs["webhook-signature"].split()), 2, hdrs)
        verify(w["secret"], hdrs, body)  # a receiver not switched yet
        verify(rot["secret"], hdrs, body)
        from nullspace import verify_webhook  # the SDK's verifier agrees (wsclient's path)
        self.assertEqual(verify_webhook(w["secret"], hdrs, body), hdrs["webhook-id"])

    def test_machine_lifecycle_is_delivered_with_reasons(self):
        w = self.hook("/life", ["machine.*"])
        st, _, m = self.d.request("POST", "/v1/machines", {})
        self.assertEqual(st, 201, m)
        mid = m["id"]
        for op in ("hibernate", "resume"):
            st, _, r = self.d.request("POST", "/v1/machines/%s/%s" % (mid, op))
            self.assertEqual(st, 200, r)
        st, _, f = self.d.request("POST", "/v1/machines/%s/fork" % mid, {"count": 1})
        self.assertEqual(st, 201, f)
        child = f["machines"][0]["id"]
        for x in (mid, child):
            self.assertEqual(self.d.request("DELETE", "/v1/machines/" + x)[0], 200)
        st, _, t = self.d.request("POST", "/v1/machines", {"timeout_s": 1})
        self.assertEqual(st, 201, t)

        def states(m):
            return [(e["type"], e["reason"]) for e in self.rx.events("/life")
                    if e["subject"]["id"] == m]

        self.assertTrue(self.rx.wait(lambda: ("machine.destroyed", "timeout") in states(t["id"])),
                        states(t["id"]))
        self.assertTrue(self.rx.wait(lambda: ("machine.destroyed", "user") in states(mid)))
        want = ["machine.creating", "machine.running", "machine.hibernating", "machine.hibernated",
                "machine.resuming", "machine.running", "machine.forking", "machine.resuming",
                "machine.running",
                "machine.destroying", "machine.destroyed"]
        self.assertEqual([s for s, _ in states(mid)], want)
        self.assertEqual({r for _, r in states(mid)}, {"user"}, states(mid))
        self.assertIn(("machine.running", "user"), states(child))
        for _, hdrs, body, _ in self.rx.requests("/life"):
            verify(w["secret"], hdrs, body)
        ids = [e["id"] for e in self.rx.events("/life")]
        self.assertEqual(len(ids), len(set(ids)), "each event delivered once here")

    def test_retries_follow_the_status(self):
        self.rx.script["/flaky"] = [500, 500, 200]
        self.rx.script["/bad"] = [400]
        flaky = self.hook("/flaky", ["key.created"])
        bad = self.hook("/bad", ["key.created"])
        self.new_key("retry-me")

        def settled(wid, state):
            d = self.deliveries(wid)
            return d and d[0]["state"] == state and d[0]

        self.assertTrue(self.rx.wait(lambda: settled(flaky["id"], "delivered"), 30))
        d = settled(flaky["id"], "delivered")
        self.assertEqual([a["status"] for a in d["attempt_log"]], [500, 500, 200])
        gaps = [b["at"] - a["at"] for a, b in zip(d["attempt_log"], d["attempt_log"][1:])]
        self.assertTrue(800 <= gaps[0] <= 1500 and 4000 <= gaps[1] <= 6500, gaps)
        self.assertTrue(self.rx.wait(lambda: settled(bad["id"], "failed")))
        b = settled(bad["id"], "failed")
        self.assertEqual([a["status"] for a in b["attempt_log"]], [400], "a 400 is not retried")
        self.assertEqual(b["attempt_log"][0]["response"], '{"ok":true}')
        self.rx.script["/bad"] = [200]
        st, _, r = self.d.request("POST", "/v1/webhooks/%s/deliveries/%s/redeliver" %
                                  (bad["id"], b["id"]))
        self.assertEqual((st, r["state"]), (202, "pending"))
        self.assertTrue(self.rx.wait(lambda: settled(bad["id"], "delivered")))
        ids = {h["webhook-id"] for _, h, _, _ in self.rx.requests("/bad")}
        self.assertEqual(len(ids), 1, "a redelivery carries the same webhook-id")

    def test_a_hanging_endpoint_never_delays_another(self):
        self.rx.script["/hang"] = ["hang"]
        self.hook("/hang", ["key.created"])
        self.hook("/fast", ["key.created"])
        t0 = time.time()
        for i in range(40):
            self.new_key("k%d" % i)
        self.assertTrue(self.rx.wait(lambda: len(self.rx.requests("/fast")) == 40, 10))
        took = self.rx.requests("/fast")[-1][3] - t0
        self.assertLess(took, 5, "the fast endpoint waited on the hanging one")
        self.assertEqual(len(self.rx.requests("/hang")), 32, "at most 32 in flight per endpoint")


class Monitor(DaemonTest):
    daemon_args = ("--metrics-interval-ms", "200")

    def setUp(self):
        st, _, m = self.d.request("POST", "/v1/machines", {})
        self.assertEqual(st, 201, m)
        self.mid = m["id"]
        self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + self.mid)

    def test_websocket_samples_at_the_interval_and_carries_events(self):
        s = Session(self.d, timeout=20)
        self.addCleanup(s.close)
        r = s.call("monitor.subscribe", machines=[self.mid], interval_ms=250)
        self.assertEqual(r["interval_ms"], 250)
        samples = []
        while len(samples) < 6:
            msg = s.next()
            if msg["type"] == "monitor" and "sample" in msg:
                samples.append(msg["sample"])
        self.assertEqual({x["machine"] for x in samples}, {self.mid})
        for x in samples:
            self.assertGreater(x["memory_bytes"], 0, x)
            self.assertGreater(x["cpu_ns"], 0, x)
            self.assertGreaterEqual(x["net_rx_bytes"], 0, x)
        self.assertIsNotNone(samples[-1]["cpu_percent"])
        span = samples[-1]["ts"] - samples[1]["ts"]
        self.assertTrue(4 * 250 * 0.8 <= span <= 4 * 250 * 3, span)
        st, _, _ = self.d.request("POST", "/v1/machines/%s/hibernate" % self.mid)
        self.assertEqual(st, 200)
        seen = []
        while "machine.hibernated" not in seen:
            msg = s.next()
            if msg["type"] == "monitor" and "event" in msg:
                seen.append(msg["event"]["type"])
        self.assertEqual(seen, ["machine.hibernating", "machine.hibernated"])
        st, _, _ = self.d.request("POST", "/v1/machines/%s/resume" % self.mid)
        self.assertEqual(st, 200)
        st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % self.mid,
                                  {"cmd": "echo hi; exit 3"})
        self.assertEqual((st, r["exit_code"]), (200, 3), r)
        st, _, bg = self.d.request("POST", "/v1/machines/%s/processes" % self.mid,
                                   {"cmd": "sleep 60", "tag": "napper"})
        self.assertEqual(st, 201, bg)
        st, _, _ = self.d.request("POST", "/v1/machines/%s/processes/napper/signal" % self.mid,
                                  {"signal": "KILL"})
        notes = []
        while not any(n["event"] == "process.exit" and n["background"] for n in notes):
            msg = s.next()
            if msg["type"] == "monitor" and "process" in msg:
                notes.append(msg["process"])
        fg = [n for n in notes if not n["background"]]
        self.assertEqual([(n["event"], n.get("exit_code")) for n in fg],
                         [("process.start", None), ("process.exit", 3)], notes)
        self.assertEqual(fg[0]["cmd"], "echo hi; exit 3")
        back = [n for n in notes if n["background"]]
        self.assertEqual([(n["event"], n["tag"]) for n in back],
                         [("process.start", "napper"), ("process.exit", "napper")])
        self.assertEqual((back[1]["exit_code"], back[1]["signal"]), (137, 9))
        self.assertEqual({n["machine"] for n in notes}, {self.mid})
        for bad in ({"interval_ms": 5}, {"machines": "x"}, {"bogus": 1}):
            with self.assertRaises(WsError):
                s.call("monitor.subscribe", **bad)

    def test_progress_of_a_checkpoint(self):
        st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % self.mid, {
            "cmd": "head -c 300000000 /dev/urandom > /dev/shm/fill && echo ok"})
        self.assertEqual((st, r["stdout"]), (200, "ok\n"), r)
        s = Session(self.d, timeout=60)
        self.addCleanup(s.close)
        s.call("monitor.subscribe", machines=[self.mid], interval_ms=100)
        done = []
        t = threading.Thread(target=lambda: done.append(
            self.d.request("POST", "/v1/machines/%s/hibernate" % self.mid)[0]))
        t.start()
        progress, seen = [], []
        while "machine.hibernated" not in seen:
            msg = s.next()
            if msg["type"] == "monitor" and "progress" in msg:
                progress.append(msg["progress"])
            elif msg["type"] == "monitor" and "event" in msg:
                seen.append(msg["event"]["type"])
        t.join()
        self.assertEqual(done, [200])
        self.assertTrue(progress, "a 300 MB checkpoint reports its progress")
        self.assertEqual({(p["id"], p["operation"]) for p in progress}, {(self.mid, "hibernate")})
        sizes = [p["bytes_done"] for p in progress]
        self.assertEqual(sizes, sorted(sizes), "bytes only grow")
        self.assertTrue(all("elapsed_ms" in p for p in progress))

    def test_sse_and_the_series(self):
        c = self.d.conn(timeout=20)
        c.request("GET", "/v1/monitor?interval_ms=200&machines=" + self.mid,
                  headers={"Authorization": "Bearer " + self.d.key})
        r = c.getresponse()
        self.assertEqual((r.status, r.getheader("Content-Type")), (200, "text/event-stream"))
        got = []
        while len(got) < 3:
            line = r.fp.readline().decode()
            if line.startswith("data: "):
                got.append(json.loads(line[6:]))
        c.close()
        self.assertEqual({g["machine"] for g in got}, {self.mid})
        time.sleep(1.2)
        st, _, ser = self.d.request("GET", "/v1/machines/%s/metrics?since=0" % self.mid)
        self.assertEqual((st, ser["interval_ms"], ser["capacity"]), (200, 200, 720), ser)
        ts = [p["ts"] for p in ser["points"]]
        self.assertGreaterEqual(len(ts), 4)
        self.assertEqual(ts, sorted(ts))
        st, _, later = self.d.request("GET", "/v1/machines/%s/metrics?since=%d" % (self.mid, ts[-2]))
        self.assertEqual([p["ts"] for p in later["points"]][:1], ts[-1:])
        st, _, b = self.d.request("GET", "/v1/monitor?interval_ms=1")
        self.assertEqual(st, 400)


class Private(unittest.TestCase):
    def test_private_targets_are_refused_without_the_flag(self):
        d = Daemon().start()
        try:
            st, _, b = d.request("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/x"})
            self.assertEqual((st, error_code(b)), (400, "invalid_field"))
            self.assertIn("--webhook-allow-private", b["error"]["message"])
            # a host that resolves to loopback (127.1) is refused when the request is sent
            st, _, w = d.request("POST", "/v1/webhooks", {"url": "http://127.1:9/x"})
            self.assertEqual(st, 201, w)
            d.request("POST", "/v1/webhooks/%s/test" % w["id"])
            deadline = time.time() + 10
            while time.time() < deadline:
                dl = d.request("GET", "/v1/webhooks/%s/deliveries" % w["id"])[2]["deliveries"]
                if dl and dl[0]["state"] == "failed":
                    break
                time.sleep(0.1)
            self.assertEqual(dl[0]["state"], "failed", dl)
            self.assertIn("private", dl[0]["attempt_log"][0]["error"])
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


class Durability(Helpers, unittest.TestCase):
    def test_sigkill_with_pending_deliveries_loses_none(self):
        self.rx = Receiver()
        self.addCleanup(self.rx.close)
        self.rx.script["/slow"] = ["hang"]
        self.d = d = Daemon(["--webhook-allow-private"]).start()
        self.addCleanup(d.cleanup)
        st, _, w = d.request("POST", "/v1/webhooks", {"url": self.rx.url("/slow"),
                                                      "events": ["key.created"]})
        self.assertEqual(st, 201, w)
        made = {self.new_key("d%d" % i)["id"] for i in range(200)}
        self.assertTrue(self.rx.wait(lambda: len(self.rx.requests("/slow")) >= 32))
        d.stop(signal.SIGKILL)
        self.rx.script["/slow"] = [200]
        d.start()
        self.assertTrue(self.rx.wait(lambda: {json.loads(b)["subject"]["id"] for p, _, b, _ in
                                              self.rx.requests("/slow")} >= made, 60))
        ok = [json.loads(b) for p, _, b, _ in self.rx.requests("/slow")]
        by_id = {}
        for e in ok:
            by_id.setdefault(e["id"], set()).add(e["subject"]["id"])
        self.assertTrue(all(len(v) == 1 for v in by_id.values()),
                        "a duplicate always carries the same event ID")
        self.assertEqual(d.stop(), 0)


    def test_endpoints_with_different_backlogs_after_a_restart(self):
        """The first pump after a restart sends 32 events to each of two endpoints whose
        backlogs start at different events (64 distinct events in one pump): none is
        dropped."""
        self.rx = Receiver()
        self.addCleanup(self.rx.close)
        self.rx.script["/a"] = ["hang"]
        self.rx.script["/c"] = ["hang"]
        self.d = d = Daemon(["--webhook-allow-private"]).start()
        self.addCleanup(d.cleanup)
        for path, keys in (("/a", 60), ("/c", 0)):
            st, _, w = d.request("POST", "/v1/webhooks", {"url": self.rx.url(path),
                                                          "events": ["key.created"]})
            self.assertEqual(st, 201, w)
            if keys:
                first = {self.new_key("a%d" % i)["id"] for i in range(keys)}
        later = {self.new_key("c%d" % i)["id"] for i in range(90)}
        self.assertTrue(self.rx.wait(lambda: len(self.rx.requests("/a")) >= 32 and
                                     len(self.rx.requests("/c")) >= 32))
        d.stop(signal.SIGKILL)
        self.rx.script["/a"] = [200]
        self.rx.script["/c"] = [200]
        d.start()

        def got(p):
            return {json.loads(b)["subject"]["id"] for _, _, b, _ in self.rx.requests(p)}

        self.assertTrue(self.rx.wait(lambda: got("/a") >= first | later and got("/c") >= later,
                                     60),
                        (len((first | later) - got("/a")), len(later - got("/c"))))
        self.assertEqual(d.stop(), 0)


class Prometheus(DaemonTest):
    daemon_args = ("--metrics-listen", "127.0.0.1:0")

    def test_the_metrics_listener_needs_no_key_and_serves_nothing_else(self):
        import re
        import http.client
        addr = re.search(r"msg=metrics_listening addr=([0-9.]+):(\d+)", self.d.read_log())
        self.assertIsNotNone(addr, self.d.read_log()[-2000:])
        c = http.client.HTTPConnection(addr.group(1), int(addr.group(2)), timeout=10)
        c.request("GET", "/metrics")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertIn(b"nullspace_machines{", r.read())
        c.request("GET", "/v1/machines")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 404, "only /metrics is served there")
        c.close()

    @unittest.skipUnless(shutil.which("promtool"), "promtool (Debian prometheus) is missing")
    def test_metrics_pass_promtool(self):
        self.d.request("GET", "/v1/machines")
        self.d.request("GET", "/v1/nope")
        st, hdrs, body = self.d.request("GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/plain; version=0.0.4"))
        text = body.decode()
        for name in ("nullspace_machines{", "nullspace_http_requests_total{",
                     "nullspace_machine_operation_duration_seconds_bucket",
                     "nullspace_webhook_deliveries_total", "nullspace_store_write_duration_seconds",
                     "nullspace_agent_channels_open", "nullspace_events_total"):
            self.assertIn(name, text)
        self.assertIn('route="/v1/machines",method="GET",status="200"', text)
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st, _, _ = self.d.request("GET", "/metrics", key=False)
        self.assertEqual(st, 401, "metrics need a key on the API port")


if __name__ == "__main__":
    unittest.main()
