"""The TypeScript SDK's framework integrations (sdks/typescript/src/integrations.js):
the Nullspace tools through the OpenAI Agents SDK, LangChain.js and LangGraph.js, and
the Claude Agent SDK's MCP server, invoked through each framework's own tool interface
against real code-interpreter and desktop machines, with no model call
(sdks/typescript/test-frameworks). The Python equivalents as far as this host allows:
their frameworks are on PyPI, which it cannot reach."""

import os
import sys
import unittest

from harness import DaemonTest, SOURCE, run_bounded

SDK = os.path.join(SOURCE, "sdks", "typescript")
sys.path.insert(0, os.path.join(SOURCE, "sdks", "python"))
import nullspace  # noqa: E402
from nullspace import integrations  # noqa: E402


class Integrations(DaemonTest):
    def test_the_typescript_tools_through_each_framework(self):
        r = run_bounded(["node", "--test", "--test-timeout=600000", "test-frameworks/"], 720,
                        cwd=SDK, env=self.d.client_env())
        self.assertTrue(r.returncode == 0 and "# fail 0" in r.stdout and "# pass 4" in r.stdout,
                        r.stdout[-6000:] + r.stderr[-2000:] + self.d.read_log()[-3000:])

    def test_the_python_tools(self):
        c = nullspace.Client(api_url=self.d.url, api_key=self.d.key)
        m = nullspace.Machine.create(client=c)
        try:
            tools = {t.name: t for t in integrations.nullspace_tools(m)}
            self.assertEqual(sorted(tools), ["read_file", "run_code", "run_command",
                                             "screenshot", "write_file"])
            self.assertEqual(tools["run_command"].run({"command": "echo hi; exit 3"}),
                             '{"exit_code": 3, "stdout": "hi\\n", "stderr": ""}')
            tools["write_file"].run({"path": "/root/py.txt", "content": "from python"})
            self.assertEqual(tools["read_file"].run({"path": "/root/py.txt"}), "from python")
            for t in tools.values():
                self.assertEqual(t.parameters["type"], "object")
        finally:
            m.kill()
        # a framework that is not installed is named in the error
        for fn, pkg in ((integrations.openai_agents_tools, "openai-agents"),
                        (integrations.langchain_tools, "langchain-core"),
                        (integrations.crewai_tools, "crewai")):
            with self.assertRaises(ImportError) as cm:
                fn(m)
            self.assertIn(pkg, str(cm.exception))


if __name__ == "__main__":
    unittest.main()
