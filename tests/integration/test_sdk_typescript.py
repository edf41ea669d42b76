"""The TypeScript SDK (sdks/typescript): its own `npm test` (node:test) against a real
daemon and real machines started here."""

import os
import subprocess
import unittest

from harness import DaemonTest, SOURCE

SDK = os.path.join(SOURCE, "sdks", "typescript")


class TypeScriptSdk(DaemonTest):
    def test_npm_test_passes_against_a_real_daemon(self):
        self.assertTrue(os.path.isdir(os.path.join(SDK, "node_modules")),
                        "run scripts/test.sh (it installs sdks/typescript with npm ci)")
        env = self.d.client_env()
        r = subprocess.run(["npm", "test", "--silent"], cwd=SDK, env=env, capture_output=True,
                           text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout[-4000:] + r.stderr[-2000:])
        self.assertIn("# fail 0", r.stdout)


if __name__ == "__main__":
    unittest.main()
