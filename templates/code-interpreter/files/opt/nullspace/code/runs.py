"""Runs started asynchronously (POST /runs): the answer is the run's ID at once; the
run waits its turn on its context like any other, and is fetched, listed, cancelled
and deleted later.

Each run has a directory of artifacts: the code finds its path in the environment
variable NULLSPACE_ARTIFACTS_DIR, and every file it leaves there is listed as an
artifact once the run ends. A result field over BIG_RESULT bytes (a large PNG or HTML)
is stored as an artifact too: the result names it under "artifacts" ({field: artifact
ID}) and no longer carries that field. Everything lives in the machine (RUNS_DIR), so it goes with the machine,
is kept by hibernate and snapshots and copied by fork. The oldest finished runs are
dropped, with their artifacts, past MAX_KEPT.
"""

import base64
import collections
import logging
import mimetypes
import os
import shutil
import threading
import uuid

import results
from errors import ApiError

RUNS_DIR = "/var/lib/nscode/runs"
MAX_KEPT = 200  # finished runs kept
MAX_LIVE = 64  # queued and running at once
BIG_RESULT = 1 << 20
MAX_ARTIFACTS = 1000  # files listed per run
WAIT_MAX_S = 60
EXT = {"png": ".png", "jpeg": ".jpg", "pdf": ".pdf", "svg": ".svg", "html": ".html",
       "markdown": ".md", "latex": ".tex", "text": ".txt", "javascript": ".js", "json": ".json"}
LOG = logging.getLogger("nscode")


class Run:
    def __init__(self, ctx, code, env, timeout_s):
        self.id = "run_" + uuid.uuid4().hex[:20]
        self.ctx, self.code, self.env, self.timeout_s = ctx, code, env, timeout_s
        self.state = "queued"
        self.created_at, self.started_at, self.ended_at = results.now(), None, None
        self.dir = os.path.join(RUNS_DIR, self.id)
        self.artifacts_dir = os.path.join(self.dir, "artifacts")
        os.makedirs(self.artifacts_dir, mode=0o755)
        self.execution = results.Execution(ctx.id)
        self.artifacts = []
        self.files = {}  # artifact id -> (the artifact, its file)
        self.lock = threading.Lock()
        self.cancelled = False
        self.done = threading.Event()

    def view(self, full=False):
        out = {"id": self.id, "context": self.ctx.id, "language": self.ctx.language,
               "state": self.state, "created_at": self.created_at,
               "started_at": self.started_at, "ended_at": self.ended_at}
        if full:
            out["execution"] = self.execution.doc
            out["artifacts"] = list(self.artifacts)
        else:
            err = self.execution.doc["error"]
            out["error"] = err["name"] if err else None
        return out

    def cancel(self):
        """Cancels the run: dropped when queued, interrupted when running. False when it
        had ended."""
        with self.lock:
            if self.done.is_set():
                return False
            self.cancelled = True
            running = self.state == "running"
        if running:
            self.ctx.kernel.interrupt()
        return True

    def go(self):
        try:
            self.ctx.turn(self._body)
        except Exception as e:  # a bug of ours: the run says so, the server goes on
            LOG.exception("run %s failed", self.id)
            self.execution.doc["error"] = results.error("InternalError", str(e), "")
        finally:
            self._harvest()
            with self.lock:
                err = self.execution.doc["error"]
                self.state = ("cancelled" if self.cancelled else "failed" if err else "succeeded")
                self.ended_at = results.now()
                self.done.set()

    def _body(self):
        with self.lock:
            if self.cancelled:
                return None
            # handed over from here: a cancel now waits for the code to begin
            self.ctx.kernel.gate.start()
            self.state, self.started_at = "running", results.now()
        env = dict(self.env, NULLSPACE_ARTIFACTS_DIR=self.artifacts_dir)
        return self.ctx.run_turn(self.code, env, self.timeout_s, self._collect)

    def _collect(self, obj):
        if obj.get("type") == "result":
            obj = self._store_big(obj)
        self.execution(obj)

    def _store_big(self, result):
        """Moves result fields over BIG_RESULT bytes into artifacts."""
        for field, value in list(result.items()):
            if not isinstance(value, str) or len(value) <= BIG_RESULT:
                continue
            data = base64.b64decode(value) if field in results.BINARY else value.encode()
            name = "result-%d%s" % (len(self.execution.doc["results"]) + 1, EXT.get(field, ""))
            path = os.path.join(self.dir, name)
            with open(path, "wb") as f:
                f.write(data)
            art = self._add(name, path, "result")
            result = dict(result)
            del result[field]
            result.setdefault("artifacts", {})[field] = art["id"]
        return result

    def _add(self, name, path, source):
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        art = {"id": "art_%d" % (len(self.artifacts) + 1), "name": name,
               "size": os.path.getsize(path), "mime_type": mime, "source": source}
        self.artifacts.append(art)
        self.files[art["id"]] = (art, path)
        return art

    def _harvest(self):
        """Lists the files the code left in its artifacts directory."""
        for root, dirs, files in os.walk(self.artifacts_dir):
            dirs.sort()
            for f in sorted(files):
                path = os.path.join(root, f)
                if len(self.artifacts) >= MAX_ARTIFACTS:
                    return
                if os.path.isfile(path) and not os.path.islink(path):
                    self._add(os.path.relpath(path, self.artifacts_dir), path, "file")

    def artifact(self, aid):
        """(the artifact, its file) of ID aid."""
        art, path = self.files.get(aid, (None, None))
        if not path or not os.path.isfile(path):
            raise ApiError(404, "code_artifact_not_found",
                           "run %s has no artifact %s" % (self.id, str(aid)[:64]))
        return art, path


class Runs:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_id = collections.OrderedDict()

    def start(self, ctx, code, env, timeout_s):
        with self.lock:
            live = sum(1 for r in self.by_id.values() if not r.done.is_set())
            if live >= MAX_LIVE:
                raise ApiError(409, "conflict", "%d runs are queued or running, the most at "
                               "once: wait for some to end" % live)
            run = Run(ctx, code, env, timeout_s)
            self.by_id[run.id] = run
            dropped = self._prune()
        for r in dropped:  # their files go outside the lock
            shutil.rmtree(r.dir, ignore_errors=True)
        threading.Thread(target=run.go, daemon=True, name=run.id).start()
        return run

    def _prune(self):
        """Forgets the oldest ended runs past MAX_KEPT (the lock held); returns them."""
        finished = [r for r in self.by_id.values() if r.done.is_set()]
        dropped = finished[:max(0, len(finished) - MAX_KEPT)]
        for r in dropped:
            del self.by_id[r.id]
        return dropped

    def get(self, rid):
        with self.lock:
            run = self.by_id.get(rid)
        if not run:
            raise ApiError(404, "code_run_not_found", "no run %s" % str(rid)[:64])
        return run

    def list(self):
        with self.lock:
            return [r.view() for r in reversed(self.by_id.values())]

    def delete(self, rid):
        run = self.get(rid)
        if not run.done.is_set():
            raise ApiError(409, "conflict", "run %s has not ended: cancel it first" % rid)
        with self.lock:
            self.by_id.pop(rid, None)
        shutil.rmtree(run.dir, ignore_errors=True)


def wait_of(query):
    """The wait_s query parameter (seconds to wait for the run to end, at most WAIT_MAX_S)."""
    raw = query.get("wait_s")
    if raw is None:
        return 0
    try:
        v = float(raw)
    except ValueError:
        v = -1
    if not 0 <= v <= WAIT_MAX_S:
        raise ApiError(400, "invalid_field", "query parameter 'wait_s': 0 to %d" % WAIT_MAX_S)
    return v
