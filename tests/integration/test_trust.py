"""Certificate authorities machines trust beyond Debian's (--machine-ca, core/trust.c),
on real daemons: a CA of the test's own given as a file reaches a machine's system
bundle and NODE_EXTRA_CA_CERTS file, so curl in the machine verifies a server whose
certificate that CA signed (a Python TLS server in the same machine); a template built
on the base keeps it; with --machine-ca none the same curl is refused; a path without
a certificate stops the daemon at start with a clear message. Also: machines' links
take the host uplink's MTU (a smaller one than 1500 made large uploads hang)."""

import atexit
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import Daemon, DaemonTest

SERVER = r"""
import http.server, ssl, sys
h = http.server.HTTPServer(("127.0.0.1", 8443), http.server.SimpleHTTPRequestHandler)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain("/tmp/srv.crt", "/tmp/srv.key")
h.socket = c.wrap_socket(h.socket, server_side=True)
h.handle_request()
"""


def make_pki(d):
    """A CA and a certificate for localhost it signed, made with openssl."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=nullspace test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
        "-subj", "/CN=localhost")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "srv.crt", "-days", "2", "-extfile", "ext")
    return {n: open(os.path.join(d, n)).read() for n in ("ca.crt", "srv.crt", "srv.key")}


PKI_DIR = tempfile.mkdtemp(prefix="ns-trust-")
atexit.register(shutil.rmtree, PKI_DIR, True)
PKI = make_pki(PKI_DIR)
CA_FILE = os.path.join(PKI_DIR, "ca.crt")


def uplink_mtu():
    best = 0
    with open("/proc/net/route") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == "00000000" and fields[7] == "00000000":
                mtu = int(open("/sys/class/net/%s/mtu" % fields[0]).read())
                best = mtu if not best else min(best, mtu)
    return best if 576 <= best < 1500 else 1500


class Trust:
    def req(self, method, path, body=None):
        st, _, doc = self.d.request(method, path, body)
        return st, doc

    def create(self, **body):
        st, m = self.req("POST", "/v1/machines", body)
        self.assertEqual(st, 201, m)
        self.addCleanup(self.req, "DELETE", "/v1/machines/" + m["id"])
        return m["id"]

    def sh(self, mid, cmd):
        st, r = self.req("POST", "/v1/machines/%s/exec" % mid, {"cmd": cmd, "timeout_s": 60})
        self.assertEqual(st, 200, r)
        return r

    def write(self, mid, path, text):
        st, r = self.req("POST", "/v1/machines/%s/exec" % mid,
                         {"cmd": "cat > " + path, "stdin": text})
        self.assertEqual((st, r.get("exit_code")), (200, 0), r)

    def curl_own_server(self, mid):
        """curl in the machine against a TLS server there whose certificate the test CA
        signed: its exit code (0: verified; 60: not trusted)."""
        self.write(mid, "/tmp/srv.crt", PKI["srv.crt"])
        self.write(mid, "/tmp/srv.key", PKI["srv.key"])
        self.write(mid, "/tmp/srv.py", SERVER)
        r = self.sh(mid, "python3 /tmp/srv.py & sleep 0.5; "
                         "curl -sS -o /dev/null https://localhost:8443/; rc=$?; "
                         "kill %1 2>/dev/null; exit $rc")
        return r["exit_code"], r["stderr"]


class TrustedCa(Trust, DaemonTest):
    daemon_args = ("--machine-ca", CA_FILE)

    def test_machine_trusts_the_given_ca(self):
        mid = self.create()
        rc, err = self.curl_own_server(mid)
        self.assertEqual(rc, 0, err)
        r = self.sh(mid, "cat /usr/local/share/ca-certificates/nullspace.crt; "
                         "printenv NODE_EXTRA_CA_CERTS REQUESTS_CA_BUNDLE; "
                         "grep -c 'BEGIN CERTIFICATE' /etc/ssl/certs/ca-certificates.crt")
        out = r["stdout"]
        self.assertIn(PKI["ca.crt"].strip(), out)
        self.assertIn("/usr/local/share/ca-certificates/nullspace.crt\n"
                      "/etc/ssl/certs/ca-certificates.crt\n", out)
        self.assertGreater(int(out.strip().splitlines()[-1]), 100)  # Debian's are kept

    def test_template_on_the_base_keeps_it(self):
        (st, _), b = self.d.build_template({"name": "trust-kept", "steps": [
            {"op": "run", "cmd": "echo built > /built"}]})
        self.assertEqual((st, b["state"]), (202, "ready"), b)
        self.addCleanup(self.req, "DELETE", "/v1/templates/trust-kept")
        mid = self.create(template="trust-kept")
        rc, err = self.curl_own_server(mid)
        self.assertEqual(rc, 0, err)

    def test_link_mtu_is_the_uplinks(self):
        mid = self.create()
        r = self.sh(mid, "ip link show eth0")
        self.assertIn(" mtu %d " % uplink_mtu(), r["stdout"])


class NoCa(Trust, DaemonTest):
    daemon_args = ("--machine-ca", "none")

    def test_machine_does_not_trust_it(self):
        mid = self.create()
        rc, err = self.curl_own_server(mid)
        self.assertEqual(rc, 60, err)  # curl: the peer's certificate is not trusted
        r = self.sh(mid, "test -e /usr/local/share/ca-certificates/nullspace.crt; echo $?; "
                         "printenv NODE_EXTRA_CA_CERTS; true")
        self.assertEqual(r["stdout"], "1\n")


class BadCa(unittest.TestCase):
    def test_a_file_without_a_certificate_stops_the_start(self):
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as f:
            f.write("not a certificate\n")
            f.flush()
            for path, said in ((f.name, "holds no PEM certificate"),
                               ("/nonexistent/ca.pem", "No such file")):
                d = Daemon(("--machine-ca", path))
                try:
                    with self.assertRaises(RuntimeError) as cm:
                        d.start()
                    self.assertIn("--machine-ca", str(cm.exception))
                    self.assertIn(said, str(cm.exception))
                finally:
                    d.cleanup()


if __name__ == "__main__":
    unittest.main()
