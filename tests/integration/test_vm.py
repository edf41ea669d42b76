"""VM machines ({"runtime":"vm"}): real QEMU virtual machines, here under software
emulation (TCG; KVM where the probe finds it works), with nsagent on a virtio-serial port:
boot to agent ready, commands, files, hibernate and resume, fork x2, destroy. Few, because
emulation is slow; never a fake."""

import os
import time
import unittest

from harness import DaemonTest, error_code
from nettest import OutsideHost


class VmMachines(DaemonTest):
    daemon_args = ("--metrics-interval-ms", "200")

    def req(self, method, path, body=None):
        return self.d.request(method, path, body=body)

    def test_info_lists_the_vm_runtime(self):
        st, _, info = self.req("GET", "/v1/info")
        vm = [r for r in info["runtimes"] if r["name"] == "vm"]
        self.assertEqual(len(vm), 1, info["runtimes"])
        self.assertIn(vm[0]["accel"], ("kvm", "tcg"))  # tcg here: /dev/kvm boots no guest
        self.assertTrue(vm[0]["network"])

    def exec(self, mid, cmd):
        st, _, r = self.req("POST", "/v1/machines/%s/exec" % mid, {"cmd": cmd})
        self.assertEqual((st, r.get("exit_code")), (200, 0), r)
        return r["stdout"]

    def test_boot_exec_files_hibernate_resume_fork(self):
        t0 = time.time()
        st, _, m = self.req("POST", "/v1/machines", {"runtime": "vm", "env": {"WHO": "vm"}})
        self.assertEqual(st, 201, m)
        boot = time.time() - t0
        self.assertEqual((m["runtime"], m["state"]), ("vm", "running"))
        mid, kids = m["id"], []
        outside = OutsideHost()
        try:
            # a network of its own, its address held by the guest's kernel
            self.assertIn("inet %s/30" % m["network"]["address"],
                          self.exec(mid, "ip -4 addr show eth0"))
            self.assertEqual(self.exec(mid, "curl -s --max-time 20 " + outside.url),
                             "outside\n")
            out = self.exec(mid, "uname -r; hostname; echo $WHO; cat /proc/1/comm; "
                                 "grep -q hypervisor /proc/cpuinfo && echo vcpu").split("\n")
            self.assertTrue(out[0].endswith("-cloud-amd64"), out)  # its own kernel
            self.assertEqual(out[1:5], [mid, "vm", "nsagent", "vcpu"], out)
            st, _, w = self.d.request("PUT", "/v1/machines/%s/files?path=/root/a.txt" % mid,
                                      body=b"written into a VM\n")
            self.assertEqual(st, 200, w)
            st, _, data = self.d.request("GET", "/v1/machines/%s/files?path=/root/a.txt" % mid)
            self.assertEqual(data, b"written into a VM\n")
            # metrics come from the VM's QEMU process and its qcow2 overlay
            st, _, mt = self.req("GET", "/v1/machines/%s/metrics" % mid)
            self.assertEqual(st, 200, mt)
            self.assertGreater(mt["cpu_ns"], 0, mt)
            self.assertGreater(mt["memory_bytes"], 0, mt)
            self.assertEqual(mt["memory_limit_bytes"], m["memory_mb"] << 20, mt)
            self.assertGreater(mt["disk_bytes"], 0, mt)
            # ... and its samples over time, network bytes included (its host veth)
            st, _, ser = self.req("GET", "/v1/machines/%s/metrics?since=0" % mid)
            self.assertEqual(st, 200, ser)
            self.assertTrue(ser["points"], ser)
            last = ser["points"][-1]
            self.assertGreater(last["cpu_ns"], 0, last)
            self.assertGreater(last["net_rx_bytes"], 0, last)  # the curl above
            # a process keeps counting through hibernate and resume (memory kept)
            self.exec(mid, "(i=0; while true; do i=$((i+1)); echo $i > /root/n.new; "
                           "mv /root/n.new /root/n; sleep 0.2; done) >/dev/null 2>&1 &")
            time.sleep(1)
            # right after a connection: a VM's kernel carries TCP state, no wait needed
            st, _, h = self.req("POST", "/v1/machines/%s/hibernate" % mid)
            self.assertEqual((st, h["state"]), (200, "hibernated"), h)
            before = int(self.exec(mid, "cat /root/n"))  # auto-resumes
            time.sleep(1)
            self.assertGreater(int(self.exec(mid, "cat /root/n")), before)
            # paused in memory (QMP stop), then continued by a command (QMP cont)
            st, _, p = self.req("POST", "/v1/machines/%s/pause" % mid)
            self.assertEqual((st, p["state"]), (200, "paused"), p)
            before = int(self.exec(mid, "cat /root/n"))
            time.sleep(1)
            self.assertGreater(int(self.exec(mid, "cat /root/n")), before)
            st, _, f = self.req("POST", "/v1/machines/%s/fork" % mid, {"count": 2})
            self.assertEqual(st, 201, f)
            kids = [k["id"] for k in f["machines"]]
            self.assertEqual([k["runtime"] for k in f["machines"]], ["vm", "vm"])
            for k, info in zip(kids, f["machines"]):
                self.assertEqual(self.exec(k, "cat /root/a.txt; hostname"),
                                 "written into a VM\n%s\n" % k)
                # its own kernel took its own address (not the parent's) and it gets out
                self.assertIn("inet %s/30" % info["network"]["address"],
                              self.exec(k, "ip -4 addr show eth0"))
                self.assertEqual(self.exec(k, "curl -s --max-time 20 " + outside.url),
                                 "outside\n")
            self.exec(kids[0], "echo child > /root/a.txt")
            self.assertEqual(self.exec(mid, "cat /root/a.txt"), "written into a VM\n")
            self.assertEqual(self.exec(kids[1], "cat /root/a.txt"), "written into a VM\n")
        finally:
            outside.close()
            for k in kids:
                self.req("DELETE", "/v1/machines/" + k)
            st, _, m = self.req("DELETE", "/v1/machines/" + mid)
        self.assertEqual(m["state"], "destroyed")
        self.assertFalse(os.path.exists(os.path.join(self.d.state_dir, "machines", mid)))
        print("vm boot to agent ready: %.1f s" % boot)

    def test_machines_from_a_template_built_for_vms(self):
        # the steps run (and are cached) as for gVisor; the template's machine is a VM
        # booted on a disk made of those layers, and its snapshot is what VMs spawn from
        (st, b0), b = self.d.build_template({
            "name": "vmt", "runtime": "vm",
            "dockerfile": "FROM base\nENV GREETING=hello-vm\nRUN echo built > /opt/built\n"
                          "CMD sh -c 'i=0; while true; do i=$((i+1)); echo $i > /root/n.new; "
                          "mv /root/n.new /root/n; sleep 0.2; done'\n"}, timeout=300)
        self.assertEqual((st, b0["runtime"]), (202, "vm"), b0)
        self.assertEqual(b["state"], "ready", b)
        st, _, t = self.req("GET", "/v1/templates/vmt")
        self.assertEqual((st, t["runtime"]), (200, "vm"), t)
        st, _, r = self.req("POST", "/v1/machines", {"template": "vmt", "runtime": "gvisor"})
        self.assertEqual((st, error_code(r)), (409, "runtime_unsupported"), r)
        st, _, p = self.req("PUT", "/v1/templates/vmt/pool", {"size": 1})
        self.assertEqual(st, 200, p)
        ids = []
        try:
            for want in ("fresh", "pool"):
                if want == "pool":  # a warm VM restored from the template's snapshot
                    deadline = time.time() + 120
                    while time.time() < deadline:
                        st, _, t = self.req("GET", "/v1/templates/vmt")
                        if t["pool"]["ready"] >= 1:
                            break
                        time.sleep(0.5)
                body = {"template": "vmt", "pool": "skip" if want == "fresh" else "require"}
                st, _, m = self.req("POST", "/v1/machines", body)
                self.assertEqual(st, 201, m)
                ids.append(m["id"])
                self.assertEqual((m["runtime"], m["checkout"]), ("vm", want))
                out = self.exec(m["id"], "cat /opt/built; echo $GREETING; cat /root/n; hostname")
                built, greeting, n, host = out.split("\n")[:4]
                self.assertEqual((built, greeting, host), ("built", "hello-vm", m["id"]))
                time.sleep(0.6)  # the start command runs on from the snapshot
                self.assertGreater(int(self.exec(m["id"], "cat /root/n")), int(n))
        finally:
            self.req("PUT", "/v1/templates/vmt/pool", {"size": 0})
            for mid in ids:
                self.req("DELETE", "/v1/machines/" + mid)
        (st, r), _ = self.d.build_template({"name": "bad", "runtime": "qemu"}, timeout=1)
        self.assertEqual((st, error_code(r)), (400, "invalid_field"), r)

    def test_bad_runtime_input(self):
        st, _, r = self.req("POST", "/v1/machines", {"runtime": "firecracker"})
        self.assertEqual((st, error_code(r)), (400, "invalid_field"))
        st, _, r = self.req("POST", "/v1/machines", {"runtime": "vm", "template": "nope"})
        self.assertEqual((st, error_code(r)), (404, "template_not_found"))


class VmByDefault(DaemonTest):
    daemon_args = ("--default-runtime", "vm")

    def test_the_host_default_is_vm(self):
        st, _, info = self.d.request("GET", "/v1/info")
        default = [r["name"] for r in info["runtimes"] if r["default"]]
        self.assertEqual(default, ["vm"])


if __name__ == "__main__":
    unittest.main()
