"""A context backed by a Jupyter kernel (ipykernel for Python, IRkernel for R),
driven straight over ZeroMQ with jupyter_client: no Jupyter Server.

One run at a time (the caller queues them). Output goes to emit(dict) as it comes;
emit raises OSError when the client has gone, and the run is then interrupted.
"""

import json
import os
import queue
import secrets
import time

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

import guard
import results
from interrupts import InterruptGate

KEEPALIVE_S = 5.0
INTERRUPT_GRACE_S = 5.0  # an interrupted run that does not end by then: restart
GUARD_EVERY_S = 0.25  # how often a run's memory is measured (guard.py)
KERNEL_DIR = "/run/nscode/kernels"

# How each language's kernel takes a run's environment: code naming a file of
# JSON (the values never appear in code), and code putting the old values back.
ENV_CODE = {
    "python": ("__import__('_nsp').push(%s)", "__import__('_nsp').pop()"),
    "r": (
        "local({p <- %s; e <- jsonlite::fromJSON(p); unlink(p);"
        " options(nsp_saved_env = Sys.getenv(names(e), unset = NA, names = TRUE));"
        " if (length(e)) do.call(Sys.setenv, e)})",
        "local({o <- getOption('nsp_saved_env'); options(nsp_saved_env = NULL);"
        " for (k in names(o)) if (is.na(o[[k]])) Sys.unsetenv(k) else"
        " do.call(Sys.setenv, setNames(list(o[[k]]), k))})",
    ),
}


def kernel_specs():
    """Writes our kernel specs (the packaged ones, Python's through our launcher and
    start-up file) and returns their manager."""
    specs = {
        "python": ["python3", "/opt/nullspace/code/kernel_launcher.py", "-f", "{connection_file}",
                   "--IPKernelApp.exec_files=/opt/nullspace/code/startup.py",
                   "--HistoryManager.enabled=False", "--InteractiveShell.colors=NoColor"],
        "r": ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"],
    }
    for name, argv in specs.items():
        d = os.path.join(KERNEL_DIR, "nsp-" + name)  # "python" would mean the packaged spec
        os.makedirs(d, exist_ok=True)
        spec = {"argv": argv, "display_name": name,
                "language": name, "interrupt_mode": "signal"}
        with open(os.path.join(d, "kernel.json"), "w") as f:
            json.dump(spec, f)
    return KernelSpecManager(kernel_dirs=[KERNEL_DIR])


_SPECS = None


class JupyterKernel:
    def __init__(self, language, cwd, env):
        global _SPECS
        if _SPECS is None:
            _SPECS = kernel_specs()
        self.language = language
        self.cwd = cwd
        self.env = env
        self.km = None
        self.kc = None
        self.restarted = None  # why the last restart happened, told with the next run
        self.workdir = None
        self.gate = InterruptGate()

    def start(self, workdir):
        self.workdir = workdir
        env = dict(os.environ)
        env.update(self.env)
        env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        env["NSCODE_KERNEL_IPC"] = os.path.join(workdir, "kernel")
        env["PLOTLY_RENDERER"] = "plotly_mimetype"  # never the notebook's inlined plotly.js
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # ipykernel's debugger warns otherwise
        env.pop("NSCODE_SERVER", None)
        # ZeroMQ over Unix sockets: a machine with open TCP connections cannot be
        # checkpointed (hibernate, fork, snapshots), one with Unix sockets can
        km = KernelManager(kernel_name="nsp-" + self.language, kernel_spec_manager=_SPECS,
                           transport="ipc", ip=os.path.join(workdir, "kernel"))
        # the kernel's address and key in the context's directory (0600, like the
        # directory): what a client of its own needs (bench/code drives the kernel raw)
        km.connection_file = os.path.join(workdir, "connection.json")
        km.start_kernel(cwd=self.cwd, env=env)
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
        except RuntimeError:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            raise
        self.km, self.kc = km, kc

    def alive(self):
        return self.km is not None and self.km.is_alive()

    def pid(self):
        """The kernel's process id, which is its session's too (0: none)."""
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        return proc.pid if proc is not None else 0

    def stop(self):
        if self.kc:
            self.kc.stop_channels()
        if self.km:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:
                pass
        self.km = self.kc = None

    def restart(self, why=None):
        self.stop()
        self.start(self.workdir)
        self.restarted = why

    def interrupt(self):
        km = self.km
        if km:
            self.gate.request(km.interrupt_kernel)

    def _silent(self, code):
        """Runs code silently and waits for its reply (bounded)."""
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                reply = self.kc.get_shell_msg(timeout=1)
            except queue.Empty:
                if not self.alive():
                    return
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return

    def run(self, code, env, timeout_s, emit, workdir, history=True):
        """Runs code; returns the execution's summary {"execution_count", "error"}.
        history=False: the kernel neither counts the run nor keeps its output."""
        self.gate.start()  # an interrupt from now on waits for the code to begin
        try:
            return self._run(code, env, timeout_s, emit, workdir, history)
        finally:
            self.gate.end()  # a late interrupt must not reach the next run

    def _run(self, code, env, timeout_s, emit, workdir, history):
        if not self.alive():
            self.restart(self.restarted or
                         "the context's kernel had died; it was restarted and its state is lost")
        if self.restarted:
            emit({"type": "stderr", "text": "[nullspace] %s\n" % self.restarted,
                  "timestamp": results.now()})
            self.restarted = None
        push, pop = ENV_CODE.get(self.language, (None, None))
        if env and push:
            path = os.path.join(workdir, "env-%s.json" % secrets.token_hex(8))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(env, f)
            self._silent(push % json.dumps(path))
        try:
            return self._execute(code, timeout_s, emit, history)
        finally:
            if env and pop and self.alive():
                self._silent(pop)

    def _execute(self, code, timeout_s, emit, history):
        kc = self.kc
        msg_id = kc.execute(code, store_history=history, allow_stdin=False, stop_on_error=False)
        start = time.monotonic()
        deadline = start + timeout_s if timeout_s else None
        last = start
        interrupted_at = None
        gone = False
        why = None
        count = None
        error = None

        # IRkernel shows the value of a cell's last expression as display_data, not as
        # execute_result: R's latest display is held back, and is the main result when
        # nothing follows it before the run ends well
        held = []

        def send(obj, hold=False):
            flush()
            if hold:
                held.append(obj)
            else:
                emit_one(obj)

        def flush():
            if held:
                emit_one(held.pop())

        def emit_one(obj):
            nonlocal gone, interrupted_at, why
            if gone:
                return
            try:
                emit(obj)
            except OSError:
                gone = True
                if interrupted_at is None:
                    why = "client_gone"
                    interrupted_at = time.monotonic()
                    self.interrupt()

        next_guard = start + GUARD_EVERY_S  # a /proc walk is slow in gVisor: not per message
        while True:
            limit = 0
            if time.monotonic() >= next_guard:
                next_guard = time.monotonic() + GUARD_EVERY_S
                limit = guard.over_limit(self.pid())
            if limit:
                error = results.error("OutOfMemory",
                                      "the run held more than %d MiB, most of the machine's "
                                      "memory: its kernel was stopped and restarts on the next "
                                      "run with its state lost" % (limit >> 20), "")
                send(dict(error, type="error"))
                self.restarted = ("the context's kernel was stopped for using too much memory "
                                  "and was restarted; its state is lost")
                self.stop()
                break
            try:
                msg = kc.get_iopub_msg(timeout=0.25)
            except queue.Empty:
                now = time.monotonic()
                if not self.alive():
                    error = results.error("KernelDied",
                                          "the kernel died during the run (out of memory?); "
                                          "it restarts on the next run with its state lost", "")
                    send(dict(error, type="error"))
                    self.restarted = "the context's kernel died and was restarted; its state is lost"
                    self.stop()
                    break
                if interrupted_at is not None and now - interrupted_at > INTERRUPT_GRACE_S:
                    self.restart("the context's kernel did not stop when interrupted; "
                                 "it was restarted and its state is lost")
                    if why == "timeout":
                        error = results.timeout_error(timeout_s)
                        send(dict(error, type="error"))
                    break
                if deadline and now > deadline and interrupted_at is None:
                    why = "timeout"
                    interrupted_at = now
                    self.interrupt()
                if now - last >= KEEPALIVE_S:
                    last = now
                    send({"type": "keepalive"})
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            last = time.monotonic()
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                if held and error is None:
                    held[0]["is_main_result"] = True
                flush()
                break
            if kind == "execute_input":  # the kernel runs the code now: SIGINT reaches it
                count = content.get("execution_count")
                self.gate.begin(self.km.interrupt_kernel)
            elif kind == "stream":
                send({"type": content.get("name", "stdout"), "text": content.get("text", ""),
                      "timestamp": results.now()})
            elif kind in ("execute_result", "display_data", "update_display_data"):
                if kind == "execute_result":
                    count = content.get("execution_count", count)
                main = kind == "execute_result"
                send(results.result(content.get("data", {}), main),
                     hold=self.language == "r" and kind == "display_data")
            elif kind == "error":
                if why == "timeout":
                    error = results.timeout_error(timeout_s)
                else:
                    error = results.error(content.get("ename", "Error"), content.get("evalue", ""),
                                          "\n".join(content.get("traceback", [])))
                send(dict(error, type="error"))
        flush()  # a run that ended otherwise (memory, death, interrupt)
        while self.kc is kc:  # the shell replies are not read otherwise: drop them
            try:
                kc.get_shell_msg(timeout=0)
            except queue.Empty:
                break
        if count is not None:
            send({"type": "number_of_executions", "execution_count": count})
        return {"execution_count": count, "error": error, "client_gone": gone}
