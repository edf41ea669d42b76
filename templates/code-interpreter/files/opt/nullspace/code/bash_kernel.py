"""A Bash context: one long-lived bash whose shell state (variables, functions,
cwd, exported environment) carries from run to run. Our own small worker; no
Jupyter kernel is packaged for Bash.

Each run's code is written to a file and sourced by a function read from bash's
stdin; the run's exit status comes back on a pipe of its own, so stdout and
stderr carry only what the code printed. A run's environment variables are read
from a file of NUL-separated NAME=VALUE pairs (never part of any code) and put back
afterwards. SIGINT to the process group ends the run under way (its trap returns
130) and leaves the shell alive.
"""

import os
import select
import signal
import subprocess
import time

import guard
import results

PRELUDE = r"""
trap ':' INT
__nsp_run() {
  local __nsp_f=$1 __nsp_e=$2 __nsp_kv __nsp_n __nsp_rc
  local -a __nsp_names=() __nsp_old=()
  if [ -n "$__nsp_e" ]; then
    while IFS= read -r -d '' __nsp_kv; do
      __nsp_n=${__nsp_kv%%=*}
      __nsp_names+=("$__nsp_n")
      if [ -n "${!__nsp_n+set}" ]; then __nsp_old+=("s${!__nsp_n}"); else __nsp_old+=("u"); fi
      export "$__nsp_kv"
    done < "$__nsp_e"
    rm -f "$__nsp_e"
  fi
  trap 'trap ":" INT; return 130' INT
  . "$__nsp_f" < /dev/null
  __nsp_rc=$?
  trap ':' INT
  local __nsp_i
  for __nsp_i in "${!__nsp_names[@]}"; do
    __nsp_n=${__nsp_names[$__nsp_i]}
    case ${__nsp_old[$__nsp_i]} in
      s*) export "$__nsp_n=${__nsp_old[$__nsp_i]#s}" ;;
      *) unset "$__nsp_n" ;;
    esac
  done
  return $__nsp_rc
}
__nsp_cell() { __nsp_run "$1" "$2"; printf '%s\n' "$?" >&CTL; }
"""

INTERRUPT_GRACE_S = 3.0
KEEPALIVE_S = 5.0


class BashKernel:
    def __init__(self, language, cwd, env):
        self.language = language
        self.cwd = cwd
        self.env = env
        self.proc = None
        self.ctl = None
        self.count = 0
        self.restarted = None
        self.executing = False

    def start(self, workdir=None):
        env = dict(os.environ)
        env.update(self.env)
        env.pop("NSCODE_SERVER", None)
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=self.cwd, env=env, start_new_session=True,
            pass_fds=(w,))
        os.close(w)
        self.ctl = r
        for f in (self.proc.stdout, self.proc.stderr):
            os.set_blocking(f.fileno(), False)
        os.set_blocking(r, False)
        self.proc.stdin.write(PRELUDE.replace("CTL", str(w)).encode())
        self.proc.stdin.flush()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                f.close()
            os.close(self.ctl)
        self.proc = None

    def restart(self, why=None):
        self.stop()
        self.start()
        self.restarted = why

    def interrupt(self):
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGINT)

    def run(self, code, env, timeout_s, emit, workdir):
        if not self.alive():
            self.restart("the context's shell had exited; it was restarted and its state is lost")
        if self.restarted:
            emit({"type": "stderr", "text": "[nullspace] %s\n" % self.restarted,
                  "timestamp": results.now()})
            self.restarted = None
        self.count += 1
        cell = os.path.join(workdir, "cell-%d.sh" % self.count)
        with open(os.open(cell, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(code)
            if not code.endswith("\n"):
                f.write("\n")
        envfile = ""
        if env:
            envfile = os.path.join(workdir, "env-%d" % self.count)
            with open(os.open(envfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
                for k, v in env.items():
                    f.write(b"%s=%s\0" % (k.encode(), v.encode()))
        try:
            self.proc.stdin.write(("__nsp_cell %s %s\n" % (_q(cell), _q(envfile))).encode())
            self.proc.stdin.flush()
            self.executing = True
            return self._collect(timeout_s, emit)
        finally:
            self.executing = False
            for p in (cell, envfile):
                if p:
                    try:
                        os.unlink(p)
                    except OSError:
                        pass

    def _collect(self, timeout_s, emit):
        out, err = self.proc.stdout.fileno(), self.proc.stderr.fileno()
        start = last = time.monotonic()
        deadline = start + timeout_s if timeout_s else None
        interrupted_at, why, gone, status = None, None, False, None
        ctl = b""

        def send(obj):
            nonlocal gone, interrupted_at, why
            if gone:
                return
            try:
                emit(obj)
            except OSError:
                gone = True
                if interrupted_at is None:
                    why, interrupted_at = "client_gone", time.monotonic()
                    self.interrupt()

        def drain(fd, name):
            while True:
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    return
                if not data:
                    return
                send({"type": name, "text": data.decode("utf-8", "replace"),
                      "timestamp": results.now()})

        while status is None:
            limit = guard.over_limit(self.proc.pid)
            if limit:
                drain(out, "stdout")
                drain(err, "stderr")
                self.restarted = ("the context's shell was stopped for using too much memory "
                                  "and was restarted; its state is lost")
                self.stop()
                error = results.error("OutOfMemory", "the run held more than %d MiB, most of "
                                      "the machine's memory: its shell was stopped" % (limit >> 20),
                                      "")
                send(dict(error, type="error"))
                return {"execution_count": self.count, "error": error, "client_gone": gone}
            ready, _, _ = select.select([out, err, self.ctl], [], [], 0.25)
            now = time.monotonic()
            if out in ready:
                drain(out, "stdout")
            if err in ready:
                drain(err, "stderr")
            if self.ctl in ready:
                ctl += os.read(self.ctl, 64)
                if b"\n" in ctl:
                    status = int(ctl.split(b"\n")[0] or b"1")
                    break
            if ready:
                last = now
            if not self.alive():
                drain(out, "stdout")
                drain(err, "stderr")
                self.restarted = "the context's shell exited; it was restarted and its state is lost"
                self.stop()
                error = results.error("ShellExited", "the shell exited during the run", "")
                send(dict(error, type="error"))
                return {"execution_count": self.count, "error": error, "client_gone": gone}
            if interrupted_at is not None and now - interrupted_at > INTERRUPT_GRACE_S:
                self.restart("the context's shell did not stop when interrupted; "
                             "it was restarted and its state is lost")
                status = 130
                break
            if deadline and now > deadline and interrupted_at is None:
                why, interrupted_at = "timeout", now
                self.interrupt()
            if now - last >= KEEPALIVE_S:
                last = now
                send({"type": "keepalive"})
        if self.alive():
            drain(out, "stdout")
            drain(err, "stderr")
        error = None
        if why == "timeout":
            error = results.timeout_error(timeout_s)
        elif status:
            error = results.error("ExitCode", str(status),
                                  "the code's last command exited with status %d" % status)
        if error:
            send(dict(error, type="error"))
        send({"type": "number_of_executions", "execution_count": self.count})
        return {"execution_count": self.count, "error": error, "client_gone": gone}


def _q(s):
    return "'" + s.replace("'", "'\\''") + "'"
