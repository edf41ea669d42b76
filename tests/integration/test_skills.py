"""`nullspace skills install`: the skill lands where Claude Code and Codex read skills
(their environment variables honoured) or in a directory given; its front matter is
what the Agent Skills format asks; reference.md names every command of `nullspace
schema` and every MCP tool; and the quick start it teaches runs against a real daemon."""

import json
import os
import re
import tempfile
import unittest

import yaml

from harness import DaemonTest
from recipes import run_block


def front_matter(text):
    m = re.match(r"---\n(.*?)\n---\n", text, re.S)
    return yaml.safe_load(m.group(1)) if m else None


class Skills(DaemonTest):
    def install(self, *args, **env):
        home = tempfile.mkdtemp(prefix="skills-", dir=self.d.state_dir)
        e = {"HOME": home, "CLAUDE_CONFIG_DIR": "", "CODEX_HOME": ""}
        e.update(env)
        r = self.d.cli("--json", "skills", "install", *args, env=e)
        self.assertEqual(r.returncode, 0, r.stderr)
        return home, json.loads(r.stdout)["installed"]

    def test_installs_for_claude_code_and_codex(self):
        home, dirs = self.install()
        self.assertEqual(dirs, [os.path.join(home, ".claude/skills/nullspace"),
                                os.path.join(home, ".codex/skills/nullspace")])
        for d in dirs:
            with open(os.path.join(d, "SKILL.md")) as f:
                fm = front_matter(f.read())
            self.assertEqual(fm["name"], os.path.basename(d))
            self.assertRegex(fm["name"], r"^[a-z0-9-]{1,64}$")
            self.assertTrue(0 < len(fm["description"]) <= 1024, fm)
        _, only = self.install("--codex", CODEX_HOME=os.path.join(home, "cx"))
        self.assertEqual(only, [os.path.join(home, "cx/skills/nullspace")])
        _, only = self.install("--claude", CLAUDE_CONFIG_DIR=os.path.join(home, "cl"))
        self.assertEqual(only, [os.path.join(home, "cl/skills/nullspace")])
        target = os.path.join(home, "project/.claude/skills")
        _, only = self.install("--dir", target)
        self.assertEqual(only, [os.path.join(target, "nullspace")])
        r = self.d.cli("skills", "install", "extra")
        self.assertEqual(r.returncode, 2, "an argument is a usage error")

    def test_the_reference_covers_every_command_and_tool(self):
        _, dirs = self.install("--dir", tempfile.mkdtemp(dir=self.d.state_dir))
        with open(os.path.join(dirs[0], "reference.md")) as f:
            ref = f.read()
        schema = json.loads(self.d.cli("schema").stdout)
        for c in schema["commands"]:
            self.assertIn("- `nullspace %s" % c["name"], ref)
        for code in schema["exit_codes"]:
            self.assertIn("`%s` (exit %d)" % (code["code"], code["exit_code"]), ref)
        for tool in ("create_machine", "exec", "list_secrets", "run_code",
                     "desktop_screenshot"):
            self.assertIn("- `%s`: " % tool, ref)

    def test_the_quick_start_runs(self):
        _, dirs = self.install("--dir", tempfile.mkdtemp(dir=self.d.state_dir))
        with open(os.path.join(dirs[0], "SKILL.md")) as f:
            block = re.search(r"## Quick start\n\n```sh\n(.*?)```", f.read(), re.S).group(1)
        r = run_block(self.d, "sh", block)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual((lines[-3:-1], lines[-1].split()[1]), (["42", "hello"], "destroyed"))


if __name__ == "__main__":
    unittest.main()
