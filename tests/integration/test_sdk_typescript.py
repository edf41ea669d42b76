"""The TypeScript SDK (sdks/typescript): its own `npm test` (node:test) against a real
daemon and real machines started here."""

import os
import unittest

from harness import DaemonTest, SOURCE, npm_test

SDK = os.path.join(SOURCE, "sdks", "typescript")


class TypeScriptSdk(DaemonTest):
    daemon_args = ("--webhook-allow-private", "--metrics-interval-ms", "200")

    def test_npm_test_passes_against_a_real_daemon(self):
        self.assertTrue(os.path.isdir(os.path.join(SDK, "node_modules")),
                        "run scripts/test.sh (it installs sdks/typescript with npm ci)")
        npm_test(self.d, SDK, self.d.client_env(), 240)


if __name__ == "__main__":
    unittest.main()
