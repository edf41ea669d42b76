"""A minimal agent service: POST /ask {"question"} answers from a tiny rule book (a
model call would go here), GET /healthz for the health check. The revision it runs is
in every answer."""

import http.server
import json
import os

RULES = {"cpus": lambda: str(os.cpu_count()), "revision": lambda: os.environ["NULLSPACE_REVISION"]}


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200 if self.path == "/healthz" else 404, {"ok": self.path == "/healthz"})

    def do_POST(self):
        q = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["question"]
        hits = [k for k in RULES if k in q.lower()]
        self.answer(200, {"answer": RULES[hits[0]]() if hits else "I don't know",
                          "revision": int(os.environ["NULLSPACE_REVISION"]),
                          "style": os.environ.get("STYLE", "plain")})

    def log_message(self, fmt, *args):
        print(self.command, self.path, flush=True)


http.server.ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
