"""Built-in templates across an upgrade (docs/templates.md, "Built-in templates"): a
daemon whose built-in definition changed rebuilds that template at start-up, in the
background, while machines keep starting from the old build; an unchanged definition
is left alone. The daemon here is a copy of the build's, beside a built-in template of
the test's own (the daemon takes its built-in templates from beside its binary)."""

import json
import os
import shutil
import tempfile
import time
import unittest

from harness import BUILD, Daemon


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class BuiltinUpgrade(unittest.TestCase):
    def setUp(self):
        self.lib = tempfile.mkdtemp(prefix="ns-it-lib-")
        self.addCleanup(shutil.rmtree, self.lib, ignore_errors=True)
        shutil.copy2(os.path.join(BUILD, "nullspaced"), self.lib)
        for name in os.listdir(BUILD):
            if name.startswith("ns") or name.endswith((".so", ".sh")):
                os.symlink(os.path.join(BUILD, name), os.path.join(self.lib, name))
        self.define("1")
        self.d = Daemon(binary=os.path.join(self.lib, "nullspaced"))
        self.addCleanup(self.d.cleanup)
        self.d.start()

    def define(self, version):
        tpl = os.path.join(self.lib, "templates", "tiny")
        write(os.path.join(tpl, "template.json"), json.dumps(
            {"description": "a test's", "steps": [{"op": "copy", "src": ["files"], "dest": "/"}]}))
        write(os.path.join(tpl, "files", "etc", "tiny-version"), version)

    def version_in_a_machine(self):
        st, _, m = self.d.request("POST", "/v1/machines", {"template": "tiny"})
        self.assertEqual(st, 201, m)
        try:
            st, _, out = self.d.request("POST", "/v1/machines/%s/exec" % m["id"],
                                        {"argv": ["cat", "/etc/tiny-version"]})
            self.assertEqual(st, 200, out)
            return out["stdout"]
        finally:
            self.d.request("DELETE", "/v1/machines/" + m["id"])

    def build_id(self):
        st, _, t = self.d.request("GET", "/v1/templates/tiny")
        self.assertEqual(st, 200, t)
        return t["build_id"]

    def restart(self):
        self.assertEqual(self.d.stop(), 0)
        self.d.start()

    def test_a_changed_definition_is_rebuilt_at_start_up(self):
        self.assertEqual(self.version_in_a_machine(), "1")  # built on first need
        first = self.build_id()
        self.restart()
        self.assertEqual(self.build_id(), first)
        self.assertNotIn("builtin_template_stale", self.d.read_log())
        self.d.stop()
        self.define("2")
        self.d.start()
        deadline = time.monotonic() + 240
        while self.build_id() == first and time.monotonic() < deadline:
            self.assertNotIn("builtin_template_refresh_failed", self.d.read_log())
            time.sleep(0.25)
        self.assertNotEqual(self.build_id(), first, self.d.read_log()[-3000:])
        self.assertIn("builtin_template_stale", self.d.read_log())
        self.assertEqual(self.version_in_a_machine(), "2")


if __name__ == "__main__":
    unittest.main()
