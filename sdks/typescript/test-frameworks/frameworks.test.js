// The Nullspace tools through each framework's own tool interface, against real
// machines and no model: the OpenAI Agents SDK's FunctionTool.invoke, LangChain's
// tool.invoke and LangGraph's ToolNode, and the Claude Agent SDK's MCP server through
// an MCP client. Run by tests/integration/test_integrations.py (NULLSPACE_API_URL and
// NULLSPACE_API_KEY point at its daemon).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Machine } from "../src/index.js";
import { claudeAgentSdkServer, langChainTools, nullspaceTools, openAIAgentsTools } from "../src/integrations.js";

let m; // code-interpreter: commands, files and code
let desk; // desktop: the screenshot
before(async () => {
  [m, desk] = await Promise.all([
    Machine.create({ template: "code-interpreter", timeout_s: 900 }),
    Machine.create({ template: "desktop", timeout_s: 900 }),
  ]);
});
after(async () => {
  await Promise.all([m?.kill(), desk?.kill()]);
});

const byName = (tools) => Object.fromEntries(tools.map((t) => [t.name, t]));
const PNG = "iVBORw0KGgo"; // base64 of a PNG's first bytes

test("the neutral tools: names, schemas, include", () => {
  const names = nullspaceTools(m).map((t) => t.name);
  assert.deepEqual(names, ["run_command", "read_file", "write_file", "run_code", "screenshot"]);
  for (const t of nullspaceTools(m)) assert.equal(t.parameters.type, "object");
  assert.deepEqual(nullspaceTools(m, { include: ["read_file"] }).map((t) => t.name), ["read_file"]);
});

test("OpenAI Agents SDK: FunctionTool.invoke", async () => {
  const { RunContext } = await import("@openai/agents");
  const t = byName(await openAIAgentsTools(m));
  const ctx = new RunContext();
  const ran = JSON.parse(await t.run_command.invoke(ctx, JSON.stringify({ command: "echo hi; exit 3" })));
  assert.deepEqual(ran, { exit_code: 3, stdout: "hi\n", stderr: "" });
  assert.equal(await t.write_file.invoke(ctx, JSON.stringify({ path: "/root/oa.txt", content: "from agents" })), "wrote 11 bytes to /root/oa.txt");
  assert.equal(await t.read_file.invoke(ctx, JSON.stringify({ path: "/root/oa.txt" })), "from agents");
  const code = JSON.parse(await t.run_code.invoke(ctx, JSON.stringify({ code: "x = 20\nx * 2 + 2" })));
  assert.deepEqual(code.results, ["42"]);
  const raised = JSON.parse(await t.run_code.invoke(ctx, JSON.stringify({ code: "1/0" })));
  assert.equal(raised.error.name, "ZeroDivisionError");
  // a failing call is an error text for the model, not a crash of the run
  assert.match(String(await t.read_file.invoke(ctx, JSON.stringify({ path: "/root/none" }))), /file_not_found|error/i);
  const shot = await byName(await openAIAgentsTools(desk, { include: ["screenshot"] })).screenshot.invoke(ctx, "{}");
  assert.equal(shot.type, "image");
  assert.ok(shot.image.data.startsWith(PNG) && shot.image.mediaType === "image/png");
});

test("LangChain: tool.invoke; LangGraph: ToolNode", async () => {
  const t = byName(await langChainTools(m));
  const ran = JSON.parse(await t.run_command.invoke({ command: "pwd", cwd: "/tmp" }));
  assert.equal(ran.stdout, "/tmp\n");
  await t.write_file.invoke({ path: "/root/lc.txt", content: "from langchain" });
  assert.equal(await t.read_file.invoke({ path: "/root/lc.txt" }), "from langchain");
  assert.deepEqual(JSON.parse(await t.run_code.invoke({ code: "echo $((6*7))", language: "bash" })).stdout, "42\n");
  const { ToolNode } = await import("@langchain/langgraph/prebuilt");
  const { AIMessage } = await import("@langchain/core/messages");
  const node = new ToolNode(await langChainTools(m));
  const out = await node.invoke({
    messages: [new AIMessage({ content: "", tool_calls: [{ name: "run_command", args: { command: "echo graph" }, id: "call_1", type: "tool_call" }] })],
  });
  assert.equal(out.messages[0].tool_call_id, "call_1");
  assert.equal(JSON.parse(out.messages[0].content).stdout, "graph\n");
  const shot = await byName(await langChainTools(desk, { include: ["screenshot"] })).screenshot.invoke({});
  assert.ok(shot[0].data.startsWith(PNG));
});

test("Claude Agent SDK: the in-process MCP server through an MCP client", async () => {
  const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
  const { InMemoryTransport } = await import("@modelcontextprotocol/sdk/inMemory.js");
  const connect = async (server) => {
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.instance.connect(a);
    const client = new Client({ name: "test", version: "1" });
    await client.connect(b);
    return client;
  };
  const server = await claudeAgentSdkServer(m);
  assert.equal(server.type, "sdk");
  const client = await connect(server);
  try {
    const listed = (await client.listTools()).tools.map((x) => x.name).sort();
    assert.deepEqual(listed, ["read_file", "run_code", "run_command", "screenshot", "write_file"]);
    const call = async (name, args) => (await client.callTool({ name, arguments: args }));
    assert.equal(JSON.parse((await call("run_command", { command: "echo mcp" })).content[0].text).stdout, "mcp\n");
    await call("write_file", { path: "/root/cl.txt", content: "from claude" });
    assert.equal((await call("read_file", { path: "/root/cl.txt" })).content[0].text, "from claude");
    assert.deepEqual(JSON.parse((await call("run_code", { code: "sum(range(10))" })).content[0].text).results, ["45"]);
    const missing = await call("read_file", { path: "/root/none" });
    assert.equal(missing.isError, true);
    assert.match(missing.content[0].text, /file_not_found/);
  } finally {
    await client.close();
  }
  const dclient = await connect(await claudeAgentSdkServer(desk, { include: ["screenshot"] }));
  try {
    const shot = (await dclient.callTool({ name: "screenshot", arguments: {} })).content[0];
    assert.equal(shot.type, "image");
    assert.ok(shot.data.startsWith(PNG) && shot.mimeType === "image/png");
  } finally {
    await dclient.close();
  }
});
