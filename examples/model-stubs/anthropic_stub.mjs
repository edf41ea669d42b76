// A stand-in for Anthropic's Messages API, so the Claude Agent SDK example runs without
// an API key: started inside the agent's own process on loopback, it answers a request
// offering a tool with a `command` parameter (and no tool result yet) by calling that
// tool (with MODEL_STUB_COMMAND, default `uname -sr`), and any other request with text
// quoting the last tool result. It streams when asked, as Claude Code asks. The
// example's main.py copies it into the project only when no ANTHROPIC_API_KEY is set.
import http from "node:http";

let served = 0;

function lastToolResult(messages) {
  for (const m of [...(messages || [])].reverse())
    for (const c of Array.isArray(m.content) ? m.content : [])
      if (c.type === "tool_result")
        return typeof c.content === "string" ? c.content : (c.content || []).map((x) => x.text || "").join("");
  return null;
}

function blocks(body) {
  const result = lastToolResult(body.messages);
  const tool = (body.tools || []).find((t) => t.input_schema?.properties?.command && t.name.endsWith("run_command"));
  if (result !== null || !tool) return [{ type: "text", text: "The command printed: " + (result ?? "nothing") }];
  const command = process.env.MODEL_STUB_COMMAND || "uname -sr";
  return [{ type: "tool_use", id: `toolu_stub_${served}`, name: tool.name, input: { command } }];
}

function answer(res, body) {
  served++;
  const content = blocks(body);
  const stop = content[0].type === "tool_use" ? "tool_use" : "end_turn";
  const usage = { input_tokens: 1, output_tokens: 1 };
  const message = { id: `msg_stub_${served}`, type: "message", role: "assistant", model: body.model || "stub" };
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ...message, content, stop_reason: stop, stop_sequence: null, usage }));
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const event = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  event("message_start", { message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage } });
  content.forEach((b, index) => {
    const start = b.type === "text" ? { type: "text", text: "" } : { ...b, input: {} };
    event("content_block_start", { index, content_block: start });
    const delta = b.type === "text"
      ? { type: "text_delta", text: b.text }
      : { type: "input_json_delta", partial_json: JSON.stringify(b.input) };
    event("content_block_delta", { index, delta });
    event("content_block_stop", { index });
  });
  event("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 1 } });
  event("message_stop", {});
  res.end();
}

/** Starts the stub; sets ANTHROPIC_BASE_URL (and a dummy ANTHROPIC_API_KEY) to it. */
export async function startAnthropicStub() {
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      if (req.method !== "POST" || !req.url.startsWith("/v1/messages") || req.url.includes("count_tokens")) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: "the stub serves /v1/messages only" } }));
        return;
      }
      answer(res, JSON.parse(text || "{}"));
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  server.unref();
  process.env.ANTHROPIC_BASE_URL = `http://127.0.0.1:${server.address().port}`;
  process.env.ANTHROPIC_API_KEY ||= "sk-ant-stub";
  console.log("model: the stub at", process.env.ANTHROPIC_BASE_URL);
}
