"""A stand-in for an OpenAI-compatible Chat Completions endpoint, for running agent
examples up to the model call: a request without a tool result gets a tool call
(run_command with the command given to StubModel), one with a tool result an answer
quoting that result. It records what it was sent. Loopback only; stop() ends it."""

import http.server
import json
import threading


class StubModel:
    def __init__(self, command):
        self.command = command
        self.requests = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append((self.path, dict(self.headers), body))
                tool_results = [m for m in body["messages"] if m.get("role") == "tool"]
                if tool_results:
                    msg = {"role": "assistant",
                           "content": "The command printed: " + tool_results[-1]["content"]}
                else:
                    msg = {"role": "assistant", "content": None, "tool_calls": [{
                        "id": "call_1", "type": "function", "function": {
                            "name": "run_command",
                            "arguments": json.dumps({"command": stub.command})}}]}
                out = json.dumps({"id": "chatcmpl-stub", "object": "chat.completion",
                                  "choices": [{"index": 0, "message": msg,
                                               "finish_reason": "stop"}]}).encode()
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
