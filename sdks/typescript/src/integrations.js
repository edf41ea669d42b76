// Nullspace as tools for agent frameworks: one set of tools bound to a machine (run a
// command, read and write files, run code, take a screenshot), handed to the OpenAI
// Agents SDK (@openai/agents), LangChain.js / LangGraph.js (@langchain/core) or the
// Claude Agent SDK (@anthropic-ai/claude-agent-sdk, as an in-process MCP server). Each
// framework is imported when its function is called: install the one you use.

const OUTPUT_MAX = 64 * 1024; // characters of a command's or a file's text given back

const clip = (s) => (s.length > OUTPUT_MAX ? `${s.slice(0, OUTPUT_MAX)}\n[... ${s.length - OUTPUT_MAX} more characters]` : s);

const LANGUAGES = ["python", "r", "javascript", "typescript", "java", "bash"];

/** The framework-neutral tools bound to machine: each { name, description, parameters
 * (a JSON Schema object), run(args) } where run resolves text, or { type: "image", data
 * (base64), mimeType } for a screenshot. opts.include: the names wanted (default all). */
export function nullspaceTools(machine, { include } = {}) {
  const all = [
    {
      name: "run_command",
      description: "Run a shell command in the Linux machine; returns its exit code, stdout and stderr.",
      parameters: {
        type: "object",
        properties: {
          command: { type: "string", description: "the command, run by /bin/sh -c" },
          cwd: { type: "string", description: "working directory (default the machine's)" },
          timeout_s: { type: "integer", description: "give up after this many seconds (default 60)" },
        },
        required: ["command"],
        additionalProperties: false,
      },
      async run({ command, cwd, timeout_s: timeoutS = 60 }) {
        const r = await machine.commands.run(command, { cwd: cwd || undefined, timeoutS });
        return JSON.stringify({ exit_code: r.exitCode, stdout: clip(r.stdout), stderr: clip(r.stderr) });
      },
    },
    {
      name: "read_file",
      description: "Read a text file of the machine.",
      parameters: {
        type: "object",
        properties: { path: { type: "string", description: "absolute path" } },
        required: ["path"],
        additionalProperties: false,
      },
      async run({ path }) {
        return clip(await machine.files.read(path));
      },
    },
    {
      name: "write_file",
      description: "Write a text file in the machine (parents made, replaced atomically).",
      parameters: {
        type: "object",
        properties: {
          path: { type: "string", description: "absolute path" },
          content: { type: "string", description: "the whole new content" },
        },
        required: ["path", "content"],
        additionalProperties: false,
      },
      async run({ path, content }) {
        await machine.files.write(path, content);
        return `wrote ${Buffer.byteLength(content)} bytes to ${path}`;
      },
    },
    {
      name: "run_code",
      description:
        "Run code in a stateful interpreter of the machine (a machine of the code-interpreter template); variables persist between calls. Returns results, output and any error.",
      parameters: {
        type: "object",
        properties: {
          code: { type: "string" },
          language: { type: "string", enum: LANGUAGES, description: "default python" },
        },
        required: ["code"],
        additionalProperties: false,
      },
      async run({ code, language }) {
        const ex = await machine.code.run(code, { language: language || undefined });
        return JSON.stringify({
          results: ex.results.map((r) => r.text).filter((t) => t !== undefined),
          stdout: clip(ex.logs.stdout.join("")),
          stderr: clip(ex.logs.stderr.join("")),
          error: ex.error ? { name: ex.error.name, value: ex.error.value } : null,
        });
      },
    },
    {
      name: "screenshot",
      description: "A PNG screenshot of the machine's screen (a machine of the desktop template).",
      parameters: { type: "object", properties: {}, additionalProperties: false },
      async run() {
        const png = await machine.desktop.screenshot();
        return { type: "image", data: Buffer.from(png).toString("base64"), mimeType: "image/png" };
      },
    },
  ];
  return include ? all.filter((t) => include.includes(t.name)) : all;
}

const isImage = (out) => typeof out === "object" && out.type === "image";

/** Tools for the OpenAI Agents SDK: new Agent({ tools: await openAIAgentsTools(machine) }). */
export async function openAIAgentsTools(machine, opts) {
  const { tool } = await import("@openai/agents");
  return nullspaceTools(machine, opts).map((t) =>
    tool({
      name: t.name,
      description: t.description,
      parameters: t.parameters,
      strict: false,
      async execute(args) {
        const out = await t.run(args);
        return isImage(out) ? { type: "image", image: { data: out.data, mediaType: out.mimeType } } : out;
      },
    }),
  );
}

/** Tools for LangChain.js and LangGraph.js (a ToolNode, createReactAgent, bindTools). */
export async function langChainTools(machine, opts) {
  const { tool } = await import("@langchain/core/tools");
  return nullspaceTools(machine, opts).map((t) =>
    tool(
      async (args) => {
        const out = await t.run(args);
        return isImage(out) ? [{ type: "image", mimeType: out.mimeType, data: out.data }] : out;
      },
      { name: t.name, description: t.description, schema: t.parameters },
    ),
  );
}

/** A zod shape for a tool's JSON Schema parameters (what the Claude Agent SDK takes). */
function zodShape(z, parameters) {
  const shape = {};
  for (const [name, p] of Object.entries(parameters.properties)) {
    let s = p.enum ? z.enum(p.enum) : p.type === "integer" ? z.number().int() : z.string();
    if (p.description) s = s.describe(p.description);
    shape[name] = parameters.required?.includes(name) ? s : s.optional();
  }
  return shape;
}

/** The Claude Agent SDK's in-process MCP server of these tools: query({ prompt,
 * options: { mcpServers: { nullspace: await claudeAgentSdkServer(machine) } } }); the
 * tools are then named mcp__nullspace__run_command, ... */
export async function claudeAgentSdkServer(machine, opts) {
  const { tool, createSdkMcpServer } = await import("@anthropic-ai/claude-agent-sdk");
  const { z } = await import("zod");
  const tools = nullspaceTools(machine, opts).map((t) =>
    tool(t.name, t.description, zodShape(z, t.parameters), async (args) => {
      try {
        const out = await t.run(args);
        return { content: [isImage(out) ? out : { type: "text", text: out }] };
      } catch (e) {
        return { content: [{ type: "text", text: `${e.code || "error"}: ${e.message}` }], isError: true };
      }
    }),
  );
  return createSdkMcpServer({ name: "nullspace", version: "0.1.0", tools });
}
