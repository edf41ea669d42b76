"""The TypeScript SDK (sdks/typescript): its own `npm test` (node:test) against a real
daemon and real machines started here."""

import os
import unittest

from harness import DaemonTest, SOURCE, run_bounded

SDK = os.path.join(SOURCE, "sdks", "typescript")


class TypeScriptSdk(DaemonTest):
    daemon_args = ("--webhook-allow-private", "--metrics-interval-ms", "200")

    def test_npm_test_passes_against_a_real_daemon(self):
        self.assertTrue(os.path.isdir(os.path.join(SDK, "node_modules")),
                        "run scripts/test.sh (it installs sdks/typescript with npm ci)")
        env = self.d.client_env()
        try:
            r = run_bounded(["npm", "test", "--silent"], 240, cwd=SDK, env=env)
        except AssertionError as e:
            raise AssertionError("%s\ndaemon log:\n%s" % (e, self.d.read_log()[-6000:]))
        self.assertEqual(r.returncode, 0, r.stdout[-6000:] + r.stderr[-2000:] +
                         "\ndaemon log:\n" + self.d.read_log()[-6000:])
        self.assertIn("# fail 0", r.stdout)


if __name__ == "__main__":
    unittest.main()
