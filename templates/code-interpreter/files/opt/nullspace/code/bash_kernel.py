"""A Bash context: one long-lived bash whose shell state (variables, functions,
cwd, exported environment) carries from run to run. Our own small worker; no
Jupyter kernel is packaged for Bash.

Each run's code is written to a file and sourced by a function bash reads on its
stdin; the run's exit status comes back on the control pipe (worker_kernel.py), so
stdout and stderr carry only what the code printed. A run's environment variables
are read from a file of NUL-separated NAME=VALUE pairs (never part of any code) and
put back afterwards. SIGINT to the process group ends the run under way (its trap
returns 130) and leaves the shell alive.
"""

import os

import results
from worker_kernel import WorkerKernel

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
  printf '{"t":"started"}\n' >&@CTL@
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
__nsp_cell() { __nsp_run "$1" "$2"; printf '{"t":"done","status":%s}\n' "$?" >&@CTL@; }
unset NSCODE_CTL_FD NSCODE_REQ_FD
"""


class BashKernel(WorkerKernel):
    noun = "shell"
    requests_on_stdin = True

    def argv(self):
        return ["bash", "--noprofile", "--norc"]

    def started(self):
        self.req.write(PRELUDE.replace("@CTL@", str(self.child_ctl_fd)).encode())
        self.req.flush()

    def send(self, code, env):
        cell = os.path.join(self.workdir, "cell-%d.sh" % self.count)
        with open(os.open(cell, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(code)
            if not code.endswith("\n"):
                f.write("\n")
        envfile = ""
        if env:
            envfile = os.path.join(self.workdir, "env-%d" % self.count)
            with open(os.open(envfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
                for k, v in env.items():
                    f.write(b"%s=%s\0" % (k.encode(), v.encode()))
        self.files = (cell, envfile)  # the shell removes the environment file once read
        self.req.write(("__nsp_cell %s %s\n" % (_q(cell), _q(envfile))).encode())
        self.req.flush()

    def run(self, code, env, timeout_s, emit, workdir):
        self.files = ()
        try:
            return super().run(code, env, timeout_s, emit, workdir)
        finally:
            for p in self.files:
                if p:
                    try:
                        os.unlink(p)
                    except OSError:
                        pass

    def status_error(self, status):
        return results.error("ExitCode", str(status),
                             "the code's last command exited with status %d" % status)


def _q(s):
    return "'" + s.replace("'", "'\\''") + "'"
