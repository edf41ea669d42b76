"""Agent workspaces: the built-in codex, claude-code, opencode and amp templates are
built on first need (from npm, pinned) and each page of docs/workspaces/ runs as written
up to the model call: the API key arrives as a secret, a repository is cloned from a
git bundle, and the agent answers --version."""

import os
import subprocess
import tempfile
import unittest

from harness import DaemonTest, SOURCE
from recipes import blocks, check, run_block

PAGES = {"codex": "OPENAI_API_KEY", "claude-code": "ANTHROPIC_API_KEY",
         "opencode": "ANTHROPIC_API_KEY", "amp": "AMP_API_KEY"}


def make_repo(where):
    """A git repository with one commit (the project a page's block brings in)."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", where]
    subprocess.run(["git", "init", "-q", where], check=True)
    with open(os.path.join(where, "README.md"), "w") as f:
        f.write("a project for an agent\n")
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "first commit"], check=True)


class Workspaces(DaemonTest):
    def test_every_page_runs_up_to_the_model_call(self):
        with tempfile.TemporaryDirectory() as project:
            make_repo(project)
            for tpl, key in PAGES.items():
                page = os.path.join(SOURCE, "docs", "workspaces", tpl + ".md")
                found = list(blocks(page))
                self.assertEqual([b[0] for b in found], ["workspace-%s (CLI)" % tpl])
                name, lang, body = found[0]
                with self.subTest(template=tpl):
                    r = run_block(self.d, lang, body, PROJECT=project,
                                  **{key: "dummy-" + tpl})
                    check(self, name, lang, r)
                    self.assertIn("first commit", r.stdout, "the repository was cloned")
                    self.assertRegex(r.stdout, r"\d+\.\d+", "the agent printed its version")

    def test_the_workspace_has_node_22_and_git_set_up(self):
        st, _, m = self.d.request("POST", "/v1/machines", {"template": "codex"})
        self.assertEqual(st, 201, m)
        try:
            self.assertEqual(m["cwd"], "/workspace")
            st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % m["id"], {
                "cmd": "node --version; git config init.defaultBranch; pwd; "
                       "command -v rg ssh jq curl >/dev/null && echo tools"})
            self.assertEqual(r["stdout"].splitlines()[1:], ["main", "/workspace", "tools"], r)
            self.assertTrue(r["stdout"].startswith("v22."), r)
        finally:
            self.d.request("DELETE", "/v1/machines/" + m["id"])


if __name__ == "__main__":
    unittest.main()
