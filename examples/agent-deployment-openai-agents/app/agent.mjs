// An OpenAI Agents SDK agent run as a Nullspace job: it answers TASK with one tool,
// run_command, which runs a shell command in the job's own machine. The model is
// OpenAI's (OPENAI_API_KEY, a secret) or any OpenAI-compatible endpoint (OPENAI_BASE_URL)
// through Chat Completions; without a key, main.py adds the stub model (model_stub.mjs).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Agent, run, setOpenAIAPI, setTracingDisabled, tool } from "@openai/agents";
import { z } from "zod";

if (process.env.MODEL_STUB) await (await import("./model_stub.mjs")).startOpenAIStub();
setOpenAIAPI("chat_completions");
setTracingDisabled(true); // traces would go to OpenAI's platform

const runCommand = tool({
  name: "run_command",
  description: "Run a shell command in this machine and return what it printed.",
  parameters: z.object({ command: z.string() }),
  async execute({ command }) {
    const { stdout, stderr } = await promisify(execFile)("sh", ["-c", command], { timeout: 60000 });
    return (stdout + stderr).trim();
  },
});

const agent = new Agent({
  name: "machine inspector",
  instructions: "Answer with facts you read from the machine using run_command.",
  model: process.env.MODEL || "gpt-4o-mini",
  tools: [runCommand],
});

const task = process.env.TASK || "Which kernel does this machine run?";
console.log("task:", task);
const result = await run(agent, task);
for (const item of result.newItems)
  if (item.type === "tool_call_item") console.log("tool call:", item.rawItem.name, item.rawItem.arguments);
console.log("answer:", result.finalOutput);
