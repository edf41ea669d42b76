// A LangGraph agent behind HTTP, deployed as a Nullspace service: POST /ask
// {"question": ...} runs the graph (a model node and a tool node in a loop until the
// model answers) and returns its answer; GET /healthz is the health check. The model is
// OpenAI's (OPENAI_API_KEY, a secret) or any OpenAI-compatible endpoint (OPENAI_BASE_URL);
// without a key, main.py adds the stub model (model_stub.mjs).
import { execFile } from "node:child_process";
import http from "node:http";
import { promisify } from "node:util";
import { tool } from "@langchain/core/tools";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import { ChatOpenAI } from "@langchain/openai";
import { z } from "zod";

if (process.env.MODEL_STUB) await (await import("./model_stub.mjs")).startOpenAIStub();

const runCommand = tool(
  async ({ command }) => {
    const { stdout, stderr } = await promisify(execFile)("sh", ["-c", command], { timeout: 60000 });
    return (stdout + stderr).trim();
  },
  {
    name: "run_command",
    description: "Run a shell command in this machine and return what it printed.",
    schema: z.object({ command: z.string() }),
  },
);

const model = new ChatOpenAI({ model: process.env.MODEL || "gpt-4o-mini" }).bindTools([runCommand]);
const graph = new StateGraph(MessagesAnnotation)
  .addNode("agent", async (state) => ({ messages: [await model.invoke(state.messages)] }))
  .addNode("tools", new ToolNode([runCommand]))
  .addEdge(START, "agent")
  .addConditionalEdges("agent", toolsCondition, ["tools", END])
  .addEdge("tools", "agent")
  .compile();

async function ask(question) {
  const out = await graph.invoke({ messages: [{ role: "user", content: question }] });
  const steps = out.messages.flatMap((m) => m.tool_calls || []).map((c) => c.args.command);
  return { answer: out.messages.at(-1).content, commands: steps };
}

function send(res, status, doc) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(doc));
}

http
  .createServer((req, res) => {
    if (req.method === "GET" && req.url === "/healthz") return send(res, 200, { ok: true });
    if (req.method !== "POST" || req.url !== "/ask") return send(res, 404, { error: "POST /ask" });
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      try {
        const { question } = JSON.parse(body || "{}");
        if (typeof question !== "string" || !question) return send(res, 400, { error: "question" });
        console.log("asked:", question);
        const result = await ask(question);
        console.log("answered:", result.answer);
        send(res, 200, result);
      } catch (e) {
        console.error("failed:", e);
        send(res, 500, { error: String(e.message || e) });
      }
    });
  })
  .listen(Number(process.env.PORT || 8080), () => console.log("listening on", process.env.PORT || 8080));
