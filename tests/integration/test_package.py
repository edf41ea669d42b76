"""The single-host release artifacts (scripts/package.sh): a Debian package that lintian
and systemd-analyze accept, whose installed layout runs machines, and a release
manifest that tells the truth about it."""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BUILD, DAEMON, SOURCE, Daemon

LAYOUT = ["./usr/bin/nullspaced", "./usr/bin/nullspace", "./usr/lib/nullspace/nsagent",
          "./usr/lib/nullspace/nsshim", "./usr/lib/nullspace/vm-assets.sh",
          "./usr/lib/nullspace/vm-init.sh", "./etc/nullspace/nullspaced.conf",
          "./lib/systemd/system/nullspaced.service", "./usr/share/man/man8/nullspaced.8.gz",
          "./usr/share/man/man1/nullspace.1.gz", "./usr/share/doc/nullspace/copyright",
          "./usr/share/doc/nullspace/operations.md"]


def sanitized():
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        return "NS_SANITIZE:BOOL=ON" in f.read()


@unittest.skipIf(sanitized(), "the package is made from the release build (the gcc pass)")
class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.out = tempfile.mkdtemp(prefix="ns-it-dist-")
        r = subprocess.run([os.path.join(SOURCE, "scripts", "package.sh"), cls.out, BUILD],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        cls.deb, cls.manifest = r.stdout.split()
        cls.root = tempfile.mkdtemp(prefix="ns-it-pkgroot-")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, ignore_errors=True)
        shutil.rmtree(cls.root, ignore_errors=True)

    def field(self, name):
        return subprocess.run(["dpkg-deb", "-f", self.deb, name], capture_output=True,
                              text=True, check=True).stdout.strip()

    def test_the_layout_and_its_dependencies(self):
        listed = [l.split()[-1] for l in subprocess.run(
            ["dpkg-deb", "-c", self.deb], capture_output=True, text=True).stdout.splitlines()]
        self.assertEqual([p for p in LAYOUT if p not in listed], [])
        depends = self.field("Depends")
        for pkg in ("runsc", "nftables", "iproute2", "debootstrap", "libjansson4",
                    "libsqlite3-0", "libcurl4", "libwslay1"):
            self.assertIn(pkg, depends)
        self.assertIn("qemu-system-x86", self.field("Recommends"))
        self.assertEqual(os.path.basename(self.deb),
                         "nullspace_%s_amd64.deb" % self.field("Version"))

    def test_lintian_accepts_it(self):
        r = subprocess.run(["lintian", "--no-cfg", "--fail-on", "error,warning", self.deb],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotRegex(r.stdout, r"(?m)^[EW]: ")

    def test_systemd_accepts_the_unit(self):
        unit = os.path.join(self.root, "lib/systemd/system/nullspaced.service")
        with open(unit) as f:
            text = f.read()
        for line in ("Restart=on-failure", "KillMode=process",
                     "ExecStart=/usr/bin/nullspaced --state-dir /var/lib/nullspace"):
            self.assertIn(line, text)
        # verified with its ExecStart pointing into the unpacked package
        tmp = tempfile.mkdtemp(prefix="ns-it-unit-")
        try:
            with open(os.path.join(tmp, "nullspaced.service"), "w") as f:
                f.write(text.replace("/usr/bin/nullspaced",
                                     os.path.join(self.root, "usr/bin/nullspaced")))
            r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                                os.path.join(tmp, "nullspaced.service")],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            shutil.rmtree(tmp)

    def test_the_manifest_tells_the_truth(self):
        with open(self.manifest) as f:
            m = json.load(f)
        with open(self.deb, "rb") as f:
            data = f.read()
        art = m["artifacts"][0]
        self.assertEqual((art["name"], art["sha256"], art["size_bytes"]),
                         (os.path.basename(self.deb), hashlib.sha256(data).hexdigest(),
                          len(data)))
        said = subprocess.run([DAEMON, "--version"], capture_output=True,
                              text=True).stdout.strip()
        self.assertEqual(said, "nullspaced %s (store schema %d, agent protocol %d)" %
                         (m["version"], m["store_schema_version"], m["agent_protocol_version"]))
        self.assertEqual(m["upgrades_from"]["store_schema_versions"][-1],
                         m["store_schema_version"])

    def test_the_installed_layout_runs_machines(self):
        # bin/nullspaced finds nsagent, nsshim and the VM scripts in ../lib/nullspace
        d = Daemon(binary=os.path.join(self.root, "usr/bin/nullspaced"))
        try:
            d.start()
            st, _, m = d.request("POST", "/v1/machines")
            self.assertEqual(st, 201, m)
            st, _, r = d.request("POST", "/v1/machines/%s/exec" % m["id"],
                                 {"cmd": "echo installed"})
            self.assertEqual((st, r["stdout"]), (200, "installed\n"), r)
            self.assertEqual(d.request("DELETE", "/v1/machines/" + m["id"])[0], 200)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
