"""Pausing real gVisor machines in memory: the sandbox's cgroup is frozen while paused
and its processes continue where they were; a PTY session stays attached across a pause
and a TCP connection through a preview survives it; an exec, a file read and a preview
request each continue a paused machine (auto_resume), and none does without it; fork,
hibernate and destroy work on a paused machine; its deadline keeps running; events."""

import http.client
import os
import time
import unittest
import urllib.parse

from harness import DaemonTest, error_code
from nettest import start_web
from wsclient import Session


def freezer_state(mid):
    for path in ("/sys/fs/cgroup/freezer/%s/freezer.state" % mid,
                 "/sys/fs/cgroup/%s/cgroup.events" % mid):
        if os.path.exists(path):
            with open(path) as f:
                text = f.read()
            return "FROZEN" if "FROZEN" in text or "frozen 1" in text else "THAWED"
    raise AssertionError("no freezer cgroup for " + mid)


class Pause(DaemonTest):
    def create(self, **body):
        st, _, m = self.d.request("POST", "/v1/machines", body=body)
        self.assertEqual(st, 201, m)
        self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + m["id"])
        return m["id"]

    def pause(self, mid):
        st, _, m = self.d.request("POST", "/v1/machines/%s/pause" % mid)
        self.assertEqual((st, m.get("state")), (200, "paused"), m)
        self.assertEqual(freezer_state(mid), "FROZEN")

    def state(self, mid):
        return self.d.request("GET", "/v1/machines/" + mid)[2]["state"]

    def exec(self, mid, cmd):
        st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % mid, {"cmd": cmd})
        return st, r

    def test_processes_stop_and_continue(self):
        mid = self.create()
        st, _, p = self.d.request("POST", "/v1/machines/%s/processes" % mid, {
            "cmd": "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done",
            "tag": "counter"})
        self.assertEqual(st, 201, p)
        time.sleep(0.5)
        self.pause(mid)
        self.assertEqual(self.d.request("POST", "/v1/machines/%s/pause" % mid)[2]["state"],
                         "paused")  # again: nothing to do
        st, _, m = self.d.request("POST", "/v1/machines/%s/resume" % mid)
        self.assertEqual((st, m["state"]), (200, "running"), m)
        self.assertEqual(freezer_state(mid), "THAWED")
        first = int(self.exec(mid, "cat /tmp/n")[1]["stdout"])
        time.sleep(0.5)
        self.assertGreater(int(self.exec(mid, "cat /tmp/n")[1]["stdout"]), first)
        st, _, ps = self.d.request("GET", "/v1/machines/%s/processes" % mid)
        self.assertTrue(any(x["pid"] == p["pid"] and x["running"] for x in ps["processes"]), ps)
        st, _, ev = self.d.request("GET", "/v1/machines/%s/events" % mid)
        types = [e["type"] for e in ev["events"]]
        self.assertIn("machine.paused", types)
        self.assertEqual(types[types.index("machine.paused") + 1], "machine.running")
        st, _, page = self.d.request("GET", "/v1/machines?state=paused")
        self.assertEqual(st, 200, page)

    def test_requests_continue_a_paused_machine(self):
        mid = self.create()
        start_web(self.d, mid)
        st, _, pv = self.d.request("POST", "/v1/machines/%s/previews" % mid,
                                   {"port": 8000, "expires_in_s": 600})
        self.assertEqual(st, 201, pv)
        self.pause(mid)
        st, r = self.exec(mid, "echo awake")
        self.assertEqual((st, r["stdout"]), (200, "awake\n"), r)
        self.assertEqual(self.state(mid), "running")
        self.pause(mid)
        st, _, body = self.d.request("GET", "/v1/machines/%s/files?path=/srv/web.py" % mid)
        self.assertEqual(st, 200)
        self.assertEqual(self.state(mid), "running")
        self.pause(mid)
        u = urllib.parse.urlsplit(pv["path_url"])
        c = http.client.HTTPConnection(self.d.host, self.d.port, timeout=30)
        c.request("GET", u.path + "ping")
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (200, b"path:/ping"))
        c.close()
        self.assertEqual(self.state(mid), "running")

    def test_without_auto_resume_requests_are_refused(self):
        mid = self.create(auto_resume=False)
        self.pause(mid)
        st, r = self.exec(mid, "true")
        self.assertEqual((st, error_code(r)), (409, "machine_not_running"), r)
        self.assertEqual(freezer_state(mid), "FROZEN")
        # explicit operations still work: fork continues the parent itself
        st, _, f = self.d.request("POST", "/v1/machines/%s/fork" % mid, {"count": 1})
        self.assertEqual(st, 201, f)
        self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + f["machines"][0]["id"])
        self.assertEqual(self.state(mid), "running")

    def test_sessions_and_connections_survive(self):
        mid = self.create()
        start_web(self.d, mid)
        st, _, pv = self.d.request("POST", "/v1/machines/%s/previews" % mid,
                                   {"port": 8000, "expires_in_s": 600})
        u = urllib.parse.urlsplit(pv["url"])
        conn = http.client.HTTPConnection(self.d.host, self.d.port, timeout=30)
        conn.request("GET", "/one", headers={"Host": u.netloc})
        r = conn.getresponse()
        self.assertEqual(r.read(), b"path:/one")
        s = Session(self.d)
        try:
            p = s.call("process.start", machine=mid, cmd="cat", pty=True)
            s.stdin(p["channel"], b"before\n")
            s.collect(p["channel"], until=lambda out: b"before\r\nbefore" in out)
            self.pause(mid)
            st, _, m = self.d.request("POST", "/v1/machines/%s/resume" % mid)
            self.assertEqual(st, 200, m)
            s.stdin(p["channel"], b"after\n")  # the same attachment: nothing detached
            out, _, end = s.collect(p["channel"], until=lambda out: b"after\r\nafter" in out)
            self.assertIsNone(end)
        finally:
            s.close()
        conn.request("GET", "/two", headers={"Host": u.netloc})  # the same connection
        r = conn.getresponse()
        self.assertEqual(r.read(), b"path:/two")
        conn.close()

    def test_hibernate_and_destroy_a_paused_machine(self):
        mid = self.create()
        self.exec(mid, "echo kept > /root/f")
        self.pause(mid)
        st, _, m = self.d.request("POST", "/v1/machines/%s/hibernate" % mid)
        self.assertEqual((st, m["state"]), (200, "hibernated"), m)
        self.assertEqual(self.exec(mid, "cat /root/f")[1]["stdout"], "kept\n")
        self.pause(mid)
        st, _, m = self.d.request("DELETE", "/v1/machines/" + mid)
        self.assertEqual(st, 200, m)
        self.assertEqual(self.state(mid), "destroyed")

    def test_deadline_runs_while_paused(self):
        mid = self.create(timeout_s=2)
        self.pause(mid)
        deadline = time.time() + 30
        while self.state(mid) != "destroyed":
            self.assertLess(time.time(), deadline)
            time.sleep(0.2)
        st, _, ev = self.d.request("GET", "/v1/machines/%s/events" % mid)
        last = ev["events"][-1]
        self.assertEqual((last["type"], last["reason"]), ("machine.destroyed", "timeout"))

    def wait_state(self, mid, want, timeout=60):
        deadline = time.time() + timeout
        while self.state(mid) != want:
            self.assertLess(time.time(), deadline, "never %s" % want)
            time.sleep(0.2)

    def test_idle_machines_pause_then_hibernate(self):
        mid = self.create(idle={"pause_after_s": 1, "hibernate_after_s": 2})
        st, _, m = self.d.request("GET", "/v1/machines/" + mid)
        self.assertEqual(m["idle"], {"pause_after_s": 1, "hibernate_after_s": 2})
        self.wait_state(mid, "paused")
        self.wait_state(mid, "hibernated")
        st, _, ev = self.d.request("GET", "/v1/machines/%s/events" % mid)
        reasons = {e["type"]: e["reason"] for e in ev["events"]}
        self.assertEqual((reasons["machine.paused"], reasons["machine.hibernated"]),
                         ("idle", "idle"), ev)
        st, r = self.exec(mid, "echo woke")  # a request wakes it, idle time restarts
        self.assertEqual((st, r["stdout"]), (200, "woke\n"), r)
        self.wait_state(mid, "paused")

    def test_sessions_keep_a_machine_awake(self):
        mid = self.create(idle={"pause_after_s": 1})
        s = Session(self.d)
        try:
            p = s.call("process.start", machine=mid, cmd="cat", pty=True)
            time.sleep(3)  # three idle checks, the session attached all along
            self.assertEqual(self.state(mid), "running")
            s.stdin(p["channel"], b"still\n")
            s.collect(p["channel"], until=lambda out: b"still\r\nstill" in out)
        finally:
            s.close()
        self.wait_state(mid, "paused")  # detached: idle again

    def test_preview_connections_keep_a_machine_awake(self):
        mid = self.create(idle={"pause_after_s": 1})
        start_web(self.d, mid)
        st, _, pv = self.d.request("POST", "/v1/machines/%s/previews" % mid,
                                   {"port": 8000, "expires_in_s": 600})
        self.assertEqual(st, 201, pv)
        u = urllib.parse.urlsplit(pv["url"])
        conn = http.client.HTTPConnection(self.d.host, self.d.port, timeout=30)
        for i in range(6):  # three idle checks with a relayed connection open
            conn.request("GET", "/%d" % i, headers={"Host": u.netloc})
            self.assertEqual(conn.getresponse().read(), b"path:/%d" % i)
            self.assertEqual(self.state(mid), "running")
            time.sleep(0.5)
        conn.close()
        self.wait_state(mid, "paused")  # closed: idle again
        conn = http.client.HTTPConnection(self.d.host, self.d.port, timeout=30)
        conn.request("GET", "/again", headers={"Host": u.netloc})  # wakes it
        self.assertEqual(conn.getresponse().read(), b"path:/again")
        conn.close()

    def test_cli_pause_and_idle_flags(self):
        import json
        r = self.d.cli("--json", "machines", "create", "--idle-pause-s", "1",
                       "--idle-hibernate-s", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = json.loads(r.stdout)
        self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + m["id"])
        self.assertEqual(m["idle"], {"pause_after_s": 1, "hibernate_after_s": 0})
        self.wait_state(m["id"], "paused")
        r = self.d.cli("machines", "resume", m["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.d.cli("--json", "machines", "pause", m["id"])
        self.assertEqual((r.returncode, json.loads(r.stdout)["state"]), (0, "paused"), r.stderr)

    def test_bad_idle_policies(self):
        for idle, code in (({"pause_after_s": -1}, "invalid_field"),
                           ({"pause_after_s": "1"}, "invalid_field"),
                           ({"sleep_after_s": 1}, "unknown_field"),
                           (5, "invalid_field")):
            st, _, r = self.d.request("POST", "/v1/machines", body={"idle": idle})
            self.assertEqual((st, error_code(r)), (400, code), idle)

    def test_bad_requests(self):
        st, _, r = self.d.request("POST", "/v1/machines/m_0000000000000000/pause")
        self.assertEqual((st, error_code(r)), (404, "machine_not_found"))
        mid = self.create()
        self.d.request("POST", "/v1/machines/%s/hibernate" % mid)
        st, _, r = self.d.request("POST", "/v1/machines/%s/pause" % mid)
        self.assertEqual((st, error_code(r)), (409, "machine_not_running"), r)


class MemoryPressure(DaemonTest):
    # a watermark above any host's memory: the host is always "short"
    daemon_args = ("--memory-watermark-mb", "100000000")
    base_pool = None

    def test_longest_paused_machines_go_to_disk_first(self):
        ids = []
        for _ in range(2):
            st, _, m = self.d.request("POST", "/v1/machines", body={})
            self.assertEqual(st, 201, m)
            self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + m["id"])
            ids.append(m["id"])
        running = ids[1]
        for mid in ids:  # the first is paused first
            st, _, m = self.d.request("POST", "/v1/machines/%s/pause" % mid)
            self.assertEqual(st, 200, m)
        deadline = time.time() + 60
        while any(self.d.request("GET", "/v1/machines/" + i)[2]["state"] != "hibernated"
                  for i in ids):
            self.assertLess(time.time(), deadline)
            time.sleep(0.2)
        st, _, ev = self.d.request("GET", "/v1/events?type=machine.hibernating")
        order = [e["subject"]["id"] for e in ev["events"] if e["subject"]["id"] in ids]
        self.assertEqual(order, ids)
        self.assertTrue(all(e["reason"] == "idle" for e in ev["events"]))
        # running machines are not touched by memory pressure, only paused ones
        st, _, m = self.d.request("POST", "/v1/machines/%s/resume" % running)
        self.assertEqual(st, 200, m)
        time.sleep(2.5)
        self.assertEqual(self.d.request("GET", "/v1/machines/" + running)[2]["state"],
                         "running")
        # the base template's warm pool gave its machines up and does not refill
        self.assertEqual(self.d.request("GET", "/v1/info")[2]["base_pool"],
                         {"size": 2, "ready": 0, "creating": 0})
        st, _, m = self.d.request("POST", "/v1/machines", body={})
        self.assertEqual(st, 201, m)
        self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + m["id"])
        self.assertIsNone(m["checkout"])


class BasePool(DaemonTest):
    """The default template keeps two machines ready, paused, by default: a default create
    takes one (its settings applied as it is taken) and the pool refills; a create the
    members do not fit starts fresh."""

    base_pool = None  # the daemon's default

    def pool(self):
        return self.d.request("GET", "/v1/info")[2]["base_pool"]

    def wait_full(self):
        deadline = time.time() + 60
        while self.pool() != {"size": 2, "ready": 2, "creating": 0}:
            self.assertLess(time.time(), deadline, self.pool())
            time.sleep(0.1)

    def create(self, **body):
        st, _, m = self.d.request("POST", "/v1/machines", body=body)
        self.assertEqual(st, 201, m)
        self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + m["id"])
        return m

    def claimed(self, mid):
        st, _, ev = self.d.request("GET", "/v1/events?type=machine.claimed")
        return [e["data"] for e in ev["events"] if e["subject"]["id"] == mid]

    def test_a_default_create_takes_a_member_and_the_pool_refills(self):
        self.wait_full()
        # members wait paused (frozen) and are nobody's: not listed
        self.assertEqual(self.d.request("GET", "/v1/machines")[2]["machines"], [])
        m = self.create(metadata={"who": "me"}, user="nobody", cwd="/tmp",
                        idle={"pause_after_s": 600}, timeout_s=120)
        self.assertEqual((m["state"], m["checkout"], m["metadata"]),
                         ("running", "pool", {"who": "me"}), m)
        self.assertEqual(m["idle"], {"pause_after_s": 600})
        self.assertEqual(freezer_state(m["id"]), "THAWED")
        self.assertEqual(self.claimed(m["id"]), [{"from": "pool", "template": "base"}])
        st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % m["id"], {"cmd": "id -un; pwd"})
        self.assertEqual((st, r["stdout"]), (200, "nobody\n/tmp\n"), r)
        listed = self.d.request("GET", "/v1/machines")[2]["machines"]
        self.assertEqual([x["id"] for x in listed], [m["id"]])
        self.assertGreater(m["timeout_at"], time.time() * 1000 + 100000)
        self.wait_full()  # refilled in the background

    def test_creates_the_members_do_not_fit_start_fresh(self):
        self.wait_full()
        for body in ({"env": {"A": "1"}}, {"memory_mb": 256}, {"pool": "skip"},
                     {"network": {"allow_internet_access": False}}):
            m = self.create(**body)
            self.assertIsNone(m["checkout"], body)
            self.assertEqual(self.claimed(m["id"]), [], body)
        self.assertEqual(self.pool()["ready"], 2)
        st, _, r = self.d.request("PUT", "/v1/templates/base/pool", {"size": 3})
        self.assertEqual((st, error_code(r)), (404, "template_not_found"), r)


class BasePoolOff(DaemonTest):

    def test_require_says_the_pool_is_empty(self):
        self.assertEqual(self.d.request("GET", "/v1/info")[2]["base_pool"],
                         {"size": 0, "ready": 0, "creating": 0})
        st, _, r = self.d.request("POST", "/v1/machines", body={"pool": "require"})
        self.assertEqual((st, error_code(r)), (409, "pool_empty"), r)


if __name__ == "__main__":
    unittest.main()
