"""SSH into real gVisor machines with OpenSSH's own client, through the daemon's tunnel
(`nullspace ssh` and `nullspace ssh-proxy` as ProxyCommand): a shell on a PTY, a
command's exit code, scp of 50 MiB both ways with the same sha256, sftp, -L and -R
forwarding; plain keys, certificates for another machine or user and expired ones are
refused; a hibernated machine resumes on connect, a fork's child answers with its own
identity. The daemon's cache has no sshd package at the start (its templates are the
shared ones), so the first connection fetches openssh-server: the cold path."""

import hashlib
import json
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import http.server

from harness import CLI, DaemonTest, error_code
from nettest import start_web

SHARED_CACHE = os.environ.get("NULLSPACE_CACHE_DIR", "/var/cache/nullspace")


def _private_cache():
    d = tempfile.mkdtemp(prefix="ns-ssh-cache-")
    for sub in ("templates", "vm"):
        os.makedirs(os.path.join(SHARED_CACHE, sub), exist_ok=True)
        os.symlink(os.path.join(SHARED_CACHE, sub), os.path.join(d, sub))
    return d


class Ssh(DaemonTest):
    @classmethod
    def setUpClass(cls):
        cls.cache = _private_cache()  # removed also when the set-up fails half-way
        cls.addClassCleanup(shutil.rmtree, cls.cache, ignore_errors=True)
        cls.tmp = tempfile.mkdtemp(prefix="ns-ssh-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.daemon_env = {"NULLSPACE_CACHE_DIR": cls.cache}
        super().setUpClass()
        cls.mid = cls.create()
        cls.opts = cls.ssh_options(cls.mid)

    @classmethod
    def create(cls, **body):
        st, _, m = cls.d.request("POST", "/v1/machines", body=dict({"auto_resume": True}, **body))
        assert st == 201, m
        return m["id"]

    @classmethod
    def ssh_options(cls, mid, *extra):
        """The options `nullspace ssh --print` gives ssh (certificate, known hosts, proxy),
        without the program and the destination."""
        r = cls.d.cli("ssh", mid, "--print", *extra)
        assert r.returncode == 0, r.stderr
        argv = shlex.split(r.stdout)
        assert argv[0] == "ssh" and argv[-1].endswith("@" + mid), argv
        return argv[1:-1]

    def ssh(self, *args, mid=None, opts=None, timeout=120, **kw):
        mid = mid or self.mid
        argv = ["ssh", "-o", "BatchMode=yes"] + (opts or self.opts) + ["root@" + mid] + list(args)
        return subprocess.run(argv, env=self.d.client_env(), capture_output=True,
                              timeout=timeout, **kw)

    # ---- what works ----

    def test_cli_runs_commands_with_their_exit_codes(self):
        r = self.d.cli("ssh", self.mid, "--", "echo hello; id -un; hostname")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["hello", "root", self.mid])
        self.assertEqual(self.d.cli("ssh", self.mid, "--", "exit 7").returncode, 7)

    def test_interactive_shell_has_a_terminal(self):
        r = self.ssh("-tt", input=b"tty; echo cols=$(tput cols 2>/dev/null || stty size)\nexit 3\n")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(b"/dev/pts/", r.stdout)

    def test_scp_both_ways_and_sftp(self):
        src = os.path.join(self.tmp, "big")
        with open(src, "wb") as f:
            f.write(os.urandom(50 << 20))
        want = _sha256(src)
        base = ["scp", "-q", "-o", "BatchMode=yes"] + self.opts
        env = self.d.client_env()
        r = subprocess.run(base + [src, "root@%s:/tmp/big" % self.mid], env=env,
                           capture_output=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ssh("sha256sum /tmp/big")
        self.assertEqual(r.stdout.split()[0].decode(), want)
        back = os.path.join(self.tmp, "back")
        r = subprocess.run(base + ["root@%s:/tmp/big" % self.mid, back], env=env,
                           capture_output=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(_sha256(back), want)
        r = subprocess.run(["sftp", "-b", "-", "-o", "BatchMode=yes"] + self.opts +
                           ["root@" + self.mid], input=b"ls -l /tmp\n", env=env,
                           capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"big", r.stdout)

    def test_local_and_remote_forwarding(self):
        start_web(self.d, self.mid, 8000)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        fwd = subprocess.Popen(["ssh", "-N", "-o", "BatchMode=yes", "-o",
                                "ExitOnForwardFailure=yes", "-L", "%d:localhost:8000" % port] +
                               self.opts + ["root@" + self.mid], env=self.d.client_env(),
                               stderr=subprocess.DEVNULL)
        try:
            body = self.fetch_local(port, "/through-ssh")
            self.assertEqual(body, b"path:/through-ssh")
        finally:
            fwd.kill()
            fwd.wait()
        # -R: a server on our side, reached from inside the machine
        srv = http.server.HTTPServer(("127.0.0.1", 0), _Hello)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        rev = subprocess.Popen(["ssh", "-N", "-o", "BatchMode=yes", "-o",
                                "ExitOnForwardFailure=yes", "-R",
                                "9000:127.0.0.1:%d" % srv.server_address[1]] + self.opts +
                               ["root@" + self.mid], env=self.d.client_env(),
                               stderr=subprocess.DEVNULL)
        try:
            out = b""
            for _ in range(100):
                st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % self.mid,
                                          {"cmd": "curl -s -m 5 http://127.0.0.1:9000/"})
                out = r.get("stdout", "")
                if out:
                    break
                time.sleep(0.1)
            self.assertEqual(out, "hello from the host")
        finally:
            rev.kill()
            rev.wait()
            srv.shutdown()
            srv.server_close()

    def fetch_local(self, port, path):
        deadline = time.time() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                    s.sendall(b"GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % path.encode())
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                if data:
                    return data.split(b"\r\n\r\n", 1)[1]
            except OSError:
                pass
            if time.time() > deadline:
                raise AssertionError("the forwarded port never answered")
            time.sleep(0.2)

    def test_shell_attaches_to_a_running_session(self):
        st, _, p = self.d.request("POST", "/v1/machines/%s/processes" % self.mid,
                                  {"cmd": "bash", "pty": True, "tag": "sess"})
        self.assertEqual(st, 201, p)
        r = self.d.cli("shell", self.mid, "--attach", "sess", input="echo attached-$((6*7))\nexit 4\n")
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("attached-42", r.stdout)
        r = self.d.cli("shell", self.mid, "--attach", "nosuch")
        self.assertEqual(r.returncode, 6, r.stderr)

    def test_machines_connect_lists_ports_and_previews(self):
        start_web(self.d, self.mid, 8100)
        r = self.d.cli("--json", "machines", "connect", self.mid)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["ssh"], "nullspace ssh " + self.mid)
        port = [p for p in doc["ports"] if p["port"] == 8100][0]
        st, body = _http_get(self.d, port["preview_url"] + "hi")
        self.assertEqual((st, body), (200, b"path:/hi"))
        r = self.d.cli("machines", "connect", self.mid)
        self.assertIn("port 8100: http://", r.stdout)

    # ---- what is refused ----

    def test_plain_keys_other_machines_users_and_expired_certificates_are_refused(self):
        key = os.path.join(self.tmp, "plain")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        kh = [o for o in self.opts if o.startswith("UserKnownHostsFile=")][0]
        proxy = [o for o in self.opts if o.startswith("ProxyCommand=")][0]
        plain = ["-i", key, "-o", "IdentitiesOnly=yes", "-o", kh, "-o", proxy]
        r = self.ssh("true", opts=plain)
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"Permission denied", r.stderr)
        # a certificate for another machine, presented to this one
        other = self.create()
        try:
            pub = _read(key + ".pub")
            st, _, c = self.d.request("POST", "/v1/machines/%s/ssh" % other,
                                      {"public_key": pub})
            self.assertEqual(st, 201, c)
            self.assertEqual(c["principal"], other + ":root")
            with open(key + "-cert.pub", "w") as f:
                f.write(c["certificate"] + "\n")
            r = self.ssh("true", opts=plain)
            self.assertEqual(r.returncode, 255)
            self.assertIn(b"Permission denied", r.stderr)
        finally:
            self.d.request("DELETE", "/v1/machines/" + other)
        # a certificate for this machine but user nobody, used to log in as root
        st, _, c = self.d.request("POST", "/v1/machines/%s/ssh" % self.mid,
                                  {"public_key": pub, "user": "nobody"})
        self.assertEqual(st, 201, c)
        with open(key + "-cert.pub", "w") as f:
            f.write(c["certificate"] + "\n")
        self.assertEqual(self.ssh("true", opts=plain).returncode, 255)
        # the right one works; one past its expiry is refused. Two certificates, so that
        # how long a login takes on a loaded host never decides the outcome.
        st, _, c = self.d.request("POST", "/v1/machines/%s/ssh" % self.mid,
                                  {"public_key": pub, "ttl_s": 600})
        self.assertEqual(st, 201, c)
        with open(key + "-cert.pub", "w") as f:
            f.write(c["certificate"] + "\n")
        r = self.ssh("echo in", opts=plain)
        self.assertEqual((r.returncode, r.stdout), (0, b"in\n"), r.stderr)
        st, _, c = self.d.request("POST", "/v1/machines/%s/ssh" % self.mid,
                                  {"public_key": pub, "ttl_s": 1})
        self.assertEqual(st, 201, c)
        self.assertLessEqual(c["expires_at"] - time.time() * 1000, 1000)
        with open(key + "-cert.pub", "w") as f:
            f.write(c["certificate"] + "\n")
        time.sleep(max(0.0, c["expires_at"] / 1000 - time.time()) + 1.1)
        r = self.ssh("true", opts=plain)
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"Permission denied", r.stderr)

    def test_bad_requests_get_clear_errors(self):
        path = "/v1/machines/%s/ssh" % self.mid
        pub = _read(os.path.join(self.d.state_dir, "xdg/nullspace/ssh/id_ed25519.pub"))
        cases = [
            ({}, "missing_field"),
            ({"public_key": "ssh-ed25519 AAAA"}, "invalid_field"),
            ({"public_key": "hello"}, "invalid_field"),
            ({"public_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc"}, "invalid_field"),
            ({"public_key": pub + pub}, "invalid_field"),
            ({"public_key": pub, "ttl_s": 3601}, "invalid_field"),
            ({"public_key": pub, "user": "-oops"}, "invalid_field"),
            ({"public_key": pub, "user": "a" * 40}, "invalid_field"),
            ({"public_key": pub, "extra": 1}, "unknown_field"),
        ]
        for body, code in cases:
            st, _, r = self.d.request("POST", path, body)
            self.assertEqual((st, error_code(r)), (400, code), body)
        st, _, r = self.d.request("POST", "/v1/machines/m_0000000000000000/ssh",
                                  {"public_key": pub})
        self.assertEqual((st, error_code(r)), (404, "machine_not_found"))
        # the tunnel: an upgrade is required, to a known machine, with a key
        st, _, r = self.d.request("GET", path + "/tunnel")
        self.assertEqual((st, error_code(r)), (400, "invalid_request"))
        for hdrs, want in (({"Upgrade": "websocket"}, b"400"), ({"Upgrade": "nullspace-ssh"},
                                                                b"404"), ({}, b"401")):
            h = "".join("%s: %s\r\n" % kv for kv in hdrs.items())
            auth = "" if want == b"401" else "Authorization: Bearer %s\r\n" % self.d.key
            target = self.mid if want != b"404" else "m_0000000000000000"
            head = self.d.raw(("GET /v1/machines/%s/ssh/tunnel HTTP/1.1\r\nHost: x\r\n%s"
                               "Connection: Upgrade\r\n%s\r\n" % (target, auth, h or
                                                                   "Upgrade: nullspace-ssh\r\n")
                               ).encode())
            self.assertTrue(head.startswith(b"HTTP/1.1 " + want), head[:200])
        r = self.d.cli("ssh-proxy", "m_0000000000000000")
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertIn("machine_not_found", r.stderr)

    def test_certificate_answer_and_event(self):
        pub = _read(os.path.join(self.d.state_dir, "xdg/nullspace/ssh/id_ed25519.pub"))
        st, _, c = self.d.request("POST", "/v1/machines/%s/ssh" % self.mid,
                                  {"public_key": pub, "ttl_s": 60})
        self.assertEqual(st, 201, c)
        for k in ("certificate", "known_hosts", "principal", "fingerprint", "serial",
                  "expires_at", "host_ca_public_key", "user_ca_public_key", "proxy_command"):
            self.assertIn(k, c)
        self.assertTrue(c["known_hosts"].startswith("@cert-authority m_* ssh-ed25519 "))
        cert = os.path.join(self.tmp, "c-cert.pub")
        with open(cert, "w") as f:
            f.write(c["certificate"] + "\n")
        out = subprocess.run(["ssh-keygen", "-L", "-f", cert], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(self.mid + ":root", out.stdout)
        self.assertIn("permit-pty", out.stdout)
        self.assertNotIn("permit-agent-forwarding", out.stdout)
        self.assertIn("Signing CA: ED25519", out.stdout)
        st, _, ev = self.d.request("GET", "/v1/events?type=machine.ssh_certificate&subject="
                                   + self.mid)
        self.assertEqual(st, 200, ev)
        self.assertTrue(any(e["data"]["fingerprint"] == c["fingerprint"] for e in ev["events"]))
        ca = _read(os.path.join(self.d.state_dir, "ssh/user_ca.pub")).strip()
        self.assertEqual(ca, c["user_ca_public_key"])
        self.assertEqual(os.stat(os.path.join(self.d.state_dir, "ssh/user_ca")).st_mode & 0o777,
                         0o600)

    # ---- lifecycle ----

    def test_hibernated_machine_resumes_on_connect(self):
        mid = self.create()
        try:
            opts = self.ssh_options(mid)
            st, _, r = self.d.request("POST", "/v1/machines/%s/hibernate" % mid)
            self.assertEqual(st, 200, r)
            r = self.ssh("echo woke", mid=mid, opts=opts)
            self.assertEqual((r.returncode, r.stdout), (0, b"woke\n"), r.stderr)
            st, _, m = self.d.request("GET", "/v1/machines/" + mid)
            self.assertEqual(m["state"], "running")
        finally:
            self.d.request("DELETE", "/v1/machines/" + mid)

    def test_checkpoints_right_after_sessions(self):
        """sshd and the client close at once: the tunnel resets the machine's end, so no
        connection lingers in TIME_WAIT there (gVisor cannot checkpoint one)."""
        mid = self.create()
        try:
            opts = self.ssh_options(mid)
            for i in range(4):
                r = self.ssh("echo %d" % i, mid=mid, opts=opts)  # resumes it from the 2nd on
                self.assertEqual((r.returncode, r.stdout), (0, b"%d\n" % i), r.stderr)
                st, _, r = self.d.request("POST", "/v1/machines/%s/hibernate" % mid)
                self.assertEqual(st, 200, r)
        finally:
            self.d.request("DELETE", "/v1/machines/" + mid)

    def test_sshd_closing_first_leaves_no_connection_behind(self):
        """sshd hangs up first on a client that does not speak SSH; the tunnel resets the
        machine's end instead of leaving it in TIME_WAIT, which gVisor cannot checkpoint:
        the machine hibernates at once and resumes."""
        mid = self.create()
        try:
            opts = self.ssh_options(mid)
            self.assertEqual(self.ssh("true", mid=mid, opts=opts).returncode, 0)
            with socket.create_connection((self.d.host, self.d.port), timeout=30) as s:
                s.sendall(("GET /v1/machines/%s/ssh/tunnel HTTP/1.1\r\nHost: x\r\n"
                           "Authorization: Bearer %s\r\nConnection: Upgrade\r\n"
                           "Upgrade: nullspace-ssh\r\n\r\n" % (mid, self.d.key)).encode())
                got = b""
                while b"SSH-2.0-" not in got:
                    chunk = s.recv(4096)
                    self.assertTrue(chunk, got)
                    got += chunk
                self.assertTrue(got.startswith(b"HTTP/1.1 101 "), got)
                s.sendall(b"this is not ssh\r\n")
                while s.recv(4096):
                    pass  # sshd closed first
            st, _, r = self.d.request("POST", "/v1/machines/%s/hibernate" % mid)
            self.assertEqual(st, 200, r)
            r = self.ssh("echo back", mid=mid, opts=opts)
            self.assertEqual((r.returncode, r.stdout), (0, b"back\n"), r.stderr)
        finally:
            self.d.request("DELETE", "/v1/machines/" + mid)

    def test_fork_child_answers_with_its_own_identity(self):
        mid, child = self.create(), None
        try:
            self.assertEqual(self.ssh("true", mid=mid, opts=self.ssh_options(mid)).returncode, 0)
            st, _, f = self.d.request("POST", "/v1/machines/%s/fork" % mid, {"count": 1})
            self.assertEqual(st, 201, f)
            child = f["machines"][0]["id"]
            r = self.ssh("hostname", mid=child, opts=self.ssh_options(child))
            self.assertEqual((r.returncode, r.stdout), (0, child.encode() + b"\n"), r.stderr)
            # the parent's certificate does not open the child
            r = self.ssh("true", mid=child, opts=self.ssh_options(mid))
            self.assertEqual(r.returncode, 255)
        finally:
            for m in (child, mid):
                if m:
                    self.d.request("DELETE", "/v1/machines/" + m)


def _http_get(d, url):
    import urllib.parse
    import http.client
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(d.host, d.port, timeout=30)
    c.request("GET", u.path, headers={"Host": u.netloc})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def _read(path):
    with open(path) as f:
        return f.read()


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from the host"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


if __name__ == "__main__":
    unittest.main()
