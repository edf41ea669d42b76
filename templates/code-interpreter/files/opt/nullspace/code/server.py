"""nscode: the code interpreter inside a machine of the code-interpreter template.

An HTTP server on port 49999 that nullspaced reaches over the machine's network
(clients reach it through /v1/machines/{id}/code/..., which the daemon forwards
here; the preview proxy never does). It keeps contexts, each a live interpreter
whose state carries from run to run, and runs code in them:

  GET    /health                       the server answers
  GET    /ready                        ... and the default Python context is up
  GET    /ready?warm=1                 ... after a throwaway run in it (a pool member's check)
  GET    /contexts                     [{id, language, cwd}]
  POST   /contexts {language, cwd, env}
  DELETE /contexts/ID
  POST   /contexts/ID/restart          a fresh interpreter, same id
  POST   /contexts/ID/interrupt        interrupts the run under way
  POST   /run {code, context | language, env, timeout_s, stream}
  POST   /execute {code, context_id | language, env_vars}   (E2B's form, streamed)
  POST   /runs {code, context | language, env, timeout_s}   a run started, answered at once
  GET    /runs                         newest first
  GET    /runs/ID?wait_s=N             the run (waiting up to N s for its end)
  POST   /runs/ID/cancel
  DELETE /runs/ID                      an ended run and its artifacts
  GET    /runs/ID/artifacts            [{id, name, size, mime_type, source}]
  GET    /runs/ID/artifacts/AID        the artifact's bytes

A streamed run answers NDJSON lines as they happen (results.py); otherwise one
JSON document with everything. Errors: {"error": {"code", "message"}}.
"""

import json
import logging
import logging.handlers
import os
import re
import shutil
import signal
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import results  # noqa: E402
import runs  # noqa: E402
from errors import ApiError  # noqa: E402
from leave_watch import LeaveWatch  # noqa: E402
from bash_kernel import BashKernel  # noqa: E402
from java_kernel import JavaKernel  # noqa: E402
from js_kernel import JsKernel  # noqa: E402

PORT = 49999
LOG_PATH = "/var/log/nscode.log"
LOG = logging.getLogger("nscode")
MAX_BODY = 16 << 20
MAX_CONTEXTS = 64  # per machine, defaults included: a runaway client cannot exhaust it
RUN_DIR = "/run/nscode"
ALIASES = {"python": "python", "python3": "python", "py": "python", "r": "r", "bash": "bash",
           "sh": "bash", "shell": "bash", "javascript": "javascript", "js": "javascript",
           "node": "javascript", "typescript": "typescript", "ts": "typescript", "java": "java"}
LANGUAGES = "python, r, javascript, typescript, java or bash"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def language_of(name):
    if not isinstance(name, str):
        raise ApiError(400, "invalid_field", "field 'language': a string")
    lang = ALIASES.get(name.lower())
    if lang:
        return lang
    raise ApiError(400, "language_not_supported",
                   "unknown language '%s' (%s)" % (name[:64], LANGUAGES))


def env_of(value, field):
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 256:
        raise ApiError(400, "invalid_field", "field '%s': an object of at most 256 strings" % field)
    for k, v in value.items():
        if not ENV_NAME.match(k) or not isinstance(v, str) or "\0" in v or len(v) > 65536:
            raise ApiError(400, "invalid_field",
                           "field '%s': names like NAME_1, values strings without NUL "
                           "(at most 64 KiB)" % field)
    return value


class Context:
    """One interpreter and the queue of runs waiting for it (in arrival order)."""

    def __init__(self, cid, language, cwd, env):
        self.id, self.language, self.cwd, self.env = cid, language, cwd, env
        self.workdir = os.path.join(RUN_DIR, "contexts", cid)
        os.makedirs(self.workdir, mode=0o700, exist_ok=True)
        if language == "bash":
            self.kernel = BashKernel(language, cwd, env)
        elif language in ("javascript", "typescript"):
            self.kernel = JsKernel(language, cwd, env)
        elif language == "java":
            self.kernel = JavaKernel(language, cwd, env)
        else:
            from jupyter_kernel import JupyterKernel

            self.kernel = JupyterKernel(language, cwd, env)
        self.cond = threading.Condition()
        self.deleted = False
        self.next_ticket = 0
        self.serving = 0

    def view(self):
        return {"id": self.id, "language": self.language, "cwd": self.cwd}

    def turn(self, fn):
        """Calls fn when every run queued before has ended."""
        with self.cond:
            ticket = self.next_ticket
            self.next_ticket += 1
            while self.serving != ticket:
                self.cond.wait()
        try:
            return fn()
        finally:
            with self.cond:
                self.serving += 1
                self.cond.notify_all()

    def run(self, code, env, timeout_s, emit):
        return self.turn(lambda: self.run_turn(code, env, timeout_s, emit))

    def run_turn(self, code, env, timeout_s, emit):
        """Runs code now (the caller has the context's turn)."""
        if self.deleted:  # while the run waited for its turn
            error = results.error("ContextDeleted", "the context %s was deleted before the run "
                                  "could start" % self.id, "")
            emit(dict(error, type="error"))
            return {"execution_count": None, "error": error, "client_gone": False}
        return self.kernel.run(code, env, timeout_s, emit, self.workdir)


class Contexts:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_id = {}
        self.starting = 0  # contexts being made (they count against MAX_CONTEXTS)
        self.defaults = {}  # language -> id

    def create(self, language, cwd, env, cid=None):
        with self.lock:
            if len(self.by_id) + self.starting >= MAX_CONTEXTS:
                raise ApiError(409, "conflict", "the interpreter holds %d contexts, the most it "
                               "keeps: delete some first" % MAX_CONTEXTS)
            self.starting += 1
        try:
            ctx = Context(cid or uuid.uuid4().hex, language, cwd, env)
            ctx.kernel.start(ctx.workdir)
            with self.lock:
                self.by_id[ctx.id] = ctx
        finally:
            with self.lock:
                self.starting -= 1
        return ctx

    def get(self, cid):
        with self.lock:
            ctx = self.by_id.get(cid)
        if not ctx:
            raise ApiError(404, "code_context_not_found", "no context %s" % str(cid)[:64])
        return ctx

    def default(self, language):
        with self.lock:
            cid = self.defaults.get(language)
            if cid is None:
                cid = self.defaults[language] = "default-" + language
        with self.lock:
            ctx = self.by_id.get(cid)
        if ctx:
            return ctx
        with DEFAULT_LOCK:  # one start per language even when runs race for it
            with self.lock:
                ctx = self.by_id.get(cid)
            return ctx or self.create(language, home(), {}, cid)

    def remove(self, cid):
        with self.lock:
            ctx = self.by_id.pop(cid, None)
        if not ctx:
            raise ApiError(404, "code_context_not_found", "no context %s" % str(cid)[:64])
        ctx.deleted = True
        ctx.kernel.stop()

    def list(self):
        with self.lock:
            return [c.view() for c in self.by_id.values()]


DEFAULT_LOCK = threading.Lock()
CONTEXTS = Contexts()
RUNS = runs.Runs()
WARM = threading.Event()


def home():
    return os.environ.get("HOME") or "/root"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nscode"
    # a head and its body are separate writes: with Nagle the body waits for the
    # client's delayed ACK of the head, 40 ms on every request of a kept connection
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----
    def body(self):
        n = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise ApiError(411, "invalid_request", "send the body with a Content-Length")
        try:
            n = int(n or 0)
        except ValueError:
            raise ApiError(400, "invalid_request", "bad Content-Length")
        if n > MAX_BODY:
            raise ApiError(413, "payload_too_large", "the body is over %d bytes" % MAX_BODY)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return {}
        try:
            doc = json.loads(raw)
        except ValueError as e:
            raise ApiError(400, "invalid_json", "the body is not JSON: %s" % e)
        if not isinstance(doc, dict):
            raise ApiError(400, "invalid_json", "the body must be a JSON object")
        return doc

    def answer(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.say_close()
        self.end_headers()
        self.wfile.write(data)

    def say_close(self):
        """The daemon asks for one request per connection: say so, or a keep-alive client
        would send its next request down a connection about to close."""
        if self.close_connection:
            self.send_header("Connection", "close")

    def fail(self, e):
        self.answer(e.status, {"error": {"code": e.code, "message": e.message,
                                         "request_id": self.headers.get("X-Request-Id", "")}})

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.say_close()
        self.end_headers()

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def route(self, method):
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        parts = path.strip("/").split("/")
        try:
            if method == "GET" and path == "/health":
                return self.answer(200, {"status": "ok"})
            if method == "GET" and path == "/ready":
                if WARM.is_set() and self.query().get("warm") == "1":
                    warm_pass()
                return self.answer(200 if WARM.is_set() else 503,
                                   {"status": "ready" if WARM.is_set() else "starting"})
            if path == "/contexts" and method == "GET":
                return self.answer(200, CONTEXTS.list())
            if path == "/contexts" and method == "POST":
                return self.create_context(self.body())
            if len(parts) == 2 and parts[0] == "contexts" and method == "DELETE":
                CONTEXTS.remove(parts[1])
                return self.answer(200, {"id": parts[1], "deleted": True})
            if len(parts) == 3 and parts[0] == "contexts" and method == "POST":
                ctx = CONTEXTS.get(parts[1])
                if parts[2] == "restart":
                    ctx.kernel.interrupt()  # the run under way ends, queued ones run first
                    ctx.turn(ctx.kernel.restart)
                    return self.answer(200, ctx.view())
                if parts[2] == "interrupt":
                    ctx.kernel.interrupt()
                    return self.answer(200, dict(ctx.view(), interrupted=ctx.kernel.gate.busy))
            if path in ("/run", "/execute") and method == "POST":
                return self.run_code(self.body(), e2b=path == "/execute")
            if parts[0] == "runs":
                return self.route_runs(method, parts[1:])
            raise ApiError(404, "not_found", "no route %s %s" % (method, path[:100]))
        except ApiError as e:
            self.fail(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug of ours: say so, keep serving
            LOG.exception("%s %s failed", method, path)
            try:
                self.fail(ApiError(500, "internal", "%s: %s (the machine's %s says more)"
                                   % (type(e).__name__, e, LOG_PATH)))
            except OSError:
                self.close_connection = True

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")

    # ---- resources ----
    def create_context(self, req):
        unknown = set(req) - {"language", "cwd", "env"}
        if unknown:
            raise ApiError(400, "unknown_field", "unknown field '%s'" % sorted(unknown)[0])
        language = language_of(req.get("language") or "python")
        cwd = req.get("cwd") or home()
        if not isinstance(cwd, str) or not cwd.startswith("/") or len(cwd) > 4096:
            raise ApiError(400, "invalid_field", "field 'cwd': an absolute path")
        if not os.path.isdir(cwd):
            raise ApiError(400, "invalid_cwd", "cwd %s is not a directory" % cwd[:200])
        env = env_of(req.get("env"), "env")
        ctx = CONTEXTS.create(language, cwd, env)
        self.answer(201, ctx.view())

    def route_runs(self, method, parts):
        if not parts and method == "POST":
            ctx, code, env, timeout_s, _ = self.run_request(self.body(), False, run=True)
            return self.answer(202, RUNS.start(ctx, code, env, timeout_s).view(full=True))
        if not parts and method == "GET":
            return self.answer(200, RUNS.list())
        run = RUNS.get(parts[0]) if parts else None
        if len(parts) == 1 and method == "GET":
            run.done.wait(runs.wait_of(self.query()))
            return self.answer(200, run.view(full=True))
        if len(parts) == 1 and method == "DELETE":
            RUNS.delete(run.id)
            return self.answer(200, {"id": run.id, "deleted": True})
        if len(parts) == 2 and parts[1] == "cancel" and method == "POST":
            cancelled = run.cancel()
            return self.answer(200, dict(run.view(), cancelled=cancelled))
        if len(parts) == 2 and parts[1] == "artifacts" and method == "GET":
            return self.answer(200, list(run.artifacts))
        if len(parts) == 3 and parts[1] == "artifacts" and method == "GET":
            art, path = run.artifact(parts[2])
            return self.send_file(path, art["mime_type"])
        raise ApiError(404, "not_found", "no route %s %s" % (method, self.path[:100]))

    def query(self):
        return dict(urllib.parse.parse_qsl(self.path.split("?", 1)[1] if "?" in self.path else ""))

    def send_file(self, path, mime):
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", mime)
            self.send_header("Content-Length", str(size))
            self.say_close()
            self.end_headers()
            shutil.copyfileobj(f, self.wfile, 1 << 16)

    def run_request(self, req, e2b, run=False):
        """A run's request checked: (context, code, env, timeout_s, stream)."""
        fields = ({"code", "context_id", "language", "env_vars"} if e2b else
                  {"code", "context", "language", "env", "timeout_s"} | (set() if run else {"stream"}))
        unknown = set(req) - fields
        if unknown and not e2b:
            raise ApiError(400, "unknown_field", "unknown field '%s'" % sorted(unknown)[0])
        code = req.get("code")
        if not isinstance(code, str):
            raise ApiError(400, "missing_field" if code is None else "invalid_field",
                           "field 'code': the code to run, a string")
        cid = req.get("context_id" if e2b else "context")
        lang = req.get("language")
        if cid is not None and lang is not None and not e2b:
            raise ApiError(400, "invalid_request", "give a context or a language, not both")
        env = env_of(req.get("env_vars" if e2b else "env"), "env_vars" if e2b else "env")
        timeout_s = req.get("timeout_s", 0 if e2b else 300)
        if (not isinstance(timeout_s, (int, float)) or isinstance(timeout_s, bool)
                or timeout_s < 0 or timeout_s > 86400):
            raise ApiError(400, "invalid_field", "field 'timeout_s': 0 (none) to 86400 seconds")
        stream = e2b or req.get("stream", False)
        if not isinstance(stream, bool):
            raise ApiError(400, "invalid_field", "field 'stream': true or false")
        if cid is not None:
            if not isinstance(cid, str):
                raise ApiError(400, "invalid_field", "field 'context': a context id")
            ctx = CONTEXTS.get(cid)
        else:
            ctx = CONTEXTS.default(language_of(lang or "python"))
        return ctx, code, env, timeout_s, stream

    def run_code(self, req, e2b):
        ctx, code, env, timeout_s, stream = self.run_request(req, e2b)
        if stream:
            self.start_stream()
            summary = ctx.run(code, env, timeout_s, self.chunk)
            if not summary.get("client_gone"):
                try:
                    self.chunk({"type": "end_of_execution"})
                    self.end_stream()
                except OSError:
                    self.close_connection = True
            else:
                self.close_connection = True
            return
        execution = results.Execution(ctx.id)
        if LeaveWatch(self.connection, ctx, execution).run(code, env, timeout_s).get("client_gone"):
            self.close_connection = True
            return
        self.answer(200, execution.doc)


# imported in the default Python context before the template's snapshot is taken, so
# the first `import pandas` in a new machine costs nothing (the names stay unbound)
PRELOAD = "import numpy, pandas, matplotlib.pyplot\ndel numpy, pandas, matplotlib"


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def shutdown_request(self, request):
        """Lets the peer close first: the side that closes first holds the connection in
        TIME_WAIT for a minute, and gVisor cannot checkpoint a machine with one (hibernate,
        fork and snapshots would fail). The daemon's client closes once it has the answer
        (it says Connection: close); a peer that does not is closed after a few seconds."""
        try:
            request.settimeout(LINGER_S)
            while request.recv(65536):
                pass
        except OSError:
            pass
        super().shutdown_request(request)


LINGER_S = 5.0


def warm():
    """The default Python context starts with the server, its usual libraries loaded,
    so a machine from the template's snapshot answers its first run at once."""
    try:
        ctx = CONTEXTS.default("python")
        ctx.turn(lambda: ctx.kernel._silent(PRELOAD))
    finally:
        WARM.set()


def warm_pass():
    """A throwaway cell through the path a run takes, in the default Python context.
    A kernel restored from a snapshot answers its first message late (~0.5 s measured
    in gVisor) and its next few runs slower than later ones. A warm-pool member runs
    this (its template's ready command) before it is parked, so whoever takes it does
    not pay that. The cell displays a value (the formatters run) without history: no
    execution count, no `_`, no name bound."""
    ctx = CONTEXTS.default("python")
    execution = results.Execution(ctx.id)
    ctx.turn(lambda: ctx.kernel.run(WARM_CELL, None, 30, execution, ctx.workdir, history=False))
    json.dumps(execution.doc)


WARM_CELL = "__import__('IPython.display').display.display(0)"


def main():
    # what the kernels and shells inherit: an interrupt must reach them (a server
    # started with SIGINT ignored would hand that on, and traps cannot undo it)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    os.makedirs(RUN_DIR, mode=0o700, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(LOG_PATH, maxBytes=4 << 20, backupCount=1)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    port = int(os.environ.get("NSCODE_PORT", PORT))
    srv = Server(("0.0.0.0", port), Handler)
    threading.Thread(target=warm, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
