"""`nullspace mcp` driven by the official MCP TypeScript SDK client (tests/mcp, from npm)
against a real daemon and real machines: every tool, an API error as a tool error, bad
arguments, an unknown tool."""

import json
import os
import time
import unittest

from harness import CLI, DaemonTest, SOURCE, run_bounded

MCP_DIR = os.path.join(SOURCE, "tests", "mcp")


class Mcp(DaemonTest):
    def test_the_official_client_drives_every_tool(self):
        self.assertTrue(os.path.isdir(os.path.join(MCP_DIR, "node_modules")),
                        "run scripts/test.sh (it installs tests/mcp with npm ci)")
        value = "mcp-" + os.urandom(8).hex()
        self.assertEqual(self.d.request("PUT", "/v1/secrets/MCP_TOKEN", {"value": value})[0], 201)
        st, _, rev = self.d.request("POST", "/v1/deployments", {
            "name": "mcpjob", "command": "echo from the job; printenv MCP_TOKEN; exit 2",
            "secrets": ["MCP_TOKEN"], "retain_failed_s": 0})
        self.assertEqual(st, 202, rev)
        for _ in range(600):
            if self.d.request("GET", "/v1/deployments/mcpjob/revisions/1")[2]["state"] == "ready":
                break
            time.sleep(0.2)
        env = self.d.client_env()
        r = run_bounded(["node", os.path.join(MCP_DIR, "client.mjs"), CLI], 240, env=env,
                        cwd=MCP_DIR)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(out["server"], {"name": "nullspace", "version": "0.1.0"})
        self.assertEqual(out["tools"], sorted([
            "create_machine", "list_machines", "exec", "read_file", "write_file",
            "hibernate_machine", "resume_machine", "fork_machine", "destroy_machine",
            "preview_url", "list_templates", "create_volume", "list_volumes",
            "delete_volume", "list_events", "ssh_certificate", "pause_machine", "run_code",
            "desktop_screenshot", "desktop_click", "desktop_type", "desktop_key", "desktop_scroll",
            "desktop_drag", "desktop_launch", "desktop_windows", "desktop_viewer",
            "list_secrets", "list_deployments", "run_deployment", "deployment_logs"]))
        self.assertEqual(out["deployments"], ["mcpjob"])
        self.assertEqual(out["ran"], ["failed", 2, "from the job\n[redacted:MCP_TOKEN]\n", False])
        self.assertEqual(out["logs"], out["ran"])
        self.assertEqual(out["run_unknown"], "deployment_not_found")
        self.assertNotIn(value, out["run_text"])
        self.assertEqual(out["secrets_listed"], ["MCP_TOKEN"])
        # the machine has it (also after hibernate/resume, and its fork child), its view
        # names it and never shows the value
        self.assertEqual(out["secret_env"], [value + "\n", value + "\n"])
        self.assertNotIn(value, out["created_text"])
        self.assertEqual(out["ssh"], {"principal": True, "bad": "invalid_field"})
        self.assertEqual(out["volume"], {
            "listed": ["mcpvol"], "read_in_machine": "on a volume\n", "read_only": True,
            "read_direct": "on a volume\n", "in_use": "volume_in_use", "deleted": True})
        self.assertTrue(out["preview"])
        self.assertEqual(out["events"][:2], [["machine.creating", "user"],
                                             ["machine.running", "user"]])
        self.assertEqual(out["events"][-2:], [["machine.destroying", "user"],
                                              ["machine.destroyed", "user"]])
        self.assertEqual(out["created"], {"state": "running", "metadata": {"via": "mcp"},
                                          "secrets": ["MCP_TOKEN"]})
        self.assertTrue(out["listed"])
        self.assertEqual(out["exec"], {"stdout": "hi\n", "stderr": "err\n", "exit_code": 3})
        self.assertEqual(out["read"], "from mcp\n")
        self.assertEqual(out["missing"], {"isError": True, "code": "file_not_found"})
        self.assertEqual((out["hibernated"], out["resumed"]), ("hibernated", "running"))
        self.assertEqual(out["child_read"], "from mcp\n")
        self.assertEqual(out["destroyed"], ["destroyed", "destroyed"])
        self.assertTrue(out["bad_args"])
        self.assertIn("unknown tool", out["unknown_tool"])


if __name__ == "__main__":
    unittest.main()
