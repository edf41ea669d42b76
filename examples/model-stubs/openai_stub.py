"""A stand-in for an OpenAI-compatible Chat Completions endpoint, so agent examples run
without an API key: a request offering a tool with a `command` parameter (and no tool
result yet) gets a call of that tool with the stub's command; any other an answer
quoting the last tool result ("The command printed: ..."). It records what it was sent.
Loopback only; stop() ends it. The Node twin is openai_stub.mjs.

In a test: StubModel("uname -sr").url is the base URL to give the client. In an agent's
own process (the CrewAI example, when main.py added this file): start() serves in a
thread and points OPENAI_BASE_URL at it."""

import http.server
import json
import os
import threading


def _reply(body, command, n):
    tool = next((t["function"]["name"] for t in body.get("tools") or []
                 if "command" in t["function"].get("parameters", {}).get("properties", {})),
                None)
    results = [m for m in body.get("messages", []) if m.get("role") == "tool"]
    if results or not tool:
        return {"role": "assistant", "content": "The command printed: " + (
            str(results[-1]["content"]) if results else "nothing")}
    return {"role": "assistant", "content": None, "tool_calls": [{
        "id": "call_%d" % n, "type": "function",
        "function": {"name": tool, "arguments": json.dumps({"command": command})}}]}


class StubModel:
    def __init__(self, command):
        self.command = command
        self.requests = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append((self.path, dict(self.headers), body))
                n = len(stub.requests)
                msg = _reply(body, stub.command, n)
                out = json.dumps({
                    "id": "chatcmpl-stub-%d" % n, "object": "chat.completion",
                    "model": body.get("model", "stub"),
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    "choices": [{"index": 0, "message": msg, "finish_reason":
                                 "tool_calls" if msg.get("tool_calls") else "stop"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/v1" % self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def start(command=None):
    """Serves the stub in this process and points OPENAI_BASE_URL (with a dummy
    OPENAI_API_KEY) at it; returns it."""
    stub = StubModel(command or os.environ.get("MODEL_STUB_COMMAND", "uname -sr"))
    os.environ["OPENAI_BASE_URL"] = os.environ["OPENAI_API_BASE"] = stub.url
    os.environ.setdefault("OPENAI_API_KEY", "sk-stub")
    print("model: the stub at", stub.url, flush=True)
    return stub
