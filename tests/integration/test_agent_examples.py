"""Runs the agent-framework deployment examples (examples/agent-deployment-*: the OpenAI
Agents SDK and Claude Agent SDK jobs, the LangGraph service, the CrewAI job) as a user
would, python3 main.py, against a real daemon, with no model key: each example adds its
stub model to the project and checks that its run went through the framework's whole
loop (a tool call in the machine, an answer quoting it). Their builds install the
frameworks from the npm registry in machines (through the host's proxy, trusting its
CA: --machine-ca); they run side by side, as their time goes to downloads. The CrewAI
example installs from PyPI and is skipped, saying so, when PyPI does not answer."""

import os
import socket
import subprocess
import sys
import tempfile
import unittest

from harness import BUILD, DaemonTest, SOURCE

EXAMPLES = os.path.join(SOURCE, "examples")
AGENT_FRAMEWORKS = ["agent-deployment-openai-agents", "agent-deployment-claude-agent-sdk",
                    "agent-deployment-langgraph-service", "agent-deployment-crewai-job"]
NEEDS_PYPI = {"agent-deployment-crewai-job"}


def pypi_answers():
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


class AgentExamples(DaemonTest):
    def test_framework_examples(self):
        pypi = pypi_answers()
        names = [n for n in AGENT_FRAMEWORKS if pypi or n not in NEEDS_PYPI]
        env = self.d.client_env(PYTHONPATH=os.path.join(SOURCE, "sdks", "python"),
                                PATH=os.path.abspath(BUILD) + os.pathsep + os.environ["PATH"])
        for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):  # the stub models, always
            env.pop(key, None)
        with tempfile.TemporaryDirectory(dir=self.d.state_dir) as cwd:
            procs = {n: subprocess.Popen([sys.executable, os.path.join(EXAMPLES, n, "main.py")],
                                         cwd=cwd, env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
                     for n in names}
            outs = {}
            for n, p in procs.items():
                try:
                    outs[n] = p.communicate(timeout=900)[0]
                except subprocess.TimeoutExpired:
                    for q in procs.values():
                        q.kill()
                    outs[n] = p.communicate()[0] + "\n(killed after 900 s)"
        for n in names:
            with self.subTest(example=n):
                self.assertEqual(procs[n].returncode, 0, "%s\n%s" % (
                    outs[n][-4000:], self.d.read_log()[-2000:]))
                self.assertRegex(outs[n], r"answer: .*The command printed: Linux")
        if not pypi:
            self.skipTest("PyPI does not answer from this host: %s not run" %
                          ", ".join(sorted(NEEDS_PYPI)))


if __name__ == "__main__":
    unittest.main()
