"""Fork, snapshots and the layers under them, on real gVisor machines: children start
from the parent's exact state and diverge, data survives hibernate cycles and forks of
resumed machines, snapshots spawn any number of machines, and a daemon killed in the
middle of a checkpoint loses nothing."""

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Daemon, DaemonTest, error_code

# the counter is replaced, never truncated: a reader never sees it empty
COUNTER = ("(i=0; while true; do i=$((i+1)); echo $i > /root/counter.new; "
           "mv /root/counter.new /root/counter; sleep 0.1; done) >/dev/null 2>&1 &")


def layer_dirs(d):
    return sorted(os.listdir(os.path.join(d.state_dir, "layers")))


def wait_until(pred, timeout=20, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


class Helpers:
    def req(self, method, path, body=None, d=None):
        return (d or self.d).request(method, path, body=body)

    def run_cmd(self, mid, cmd, d=None):
        st, _, r = self.req("POST", "/v1/machines/%s/exec" % mid, {"cmd": cmd}, d)
        if (st, r.get("exit_code")) != (200, 0):  # say what the daemon saw of it
            _, _, m = self.req("GET", "/v1/machines/" + mid, None, d)
            log = [l for l in (d or self.d).read_log().splitlines() if mid in l]
            self.fail("%s: %s %r\nmachine now: %r\ndaemon log of it:\n%s" %
                      (cmd, st, r, m, "\n".join(log[-40:])))
        return r["stdout"]

    def create(self, d=None, **body):
        st, _, m = self.req("POST", "/v1/machines", body, d)
        self.assertEqual(st, 201, m)
        return m["id"]

    def fork(self, mid, count=1, d=None):
        st, _, r = self.req("POST", "/v1/machines/%s/fork" % mid, {"count": count}, d)
        self.assertEqual(st, 201, r)
        return r


class Fork(Helpers, DaemonTest):
    def test_children_start_from_the_parent_and_diverge(self):
        mid = self.create(metadata={"team": "a"})
        self.run_cmd(mid, "echo parent > /root/file; " + COUNTER)
        time.sleep(0.5)
        before = int(self.run_cmd(mid, "cat /root/counter"))
        r = self.fork(mid, 2)
        self.assertGreater(r["parent_pause_ms"], 0)
        kids = [k["id"] for k in r["machines"]]
        self.assertEqual(len(set(kids)), 2)
        for k in r["machines"]:
            self.assertEqual((k["state"], k["parent_id"]), ("running", mid), k)
            self.assertEqual(k["metadata"], {"team": "a"})
        ids = {}
        for m in kids + [mid]:
            out = self.run_cmd(m, "cat /root/file /root/counter; hostname; cat /etc/hostname "
                                  "/etc/machine-id; head -c 16 /dev/urandom | od -An -tx1")
            lines = out.split("\n")
            self.assertEqual(lines[0], "parent")
            self.assertGreaterEqual(int(lines[1]), before, "the counter went on from its value")
            self.assertEqual(lines[2:4], [m, m], "each machine has its own hostname")
            ids[m] = (lines[4], lines[5])
        self.assertEqual(len({v[0] for v in ids.values()}), 3, "fresh /etc/machine-id each")
        self.assertEqual(len({v[1] for v in ids.values()}), 3, "random streams differ")
        # the processes go on in every machine independently
        time.sleep(0.4)
        for m in kids + [mid]:
            self.assertGreater(int(self.run_cmd(m, "cat /root/counter")), before + 2)
        # writes diverge
        self.run_cmd(kids[0], "echo child0 > /root/file")
        self.run_cmd(mid, "echo parent2 > /root/file; echo new > /root/only-parent")
        self.assertEqual(self.run_cmd(kids[0], "cat /root/file"), "child0\n")
        self.assertEqual(self.run_cmd(kids[1], "cat /root/file"), "parent\n")
        self.assertEqual(self.run_cmd(mid, "cat /root/file"), "parent2\n")
        st, _, b = self.req("POST", "/v1/machines/%s/exec" % kids[1],
                            {"cmd": "cat /root/only-parent"})
        self.assertNotEqual(b["exit_code"], 0)
        # lineage
        st, _, p = self.req("GET", "/v1/machines/" + mid)
        self.assertEqual((p["parent_id"], sorted(p["children"])), (None, sorted(kids)))
        st, _, evs = self.req("GET", "/v1/machines/%s/events?limit=100" % mid)
        states = [e["data"]["state"] for e in evs["events"]]
        self.assertEqual(states[-3:], ["forking", "resuming", "running"])
        # one sealed layer under all three, each with its own writable layer
        self.assertEqual(len(layer_dirs(self.d)), 1)
        uppers = {os.stat(os.path.join(self.d.state_dir, "machines", m, "upper")).st_ino
                  for m in kids + [mid]}
        self.assertEqual(len(uppers), 3)
        # a child of a child stacks one more layer
        gk = self.fork(kids[0])["machines"][0]["id"]
        self.assertEqual(self.run_cmd(gk, "cat /root/file"), "child0\n")
        self.assertEqual(len(layer_dirs(self.d)), 2)
        for m in [gk] + kids + [mid]:
            self.assertEqual(self.req("DELETE", "/v1/machines/" + m)[0], 200)
        self.assertTrue(wait_until(lambda: layer_dirs(self.d) == []), layer_dirs(self.d))
        self.assertEqual(os.listdir(os.path.join(self.d.state_dir, "images")), [])

    def test_data_survives_hibernate_cycles_and_a_fork_of_a_resumed_machine(self):
        mid = self.create(auto_resume=False)
        for cycle in range(5):
            self.run_cmd(mid, "echo %d > /root/cycle-%d" % (cycle, cycle))
            st, _, h = self.req("POST", "/v1/machines/%s/hibernate" % mid)
            self.assertEqual((st, h["state"]), (200, "hibernated"), h)
            st, _, h = self.req("POST", "/v1/machines/%s/resume" % mid)
            self.assertEqual((st, h["state"]), (200, "running"), h)
            out = self.run_cmd(mid, "cat /root/cycle-*").split()
            self.assertEqual(out, [str(i) for i in range(cycle + 1)], "after resume %d" % cycle)
        kid = self.fork(mid)["machines"][0]["id"]
        want = [str(i) for i in range(5)]
        for m in (mid, kid):
            self.assertEqual(self.run_cmd(m, "cat /root/cycle-*").split(), want)
        # and once more through hibernate on both sides of the fork
        for m in (mid, kid):
            self.run_cmd(m, "echo %s > /root/after-fork" % m)
            self.assertEqual(self.req("POST", "/v1/machines/%s/hibernate" % m)[0], 200)
            self.assertEqual(self.req("POST", "/v1/machines/%s/resume" % m)[0], 200)
            self.assertEqual(self.run_cmd(m, "cat /root/cycle-* /root/after-fork").split(),
                             want + [m])
        # a hibernated parent is woken to be forked (auto-resume)
        self.assertEqual(self.req("POST", "/v1/machines/%s/hibernate" % kid)[0], 200)
        st, _, r = self.req("POST", "/v1/machines/%s/fork" % kid)
        self.assertEqual(st, 409, "auto_resume is off for this machine (inherited)")
        self.assertEqual(error_code(r), "machine_not_running")

    def test_fork_refuses_bad_input_and_busy_machines(self):
        mid = self.create()
        for body in ({"count": 0}, {"count": 17}, {"count": "2"}, {"bogus": 1}):
            st, _, r = self.req("POST", "/v1/machines/%s/fork" % mid, body)
            self.assertEqual(st, 400, body)
        st, _, r = self.req("POST", "/v1/machines/m_0000000000000000/fork", {})
        self.assertEqual((st, error_code(r)), (404, "machine_not_found"))
        done = threading.Event()

        def slow():
            self.req("POST", "/v1/machines/%s/exec" % mid, {"cmd": "sleep 2"})
            done.set()
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.5)
        st, _, r = self.req("POST", "/v1/machines/%s/fork" % mid, {"count": 1})
        self.assertEqual((st, error_code(r)), (409, "machine_busy"))
        t.join()
        self.assertTrue(done.is_set())
        self.assertEqual(self.req("GET", "/v1/machines/" + mid)[2]["state"], "running")
        # a hibernated machine with auto_resume is woken to be forked
        self.assertEqual(self.req("POST", "/v1/machines/%s/hibernate" % mid)[0], 200)
        kid = self.fork(mid)["machines"][0]["id"]
        self.assertEqual(self.req("GET", "/v1/machines/" + mid)[2]["state"], "running")
        self.run_cmd(kid, "true")


class Snapshots(Helpers, DaemonTest):
    def test_snapshot_spawns_many_machines_and_guards_deletion(self):
        mid = self.create(env={"FROM": "snap"})
        self.run_cmd(mid, "echo snapped > /root/file; " + COUNTER)
        time.sleep(0.3)
        st, _, s = self.req("POST", "/v1/machines/%s/snapshots" % mid, {"name": "warm"})
        self.assertEqual((st, s["state"], s["name"], s["machine_id"]), (201, "ready", "warm", mid))
        self.assertGreater(s["size_bytes"], 0)
        self.assertEqual(self.req("GET", "/v1/machines/" + mid)[2]["state"], "running")
        self.run_cmd(mid, "echo later > /root/file")  # not in the snapshot
        st, _, lst = self.req("GET", "/v1/snapshots")
        self.assertIn(s["id"], [x["id"] for x in lst["snapshots"]])
        self.assertEqual(self.req("GET", "/v1/snapshots/" + s["id"])[2]["id"], s["id"])
        spawned = []
        for _ in range(2):
            st, _, m = self.req("POST", "/v1/machines", {"snapshot": s["id"]})
            self.assertEqual((st, m["state"], m["snapshot_id"]), (201, "running", s["id"]), m)
            spawned.append(m["id"])
            out = self.run_cmd(m["id"], "cat /root/file; hostname; echo $FROM; sleep 0.3; "
                                        "cat /root/counter").split()
            self.assertEqual(out[:3], ["snapped", m["id"], "snap"])
            self.assertGreater(int(out[3]), 1, "the snapshot's processes run on")
        # the source machine can go; the snapshot keeps what it needs
        self.assertEqual(self.req("DELETE", "/v1/machines/" + mid)[0], 200)
        st, _, r = self.req("DELETE", "/v1/snapshots/" + s["id"])
        self.assertEqual((st, error_code(r)), (409, "snapshot_in_use"))
        for m in spawned:
            self.req("DELETE", "/v1/machines/" + m)
        st, _, m = self.req("POST", "/v1/machines", {"snapshot": s["id"]})
        self.assertEqual(self.run_cmd(m["id"], "cat /root/file"), "snapped\n")
        self.req("DELETE", "/v1/machines/" + m["id"])
        st, _, _ = self.req("DELETE", "/v1/snapshots/" + s["id"])
        self.assertEqual(st, 204)
        st, _, r = self.req("GET", "/v1/snapshots/" + s["id"])
        self.assertEqual((st, error_code(r)), (404, "snapshot_not_found"))
        st, _, r = self.req("POST", "/v1/machines", {"snapshot": s["id"]})
        self.assertEqual((st, error_code(r)), (404, "snapshot_not_found"))
        self.assertTrue(wait_until(lambda: layer_dirs(self.d) == []), layer_dirs(self.d))
        self.assertTrue(wait_until(
            lambda: os.listdir(os.path.join(self.d.state_dir, "snapshots")) == []))

    def test_snapshot_input_is_checked(self):
        mid = self.create()
        st, _, r = self.req("POST", "/v1/machines/%s/snapshots" % mid, {"name": "x" * 200})
        self.assertEqual(st, 400)
        st, _, r = self.req("POST", "/v1/machines", {"snapshot": 5})
        self.assertEqual(st, 400)
        st, _, r = self.req("DELETE", "/v1/snapshots/s_0000000000000000")
        self.assertEqual((st, error_code(r)), (404, "snapshot_not_found"))
        st, _, r = self.req("GET", "/v1/snapshots?limit=0")
        self.assertEqual(st, 400)


class Crashes(Helpers, unittest.TestCase):
    """SIGKILL of the daemon while a machine is paused: after a restart every machine is
    running, hibernated, or failed with a reason, and no two share a writable layer."""

    def kill_during(self, d, mid, path, paused_state, body=None, delay=0):
        result = {}

        def call():
            try:
                result["r"] = d.request("POST", path, body=body)
            except Exception as e:  # the daemon dies under the request
                result["err"] = e
        t = threading.Thread(target=call)
        t.start()
        self.assertTrue(wait_until(
            lambda: d.request("GET", "/v1/machines/" + mid)[2]["state"] == paused_state,
            timeout=10, step=0.005), "never saw " + paused_state)
        time.sleep(delay)  # 0: before the checkpoint starts; later: in the middle of it
        d.proc.send_signal(signal.SIGKILL)
        d.stop()
        t.join()

    def check_after_restart(self, d):
        st, _, page = d.request("GET", "/v1/machines?limit=1000")
        uppers = set()
        for m in page["machines"]:
            self.assertIn(m["state"], ("running", "hibernated", "failed"), m)
            if m["state"] == "failed":
                self.assertTrue(m["failure_reason"], m)
                continue
            up = os.stat(os.path.join(d.state_dir, "machines", m["id"], "upper")).st_ino
            self.assertNotIn(up, uppers, "two machines share a writable layer")
            uppers.add(up)
            self.assertIn("kept", self.run_cmd(m["id"], "cat /root/kept", d))
        return page["machines"]

    def test_kill_during_hibernate_and_fork(self):
        d = Daemon().start()
        try:
            mid = self.create(d)
            self.run_cmd(mid, "echo kept > /root/kept", d)
            self.kill_during(d, mid, "/v1/machines/%s/hibernate" % mid, "hibernating")
            d.start()
            ms = self.check_after_restart(d)
            self.assertEqual(len(ms), 1)
            self.assertEqual(self.req("GET", "/v1/machines/" + mid, d=d)[2]["state"], "running")
            for delay in (0, 0.08):
                self.kill_during(d, mid, "/v1/machines/%s/fork" % mid, "forking", {"count": 2},
                                 delay)
                d.start()
                ms = self.check_after_restart(d)
                parent = [m for m in ms if m["id"] == mid][0]
                self.assertIn(parent["state"], ("running", "hibernated"), parent)
            # the layers on disk are exactly those still referred to
            live = [m["id"] for m in ms if m["state"] != "failed"]
            self.assertTrue(live)
            kid = self.fork(live[0], d=d)["machines"][0]["id"]
            self.assertEqual(self.run_cmd(kid, "cat /root/kept", d), "kept\n")
            # and during a resume
            self.assertEqual(self.req("POST", "/v1/machines/%s/hibernate" % kid, d=d)[0], 200)
            self.kill_during(d, kid, "/v1/machines/%s/resume" % kid, "resuming")
            d.start()
            self.check_after_restart(d)
            st, _, k = self.req("GET", "/v1/machines/" + kid, d=d)
            self.assertIn(k["state"], ("running", "hibernated"), k)
            d.destroy_all_machines()
            self.assertTrue(wait_until(lambda: layer_dirs(d) == []), layer_dirs(d))
            self.assertEqual(d.stop(), 0)
        finally:
            if os.environ.get("NS_KEEP_LOG"):
                print(d.read_log()[-8000:])
            d.cleanup()


class SmallDisk(Helpers):
    """A daemon whose state directory is a small tmpfs, and a machine holding memory."""

    @contextlib.contextmanager
    def daemon_on_tmpfs(self, size_mb):
        state = tempfile.mkdtemp(prefix="ns-full-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mb, "tmpfs", state],
                       check=True)
        d = Daemon(state_dir=state)
        try:
            d.start()
            yield d
            d.destroy_all_machines()
            self.assertEqual(d.stop(), 0)
        finally:
            if os.environ.get("NS_KEEP_LOG"):
                print(d.read_log()[-6000:])
            d.cleanup()
            subprocess.run(["umount", "-l", state])
            os.rmdir(state)

    def hold_memory(self, mid, mib, d, timeout=20):
        """Writes /root/kept and starts a process holding `mib` MiB of random bytes."""
        self.run_cmd(mid, "echo kept > /root/kept; (python3 -c 'import os,time; "
                          "b=os.urandom(%d<<20); open(\"/root/ready\",\"w\").close(); "
                          "time.sleep(3600)' >/dev/null 2>&1 &)" % mib, d)
        self.assertTrue(wait_until(lambda: self.req(
            "POST", "/v1/machines/%s/exec" % mid, {"cmd": "test -e /root/ready"},
            d)[2]["exit_code"] == 0, timeout))


class DiskFull(SmallDisk, unittest.TestCase):
    """Checkpoints go to the state directory; when its disk is full the hibernate fails
    with no_space and the machine keeps running with its processes."""

    def test_hibernate_on_a_full_disk_keeps_the_machine_running(self):
        with self.daemon_on_tmpfs(48) as d:
            mid = self.create(d)
            # 96 MiB of incompressible memory cannot fit in a 48 MiB state directory
            self.hold_memory(mid, 96, d)
            st, _, r = self.req("POST", "/v1/machines/%s/hibernate" % mid, d=d)
            self.assertEqual((st, error_code(r)), (507, "no_space"), r)
            self.assertEqual(self.req("GET", "/v1/machines/" + mid, d=d)[2]["state"], "running")
            self.assertEqual(self.run_cmd(mid, "cat /root/kept; pgrep -c python3", d).split(),
                             ["kept", "1"])
            st, _, r = self.req("POST", "/v1/machines/%s/fork" % mid, {"count": 1}, d)
            self.assertEqual((st, error_code(r)), (507, "no_space"), r)
            self.assertEqual(self.run_cmd(mid, "cat /root/kept", d), "kept\n")


class VmDiskFull(SmallDisk, unittest.TestCase):
    """The free-space check before a checkpoint counts a VM's memory (its QEMU's): a
    hibernate that cannot fit is refused before it starts and the VM runs on."""

    def test_hibernating_a_vm_that_cannot_fit_is_refused_and_it_runs_on(self):
        with self.daemon_on_tmpfs(160) as d:
            st, _, m = self.req("POST", "/v1/machines", {"runtime": "vm"}, d)
            self.assertEqual(st, 201, m)
            mid = m["id"]
            # 192 MiB of incompressible guest memory: QEMU holds more than the disk has
            self.hold_memory(mid, 192, d, timeout=120)
            st, _, r = self.req("POST", "/v1/machines/%s/hibernate" % mid, d=d)
            self.assertEqual((st, error_code(r)), (507, "no_space"), r)
            self.assertIn("needs about", r["error"]["message"])
            self.assertEqual(self.req("GET", "/v1/machines/" + mid, d=d)[2]["state"], "running")
            self.assertEqual(self.run_cmd(mid, "cat /root/kept", d), "kept\n")


if __name__ == "__main__":
    unittest.main()
