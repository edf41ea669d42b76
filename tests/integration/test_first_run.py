"""The first run on a cold host: a daemon whose cache directory is empty builds the base
template (debootstrap) and the VM guest at start-up, says how far it is in /readyz and
/v1/info, and the first `nullspace machines create` waits for it with a real progress
line, then the machine runs commands. A CLI that gives up says request_timeout, not
connection_failed. CI's shared cache is always warm: this test is what proves a fresh
host works."""

import json
import os
import pty
import select
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from harness import CLI, Daemon, assert_clean_exit


def read_pty(fd, sink, stop):
    """Collects what a process writes to its terminal until it closes it."""
    while not stop.is_set():
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            return
        if not data:
            return
        sink.append(data.decode(errors="replace"))


class FirstRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cache = tempfile.mkdtemp(prefix="ns-cold-cache-")
        # the daemon's defaults, warm pool of base machines included
        cls.d = Daemon(env={"NULLSPACE_CACHE_DIR": cls.cache}, base_pool=None).start()

    @classmethod
    def tearDownClass(cls):
        try:
            assert_clean_exit(cls.d)
        finally:
            shutil.rmtree(cls.cache, ignore_errors=True)

    def cli_env(self):
        env = dict(os.environ, NULLSPACE_API_URL=self.d.url, NULLSPACE_API_KEY=self.d.key,
                   HOME=self.d.state_dir)
        env.pop("NULLSPACE_STATE_DIR", None)
        return env

    def readyz(self):
        return self.d.request("GET", "/readyz", key=False)

    def test_1_start_up_builds_the_base_and_says_how_far_it_is(self):
        st, _, body = self.readyz()
        self.assertEqual(st, 503, body)
        self.assertEqual(body["status"], "preparing")
        task = body["waiting_for"][0]
        self.assertEqual((task["name"], task["state"]), ("base_template", "building"))
        self.assertEqual(task["steps"], 10)
        self.assertLessEqual(task["step"], task["steps"])
        st, _, info = self.d.request("GET", "/v1/info")
        names = [t["name"] for t in info["prepare"]]
        self.assertIn("base_template", names)
        self.assertIn("vm_guest", names)  # QEMU is installed on the hosts we test on

    def test_2_a_cli_that_gives_up_says_request_timeout(self):
        r = subprocess.run([CLI, "--timeout", "1", "machines", "create", "--metadata",
                            "by=timeout"], env=self.cli_env(), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(r.returncode, 10, r.stderr)
        self.assertIn("error: request_timeout: gave up after 1 s", r.stderr)
        self.assertIn("--timeout SECONDS", r.stderr)
        r = subprocess.run([CLI, "--json", "--timeout", "1", "machines", "create"],
                           env=self.cli_env(), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(r.returncode, 10, r.stderr)
        self.assertEqual(json.loads(r.stdout)["error"]["code"], "request_timeout")

    def test_3_first_create_waits_with_progress_then_runs_commands(self):
        master, slave = pty.openpty()
        seen, stop = [], threading.Event()
        reader = threading.Thread(target=read_pty, args=(master, seen, stop))
        reader.start()
        try:
            p = subprocess.run([CLI, "machines", "create"], env=self.cli_env(),
                               stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                               text=True, timeout=900)
        finally:
            os.close(slave)
            time.sleep(0.3)
            stop.set()
            reader.join()
            os.close(master)
        shown = "".join(seen)
        self.assertEqual(p.returncode, 0, shown[-2000:])
        self.assertRegex(shown, r"building the base template: step \d+/10 [a-z ]+")
        mid = p.stdout.split()[0]
        self.assertTrue(mid.startswith("m_"), p.stdout)
        r = subprocess.run([CLI, "machines", "exec", mid, "--", "sh", "-c", "echo cold-$((6*7))"],
                           env=self.cli_env(), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=120)
        self.assertEqual((r.returncode, r.stdout), (0, "cold-42\n"), r.stderr)
        st, _, body = self.readyz()
        self.assertEqual((st, body["status"]), (200, "ready"))
        # the create that timed out on the client went on and ran too
        deadline = time.time() + 120
        while True:
            st, _, page = self.d.request("GET", "/v1/machines?limit=100")
            by = [m["state"] for m in page["machines"] if m["metadata"].get("by") == "timeout"]
            if by != ["creating"] or time.time() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(by, ["running"])
        # then the base template's warm pool fills, and a create takes a member
        while time.time() < deadline:
            pool = self.d.request("GET", "/v1/info")[2]["base_pool"]
            if pool["ready"] == 2:
                break
            time.sleep(0.5)
        self.assertEqual(pool, {"size": 2, "ready": 2, "creating": 0})
        st, _, m = self.d.request("POST", "/v1/machines", body={"pool": "require"})
        self.assertEqual((st, m.get("checkout")), (201, "pool"), m)

    def test_4_the_vm_guest_is_prepared_too(self):
        deadline = time.time() + 300
        while time.time() < deadline:
            st, _, info = self.d.request("GET", "/v1/info")
            guest = [t for t in info["prepare"] if t["name"] == "vm_guest"][0]
            if guest["state"] != "building":
                break
            time.sleep(1)
        self.assertEqual(guest["state"], "ready", guest)
        self.assertTrue(os.path.exists(os.path.join(self.cache, "vm", "vmlinuz")))


if __name__ == "__main__":
    unittest.main()
