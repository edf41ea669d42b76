"""Runs every example under examples/ as a user would (python3 main.py, the Python SDK,
the daemon's URL and key in the environment) against a real daemon; each checks its own
results and exits non-zero when they are wrong. ci-cd's script runs on a repository of
the test's own, once passing and once failing."""

import os
import subprocess
import sys
import tempfile
import unittest

from harness import BUILD, DaemonTest, SOURCE, run_bounded
from test_agent_examples import AGENT_FRAMEWORKS

EXAMPLES = os.path.join(SOURCE, "examples")
sys.path.insert(0, os.path.join(EXAMPLES, "model-stubs"))
from openai_stub import StubModel  # noqa: E402
MAIN = ["code-interpreter", "agent", "fork", "template-build", "template-warm-pools",
        "shared-volume", "port-forwarding", "custom-preview-proxy", "desktop-viewer",
        "resumable-upload", "lifecycle-webhook", "agent-deployment-job",
        "agent-deployment-service", "agent-deployment-typescript-service"]


class Examples(DaemonTest):
    daemon_args = ("--webhook-allow-private",)  # the webhook example listens on loopback

    def run_example(self, path, *args, **env):
        with tempfile.TemporaryDirectory(dir=self.d.state_dir) as cwd:
            e = self.d.client_env(PYTHONPATH=os.path.join(SOURCE, "sdks", "python"),
                                  PATH=os.path.abspath(BUILD) + os.pathsep + os.environ["PATH"],
                                  **env)
            return run_bounded([sys.executable, path] + list(args), 600, cwd=cwd, env=e)

    def test_every_example_is_run(self):
        on_disk = sorted(n for n in os.listdir(EXAMPLES)
                         if os.path.isdir(os.path.join(EXAMPLES, n)))
        self.assertEqual(on_disk, sorted(MAIN + ["ci-cd", "bring-your-own-agent", "model-stubs"] +
                                         AGENT_FRAMEWORKS))

    def test_examples(self):
        for name in MAIN:
            with self.subTest(example=name):
                r = self.run_example(os.path.join(EXAMPLES, name, "main.py"))
                self.assertEqual(r.returncode, 0, "%s\n%s\n%s" % (
                    r.stdout[-3000:], r.stderr[-3000:], self.d.read_log()[-2000:]))

    def test_bring_your_own_agent_up_to_the_model(self):
        model = StubModel("echo cpus=$(nproc)")
        try:
            r = self.run_example(os.path.join(EXAMPLES, "bring-your-own-agent", "main.py"),
                                 "count the CPUs", OPENAI_BASE_URL=model.url,
                                 OPENAI_API_KEY="sk-stub", MODEL="stub-1")
        finally:
            model.stop()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"answer: The command printed: .*cpus=\d+")
        first = model.requests[0]
        self.assertEqual((first[0], first[1]["Authorization"], first[2]["model"]),
                         ("/v1/chat/completions", "Bearer sk-stub", "stub-1"))
        self.assertEqual([t["function"]["name"] for t in first[2]["tools"]],
                         ["run_command", "read_file", "write_file"])
        self.assertEqual(model.requests[1][2]["messages"][-1]["tool_call_id"], "call_1")

    def test_ci_cd_script(self):
        with tempfile.TemporaryDirectory() as repo:
            git = ["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com"]
            subprocess.run(["git", "init", "-q", repo], check=True)
            with open(os.path.join(repo, "test_ok.py"), "w") as f:
                f.write("import unittest\n\nclass T(unittest.TestCase):\n"
                        "    def test_ok(self):\n        self.assertEqual(1 + 1, 2)\n")
            subprocess.run(git + ["add", "."], check=True)
            subprocess.run(git + ["commit", "-qm", "green"], check=True)
            summary = os.path.join(repo, ".summary")
            script = os.path.join(EXAMPLES, "ci-cd", "ci.py")
            r = self.run_example(script, GITHUB_WORKSPACE=repo, GITHUB_STEP_SUMMARY=summary)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("checks passed", r.stdout)
            with open(summary) as f:
                self.assertIn("Nullspace checks passed", f.read())
            r = self.run_example(script, GITHUB_WORKSPACE=repo, CHECK_CMD="exit 3")
            self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
            self.assertIn("checks failed (exit 3)", r.stdout)


if __name__ == "__main__":
    unittest.main()
