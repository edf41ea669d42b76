"""Domain names in machine egress policies, against real gVisor machines: the machines'
DNS goes through the daemon's resolver proxy (whatever server they ask), which refuses
denied names (and, with allow_internet_access off, names not allowed) and opens the
addresses allowed names resolve to. The upstream is a DNS server of the test's own."""

import unittest

from harness import DaemonTest
from nettest import DnsServer, OutsideHost, curl_code

# a raw DNS query for NAME to SERVER:53 from inside a machine; prints the answer's rcode
RAW_QUERY = r"""
import socket, sys
name, server = sys.argv[1], sys.argv[2]
q = b"\x00\x07\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
for l in name.split("."):
    q += bytes([len(l)]) + l.encode()
q += b"\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(q, (server, 53))
print(s.recv(512)[3] & 15)
"""


class Domains(DaemonTest):
    @classmethod
    def setUpClass(cls):
        cls.outside = OutsideHost()
        cls.outside.start_tls()
        cls.dns = DnsServer({"allowed.nstest": cls.outside.addr,
                             "other.nstest": cls.outside.addr2,
                             "blocked.nstest": cls.outside.addr})
        cls.daemon_args = ("--dns-upstream", "127.0.0.1:%d" % cls.dns.port)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.dns.close()
        cls.outside.close()

    def machine(self, network):
        st, _, m = self.d.request("POST", "/v1/machines", body={"network": network})
        self.assertEqual(st, 201, m)
        self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + m["id"])
        return m["id"]

    def url(self, host):
        return "http://%s:8080/hello.txt" % host

    def test_allowed_domains_only_with_internet_off(self):
        mid = self.machine({"allow_internet_access": False, "allow_out": ["allowed.nstest"]})
        self.assertEqual(curl_code(self.d, mid, self.url("allowed.nstest")), "200")
        # a name not allowed does not even resolve; its address is closed too
        self.assertEqual(curl_code(self.d, mid, self.url("other.nstest")), "000")
        self.assertEqual(curl_code(self.d, mid, self.url(self.outside.addr2)), "000")
        st, _, r = self.d.request("PUT", "/v1/machines/%s/network" % mid,
                                  body={"allow_out": ["other.nstest"]})
        self.assertEqual(st, 200, r)
        self.assertEqual(curl_code(self.d, mid, self.url("other.nstest")), "200")

    def test_denied_domains_whatever_server_is_asked(self):
        mid = self.machine({"deny_out": ["blocked.nstest"]})
        self.assertEqual(curl_code(self.d, mid, self.url("other.nstest")), "200")
        self.assertEqual(curl_code(self.d, mid, self.url("blocked.nstest")), "000")
        self.d.request("PUT", "/v1/machines/%s/files?path=/root/q.py" % mid,
                       body=RAW_QUERY.encode())
        for server in ("192.0.2.53", "10.9.9.9"):  # any resolver: the proxy answers
            st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % mid, {
                "argv": ["python3", "/root/q.py", "blocked.nstest", server]})
            self.assertEqual(r["stdout"], "5\n", r)  # REFUSED
            st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % mid, {
                "argv": ["python3", "/root/q.py", "other.nstest", server]})
            self.assertEqual(r["stdout"], "0\n", r)

    def https(self, mid, name, addr=None):
        """curl's status for https://name/hello.txt (addr: connect there, DNS unasked)."""
        pin = "--resolve %s:443:%s " % (name, addr) if addr else ""
        st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % mid, {
            "cmd": "curl -sk -m 5 %s-o /dev/null -w '%%{http_code}' https://%s/hello.txt"
                   % (pin, name)})
        return r["stdout"]

    def test_tls_server_name_decides_not_only_the_address(self):
        mid = self.machine({"allow_internet_access": False, "allow_out": ["allowed.nstest"]})
        self.assertEqual(self.https(mid, "allowed.nstest"), "200")
        # the same address, opened by resolving allowed.nstest, under another name
        self.assertEqual(self.https(mid, "other.nstest", self.outside.addr), "000")
        open_ = self.machine({"deny_out": ["blocked.nstest"]})
        self.assertEqual(self.https(open_, "other.nstest"), "200")
        self.assertEqual(self.https(open_, "blocked.nstest", self.outside.addr), "000")
        self.assertEqual(self.https(open_, self.outside.addr2), "200")  # no name: allowed

    def test_domain_patterns_are_validated(self):
        for bad in (["Example.com"], ["*.*.a.com"], ["a..com"], ["-x.com"], ["x"], ["*.nstest"]):
            st, _, r = self.d.request("POST", "/v1/machines", body={"network": {"allow_out": bad}})
            self.assertEqual(st, 400, (bad, r))
            self.assertEqual(r["error"]["code"], "invalid_field")


if __name__ == "__main__":
    unittest.main()
