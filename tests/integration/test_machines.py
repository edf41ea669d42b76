"""Real gVisor machines through the real daemon: create, exec, identity, layers,
timeouts, destroy leaving nothing behind, and what a daemon restart does."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest

from harness import Daemon, DaemonTest, error_code


def runsc_list(state_dir):
    out = subprocess.run(["runsc", "--root", os.path.join(state_dir, "runsc"), "list", "-quiet"],
                         capture_output=True, text=True)
    return [l for l in out.stdout.split() if l]


def mounts_under(path):
    with open("/proc/mounts") as f:
        return [l for l in f.read().splitlines() if path in l]


class Machines(DaemonTest):
    def create(self, **body):
        st, _, m = self.d.request("POST", "/v1/machines", body=body or None)
        self.assertEqual(st, 201, m)
        self.assertEqual(m["state"], "running")
        return m

    def exec(self, mid, **body):
        st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % mid, body=body)
        self.assertEqual(st, 200, r)
        return r

    def destroy(self, mid):
        st, _, m = self.d.request("DELETE", "/v1/machines/" + mid)
        self.assertEqual((st, m["state"]), (200, "destroyed"))

    def test_create_exec_destroy(self):
        m = self.create(metadata={"owner": "test"}, env={"GREETING": "hi"})
        self.assertEqual((m["template"], m["runtime"], m["metadata"]),
                         ("base", "gvisor", {"owner": "test"}))
        r = self.exec(m["id"], cmd="echo $GREETING; echo oops >&2; exit 3")
        self.assertEqual((r["stdout"], r["stderr"], r["exit_code"]), ("hi\n", "oops\n", 3))
        r = self.exec(m["id"], argv=["python3", "-c", "import sys; print(sys.version_info[0])"])
        self.assertEqual(r["stdout"], "3\n")
        st, _, got = self.d.request("GET", "/v1/machines/" + m["id"])
        self.assertEqual(got["state"], "running")
        self.destroy(m["id"])
        st, _, body = self.d.request("POST", "/v1/machines/%s/exec" % m["id"], body={"cmd": "true"})
        self.assertEqual((st, error_code(body)), (409, "machine_not_running"))

    def test_sandbox_processes_hold_none_of_the_daemons_descriptors(self):
        # libcurl (webhooks) opens descriptors without O_CLOEXEC; one inherited as fd 257
        # made gVisor refuse to boot ("FD 257 is already in use") past ~240 machines
        def open_files(pid):
            out = set()
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    out.add(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
                except OSError:
                    pass
            return out
        m = self.create()
        try:
            # sockets and pipes have inode numbers of their own; anon inodes
            # (epoll, eventfd) all read alike, so they cannot be told apart
            daemon = {f for f in open_files(self.d.proc.pid) if f.startswith(("socket:", "pipe:"))}
            self.assertTrue(daemon)
            procs = []
            for p in os.listdir("/proc"):
                try:
                    if p.isdigit() and m["id"].encode() in open("/proc/%s/cmdline" % p, "rb").read():
                        procs.append(int(p))
                except OSError:
                    pass
            self.assertGreaterEqual(len(procs), 3, "shim, runsc and the sandbox")
            for pid in procs:
                try:
                    self.assertEqual(open_files(pid) & daemon, set(), "pid %d" % pid)
                except FileNotFoundError:  # a short-lived helper that has ended
                    pass
        finally:
            self.destroy(m["id"])

    def stream(self, mid, body):
        import http.client
        c = http.client.HTTPConnection(self.d.host, self.d.port, timeout=60)
        c.request("POST", "/v1/machines/%s/exec" % mid, body=json.dumps(dict(body, stream=True)),
                  headers={"Authorization": "Bearer " + self.d.key,
                           "Content-Type": "application/json"})
        return c, c.getresponse()

    def test_exec_streams_ndjson_as_the_command_runs(self):
        mid = self.create()["id"]
        # the command waits for a file only another request creates: the first line can
        # only be read here if it was sent while the command still ran
        c, r = self.stream(mid, {"cmd": "echo first; echo oops >&2; "
                                        "while [ ! -e /root/go ]; do sleep 0.05; done; "
                                        "printf '\\377'; echo second; exit 3"})
        self.assertEqual((r.status, r.getheader("Content-Type")), (200, "application/x-ndjson"))
        self.assertEqual(json.loads(r.readline()), {"type": "stdout", "data": "first\n"})
        self.assertEqual(json.loads(r.readline()), {"type": "stderr", "data": "oops\n"})
        self.exec(mid, cmd="touch /root/go")
        rest = [json.loads(l) for l in r.read().splitlines()]
        out = [x for x in rest if x["type"] == "stdout"]
        import base64
        data = b"".join(base64.b64decode(x["data"]) if x.get("encoding") == "base64"
                        else x["data"].encode() for x in out)
        self.assertEqual(data, b"\xffsecond\n", "bytes that are not UTF-8 come as base64")
        self.assertEqual(rest[-1]["type"], "exit")
        self.assertEqual(rest[-1]["exit_code"], 3)
        c.close()
        # refused before it starts: a plain error answer
        st, _, b = self.d.request("POST", "/v1/machines/%s/exec" % mid,
                                  body={"cmd": "true", "cwd": "/nope", "stream": True})
        self.assertEqual((st, error_code(b)), (400, "invalid_cwd"))

    def test_a_stream_nobody_reads_holds_the_command_not_the_daemon(self):
        mid = self.create()["id"]

        hwm_kib = self.d.rss_kib
        before = hwm_kib()
        c, r = self.stream(mid, {"cmd": "head -c 100000000 /dev/zero | tr '\\0' a"})
        time.sleep(3)  # the client reads nothing; flow control holds the writer
        grown = hwm_kib() - before
        self.assertLess(grown, 48 * 1024, "daemon memory is bounded by windows, not output")
        total = 0
        for line in r.read().splitlines():
            x = json.loads(line)
            if x["type"] == "stdout":
                total += len(x["data"])
        self.assertEqual(total, 100000000)  # twice the bound above
        c.close()
        # a client that leaves mid-stream stops the command (noticed at its next write)
        c, r = self.stream(mid, {"cmd": "echo started > /root/s; "
                                        "while true; do echo tick; sleep 0.1; done"})
        self.assertEqual(r.status, 200)
        r.readline()  # its first output: it runs (a close before it starts would stop it unborn)
        c.close()
        self.assertEqual(self.exec(mid, cmd="cat /root/s")["stdout"], "started\n")
        for _ in range(100):
            if self.exec(mid, cmd="test -e /root/s && pgrep -c -f ti[c]k || true")["stdout"].strip() == "0":
                break
            time.sleep(0.05)
        self.assertEqual(self.exec(mid, cmd="pgrep -c -f ti[c]k || true")["stdout"].strip(), "0")

    def test_exec_options_and_failures(self):
        m = self.create()
        mid = m["id"]
        r = self.exec(mid, argv=["no-such-program"])
        self.assertEqual(r["exit_code"], 127)
        self.assertIn("command not found", r["stderr"])
        r = self.exec(mid, argv=["cat"], stdin="fed through stdin")
        self.assertEqual(r["stdout"], "fed through stdin")
        r = self.exec(mid, cmd="pwd; id -un", cwd="/tmp", user="nobody")
        self.assertEqual(r["stdout"], "/tmp\nnobody\n")
        other = self.create(user="nobody", cwd="/var/tmp")
        self.assertEqual((other["user"], other["cwd"]), ("nobody", "/var/tmp"))
        r = self.exec(other["id"], cmd="pwd; id -un")
        self.assertEqual(r["stdout"], "/var/tmp\nnobody\n", "machine defaults apply")
        r = self.exec(other["id"], cmd="pwd; id -un", cwd="/", user="root")
        self.assertEqual(r["stdout"], "/\nroot\n", "a command's own settings win")
        self.destroy(other["id"])
        t0 = time.time()
        r = self.exec(mid, cmd="sleep 30", timeout_s=1)
        self.assertTrue(r["timed_out"])
        self.assertEqual(r["exit_code"], 137)
        self.assertLess(time.time() - t0, 10)
        r = self.exec(mid, cmd="head -c 2000000 /dev/urandom | base64 -w0 | head -c 3000000")
        self.assertEqual(len(r["stdout"]), 2666668)
        r = self.exec(mid, cmd="printf '\\377\\000A'", encoding="base64")
        self.assertEqual(r["stdout"], "/wBB")
        for body, code in (({"cmd": "true", "cwd": "/nope"}, "invalid_cwd"),
                           ({"cmd": "true", "user": "ghost"}, "unknown_user"),
                           ({"cmd": "true", "argv": ["true"]}, "invalid_field"),
                           ({}, "invalid_field"),
                           ({"cmd": "true", "bogus": 1}, "unknown_field")):
            st, _, b = self.d.request("POST", "/v1/machines/%s/exec" % mid, body=body)
            self.assertEqual(error_code(b), code, body)
        self.destroy(mid)

    def test_each_machine_has_its_own_identity_and_layer(self):
        a, b = self.create(), self.create()
        ra = self.exec(a["id"], cmd="hostname; cat /etc/machine-id; echo A > /root/mark; "
                                    "rm -f /etc/issue")
        rb = self.exec(b["id"], cmd="hostname; cat /etc/machine-id; cat /root/mark; "
                                    "test -e /etc/issue && echo issue-still-there")
        ha, ida = ra["stdout"].split()
        self.assertEqual(ha, a["id"])
        self.assertEqual(rb["stdout"].split()[0], b["id"])
        self.assertNotEqual(ida, rb["stdout"].split()[1])
        self.assertIn("No such file", rb["stderr"])
        self.assertIn("issue-still-there", rb["stdout"])
        self.destroy(a["id"])
        self.destroy(b["id"])

    def test_paths_resolve_inside_the_machine(self):
        m = self.create()
        marker = "/tmp/ns-host-marker-%d" % os.getpid()
        open(marker, "w").write("host secret")
        try:
            r = self.exec(m["id"], cmd="cat ../../../../%s; ln -s / /root/up; cat /root/up/%s" %
                          (marker, marker))
            self.assertNotIn("host secret", r["stdout"])
        finally:
            os.unlink(marker)
        self.destroy(m["id"])

    def test_metrics_show_cpu_memory_and_layer_disk(self):
        m = self.create(memory_mb=256)
        st, _, before = self.d.request("GET", "/v1/machines/%s/metrics" % m["id"])
        self.assertEqual(st, 200, before)
        self.assertEqual(before["memory_limit_bytes"], 256 << 20)
        self.exec(m["id"], cmd="head -c 10000000 /dev/urandom > /root/ten-mb; "
                               "python3 -c 'sum(range(3000000))'")
        st, _, after = self.d.request("GET", "/v1/machines/%s/metrics" % m["id"])
        self.assertGreater(after["cpu_ns"], before["cpu_ns"])
        self.assertGreater(after["memory_bytes"], 0)
        self.assertGreaterEqual(after["disk_bytes"] - before["disk_bytes"], 10000000)
        self.destroy(m["id"])
        st, _, b = self.d.request("GET", "/v1/machines/%s/metrics" % m["id"])
        self.assertEqual((st, error_code(b)), (409, "machine_not_running"))

    def test_garbage_to_every_machine_route_is_refused_cleanly(self):
        import random
        m = self.create()
        rnd = random.Random(7)
        bodies = [b"", b"{", b"[]", b"null", b'{"cmd":1}', b'{"argv":[1,2]}', b'{"path":""}',
                  b'{"timeout_s":-1}', b'{"env":{"A":1}}', b'{"a":' * 50, b"\x00\xff" * 30]
        for _ in range(40):
            bodies.append(bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 200))))
        paths = ["/v1/machines", "/v1/machines/%s/exec", "/v1/machines/%s/timeout",
                 "/v1/machines/%s/signed-urls", "/v1/machines/%s/files/mkdir",
                 "/v1/machines/%s/files/replace", "/v1/machines/%s/hibernate"]
        for body in bodies:
            for p in paths:
                path = p % m["id"] if "%s" in p else p
                st, _, r = self.d.request("POST", path, body=body,
                                          headers={"Content-Type": "application/json"})
                self.assertIn(st, (200, 201, 400, 409, 413), (path, body, r))
                if st == 200 and path.endswith("hibernate"):
                    self.d.request("POST", "/v1/machines/%s/resume" % m["id"])
        for m2 in self.d.request("GET", "/v1/machines?state=running")[2]["machines"]:
            if m2["id"] != m["id"]:
                self.destroy(m2["id"])
        r = self.exec(m["id"], cmd="echo still fine")
        self.assertEqual(r["stdout"], "still fine\n")
        self.destroy(m["id"])

    def test_unknown_template_and_machine(self):
        st, _, b = self.d.request("POST", "/v1/machines", body={"template": "nope"})
        self.assertEqual((st, error_code(b)), (404, "template_not_found"))
        st, _, b = self.d.request("GET", "/v1/machines/m_0000000000000000")
        self.assertEqual((st, error_code(b)), (404, "machine_not_found"))
        st, _, b = self.d.request("POST", "/v1/machines", body={"vcpus": 99})
        self.assertEqual((st, error_code(b)), (400, "invalid_field"))
        st, _, b = self.d.request("POST", "/v1/machines", body={"env": {"A=B": "x"}})
        self.assertEqual((st, error_code(b)), (400, "invalid_field"), b)

    def test_timeout_destroys_the_machine(self):
        m = self.create(timeout_s=1)
        deadline = time.time() + 20
        state = None
        while time.time() < deadline:
            state = self.d.request("GET", "/v1/machines/" + m["id"])[2]["state"]
            if state == "destroyed":
                break
            time.sleep(0.2)
        self.assertEqual(state, "destroyed")
        m = self.create(timeout_s=1)
        st, _, got = self.d.request("POST", "/v1/machines/%s/timeout" % m["id"],
                                    body={"timeout_s": 600})
        self.assertEqual(st, 200)
        time.sleep(2)
        self.assertEqual(self.d.request("GET", "/v1/machines/" + m["id"])[2]["state"], "running")
        self.destroy(m["id"])

    def test_list_filters_and_paginates(self):
        ids = [self.create()["id"] for _ in range(3)]
        st, _, page = self.d.request("GET", "/v1/machines?state=running&limit=2")
        self.assertEqual((st, len(page["machines"])), (200, 2))
        self.assertIsNotNone(page["next_cursor"])
        st, _, rest = self.d.request("GET", "/v1/machines?state=running&cursor=" + page["next_cursor"])
        listed = [m["id"] for m in page["machines"] + rest["machines"]]
        for i in ids:
            self.assertIn(i, listed)
            self.destroy(i)
        st, _, b = self.d.request("GET", "/v1/machines?state=sleepy")
        self.assertEqual(error_code(b), "invalid_request")
        tagged = self.create(metadata={"team": "blue green", "run": "7"})
        self.create(metadata={"team": "red"})
        st, _, page = self.d.request("GET", "/v1/machines?metadata=team%3Dblue%20green")
        self.assertEqual([m["id"] for m in page["machines"]], [tagged["id"]])
        st, _, page = self.d.request("GET", "/v1/machines?state=running&metadata=run%3D7")
        self.assertEqual([m["id"] for m in page["machines"]], [tagged["id"]])
        st, _, page = self.d.request("GET", "/v1/machines?metadata=team%3Dnone")
        self.assertEqual(page["machines"], [])
        for bad in ("metadata=noequals", "metadata=bad%22key%3Dx"):
            st, _, b = self.d.request("GET", "/v1/machines?" + bad)
            self.assertEqual(error_code(b), "invalid_request")
        for m in self.d.request("GET", "/v1/machines?state=running")[2]["machines"]:
            self.destroy(m["id"])

    def test_twenty_machines_leave_nothing_behind(self):
        ids, errors = [], []

        def make():
            st, _, m = self.d.request("POST", "/v1/machines")
            (ids if st == 201 else errors).append(m["id"] if st == 201 else m)

        threads = [threading.Thread(target=make) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(ids), 20)
        threads = [threading.Thread(target=self.destroy, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(runsc_list(self.d.state_dir), [])
        self.assertEqual(mounts_under(self.d.state_dir), [])
        self.assertEqual(os.listdir(os.path.join(self.d.state_dir, "machines")), [])
        for _ in range(40):  # shims exit right after their sandboxes
            leftover = subprocess.run(["pgrep", "-f", "--root " + self.d.state_dir],
                                      capture_output=True, text=True).stdout.split()
            if not leftover:
                break
            time.sleep(0.05)
        self.assertEqual(leftover, [])


class Files(DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        st, _, m = cls.d.request("POST", "/v1/machines", body={"timeout_s": 0})
        assert st == 201, m
        cls.mid = m["id"]

    def url(self, suffix="", **q):
        from urllib.parse import urlencode
        return "/v1/machines/%s/files%s?%s" % (self.mid, suffix, urlencode(q))

    def test_upload_download_round_trip(self):
        data = os.urandom(5 << 20)
        st, _, r = self.d.request("PUT", self.url(path="/root/deep/er/data.bin", mode="600"),
                                  body=data)
        self.assertEqual((st, r["bytes"]), (200, len(data)), r)
        st, h, back = self.d.request("GET", self.url(path="/root/deep/er/data.bin"))
        self.assertEqual((st, back), (200, data))
        self.assertEqual(h["transfer-encoding"], "chunked")
        st, _, info = self.d.request("GET", self.url("/stat", path="/root/deep/er/data.bin"))
        self.assertEqual((info["type"], info["size"], info["mode"]), ("file", len(data), 0o600))
        r = self.d.request("POST", "/v1/machines/%s/exec" % self.mid,
                           body={"cmd": "sha256sum /root/deep/er/data.bin"})[2]
        import hashlib
        self.assertEqual(r["stdout"].split()[0], hashlib.sha256(data).hexdigest())

    def test_answers_that_merely_contain_the_word_error_are_not_errors(self):
        # listing a directory with a file named "error", a file whose content is an agent
        # error document, and a process tagged "error": all succeed
        self.d.request("PUT", self.url(path="/tmp/w/error"), body=b'{"error":{"code":"x"}}')
        st, _, listing = self.d.request("GET", self.url("/list", path="/tmp/w"))
        self.assertEqual((st, [e["name"] for e in listing["entries"]]), (200, ["error"]), listing)
        st, _, info = self.d.request("GET", self.url("/stat", path="/tmp/w/error"))
        self.assertEqual((st, info["type"]), (200, "file"), info)
        st, _, p = self.d.request("POST", "/v1/machines/%s/processes" % self.mid,
                                  body={"cmd": "sleep 30", "tag": "error"})
        self.assertEqual(st, 201, p)
        st, _, procs = self.d.request("GET", "/v1/machines/%s/processes" % self.mid)
        self.assertEqual(st, 200, procs)
        self.assertIn("error", [x.get("tag") for x in procs["processes"]])
        self.d.request("POST", "/v1/machines/%s/processes/%d/signal" % (self.mid, p["pid"]),
                       body={"signal": "KILL"})

    def test_metadata_operations(self):
        self.d.request("PUT", self.url(path="/srv/a/one.txt"), body=b"1")
        st, _, r = self.d.request("POST", "/v1/machines/%s/files/mkdir" % self.mid,
                                  body={"path": "/srv/a/sub"})
        self.assertEqual(st, 200)
        st, _, listing = self.d.request("GET", self.url("/list", path="/srv", depth="2"))
        self.assertEqual(sorted(e["path"] for e in listing["entries"]),
                         ["/srv/a", "/srv/a/one.txt", "/srv/a/sub"])
        st, _, r = self.d.request("POST", "/v1/machines/%s/files/rename" % self.mid,
                                  body={"path": "/srv/a/one.txt", "to": "/srv/b/two.txt"})
        self.assertEqual((st, r["path"]), (200, "/srv/b/two.txt"))
        self.assertTrue(self.d.request("GET", self.url("/exists", path="/srv/b/two.txt"))[2]["exists"])
        st, _, _ = self.d.request("DELETE", self.url(path="/srv"))
        self.assertEqual(st, 200)
        self.assertFalse(self.d.request("GET", self.url("/exists", path="/srv"))[2]["exists"])

    def test_search_and_replace(self):
        for path, text in (("/proj/a.py", "import os\nprint('needle')\n"),
                           ("/proj/sub/b.py", "needle = 1\nneedle += 1\n"),
                           ("/proj/sub/c.txt", "no match here\n")):
            self.assertEqual(self.d.request("PUT", self.url(path=path), body=text.encode())[0], 200)
        st, _, r = self.d.request("GET", self.url("/search", path="/proj", name="*.py"))
        self.assertEqual(sorted(m["path"] for m in r["matches"]), ["/proj/a.py", "/proj/sub/b.py"])
        st, _, r = self.d.request("GET", self.url("/search", path="/proj", content="needle"))
        self.assertEqual(sorted((m["path"], m["line"]) for m in r["matches"]),
                         [("/proj/a.py", 2), ("/proj/sub/b.py", 1), ("/proj/sub/b.py", 2)])
        st, _, r = self.d.request("GET", self.url("/search", path="/proj", content="needle",
                                                 limit="1"))
        self.assertEqual((len(r["matches"]), r["truncated"]), (1, True))
        st, _, r = self.d.request("POST", "/v1/machines/%s/files/replace" % self.mid,
                                  body={"path": "/proj/sub/b.py", "find": "needle",
                                        "replace": "thread"})
        self.assertEqual((st, r["replacements"]), (200, 2), r)
        self.assertEqual(self.d.request("GET", self.url(path="/proj/sub/b.py"))[2],
                         b"thread = 1\nthread += 1\n")
        st, _, r = self.d.request("GET", self.url("/search", path="/proj"))
        self.assertEqual(error_code(r), "invalid_request")
        st, _, r = self.d.request("POST", "/v1/machines/%s/files/replace" % self.mid,
                                  body={"path": "/proj/sub/b.py", "find": "x"})
        self.assertEqual(error_code(r), "invalid_field")

    def test_errors(self):
        cases = [
            ("GET", self.url(path="/no/such/file"), None, 404, "file_not_found"),
            ("GET", self.url(path="/etc"), None, 400, "invalid_path"),
            ("GET", self.url(), None, 400, "invalid_path"),
            ("GET", self.url(path="/x", bogus="1"), None, 400, "invalid_request"),
            ("GET", self.url("/teleport", path="/x"), None, 404, "not_found"),
            ("DELETE", self.url(path="/no/such"), None, 404, "file_not_found"),
            ("PUT", self.url(path="/etc"), b"x", 400, "invalid_path"),
            ("GET", "/v1/machines/m_0000000000000000/files?path=/x", None, 404, "machine_not_found"),
        ]
        for method, url, body, status, code in cases:
            st, _, r = self.d.request(method, url, body=body)
            self.assertEqual((st, error_code(r)), (status, code), (method, url, r))

    def test_paths_never_reach_the_host(self):
        name = "ns-host-file-%d" % os.getpid()
        marker = "/var/tmp/" + name
        open(marker, "w").write("host")
        try:
            # absolute and relative links that would point at the host's /var/tmp if paths
            # were resolved outside the sandbox (gVisor 20221219 mis-resolves links to "/"
            # itself, so the links here aim at /var/tmp)
            self.d.request("POST", "/v1/machines/%s/exec" % self.mid,
                           body={"cmd": "ln -sfn /var/tmp /root/vt; "
                                        "ln -sfn ../../../../../../var/tmp /root/rel"})
            for p in ("/../../../.." + marker, "/root/vt/" + name, "/root/rel/" + name):
                st, _, r = self.d.request("PUT", self.url(path=p), body=b"from the machine")
                self.assertEqual(st, 200, r)
            self.assertEqual(open(marker).read(), "host")
            st, _, got = self.d.request("GET", self.url(path=marker))
            self.assertEqual(got, b"from the machine")
        finally:
            os.unlink(marker)

    def signed(self, path, method="GET", expires_in_s=60, mid=None):
        st, _, r = self.d.request("POST", "/v1/machines/%s/signed-urls" % (mid or self.mid),
                                  body={"path": path, "method": method,
                                        "expires_in_s": expires_in_s})
        self.assertEqual(st, 200, r)
        self.assertEqual(r["method"], method)
        return r["url"][len(self.d.url):]

    def test_signed_urls_work_without_a_key(self):
        put = self.signed("/root/signed file.txt", "PUT")
        st, _, r = self.d.request("PUT", put, body=b"no key needed", key=False)
        self.assertEqual((st, r["bytes"]), (200, 13), r)
        get = self.signed("/root/signed file.txt")
        st, _, body = self.d.request("GET", get, key=False)
        self.assertEqual((st, body), (200, b"no key needed"))

    def test_signed_urls_refuse_tampering_and_expiry(self):
        get = self.signed("/root/s.txt")
        cases = [
            ("GET", get.replace("s.txt", "t.txt")),          # another path
            ("PUT", get),                                     # another method
            ("GET", get[:-1] + ("0" if get[-1] != "0" else "1")),  # forged signature
            ("GET", get.replace("expires=", "expires=1")),    # stretched expiry
            ("GET", get.replace(self.mid, "m_0000000000000000")),  # another machine
        ]
        for method, url in cases:
            st, _, r = self.d.request(method, url, body=b"x" if method == "PUT" else None, key=False)
            self.assertEqual((st, error_code(r)), (403, "invalid_signature"), url)
        short = self.signed("/root/s.txt", expires_in_s=1)
        time.sleep(2.1)
        st, _, r = self.d.request("GET", short, key=False)
        self.assertEqual((st, error_code(r)), (403, "url_expired"))
        st, _, r = self.d.request("GET", self.url(path="/root/s.txt"), key=False)
        self.assertEqual((st, error_code(r)), (401, "unauthorized"))
        st, _, r = self.d.request("POST", "/v1/machines/%s/signed-urls" % self.mid,
                                  body={"path": "/x", "method": "DELETE"})
        self.assertEqual((st, error_code(r)), (400, "invalid_field"))

    def test_large_upload_keeps_daemon_memory_bounded(self):
        hwm = self.d.rss_kib
        size = 256 << 20
        block = os.urandom(1 << 20)

        def body():
            for _ in range(size >> 20):
                yield block
        c = self.d.conn()
        c.putrequest("PUT", self.url(path="/root/big.bin"))
        c.putheader("Authorization", "Bearer " + self.d.key)
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        before = hwm()
        peak = before
        for i, chunk in enumerate(body()):
            c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if i % 16 == 0:
                peak = max(peak, hwm())
        c.send(b"0\r\n\r\n")
        r = c.getresponse()
        doc = json.loads(r.read())
        c.close()
        self.assertEqual((r.status, doc["bytes"]), (200, size))
        self.assertLess(peak - before, 64 << 10, "daemon RSS grew %d KiB" % (peak - before))


class Hibernate(DaemonTest):
    def req(self, method, path, body=None):
        return self.d.request(method, path, body=body)

    def run_cmd(self, mid, cmd):
        st, _, r = self.req("POST", "/v1/machines/%s/exec" % mid, {"cmd": cmd})
        self.assertEqual(st, 200, r)
        return r["stdout"]

    def test_hibernate_resume_keeps_memory_processes_and_files(self):
        st, _, m = self.req("POST", "/v1/machines", {"auto_resume": False})
        mid = m["id"]
        self.run_cmd(mid, "echo before > /root/kept; "
                          "(i=0; while true; do i=$((i+1)); echo $i > /root/c.new; "
                          "mv /root/c.new /root/counter; sleep 0.1; done) >/dev/null 2>&1 &")
        time.sleep(0.5)
        last = 0
        for cycle in range(5):
            st, _, h = self.req("POST", "/v1/machines/%s/hibernate" % mid)
            self.assertEqual((st, h["state"]), (200, "hibernated"), h)
            # the sandbox has exited; runsc's bookkeeping of it goes right after
            for _ in range(100):
                if runsc_list(self.d.state_dir) == []:
                    break
                time.sleep(0.02)
            self.assertEqual(runsc_list(self.d.state_dir), [], "the sandbox is gone")
            st, _, b = self.req("POST", "/v1/machines/%s/exec" % mid, {"cmd": "true"})
            self.assertEqual((st, error_code(b)), (409, "machine_not_running"))
            st, _, b = self.req("POST", "/v1/machines/%s/hibernate" % mid)
            self.assertEqual(error_code(b), "machine_not_running")
            st, _, r = self.req("POST", "/v1/machines/%s/resume" % mid)
            self.assertEqual((st, r["state"]), (200, "running"), r)
            counter, kept = self.run_cmd(mid, "cat /root/counter /root/kept").split()
            self.assertEqual(kept, "before")
            self.assertGreaterEqual(int(counter), last, "the loop went on from its value")
            last = int(counter)
            self.run_cmd(mid, "echo %d >> /root/cycles" % cycle)
        self.assertEqual(self.run_cmd(mid, "cat /root/cycles").split(), ["0", "1", "2", "3", "4"])
        st, _, evs = self.req("GET", "/v1/machines/%s/events?limit=1000" % mid)
        states = [e["data"]["state"] for e in evs["events"]]
        self.assertEqual(states[:2], ["creating", "running"])
        self.assertEqual(states[2:6], ["hibernating", "hibernated", "resuming", "running"])
        self.assertEqual(len(states), 2 + 5 * 4)
        self.assertEqual({e["type"] for e in evs["events"]}, {"machine." + s for s in states})
        self.assertEqual({e["reason"] for e in evs["events"]}, {"user"})
        st, _, r = self.req("POST", "/v1/machines/%s/resume" % mid)
        self.assertEqual(error_code(r), "machine_not_running")
        st, _, r = self.req("POST", "/v1/machines/%s/hibernate" % mid)
        st, _, r = self.req("DELETE", "/v1/machines/" + mid)
        self.assertEqual((st, r["state"]), (200, "destroyed"))
        self.assertEqual(os.listdir(os.path.join(self.d.state_dir, "machines")), [])

    def test_commands_and_files_wake_a_hibernated_machine(self):
        st, _, m = self.req("POST", "/v1/machines")
        mid = m["id"]
        self.assertTrue(m["auto_resume"])
        self.run_cmd(mid, "echo awake > /root/w")
        self.assertEqual(self.req("POST", "/v1/machines/%s/hibernate" % mid)[0], 200)
        self.assertEqual(self.run_cmd(mid, "cat /root/w"), "awake\n")
        self.assertEqual(self.req("GET", "/v1/machines/" + mid)[2]["state"], "running")
        self.assertEqual(self.req("POST", "/v1/machines/%s/hibernate" % mid)[0], 200)
        st, _, body = self.req("GET", "/v1/machines/%s/files?path=/root/w" % mid)
        self.assertEqual((st, body), (200, b"awake\n"))
        for size in (5, 3 << 20):  # one small, one larger than any buffer in the way
            self.assertEqual(self.req("POST", "/v1/machines/%s/hibernate" % mid)[0], 200)
            data = os.urandom(size)
            st, _, r = self.d.request("PUT", "/v1/machines/%s/files?path=/root/up" % mid,
                                      body=data)
            self.assertEqual((st, r["bytes"]), (200, size), r)
            self.assertEqual(self.req("GET", "/v1/machines/%s/files?path=/root/up" % mid)[2],
                             data)
        self.assertEqual(self.req("POST", "/v1/machines/%s/hibernate" % mid)[0], 200)
        outs = []
        threads = [threading.Thread(target=lambda i=i: outs.append(
            self.run_cmd(mid, "echo %d" % i))) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(outs), ["%d\n" % i for i in range(6)],
                         "requests arriving together all ride on one resume")
        st, _, evs = self.req("GET", "/v1/machines/%s/events" % mid)
        self.assertEqual([e["data"]["state"] for e in evs["events"]].count("resuming"), 5)
        self.req("DELETE", "/v1/machines/" + mid)
        st, _, m = self.req("POST", "/v1/machines", {"auto_resume": False})
        self.assertFalse(m["auto_resume"])
        self.assertEqual(self.req("POST", "/v1/machines/%s/hibernate" % m["id"])[0], 200)
        st, _, b = self.req("POST", "/v1/machines/%s/exec" % m["id"], {"cmd": "true"})
        self.assertEqual((st, error_code(b)), (409, "machine_not_running"))
        self.req("DELETE", "/v1/machines/" + m["id"])

    def test_timeout_action_hibernate(self):
        st, _, m = self.req("POST", "/v1/machines", {"timeout_s": 1, "timeout_action": "hibernate"})
        self.assertEqual((st, m["timeout_action"]), (201, "hibernate"), m)
        self.run_cmd(m["id"], "echo zz > /root/sleepy")
        deadline = time.time() + 20
        while time.time() < deadline and \
                self.req("GET", "/v1/machines/" + m["id"])[2]["state"] != "hibernated":
            time.sleep(0.2)
        self.assertEqual(self.req("GET", "/v1/machines/" + m["id"])[2]["state"], "hibernated")
        st, _, r = self.req("POST", "/v1/machines/%s/resume" % m["id"])
        self.assertGreater(r["timeout_at"], m["timeout_at"], "a fresh deadline after resume")
        self.assertEqual(self.run_cmd(m["id"], "cat /root/sleepy"), "zz\n")
        self.req("DELETE", "/v1/machines/" + m["id"])
        st, _, b = self.req("POST", "/v1/machines", {"timeout_action": "nap"})
        self.assertEqual((st, error_code(b)), (400, "invalid_field"))

    def test_hibernate_refuses_while_a_command_runs(self):
        st, _, m = self.req("POST", "/v1/machines")
        mid = m["id"]
        t = threading.Thread(target=self.run_cmd, args=(mid, "sleep 2"))
        t.start()
        time.sleep(0.5)
        st, _, r = self.req("POST", "/v1/machines/%s/hibernate" % mid)
        self.assertEqual((st, error_code(r)), (409, "machine_busy"))
        t.join()
        st, _, r = self.req("POST", "/v1/machines/%s/hibernate" % mid)
        self.assertEqual(st, 200, r)
        self.req("DELETE", "/v1/machines/" + mid)


    def test_a_resume_asked_while_hibernating_follows_the_hibernation(self):
        st, _, m = self.req("POST", "/v1/machines", {"memory_mb": 1024})
        mid = m["id"]
        try:
            # 600 MiB in use: its checkpoint takes long enough to be asked in the middle
            self.run_cmd(mid, "python3 -c 'import time; x = bytearray(b\"\\1\") * (600 << 20); "
                              "time.sleep(3600)' >/dev/null 2>&1 & sleep 1")
            answers = {}
            t = threading.Thread(target=lambda: answers.update(
                hib=self.req("POST", "/v1/machines/%s/hibernate" % mid)))
            t.start()
            state = None
            for _ in range(2000):
                state = self.req("GET", "/v1/machines/" + mid)[2]["state"]
                if state != "running":
                    break
                time.sleep(0.005)
            self.assertEqual(state, "hibernating", "asked in the middle of the hibernation")
            st, _, r = self.req("POST", "/v1/machines/%s/resume" % mid)
            t.join()
            self.assertEqual((st, r["state"]), (200, "running"), r)
            self.assertEqual((answers["hib"][0], answers["hib"][2]["state"]),
                             (200, "hibernated"), answers["hib"])
            self.assertIn("python3", self.run_cmd(mid, "ps -eo comm"), "its processes kept")
            st, _, evs = self.req("GET", "/v1/machines/%s/events?limit=100" % mid)
            self.assertEqual([e["data"]["state"] for e in evs["events"]][2:],
                             ["hibernating", "hibernated", "resuming", "running"])
        finally:
            self.req("DELETE", "/v1/machines/" + mid)


class DefaultTimeout(unittest.TestCase):
    def test_daemon_wide_default_deadline(self):
        d = Daemon(["--machine-timeout-s", "1"]).start()
        try:
            t0 = time.time()
            st, _, m = d.request("POST", "/v1/machines")
            took_ms = (time.time() - t0) * 1000
            self.assertEqual(st, 201, m)
            # the deadline counts from the answer: a start slower than the deadline is
            # not destroyed before the caller has it
            self.assertGreaterEqual(m["timeout_at"] - m["created_at"], 1000)
            self.assertLessEqual(m["timeout_at"] - m["created_at"], 1000 + took_ms + 5)
            deadline = time.time() + 20
            while time.time() < deadline and d.request("GET", "/v1/machines/" + m["id"])[2]["state"] != "destroyed":
                time.sleep(0.2)
            self.assertEqual(d.request("GET", "/v1/machines/" + m["id"])[2]["state"], "destroyed")
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


class Restart(unittest.TestCase):
    def exec(self, d, mid, cmd):
        st, _, r = d.request("POST", "/v1/machines/%s/exec" % mid, body={"cmd": cmd})
        self.assertEqual(st, 200, r)
        return r["stdout"]

    def test_running_machines_survive_daemon_restarts(self):
        d = Daemon().start()
        try:
            st, _, m = d.request("POST", "/v1/machines")
            self.assertEqual(st, 201)
            mid = m["id"]
            self.exec(d, mid, "echo kept > /root/state; "
                              "(while sleep 0.2; do echo t >> /root/ticks; done) "
                              ">/dev/null 2>&1 &")
            for how in (signal.SIGKILL, signal.SIGTERM):
                d.proc.send_signal(how)
                d.stop()
                time.sleep(0.5)
                d.start()
                st, _, got = d.request("GET", "/v1/machines/" + mid)
                self.assertEqual(got["state"], "running", how)
                out = self.exec(d, mid, "cat /root/state; wc -l < /root/ticks")
                state, ticks = out.split()
                self.assertEqual(state, "kept")
                self.assertGreater(int(ticks), 0, "the background process kept running")
            self.assertIn("machine_adopted", d.read_log())
            st, _, got = d.request("DELETE", "/v1/machines/" + mid)
            self.assertEqual((st, got["state"]), (200, "destroyed"))
            self.assertEqual(runsc_list(d.state_dir), [])
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()

    def test_hibernated_machines_survive_daemon_restarts(self):
        d = Daemon().start()
        try:
            st, _, m = d.request("POST", "/v1/machines")
            self.exec(d, m["id"], "echo asleep > /root/note")
            st, _, h = d.request("POST", "/v1/machines/%s/hibernate" % m["id"])
            self.assertEqual(h["state"], "hibernated")
            d.proc.kill()
            d.stop()
            d.start()
            self.assertEqual(d.request("GET", "/v1/machines/" + m["id"])[2]["state"], "hibernated")
            st, _, r = d.request("POST", "/v1/machines/%s/resume" % m["id"])
            self.assertEqual((st, r["state"]), (200, "running"), r)
            self.assertEqual(self.exec(d, m["id"], "cat /root/note"), "asleep\n")
            d.request("DELETE", "/v1/machines/" + m["id"])
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()

    def test_a_machine_whose_sandbox_vanished_is_failed_with_a_reason(self):
        d = Daemon().start()
        try:
            st, _, m = d.request("POST", "/v1/machines")
            self.assertEqual(st, 201)
            d.proc.kill()
            d.stop()
            root = os.path.join(d.state_dir, "runsc")
            subprocess.run(["runsc", "--root", root, "kill", m["id"], "KILL"], capture_output=True)
            for _ in range(20):
                subprocess.run(["runsc", "--root", root, "delete", "--force", m["id"]],
                               capture_output=True)
                if not runsc_list(d.state_dir):
                    break
                time.sleep(0.1)
            time.sleep(1)  # its shim notices and exits
            d.start()
            st, _, got = d.request("GET", "/v1/machines/" + m["id"])
            self.assertEqual(got["state"], "failed")
            self.assertIn("gone", got["failure_reason"])
            self.assertEqual(mounts_under(d.state_dir), [])
            self.assertEqual(os.listdir(os.path.join(d.state_dir, "machines")), [])
            # destroying it records the change like any other: its event and a log line
            st, _, gone = d.request("DELETE", "/v1/machines/" + m["id"])
            self.assertEqual((st, gone["state"]), (200, "destroyed"), gone)
            st, _, ev = d.request("GET", "/v1/machines/%s/events" % m["id"])
            self.assertEqual([e["data"]["state"] for e in ev["events"]][-2:], ["failed", "destroyed"],
                             ev)
            self.assertIn("machine=%s state=destroyed" % m["id"], d.read_log())
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
