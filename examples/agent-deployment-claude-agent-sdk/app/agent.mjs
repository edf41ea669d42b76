// A Claude Agent SDK agent run as a Nullspace job: it answers TASK with one tool of its
// own, run_command (an in-process MCP server), which runs a shell command in the job's
// machine; Claude Code's built-in tools are not offered. The model is Anthropic's
// (ANTHROPIC_API_KEY, a secret); without a key, main.py adds the stub model
// (model_stub.mjs).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createSdkMcpServer, query, tool } from "@anthropic-ai/claude-agent-sdk";
import { z } from "zod";

if (process.env.MODEL_STUB) await (await import("./model_stub.mjs")).startAnthropicStub();

const runCommand = tool(
  "run_command",
  "Run a shell command in this machine and return what it printed.",
  { command: z.string() },
  async ({ command }) => {
    const { stdout, stderr } = await promisify(execFile)("sh", ["-c", command], { timeout: 60000 });
    return { content: [{ type: "text", text: (stdout + stderr).trim() }] };
  },
);

const task = process.env.TASK || "Which kernel does this machine run?";
console.log("task:", task);
let failed = false;
for await (const msg of query({
  prompt: task,
  options: {
    model: process.env.MODEL || "claude-sonnet-4-5",
    mcpServers: { machine: createSdkMcpServer({ name: "machine", version: "1.0.0", tools: [runCommand] }) },
    tools: [], // none of Claude Code's own
    allowedTools: ["mcp__machine__run_command"],
    maxTurns: 5,
  },
})) {
  if (msg.type === "assistant")
    for (const c of msg.message.content)
      if (c.type === "tool_use") console.log("tool call:", c.name, JSON.stringify(c.input));
  if (msg.type === "result") {
    failed = msg.is_error;
    console.log(failed ? "failed:" : "answer:", msg.result ?? msg.subtype);
  }
}
process.exitCode = failed ? 1 : 0;
