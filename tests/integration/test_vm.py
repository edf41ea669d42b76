"""VM machines ({"runtime":"vm"}): real QEMU virtual machines, here under software
emulation (TCG; KVM where the probe finds it works), with nsagent on a virtio-serial port:
boot to agent ready, commands, files, what they cannot do yet, destroy. Few, because
emulation is slow; never a fake."""

import os
import time
import unittest

from harness import DaemonTest, error_code


class VmMachines(DaemonTest):
    def req(self, method, path, body=None):
        return self.d.request(method, path, body=body)

    def test_info_lists_the_vm_runtime(self):
        st, _, info = self.req("GET", "/v1/info")
        vm = [r for r in info["runtimes"] if r["name"] == "vm"]
        self.assertEqual(len(vm), 1, info["runtimes"])
        self.assertIn(vm[0]["accel"], ("kvm", "tcg"))  # tcg here: /dev/kvm boots no guest
        self.assertFalse(vm[0]["network"])

    def test_boot_exec_files_and_destroy(self):
        t0 = time.time()
        st, _, m = self.req("POST", "/v1/machines", {"runtime": "vm", "env": {"WHO": "vm"}})
        self.assertEqual(st, 201, m)
        boot = time.time() - t0
        self.assertEqual((m["runtime"], m["state"]), ("vm", "running"))
        mid = m["id"]
        try:
            st, _, r = self.req("POST", "/v1/machines/%s/exec" % mid,
                                {"cmd": "uname -r; hostname; echo $WHO; cat /proc/1/comm; "
                                        "grep -c hypervisor /proc/cpuinfo >/dev/null && echo vcpu"})
            self.assertEqual(st, 200, r)
            out = r["stdout"].split("\n")
            self.assertTrue(out[0].endswith("-cloud-amd64"), r)  # its own kernel
            self.assertEqual(out[1:5], [mid, "vm", "nsagent", "vcpu"], r)
            st, _, w = self.d.request("PUT", "/v1/machines/%s/files?path=/root/a.txt" % mid,
                                      body=b"written into a VM\n")
            self.assertEqual(st, 200, w)
            st, _, data = self.d.request("GET", "/v1/machines/%s/files?path=/root/a.txt" % mid)
            self.assertEqual(data, b"written into a VM\n")
            for op in ("hibernate", "fork", "snapshots"):
                st, _, r = self.req("POST", "/v1/machines/%s/%s" % (mid, op), {} if op != "hibernate" else None)
                self.assertEqual((st, error_code(r)), (409, "runtime_unsupported"), (op, r))
        finally:
            st, _, m = self.req("DELETE", "/v1/machines/" + mid)
        self.assertEqual(m["state"], "destroyed")
        self.assertFalse(os.path.exists(os.path.join(self.d.state_dir, "machines", mid)))
        print("vm boot to agent ready: %.1f s" % boot)

    def test_bad_runtime_input(self):
        st, _, r = self.req("POST", "/v1/machines", {"runtime": "firecracker"})
        self.assertEqual((st, error_code(r)), (400, "invalid_field"))
        st, _, r = self.req("POST", "/v1/machines", {"runtime": "vm", "template": "nope"})
        self.assertEqual((st, error_code(r)), (409, "runtime_unsupported"))


if __name__ == "__main__":
    unittest.main()
