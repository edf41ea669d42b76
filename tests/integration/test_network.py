"""Machine networking against real gVisor machines: each machine has its own address
and namespace, reaches the outside through NAT, cannot reach other machines or the
host's services (the daemon's API included), follows its egress policy (changed while
it runs), and fork children get addresses of their own."""

import os
import socket
import time
import unittest

from harness import Daemon, DaemonTest, error_code
from nettest import OutsideHost, curl_code, machine_address, start_web


class Network(DaemonTest):
    daemon_args = ("--listen", "0.0.0.0:0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outside = OutsideHost()
        # a service of the host's own, on every address
        cls.host_service = socket.socket()
        cls.host_service.bind(("0.0.0.0", 0))
        cls.host_service.listen(16)
        cls.host_port = cls.host_service.getsockname()[1]

    @classmethod
    def tearDownClass(cls):
        cls.host_service.close()
        cls.outside.close()
        super().tearDownClass()

    def machine(self, **body):
        st, _, m = self.d.request("POST", "/v1/machines", body=body)
        self.assertEqual(st, 201, m)
        self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + m["id"])
        return m

    def test_info_says_networking_is_on(self):
        st, _, info = self.d.request("GET", "/v1/info")
        self.assertEqual((st, info["network"]["enabled"]), (200, True), info)

    def test_own_address_and_the_outside_through_nat(self):
        m = self.machine()
        net = m["network"]
        self.assertTrue(net["allow_internet_access"])
        st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % m["id"],
                                  {"cmd": "ip -4 addr show eth0; ip route"})
        self.assertIn("inet %s/30" % net["address"], r["stdout"])
        self.assertIn("default via %s" % net["gateway"], r["stdout"])
        self.assertEqual(curl_code(self.d, m["id"], self.outside.url), "200")

    def test_machines_cannot_reach_each_other_the_host_or_the_api(self):
        a, b = self.machine(), self.machine()
        b_addr = start_web(self.d, b["id"])
        gw = a["network"]["gateway"]
        # the host reaches b (that is how previews work) ...
        socket.create_connection((b_addr, 8000), timeout=3).close()
        # ... a does not, nor the host's services on its gateway, nor the daemon's API
        self.assertEqual(curl_code(self.d, a["id"], "http://%s:8000/" % b_addr), "000")
        self.assertEqual(curl_code(self.d, a["id"], "http://%s:%d/" % (gw, self.host_port)), "000")
        self.assertEqual(curl_code(self.d, a["id"], "http://%s:%d/healthz" % (gw, self.d.port)),
                         "000")
        self.assertEqual(curl_code(self.d, a["id"], self.outside.url), "200")  # the control
        # unless explicitly allowed
        st, _, r = self.d.request("PUT", "/v1/machines/%s/network" % a["id"],
                                  body={"allow_out": [b_addr]})
        self.assertEqual(st, 200, r)
        self.assertEqual(curl_code(self.d, a["id"], "http://%s:8000/" % b_addr), "200")

    def test_egress_policy_at_create_and_while_running(self):
        m = self.machine(network={"allow_internet_access": False})
        mid, url = m["id"], self.outside.url
        self.assertFalse(m["network"]["allow_internet_access"])
        self.assertEqual(curl_code(self.d, mid, url), "000")

        def put(body):
            st, _, r = self.d.request("PUT", "/v1/machines/%s/network" % mid, body=body)
            self.assertEqual(st, 200, r)
            return r["network"]

        net = put({"allow_out": [self.outside.addr + "/32"]})
        self.assertEqual(net["allow_out"], [self.outside.addr + "/32"])
        self.assertEqual(curl_code(self.d, mid, url), "200")
        put({"allow_internet_access": True, "allow_out": [],
             "deny_out": [self.outside.addr.rsplit(".", 1)[0] + ".0/24"]})
        self.assertEqual(curl_code(self.d, mid, url), "000")
        put({"deny_out": []})
        self.assertEqual(curl_code(self.d, mid, url), "200")

    def test_cli_shows_and_changes_the_policy(self):
        m = self.machine()
        r = self.d.cli("machines", "network", m["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(m["network"]["address"], r.stdout)
        r = self.d.cli("--json", "machines", "network", m["id"], "--no-internet", "--allow-out",
                       self.outside.addr, "--deny-out", "192.0.2.0/24")
        self.assertEqual(r.returncode, 0, r.stderr)
        net = __import__("json").loads(r.stdout)["network"]
        self.assertEqual((net["allow_internet_access"], net["allow_out"], net["deny_out"]),
                         (False, [self.outside.addr], ["192.0.2.0/24"]))
        self.assertEqual(curl_code(self.d, m["id"], self.outside.url), "200")
        r = self.d.cli("machines", "network", m["id"], "--allow-out", "")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(curl_code(self.d, m["id"], self.outside.url), "000")
        r = self.d.cli("machines", "network", m["id"], "--allow-out", "10.0.0.0/99")
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("invalid_field", r.stderr)
        r = self.d.cli("machines", "create", "--no-internet", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        made = __import__("json").loads(r.stdout)
        self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + made["id"])
        self.assertFalse(made["network"]["allow_internet_access"])

    def test_bad_network_input_gets_stable_codes(self):
        m = self.machine()
        cases = [({"allow_out": ["300.1.1.1"]}, "invalid_field"),
                 ({"allow_out": "10.0.0.0/8"}, "invalid_field"),
                 ({"deny_out": ["10.0.0.0/33"]}, "invalid_field"),
                 ({"allow_internet_access": "no"}, "invalid_field"),
                 ({"nope": 1}, "unknown_field")]
        for body, code in cases:
            st, _, r = self.d.request("PUT", "/v1/machines/%s/network" % m["id"], body=body)
            self.assertEqual((st, error_code(r)), (400, code), body)
            st, _, r = self.d.request("POST", "/v1/machines", body={"network": body})
            self.assertEqual((st, error_code(r)), (400, code), body)
        st, _, r = self.d.request("PUT", "/v1/machines/m_0000000000000000/network", body={})
        self.assertEqual((st, error_code(r)), (404, "machine_not_found"))
        st, _, r = self.d.request("GET", "/v1/machines/" + m["id"])
        self.assertEqual(r["network"]["allow_out"], [])  # nothing half-applied

    def test_resume_keeps_the_address_and_the_server(self):
        m = self.machine()
        addr = start_web(self.d, m["id"])
        st, _, h = self.d.request("POST", "/v1/machines/%s/hibernate" % m["id"])
        self.assertEqual((st, h.get("state")), (200, "hibernated"), h)
        st, _, r = self.d.request("POST", "/v1/machines/%s/resume" % m["id"])
        self.assertEqual((st, r["network"]["address"]), (200, addr), r)
        socket.create_connection((addr, 8000), timeout=5).close()
        self.assertEqual(curl_code(self.d, m["id"], self.outside.url), "200")

    def test_fork_children_get_addresses_of_their_own(self):
        parent = self.machine()
        start_web(self.d, parent["id"])
        st, _, r = self.d.request("POST", "/v1/machines/%s/fork" % parent["id"], {"count": 3})
        self.assertEqual(st, 201, r)
        kids = [k["id"] for k in r["machines"]]
        for k in kids:
            self.addCleanup(self.d.request, "DELETE", "/v1/machines/" + k)
        addrs = [machine_address(self.d, x) for x in [parent["id"]] + kids]
        self.assertEqual(len(set(addrs)), 4, addrs)
        for k, addr in zip(kids, addrs[1:]):
            # each child serves on its own address (the server came along in the fork)
            socket.create_connection((addr, 8000), timeout=5).close()
            self.assertEqual(curl_code(self.d, k, self.outside.url), "200")


def pool_namespaces(table):
    """{slot: name} of the namespaces daemon `table` made ahead of machines."""
    prefix = "nsp" + table[len("nullspace_"):] + "-"
    return {int(n[len(prefix):]): n for n in os.listdir("/run/netns") if n.startswith(prefix)}


def wait_pool_ready(d, want, timeout=30):
    deadline = time.time() + timeout
    while True:
        info = d.request("GET", "/v1/info")[2]
        pool = info["network"]["netns_pool"]
        if pool["ready"] == want or time.time() > deadline:
            return info["network"]["nftables_table"], pool
        time.sleep(0.05)


class NamespacePool(unittest.TestCase):
    """Network namespaces made ahead of machines (--netns-pool): a create takes one, the
    pool refills, and none outlives its daemon, also a killed one."""

    def test_a_create_takes_a_made_namespace_and_the_pool_refills(self):
        d = Daemon(("--netns-pool", "3")).start()
        try:
            table, pool = wait_pool_ready(d, 3)
            self.assertEqual(pool, {"size": 3, "ready": 3, "creating": 0})
            made = pool_namespaces(table)
            self.assertEqual(len(made), 3, made)
            st, _, m = d.request("POST", "/v1/machines", {})
            self.assertEqual(st, 201, m)
            with open("/run/nullspace/net/" + m["id"]) as f:
                slot = int(f.read())
            self.assertIn(slot, made)  # its address is the pool's, and so its namespace
            self.assertFalse(os.path.exists("/run/netns/" + made[slot]))
            r = d.request("POST", "/v1/machines/%s/exec" % m["id"],
                          {"cmd": "ip -4 addr show eth0; ip route"})[2]
            self.assertIn("inet %s/30" % m["network"]["address"], r["stdout"])
            self.assertIn("default via %s" % m["network"]["gateway"], r["stdout"])
            self.assertEqual(wait_pool_ready(d, 3)[1]["ready"], 3)
            self.assertEqual(d.request("DELETE", "/v1/machines/" + m["id"])[0], 200)
            self.assertFalse(os.path.exists("/run/netns/nsm-" + m["id"]))
            self.assertEqual(d.stop(), 0)
            self.assertEqual(pool_namespaces(table), {})
            self.assertFalse([n for n in os.listdir("/run/nullspace/net")
                              if n.startswith("np" + table[len("nullspace_"):])])
        finally:
            d.cleanup()

    def test_a_killed_daemons_namespaces_go_at_its_next_start(self):
        d = Daemon(("--netns-pool", "2")).start()
        try:
            table, _ = wait_pool_ready(d, 2)
            before = pool_namespaces(table)
            self.assertEqual(len(before), 2)
            d.kill()
            self.assertEqual(pool_namespaces(table), before)  # nothing removed them
            d.start()
            wait_pool_ready(d, 2)
            after = pool_namespaces(table)
            self.assertEqual(len(after), 2, after)
            # the old ones were deleted and their slots freed before new ones were made
            for slot in set(before) - set(after):
                self.assertFalse(os.path.exists("/run/nullspace/net/%d" % slot))
            self.assertEqual(d.stop(), 0)
            self.assertEqual(pool_namespaces(table), {})
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
