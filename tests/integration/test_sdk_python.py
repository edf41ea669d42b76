"""The Python SDK (sdks/python) against a real daemon and real machines: configuration,
machines, commands (foreground, streamed, background), files, watch, PTY, typed errors."""

import os
import sys
import threading

from harness import DaemonTest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdks",
                                "python"))
import nullspace  # noqa: E402
from nullspace import Client, Machine, Volume  # noqa: E402
from nullspace import errors  # noqa: E402


class PythonSdk(DaemonTest):
    daemon_args = ("--webhook-allow-private", "--metrics-interval-ms", "200")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = Client(cls.d.url, cls.d.key)
        cls.m = Machine.create(client=cls.client, metadata={"sdk": "python"})

    def test_installs_offline_with_pip_and_runs(self):
        import subprocess
        import tempfile
        venv = tempfile.mkdtemp(prefix="ns-sdk-venv-")
        try:
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
            sdk = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdks",
                               "python")
            r = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--no-index", sdk],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            code = ("from nullspace import Machine; "
                    "print([m.id for m in Machine.list(state='running')])")
            r = subprocess.run([os.path.join(venv, "bin", "python"), "-c", code], cwd="/",
                               env=self.d.client_env(),
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(self.m.id, r.stdout)
        finally:
            import shutil
            shutil.rmtree(venv, ignore_errors=True)

    def test_templates_build_pool_and_machines(self):
        from nullspace import BuildFailedError, Template
        ctx = os.path.join(self.d.state_dir, "sdk-ctx")
        os.makedirs(os.path.join(ctx, "data"), exist_ok=True)
        with open(os.path.join(ctx, "data", "x.txt"), "w") as f:
            f.write("from the context\n")
        seen = []
        t = Template.build("sdk-tpl:v1", client=self.client, context=ctx,
                           dockerfile="FROM base\nCOPY data /opt/data\n"
                                      "RUN cat /opt/data/x.txt\nCMD sleep 600\n",
                           on_log=seen.append)
        self.assertEqual((t["ref"], t["start"]), ("sdk-tpl:v1", {"cmd": "sleep 600"}))
        self.assertIn("from the context", [l["text"] for l in seen])
        self.assertEqual(Template.alias("sdk-tpl:v1", "sdk-tpl", client=self.client)["ref"],
                         "sdk-tpl:latest")
        self.assertTrue({"sdk-tpl:v1", "sdk-tpl:latest"} <=
                        {x["ref"] for x in Template.list(client=self.client)})
        self.assertEqual(Template.set_pool("sdk-tpl", 1, client=self.client)["pool"]["size"], 1)
        m = Machine.create(template="sdk-tpl", client=self.client)
        try:
            self.assertIn(m.info["checkout"], ("pool", "fresh"))
            self.assertEqual(m.commands.run("cat /opt/data/x.txt; pgrep -c sleep").stdout,
                             "from the context\n1\n")
        finally:
            m.kill()
        Template.set_pool("sdk-tpl", 0, client=self.client)
        with self.assertRaises(BuildFailedError) as cm:
            Template.build("sdk-bad", steps=[{"op": "run", "cmd": "exit 5"}], client=self.client)
        self.assertIn("exit 5", cm.exception.build["error"])
        with self.assertRaises(errors.TemplateNotFoundError):
            Template.get("sdk-none", client=self.client)
        Template.delete("sdk-tpl:v1", client=self.client)
        Template.delete("sdk-tpl", client=self.client)
        # everything is younger than the cutoff: kept (layers nothing refers to any more,
        # e.g. of the deleted template, may go)
        pruned = Template.prune(older_than_s=3600, client=self.client)
        self.assertEqual({k: pruned[k] for k in ("cache_entries", "contexts", "images")},
                         {"cache_entries": 0, "contexts": 0, "images": 0})

    def test_configuration_follows_the_cli_precedence(self):
        env = dict(os.environ)
        try:
            os.environ["NULLSPACE_API_URL"] = self.d.url + "/"
            os.environ["NULLSPACE_API_KEY"] = self.d.key
            c = Client()
            self.assertEqual((c.api_url, c.api_key), (self.d.url, self.d.key))
            self.assertEqual(Client(api_key="explicit").api_key, "explicit")
            os.environ.pop("NULLSPACE_API_KEY")
            cfg = os.path.join(self.d.state_dir, "sdk-config")
            with open(cfg, "w") as f:
                f.write("# a comment\napi_key = 'from-file'\n")
            os.environ["NULLSPACE_CONFIG"] = cfg
            self.assertEqual(Client().api_key, "from-file")
        finally:
            os.environ.clear()
            os.environ.update(env)

    def test_machines_connect_list_and_typed_errors(self):
        again = Machine.connect(self.m.id, client=self.client)
        self.assertEqual((again.state, again.info["metadata"]), ("running", {"sdk": "python"}))
        self.assertIn(self.m.id, [x.id for x in Machine.list(state="running", client=self.client)])
        with self.assertRaises(errors.MachineNotFoundError) as c:
            Machine.connect("m_nope", client=self.client)
        self.assertEqual((c.exception.code, c.exception.status), ("machine_not_found", 404))
        self.assertIsInstance(c.exception, nullspace.NullspaceError)
        with self.assertRaises(errors.UnauthorizedError):
            Machine.list(client=Client(self.d.url, "wrong"))
        with self.assertRaises(errors.ConnectionFailedError):
            Machine.list(client=Client("http://127.0.0.1:1", "k"))

    def test_a_request_out_of_time_is_request_timeout_and_waits_are_unbounded(self):
        import socket
        quick = Client(self.d.url, self.d.key, timeout=1)
        # a foreground command waits for its operation: the 1 s request bound does not apply
        r = Machine.connect(self.m.id, client=quick).commands.run("sleep 2; echo slept")
        self.assertEqual(r.stdout, "slept\n")
        bounded = Client(self.d.url, self.d.key, wait_timeout=1)
        with self.assertRaises(errors.RequestTimeoutError) as c:
            Machine.connect(self.m.id, client=bounded).commands.run("sleep 3")
        self.assertIn("wait_timeout", str(c.exception))
        with socket.socket() as silent:  # accepts, never answers
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            url = "http://127.0.0.1:%d" % silent.getsockname()[1]
            with self.assertRaises(errors.RequestTimeoutError):
                Client(url, "k", timeout=0.5).request("GET", "/v1/info")

    def test_commands_foreground_streamed_and_background(self):
        r = self.m.commands.run("echo hi; echo err >&2; exit 3")
        self.assertEqual((r.stdout, r.stderr, r.exit_code), ("hi\n", "err\n", 3))
        seen = []
        r = self.m.commands.run(["sh", "-c", "for i in 1 2 3; do echo $i; done"],
                                on_stdout=seen.append)
        self.assertEqual((r.stdout, "".join(seen), r.exit_code), ("1\n2\n3\n", "1\n2\n3\n", 0))
        r = self.m.commands.run("cat", stdin="fed\n", on_stdout=lambda _: None)
        self.assertEqual(r.stdout, "fed\n")
        h = self.m.commands.run("read x; echo got $x; exit 5", background=True, tag="bg")
        self.assertIn(h.pid, [p["pid"] for p in self.m.commands.list()])
        h.send_stdin("value\n")
        done = h.wait()
        self.assertEqual((done.stdout, done.exit_code), ("got value\n", 5))
        self.assertEqual(self.m.commands.logs("bg")["stdout"], "got value\n")
        h2 = self.m.commands.run("sleep 300", background=True)
        h2.kill()
        self.assertEqual(self.m.commands.connect(h2.pid).wait().info["signal"], 9)

    def test_files_and_watch(self):
        f = self.m.files
        f.make_dir("/root/sdk")
        f.write("/root/sdk/a.txt", "alpha")
        f.write("/root/sdk/b.bin", b"\x00\xff")
        self.assertEqual((f.read("/root/sdk/a.txt"), f.read_bytes("/root/sdk/b.bin")),
                         ("alpha", b"\x00\xff"))
        names = sorted(e["name"] for e in f.list("/root/sdk")["entries"])
        self.assertEqual(names, ["a.txt", "b.bin"])
        f.rename("/root/sdk/a.txt", "/root/sdk/c.txt")
        self.assertEqual((f.exists("/root/sdk/a.txt"), f.exists("/root/sdk/c.txt")), (False, True))
        f.remove("/root/sdk/c.txt")
        with self.assertRaises(errors.FileNotFoundError) as c:  # the SDK's, not the builtin
            f.read("/root/sdk/c.txt")
        self.assertEqual(c.exception.code, "file_not_found")
        w = f.watch("/root/sdk", recursive=True)
        try:
            t = threading.Thread(target=f.write, args=("/root/sdk/new.txt", "x"))
            t.start()
            ev = w.poll(30)
            while ev and ev["path"] != "/root/sdk/new.txt":
                ev = w.poll(30)
            t.join()
            self.assertEqual(ev["path"], "/root/sdk/new.txt")
        finally:
            w.close()

    def test_volumes(self):
        vol = Volume.create("py-vol", size_mb=32, metadata={"sdk": "python"}, client=self.client)
        self.assertEqual((vol.info["state"], vol.info["metadata"]), ("ready", {"sdk": "python"}))
        vol.files.write("/in/a.txt", "from python")
        self.assertEqual(vol.files.write_files([("/in/x%d" % i, "x") for i in range(50)])
                         ["written"], 50)
        vol.files.chmod("/in/x1", 0o600)
        self.assertEqual(vol.files.list("/in")["entries"][0]["path"].startswith("/in/"), True)
        m = Machine.create(client=self.client,
                           volumes=[vol.mount("/data", read_only=True),
                                    vol.mount("/w", subpath="in")])
        try:
            self.assertEqual(m.commands.run("cat /data/in/a.txt").stdout, "from python")
            self.assertNotEqual(m.commands.run("touch /data/x").exit_code, 0)
            m.commands.run("echo back > /w/b.txt")
            self.assertEqual(vol.files.read("/in/b.txt"), "back\n")
            self.assertEqual(Volume.get("py-vol", client=self.client).info["machines"], [m.id])
            self.assertIn(vol.id, [v.id for v in Volume.list(client=self.client)])
            with self.assertRaises(errors.VolumeInUseError):
                vol.delete()
        finally:
            m.kill()
        vol.delete()
        with self.assertRaises(errors.VolumeNotFoundError):
            Volume.get("py-vol", client=self.client)

    def test_transfers_resume_after_a_dropped_piece(self):
        import hashlib
        import socket
        import tempfile
        vol = Volume.create("py-xfer", size_mb=64, client=self.client)
        try:
            with tempfile.TemporaryDirectory(prefix="ns-sdk-xfer-") as tmp:
                data = os.urandom((3 << 20) + 7)
                src = os.path.join(tmp, "data.bin")
                with open(src, "wb") as f:
                    f.write(data)
                real, calls = self.client.transfer, []

                def flaky(method, path, query=None, body=None, size=None, **kw):
                    calls.append(query.get("offset") if query else None)
                    if method == "PUT" and len(calls) == 2:  # cut the second piece halfway
                        s = socket.create_connection((self.client.host, self.client.port))
                        s.sendall(("PUT %s?offset=%d HTTP/1.1\r\nHost: x\r\nAuthorization: "
                                   "Bearer %s\r\nContent-Length: %d\r\n\r\n" %
                                   (path, query["offset"], self.client.api_key, size)).encode() +
                                  body.read(size // 2))
                        s.close()
                        raise errors.ConnectionFailedError("cut")
                    return real(method, path, query=query, body=body, size=size, **kw)

                self.client.transfer = flaky
                seen = []
                try:
                    r = vol.files.upload_file(src, "/in/data.bin", piece=1 << 20,
                                              progress=lambda d, t: seen.append((d, t)))
                finally:
                    self.client.transfer = real
                self.assertEqual(r["sha256"], hashlib.sha256(data).hexdigest())
                self.assertEqual(seen[-1], (len(data), len(data)))
                self.assertEqual(calls[1], 1 << 20)
                self.assertTrue((1 << 20) <= calls[2] <= (3 << 19), calls)  # what it held
                out = os.path.join(tmp, "back.bin")
                self.assertEqual(vol.files.download_file("/in/data.bin", out), len(data))
                with open(out, "rb") as f:
                    self.assertEqual(f.read(), data)
                tree = os.path.join(tmp, "tree")
                os.makedirs(os.path.join(tree, "a"))
                with open(os.path.join(tree, "a", "x.txt"), "w") as f:
                    f.write("x")
                self.assertEqual(self.m.files.upload_dir(tree, "/root/tree")["entries"], 2)
                self.assertEqual(self.m.files.read("/root/tree/a/x.txt"), "x")
                self.m.files.download_dir("/root/tree", os.path.join(tmp, "copy"))
                with open(os.path.join(tmp, "copy", "a", "x.txt")) as f:
                    self.assertEqual(f.read(), "x")
        finally:
            vol.delete()

    def test_a_poll_with_no_time_left_answers_none(self):
        # a deadline that has just passed polls with a timeout of 0, which makes the
        # socket non-blocking (CI once saw BlockingIOError escape from a PTY wait)
        s = self.client.streams()
        try:
            self.assertIsNone(s.poll(0))
            self.assertEqual(s.call("ping")["type"], "pong")
        finally:
            s.ws.close()

    def test_pty_drives_a_repl_and_reconnects(self):
        t = self.m.pty.create(cols=90, rows=20, cmd="python3 -q")
        t.wait_for(">>> ")
        t.send_stdin("import shutil; print(shutil.get_terminal_size())\n")
        # resized at the prompt (test_streams.py says why)
        t.wait_for("columns=90, lines=20)\r\n>>> ")
        t.resize(120, 30)
        t.send_stdin("print(shutil.get_terminal_size())\n")
        t.wait_for("columns=120, lines=30")
        t.close()
        again = self.m.pty.connect(t.pid)
        again.wait_for("columns=120, lines=30")  # the replay buffer
        self.assertEqual(again.kill()["signal"], 9)
        again.close()

    def test_pause_and_resume(self):
        m = Machine.create(client=self.client)
        try:
            m.commands.run("echo 1 > /tmp/x")
            m.pause()
            self.assertEqual(m.info["state"], "paused")
            self.assertEqual(m.commands.run("cat /tmp/x").stdout, "1\n")  # continues it
            m.pause()
            m.resume()
            self.assertEqual(m.info["state"], "running")
        finally:
            m.kill()

    def test_ssh_certificate(self):
        import subprocess
        import tempfile
        m = Machine.create(client=self.client)
        try:
            with tempfile.TemporaryDirectory() as d:
                key = os.path.join(d, "k")
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key],
                               check=True)
                with open(key + ".pub") as f:
                    c = m.ssh_certificate(f.read(), ttl_s=60)
                self.assertEqual(c["principal"], m.id + ":root")
                with open(key + "-cert.pub", "w") as f:
                    f.write(c["certificate"] + "\n")
                out = subprocess.run(["ssh-keygen", "-L", "-f", key + "-cert.pub"],
                                     capture_output=True, text=True)
                self.assertIn(m.id + ":root", out.stdout)
            with self.assertRaises(errors.NullspaceError) as e:
                m.ssh_certificate("ssh-rsa AAAA")
            self.assertEqual(e.exception.code, "invalid_field")
        finally:
            m.kill()

    def test_preview_and_network_policy(self):
        import time
        import urllib.request
        m = Machine.create(client=self.client, network={"allow_internet_access": False})
        try:
            self.assertFalse(m.network["allow_internet_access"])
            m.files.write("/srv/index.html", "sdk page")
            m.commands.run("cd /srv && python3 -m http.server 8000", background=True)
            p = m.preview(8000, expires_in_s=60)
            self.assertTrue(m.get_url(8000).startswith("http://8000-"))
            for _ in range(100):
                try:
                    body = urllib.request.urlopen(p["path_url"]).read()
                    break
                except OSError:
                    time.sleep(0.2)
            self.assertEqual(body, b"sdk page")
            net = m.set_network(allow_internet_access=True, deny_out=["192.0.2.0/24"])
            self.assertEqual((net["allow_internet_access"], net["deny_out"]),
                             (True, ["192.0.2.0/24"]))
            with self.assertRaises(errors.InvalidFieldError):
                m.set_network(allow_out=["nope"])
            with self.assertRaises(errors.InvalidFieldError):
                m.preview(0)
        finally:
            m.kill()

    def test_lifecycle_hibernate_resume_fork(self):
        m = Machine.create(client=self.client)
        try:
            m.files.write("/root/state", "kept")
            m.hibernate()
            self.assertEqual(m.state, "hibernated")
            m.resume()
            self.assertEqual((m.state, m.files.read("/root/state")), ("running", "kept"))
            kids = m.fork(count=1)
            self.assertEqual(kids[0].files.read("/root/state"), "kept")
            for k in kids:
                k.kill()
            snap = m.snapshot("sdk")
            sid = snap["id"]
            self.assertIn(sid, [x["id"] for x in nullspace.Snapshot.list(client=self.client)])
            spawned = Machine.create(client=self.client, snapshot=sid)
            self.assertEqual(spawned.files.read("/root/state"), "kept")
            spawned.kill()
            nullspace.Snapshot.delete(sid, client=self.client)
            with self.assertRaises(errors.SnapshotNotFoundError):
                nullspace.Snapshot.get(sid, client=self.client)
        finally:
            m.kill()
        self.assertEqual(m.state, "destroyed")


if __name__ == "__main__":
    import unittest
    unittest.main()

    def test_events_webhooks_monitor_and_metrics(self):
        """Events, webhooks (verified with the SDK's own verify_webhook), monitor, metrics."""
        import itertools
        import time
        from webhook_receiver import Receiver
        from nullspace import Webhook, WebhookVerificationError
        rx = Receiver()
        self.addCleanup(rx.close)
        w = Webhook.create(rx.url("/sdk"), events=["machine.*"], client=self.client)
        self.addCleanup(w.delete)
        self.assertTrue(w.secret.startswith("whsec_"))
        self.m.hibernate()
        self.m.resume()
        self.assertTrue(rx.wait(lambda: any(b'"machine.resuming"' in r[2]
                                            for r in rx.requests("/sdk"))))
        _, hdrs, body, _ = rx.requests("/sdk")[0]
        self.assertEqual(nullspace.verify_webhook(w.secret, hdrs, body), hdrs["webhook-id"])
        with self.assertRaises(WebhookVerificationError):
            nullspace.verify_webhook(w.secret, hdrs, body + b" ")
        with self.assertRaises(WebhookVerificationError):
            nullspace.verify_webhook(w.secret, hdrs, body, now=time.time() + 3600)
        self.assertEqual(w.deliveries()[0]["state"], "delivered")
        types = [e["type"] for e in nullspace.list_events(subject=self.m.id, client=self.client)]
        self.assertEqual(types[-4:], ["machine.hibernating", "machine.hibernated",
                                      "machine.resuming", "machine.running"])
        self.assertEqual([e["type"] for e in self.m.events()][-1], "machine.running")
        first = nullspace.list_events(subject=self.m.id, client=self.client)[0]
        replay = nullspace.follow_events(machine=self.m.id, type="machine.*",
                                         since_seq=first["seq"] - 1,
                                         client=self.client)
        self.assertEqual(next(replay)["id"], first["id"])
        replay.close()
        samples = itertools.islice(
            (d for k, d in nullspace.monitor([self.m.id], 200, client=self.client)
             if k == "sample"), 2)
        self.assertEqual({s["machine"] for s in samples}, {self.m.id})
        time.sleep(0.5)
        pts = self.m.metrics(since=0)["points"]
        self.assertGreaterEqual(len(pts), 1)
        self.assertIn("net_rx_bytes", pts[-1])
        self.assertIn("cpu_ns", self.m.metrics())
