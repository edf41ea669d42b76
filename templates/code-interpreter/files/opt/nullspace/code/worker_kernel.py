"""A context backed by a worker process of our own (Bash, JavaScript/TypeScript, Java):
where no Jupyter kernel is packaged, a small long-lived interpreter keeps the state.

The worker runs in a session of its own. What the code prints arrives on its stdout
and stderr; everything else comes back as JSON lines on a control pipe:
  {"t": "result", "bundle": {MIME: data}, "main": bool}
  {"t": "error", "name", "value", "traceback"}
  {"t": "started"}                    the run has begun (an interrupt reaches it now)
  {"t": "done", "status": N}          the run ended (N: the exit status, Bash only)
A subclass says how the worker starts (argv), how a run is handed to it (send) and
how it is interrupted; the loop here does the rest: streaming, the memory guard,
the timeout, keep-alives, an interrupt that does not take (restart) and a worker
that died (restart on the next run, which says so).
"""

import json
import os
import select
import signal
import subprocess
import time

import guard
import results
from interrupts import InterruptGate

INTERRUPT_GRACE_S = 3.0  # an interrupted run that does not end by then: restart
KEEPALIVE_S = 5.0
GUARD_EVERY_S = 0.25  # how often a run's memory is measured (guard.py)


class WorkerKernel:
    noun = "worker"  # what the messages call the process ("shell", "JVM", ...)

    def __init__(self, language, cwd, env):
        self.language = language
        self.cwd = cwd
        self.env = env
        self.proc = None
        self.ctl = None  # read end of the control pipe
        self.workdir = None
        self.count = 0
        self.restarted = None  # why the last restart happened, told with the next run
        self.gate = InterruptGate()

    # ---- what a subclass provides ----
    def argv(self):
        raise NotImplementedError

    def send(self, code, env):
        """Hands one run to the worker."""
        raise NotImplementedError

    def started(self):
        """Called once the worker runs (self.child_ctl_fd: the control pipe's number in it)."""

    requests_on_stdin = False  # runs are handed over on stdin (Bash), not on a pipe of their own

    # ---- the process ----
    def start(self, workdir=None):
        self.workdir = workdir or self.workdir
        env = dict(os.environ)
        env.update(self.env)
        env.pop("NSCODE_SERVER", None)
        ctl_r, ctl_w = os.pipe()
        req_r, req_w = os.pipe()
        env["NSCODE_CTL_FD"], env["NSCODE_REQ_FD"] = str(ctl_w), str(req_r)
        self.child_ctl_fd = ctl_w
        self.proc = subprocess.Popen(
            self.argv(), stdin=req_r if self.requests_on_stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=self.cwd, env=env, start_new_session=True,
            pass_fds=(ctl_w, req_r))
        os.close(ctl_w)
        os.close(req_r)
        self.ctl = ctl_r
        self.req = os.fdopen(req_w, "wb")
        for fd in (self.proc.stdout.fileno(), self.proc.stderr.fileno(), ctl_r):
            os.set_blocking(fd, False)
        self.started()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
            for f in (self.proc.stdout, self.proc.stderr, self.req):
                try:
                    f.close()
                except OSError:
                    pass
            os.close(self.ctl)
        self.proc = None

    def restart(self, why=None):
        self.stop()
        self.start()
        self.restarted = why

    def interrupt(self):
        self.gate.request(self.signal_int)

    def signal_int(self):
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
            except OSError:
                pass

    def write_request(self, doc):
        self.req.write((json.dumps(doc) + "\n").encode())
        self.req.flush()

    # ---- a run ----
    def run(self, code, env, timeout_s, emit, workdir):
        self.gate.start()  # an interrupt from now on waits for the code to begin
        try:
            return self._run(code, env, timeout_s, emit)
        finally:
            self.gate.end()  # a late interrupt must not reach the next run

    def _run(self, code, env, timeout_s, emit):
        if not self.alive():
            self.restart(self.restarted or "the context's %s had exited; it was restarted and "
                         "its state is lost" % self.noun)
        if self.restarted:
            emit({"type": "stderr", "text": "[nullspace] %s\n" % self.restarted,
                  "timestamp": results.now()})
            self.restarted = None
        self.count += 1
        try:
            self.send(code, env)
        except OSError:  # the worker died between the check and the write
            pass
        return Collector(self, timeout_s, emit).loop()

    def status_error(self, status):
        """The error a run's exit status means (Bash: a non-zero last command)."""
        return None


class Collector:
    """One run's output, from the worker to emit, until the worker says done."""

    def __init__(self, kernel, timeout_s, emit):
        self.k = kernel
        self.timeout_s = timeout_s
        self.emit = emit
        self.gone = False
        self.why = None
        self.interrupted_at = None
        self.error = None
        self.buf = b""

    def send(self, obj):
        if self.gone:
            return
        try:
            self.emit(obj)
        except OSError:
            self.gone = True
            if self.interrupted_at is None:
                self.why, self.interrupted_at = "client_gone", time.monotonic()
                self.k.interrupt()

    def drain(self):
        for f, name in ((self.k.proc.stdout, "stdout"), (self.k.proc.stderr, "stderr")):
            while True:
                try:
                    data = os.read(f.fileno(), 65536)
                except (BlockingIOError, ValueError):
                    break
                if not data:
                    break
                self.send({"type": name, "text": data.decode("utf-8", "replace"),
                           "timestamp": results.now()})

    def control(self):
        """Reads the control pipe; returns the run's status once the worker says done."""
        try:
            data = os.read(self.k.ctl, 1 << 20)
        except BlockingIOError:
            return None
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            self.drain()  # what the code printed before comes first
            kind = msg.get("t")
            if kind == "result" and isinstance(msg.get("bundle"), dict):
                self.send(results.result(msg["bundle"], msg.get("main")))
            elif kind == "error":
                self.error = results.error(str(msg.get("name", "Error")), str(msg.get("value", "")),
                                           str(msg.get("traceback", "")))
            elif kind == "started":
                self.k.gate.begin(self.k.signal_int)
            elif kind == "done":
                status = msg.get("status", 0)
                return status if isinstance(status, int) else 1
        return None

    def end(self, error, restarted):
        self.drain()
        self.k.restarted = restarted
        self.k.stop()
        self.send(dict(error, type="error"))
        return {"execution_count": self.k.count, "error": error, "client_gone": self.gone}

    def loop(self):
        k = self.k
        start = last = time.monotonic()
        deadline = start + self.timeout_s if self.timeout_s else None
        next_guard = start + GUARD_EVERY_S
        status = None
        noun = k.noun
        while status is None:
            now = time.monotonic()
            if now >= next_guard:
                next_guard = now + GUARD_EVERY_S
                limit = guard.over_limit(k.proc.pid)
                if limit:
                    return self.end(
                        results.error("OutOfMemory", "the run held more than %d MiB, most of the "
                                      "machine's memory: its %s was stopped" % (limit >> 20, noun),
                                      ""),
                        "the context's %s was stopped for using too much memory and was "
                        "restarted; its state is lost" % noun)
            fds = [k.proc.stdout.fileno(), k.proc.stderr.fileno(), k.ctl]
            ready, _, _ = select.select(fds, [], [], 0.25)
            now = time.monotonic()
            if ready:
                last = now
                self.drain()
                if k.ctl in ready:
                    status = self.control()
                    if status is not None:
                        break
            if not k.alive():
                status = self.control()  # it may have said done just before it exited
                if status is not None:
                    break
                return self.end(results.error("%sExited" % noun.capitalize(), "the %s exited "
                                              "during the run" % noun, ""),
                                "the context's %s exited; it was restarted and its state is "
                                "lost" % noun)
            if self.interrupted_at is not None and now - self.interrupted_at > INTERRUPT_GRACE_S:
                self.drain()
                k.restart("the context's %s did not stop when interrupted; it was restarted "
                          "and its state is lost" % noun)
                if self.why == "timeout":
                    self.error = results.timeout_error(self.timeout_s)
                status = 130
                break
            if deadline and now > deadline and self.interrupted_at is None:
                self.why, self.interrupted_at = "timeout", now
                k.interrupt()
            if now - last >= KEEPALIVE_S:
                last = now
                self.send({"type": "keepalive"})
        if k.alive():
            self.drain()
        error = self.error
        if self.why == "timeout":
            error = results.timeout_error(self.timeout_s)
        elif error is None and status:
            error = k.status_error(status)
        if error:
            self.send(dict(error, type="error"))
        self.send({"type": "number_of_executions", "execution_count": k.count})
        return {"execution_count": k.count, "error": error, "client_gone": self.gone}
