// A stand-in for an OpenAI-compatible Chat Completions endpoint, so the agent examples
// run without an API key: started inside the agent's own process on loopback, it answers
// a request offering a tool with a `command` parameter by calling that tool (with
// MODEL_STUB_COMMAND, default `uname -sr`), and a request carrying the tool's result
// with an answer quoting it. The examples' main.py copies it into the project only when
// no OPENAI_API_KEY is set (README.md).
import http from "node:http";

let served = 0; // ids must differ: frameworks merge messages by id

function reply(body) {
  const tools = body.tools || [];
  const tool = tools.find((t) => t.function?.parameters?.properties?.command);
  const result = [...(body.messages || [])].reverse().find((m) => m.role === "tool");
  if (result || !tool)
    return { role: "assistant", content: "The command printed: " + (result ? String(result.content) : "nothing") };
  const command = process.env.MODEL_STUB_COMMAND || "uname -sr";
  return { role: "assistant", content: null, tool_calls: [{ id: `call_stub_${served}`, type: "function",
    function: { name: tool.function.name, arguments: JSON.stringify({ command }) } }] };
}

function answer(res, body) {
  served++;
  const message = reply(body);
  const finish = message.tool_calls ? "tool_calls" : "stop";
  const base = { id: `chatcmpl-stub-${served}`, created: Math.floor(Date.now() / 1000), model: body.model || "stub" };
  const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ...base, object: "chat.completion", usage,
      choices: [{ index: 0, message, finish_reason: finish }] }));
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const delta = message.tool_calls
    ? { role: "assistant", tool_calls: message.tool_calls.map((c, index) => ({ index, ...c })) }
    : { role: "assistant", content: message.content };
  for (const choice of [{ index: 0, delta, finish_reason: null }, { index: 0, delta: {}, finish_reason: finish }])
    res.write("data: " + JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [choice] }) + "\n\n");
  res.end("data: [DONE]\n\n");
}

/** Starts the stub; sets OPENAI_BASE_URL (and a dummy OPENAI_API_KEY) to it. */
export async function startOpenAIStub() {
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "the stub serves /v1/chat/completions only" } }));
        return;
      }
      answer(res, JSON.parse(text || "{}"));
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  server.unref();
  process.env.OPENAI_BASE_URL = `http://127.0.0.1:${server.address().port}/v1`;
  process.env.OPENAI_API_KEY ||= "sk-stub";
  console.log("model: the stub at", process.env.OPENAI_BASE_URL);
}
