"""Runs every block of docs/recipes.md (Python SDK, TypeScript SDK, CLI, curl, MCP)
against a real daemon: a block passes when it exits 0 (they check their own results).
The desktop's run in test_desktop, on a daemon that has that template built."""

import unittest

from harness import DaemonTest
from recipes import blocks, check, run_block


class Recipes(DaemonTest):
    daemon_args = ("--webhook-allow-private",)  # the webhook recipes listen on loopback

    def test_every_recipe_runs(self):
        found = [b for b in blocks() if not b[0].startswith("desktop")]
        self.assertGreaterEqual(len(found), 12)
        for name, lang, body in found:
            with self.subTest(recipe=name, lang=lang):
                check(self, name, lang, run_block(self.d, lang, body))


if __name__ == "__main__":
    unittest.main()
