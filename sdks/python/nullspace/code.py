"""The code interpreter (docs/code-interpreter.md) of machines from the code-interpreter
template: m.code.run() runs code in a stateful context (Python, R, JavaScript,
TypeScript, Java or Bash) and returns an Execution with its results (MIME bundles, chart
and DataFrame data), logs and error; m.code.start() starts a run and returns at once.

    m = Machine.create(template="code-interpreter")
    m.code.run("x = 41")
    m.code.run("x + 1").text                  # '42'
    m.code.run("print('hi')", on_stdout=print)  # streamed as it happens
    run = m.code.start("import time; time.sleep(5); 42")
    run.wait().text                           # '42'
"""

import io
import os
import time
import urllib.parse

from .errors import NullspaceError

# the fields of a result, one per MIME type (or our typed forms)
FORMATS = ("text", "html", "markdown", "png", "jpeg", "svg", "pdf", "latex", "json",
           "javascript", "chart", "data", "extra")


class Result:
    """One displayed value: .is_main_result (the run's last expression), and one
    attribute per format present (None when absent): text, html, markdown, png, jpeg and
    pdf (base64), svg, latex, json, javascript, chart (a matplotlib figure's data), data
    (a DataFrame's columns and rows), extra (other MIME types)."""

    def __init__(self, doc):
        self.raw = doc
        self.is_main_result = bool(doc.get("is_main_result"))
        for f in FORMATS:
            setattr(self, f, doc.get(f))

    def formats(self):
        """The formats this result has, in FORMATS order."""
        return [f for f in FORMATS if self.raw.get(f) is not None]

    def __repr__(self):
        return "Result(%s%s)" % (", ".join(self.formats()), ", main" if self.is_main_result else "")


class ExecutionError:
    """A run's error: .name (ZeroDivisionError, TimeoutError, OutOfMemory, ExitCode, ...),
    .value and .traceback (plain text)."""

    def __init__(self, doc):
        self.name = doc.get("name")
        self.value = doc.get("value")
        self.traceback = doc.get("traceback")

    def __repr__(self):
        return "ExecutionError(%s: %s)" % (self.name, self.value)


class Logs:
    """What a run printed: .stdout and .stderr, lists of chunks as they came."""

    def __init__(self, stdout=None, stderr=None):
        self.stdout = list(stdout or [])
        self.stderr = list(stderr or [])


class Execution:
    """A finished run: .results (Result), .logs, .error (ExecutionError or None),
    .execution_count and .context (its context's ID, when the daemon said)."""

    def __init__(self, doc=None):
        doc = doc or {}
        self.results = [Result(r) for r in doc.get("results") or []]
        logs = doc.get("logs") or {}
        self.logs = Logs(logs.get("stdout"), logs.get("stderr"))
        self.error = ExecutionError(doc["error"]) if doc.get("error") else None
        self.execution_count = doc.get("execution_count")
        self.context = doc.get("context")

    @property
    def text(self):
        """The main result's text (the value of the last expression), or None."""
        for r in self.results:
            if r.is_main_result:
                return r.text
        return None

    def __repr__(self):
        return "Execution(results=%r, error=%r)" % (self.results, self.error)


class Context:
    """A context: .id, .language, .cwd. Pass it (or its ID) as run()'s context."""

    def __init__(self, doc):
        self.id = doc["id"]
        self.language = doc.get("language")
        self.cwd = doc.get("cwd")

    def __repr__(self):
        return "Context(%s, %s)" % (self.id, self.language)


class Artifact:
    """A file a run left in its artifacts directory, or a result field over 1 MiB:
    .id, .name, .size, .mime_type, .source ("file" or "result")."""

    def __init__(self, doc):
        self.id = doc["id"]
        self.name = doc.get("name")
        self.size = doc.get("size")
        self.mime_type = doc.get("mime_type")
        self.source = doc.get("source")

    def __repr__(self):
        return "Artifact(%s, %s, %s bytes)" % (self.id, self.name, self.size)


ENDED = ("succeeded", "failed", "cancelled")


class CodeRun:
    """An asynchronous run (m.code.start): .id, .state (queued, running, succeeded,
    failed, cancelled), .context, .language, .created_at, .started_at, .ended_at,
    .execution (an Execution: what it produced so far) and .artifacts (Artifact)."""

    def __init__(self, code, doc):
        self._code = code
        self._update(doc)

    def _update(self, doc):
        self.id = doc["id"]
        for k in ("state", "context", "language", "created_at", "started_at", "ended_at"):
            setattr(self, k, doc.get(k))
        self.execution = Execution(doc["execution"]) if "execution" in doc else None
        self.artifacts = [Artifact(a) for a in doc.get("artifacts") or []]

    @property
    def done(self):
        return self.state in ENDED

    def _path(self, suffix=""):
        return self._code._path("/runs/" + urllib.parse.quote(self.id, safe="") + suffix)

    def refresh(self, wait_s=0):
        """Fetches the run again, waiting up to wait_s (at most 60) for it to end."""
        self._update(self._code.machine.client.request(
            "GET", self._path(), query={"wait_s": wait_s or None}, wait=True))
        return self

    def wait(self, timeout_s=None):
        """Waits for the run to end (or timeout_s to pass) and returns its Execution."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self.refresh()
        while not self.done:
            left = 60 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                break
            self.refresh(min(60, max(1, int(left))))
        return self.execution

    def cancel(self):
        """Cancels the run (a queued one never starts, a running one is interrupted);
        False when it had already ended."""
        r = self._code.machine.client.request("POST", self._path("/cancel"))
        self.state = r.get("state", self.state)
        return bool(r.get("cancelled"))

    def delete(self):
        """Forgets the ended run and deletes its artifacts."""
        self._code.machine.client.request("DELETE", self._path())

    def _fetch_artifact(self, artifact, sink):
        aid = artifact.id if isinstance(artifact, Artifact) else str(artifact)
        self._code.machine.client.transfer(
            "GET", self._path("/artifacts/" + urllib.parse.quote(aid, safe="")), sink=sink)

    def read_artifact(self, artifact):
        """An artifact's bytes (an Artifact or its ID)."""
        buf = io.BytesIO()
        self._fetch_artifact(artifact, buf)
        return buf.getvalue()

    def download_artifact(self, artifact, path):
        """Streams an artifact into path (a directory: under the artifact's own name)."""
        if os.path.isdir(path):
            name = artifact.name if isinstance(artifact, Artifact) else str(artifact)
            path = os.path.join(path, os.path.basename(name))
        with open(path, "wb") as f:
            self._fetch_artifact(artifact, f)
        return path

    def __repr__(self):
        return "CodeRun(%s, %s)" % (self.id, self.state)


def _cid(context):
    return context.id if isinstance(context, Context) else str(context)


def _run_body(code, language, context, env, timeout_s):
    body = {"code": code}
    for k, v in (("language", language), ("env", env), ("timeout_s", timeout_s)):
        if v is not None:
            body[k] = v
    if context is not None:
        body["context"] = _cid(context)
    return body


class Code:
    """m.code: runs and contexts of a machine's code interpreter. Errors raise the
    daemon's typed errors (CodeInterpreterNotAvailableError on a machine of another
    template, CodeContextNotFoundError, LanguageNotSupportedError, ...)."""

    def __init__(self, machine):
        self.machine = machine

    def _path(self, suffix):
        return self.machine._path("/code" + suffix)

    def run(self, code, language=None, context=None, env=None, timeout_s=None,
            on_stdout=None, on_stderr=None, on_result=None, on_error=None):
        """Runs code in `context` (a Context or ID), or else in the default context of
        `language` (python when neither is given), and returns its Execution. `env`:
        variables of this run only (its process environment; never code text).
        `timeout_s`: interrupt it after this long (default 300, 0: never). With any
        on_* callback the run is streamed: on_stdout/on_stderr get each chunk (str),
        on_result each Result, on_error the ExecutionError, as they happen."""
        body = _run_body(code, language, context, env, timeout_s)
        c = self.machine.client
        if not (on_stdout or on_stderr or on_result or on_error):
            return Execution(c.request("POST", self._path("/run"), body=body, wait=True))
        body["stream"] = True
        ex, ended = Execution(), False
        for line in c.lines("POST", self._path("/run"), body):
            kind = line.get("type")
            if kind in ("stdout", "stderr"):
                getattr(ex.logs, kind).append(line["text"])
                cb = on_stdout if kind == "stdout" else on_stderr
                if cb:
                    cb(line["text"])
            elif kind == "result":
                r = Result({k: v for k, v in line.items() if k != "type"})
                ex.results.append(r)
                if on_result:
                    on_result(r)
            elif kind == "error":
                ex.error = ExecutionError(line)
                if on_error:
                    on_error(ex.error)
            elif kind == "number_of_executions":
                ex.execution_count = line.get("execution_count")
            elif kind == "end_of_execution":
                ended = True
        if not ended:
            raise NullspaceError("the run's stream ended before the run did", code="internal")
        return ex

    def start(self, code, language=None, context=None, env=None, timeout_s=None):
        """Starts a run and returns its CodeRun at once (the arguments as run()'s). The
        code finds its artifacts directory in $NULLSPACE_ARTIFACTS_DIR."""
        body = _run_body(code, language, context, env, timeout_s)
        return CodeRun(self, self.machine.client.request("POST", self._path("/runs"), body=body,
                                                         wait=True))

    def list_runs(self):
        """The machine's asynchronous runs, newest first (without their output)."""
        return [CodeRun(self, d) for d in self.machine.client.request("GET", self._path("/runs"))]

    def get_run(self, run_id, wait_s=0):
        """A run by ID (waiting up to wait_s for it to end)."""
        return CodeRun(self, {"id": run_id}).refresh(wait_s)

    def create_context(self, language="python", cwd=None, env=None):
        """A new context: its own interpreter, isolated from the others. `env`: its
        processes' environment from the start."""
        body = {"language": language}
        if cwd is not None:
            body["cwd"] = cwd
        if env is not None:
            body["env"] = env
        return Context(self.machine.client.request("POST", self._path("/contexts"), body=body,
                                                   wait=True))

    def list_contexts(self):
        return [Context(d) for d in self.machine.client.request("GET", self._path("/contexts"))]

    def _one(self, context, suffix=""):
        return self._path("/contexts/" + urllib.parse.quote(_cid(context), safe="") + suffix)

    def delete_context(self, context):
        """Stops the context's interpreter and forgets it."""
        self.machine.client.request("DELETE", self._one(context))

    def restart_context(self, context):
        """A fresh interpreter for the context (its state is lost; same ID)."""
        return Context(self.machine.client.request("POST", self._one(context, "/restart"),
                                                   wait=True))

    def interrupt(self, context):
        """Interrupts the context's run under way; True when there was one."""
        r = self.machine.client.request("POST", self._one(context, "/interrupt"))
        return bool(r.get("interrupted"))
