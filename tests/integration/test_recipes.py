"""Runs every block of docs/recipes.md (Python SDK, TypeScript SDK, CLI, curl, MCP)
against a real daemon: a block passes when it exits 0 (they check their own results)."""

import os
import re
import subprocess
import tempfile
import unittest

from harness import BUILD, DaemonTest, SOURCE

RECIPES = os.path.join(SOURCE, "docs", "recipes.md")
TS_SDK = os.path.join(SOURCE, "sdks", "typescript")


def blocks():
    with open(RECIPES) as f:
        text = f.read()
    for lang, body in re.findall(r"```(python|js|sh)\n(.*?)```", text, re.S):
        first = body.splitlines()[0]
        if "recipe:" in first:
            yield first.split("recipe:", 1)[1].strip(), lang, body


class Recipes(DaemonTest):
    daemon_args = ("--webhook-allow-private",)  # the webhook recipes listen on loopback

    def run_block(self, lang, body):
        env = self.d.client_env(PYTHONPATH=os.path.join(SOURCE, "sdks", "python"),
                                PATH=os.path.abspath(BUILD) + os.pathsep + os.environ["PATH"])
        if lang == "python":
            cmd, suffix, where = ["python3"], ".py", None
        elif lang == "js":  # inside the SDK's directory "@nullspace/sdk" names itself
            cmd, suffix, where = ["node"], ".mjs", TS_SDK
        else:
            cmd, suffix, where = ["bash", "-euo", "pipefail"], ".sh", None
        fd, path = tempfile.mkstemp(suffix=suffix, prefix=".recipe-", dir=where)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(body)
            return subprocess.run(cmd + [path], env=env, capture_output=True, text=True,
                                  timeout=300, cwd=self.d.state_dir)
        finally:
            os.unlink(path)

    def test_every_recipe_runs(self):
        found = list(blocks())
        self.assertGreaterEqual(len(found), 12)
        for name, lang, body in found:
            with self.subTest(recipe=name, lang=lang):
                r = self.run_block(lang, body)
                self.assertEqual(r.returncode, 0, "%s (%s):\n%s\n%s" % (name, lang, r.stdout[-2000:],
                                                                        r.stderr[-2000:]))


if __name__ == "__main__":
    unittest.main()
