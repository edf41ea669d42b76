"""Nullspace as tools for agent frameworks: one set of tools bound to a machine (run a
command, read and write files, run code, take a screenshot), handed to the OpenAI Agents
SDK (`pip install openai-agents`), LangChain / LangGraph (`langchain-core`), CrewAI
(`crewai`) or the Claude Agent SDK (`claude-agent-sdk`, as an in-process MCP server).
Each framework is imported when its function is called: install the one you use.

    from nullspace import Machine
    from nullspace.integrations import openai_agents_tools
    m = Machine.create(template="code-interpreter")
    agent = Agent(name="coder", tools=openai_agents_tools(m))
"""

import base64
import json

OUTPUT_MAX = 64 * 1024  # characters of a command's or a file's text given back
LANGUAGES = ["python", "r", "javascript", "typescript", "java", "bash"]


def _clip(s):
    if len(s) <= OUTPUT_MAX:
        return s
    return "%s\n[... %d more characters]" % (s[:OUTPUT_MAX], len(s) - OUTPUT_MAX)


def _obj(properties, required):
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


class Tool:
    """A framework-neutral tool: .name, .description, .parameters (a JSON Schema
    object) and .run(args) -> text, or {"type": "image", "data", "mimeType"}."""

    def __init__(self, name, description, parameters, run):
        self.name, self.description, self.parameters, self._run = (
            name, description, parameters, run)

    def run(self, args):
        return self._run(**args)

    def __repr__(self):
        return "Tool(%s)" % self.name


def nullspace_tools(machine, include=None):
    """The tools bound to machine (include: the names wanted; default all)."""

    def run_command(command, cwd=None, timeout_s=60):
        r = machine.commands.run(command, cwd=cwd or None, timeout=timeout_s)
        return json.dumps({"exit_code": r.exit_code, "stdout": _clip(r.stdout),
                           "stderr": _clip(r.stderr)})

    def read_file(path):
        return _clip(machine.files.read(path))

    def write_file(path, content):
        machine.files.write(path, content)
        return "wrote %d bytes to %s" % (len(content.encode()), path)

    def run_code(code, language=None):
        ex = machine.code.run(code, language=language or None)
        return json.dumps({
            "results": [r.text for r in ex.results if r.text is not None],
            "stdout": _clip("".join(ex.logs.stdout)), "stderr": _clip("".join(ex.logs.stderr)),
            "error": {"name": ex.error.name, "value": ex.error.value} if ex.error else None})

    def screenshot():
        png = machine.desktop.screenshot()
        return {"type": "image", "data": base64.b64encode(png).decode(),
                "mimeType": "image/png"}

    s = {"type": "string"}
    tools = [
        Tool("run_command", "Run a shell command in the Linux machine; returns its exit code, "
             "stdout and stderr.",
             _obj({"command": dict(s, description="the command, run by /bin/sh -c"),
                   "cwd": dict(s, description="working directory (default the machine's)"),
                   "timeout_s": {"type": "integer",
                                 "description": "give up after this many seconds (default 60)"}},
                  ["command"]), run_command),
        Tool("read_file", "Read a text file of the machine.",
             _obj({"path": dict(s, description="absolute path")}, ["path"]), read_file),
        Tool("write_file", "Write a text file in the machine (parents made, replaced "
             "atomically).",
             _obj({"path": dict(s, description="absolute path"),
                   "content": dict(s, description="the whole new content")},
                  ["path", "content"]), write_file),
        Tool("run_code", "Run code in a stateful interpreter of the machine (a machine of the "
             "code-interpreter template); variables persist between calls. Returns results, "
             "output and any error.",
             _obj({"code": s, "language": dict(s, enum=LANGUAGES, description="default python")},
                  ["code"]), run_code),
        Tool("screenshot", "A PNG screenshot of the machine's screen (a machine of the desktop "
             "template).", _obj({}, []), screenshot),
    ]
    return [t for t in tools if include is None or t.name in include]


def _need(module, package):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as e:
        raise ImportError("this needs %s: pip install %s" % (module, package)) from e


def _is_image(out):
    return isinstance(out, dict) and out.get("type") == "image"


def openai_agents_tools(machine, include=None):
    """FunctionTools for the OpenAI Agents SDK (Agent(tools=...))."""
    agents = _need("agents", "openai-agents")

    def make(t):
        async def invoke(ctx, args_json):
            out = t.run(json.loads(args_json or "{}"))
            if _is_image(out):
                return agents.ToolOutputImage(
                    image_url="data:%s;base64,%s" % (out["mimeType"], out["data"]))
            return out
        return agents.FunctionTool(name=t.name, description=t.description,
                                   params_json_schema=t.parameters, on_invoke_tool=invoke,
                                   strict_json_schema=False)
    return [make(t) for t in nullspace_tools(machine, include)]


def langchain_tools(machine, include=None):
    """StructuredTools for LangChain and LangGraph (a ToolNode, create_react_agent)."""
    tools = _need("langchain_core.tools", "langchain-core")

    def make(t):
        def call(**args):
            out = t.run(args)
            if _is_image(out):
                return [{"type": "image", "source_type": "base64",
                         "mime_type": out["mimeType"], "data": out["data"]}]
            return out
        return tools.StructuredTool.from_function(func=call, name=t.name,
                                                  description=t.description,
                                                  args_schema=t.parameters)
    return [make(t) for t in nullspace_tools(machine, include)]


def crewai_tools(machine, include=None):
    """BaseTools for CrewAI (Agent(tools=...)); a screenshot is given as a data URL."""
    crewai = _need("crewai.tools", "crewai")
    pydantic = _need("pydantic", "pydantic")
    kinds = {"string": str, "integer": int}

    def make(t):
        fields = {}
        for name, p in t.parameters["properties"].items():
            kind = kinds.get(p.get("type"), str)
            if name in t.parameters["required"]:
                fields[name] = (kind, pydantic.Field(description=p.get("description", "")))
            else:
                fields[name] = (kind, pydantic.Field(None, description=p.get("description", "")))
        schema = pydantic.create_model(t.name + "_args", **fields)

        def _run(self, **args):
            out = t.run({k: v for k, v in args.items() if v is not None})
            return "data:%s;base64,%s" % (out["mimeType"], out["data"]) if _is_image(out) else out
        cls = type("Nullspace_" + t.name, (crewai.BaseTool,), {
            "__annotations__": {"name": str, "description": str, "args_schema": type},
            "name": t.name, "description": t.description, "args_schema": schema, "_run": _run})
        return cls()
    return [make(t) for t in nullspace_tools(machine, include)]


def claude_agent_sdk_server(machine, include=None):
    """The Claude Agent SDK's in-process MCP server of these tools:
    ClaudeAgentOptions(mcp_servers={"nullspace": claude_agent_sdk_server(m)}); the tools are
    then named mcp__nullspace__run_command, ..."""
    sdk = _need("claude_agent_sdk", "claude-agent-sdk")

    def make(t):
        async def handler(args):
            try:
                out = t.run(args)
            except Exception as e:  # the model sees the error; the session goes on
                return {"content": [{"type": "text", "text": str(e)}], "is_error": True}
            return {"content": [out if _is_image(out) else {"type": "text", "text": out}]}
        return sdk.tool(t.name, t.description, t.parameters)(handler)
    return sdk.create_sdk_mcp_server(name="nullspace", version="0.1.0",
                                     tools=[make(t) for t in nullspace_tools(machine, include)])
