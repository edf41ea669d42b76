"""One config-file grammar for the CLI and both SDKs: the same cases
(config_cases.json) read by each of the three against a real daemon whose key holds a
'#', and each must reach the same verdict: the key accepted, the key refused, or the
file refused naming its bad line."""

import json
import os
import subprocess
import tempfile
import unittest

from harness import CLI, DAEMON, SOURCE, Daemon, DaemonTest

KEY = "cfg#key-0123456789abcdef"
CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "config_cases.json")

PY = r"""
import re, sys
sys.path.insert(0, sys.argv[1])
from nullspace import Client, errors
try:
    Client().request("GET", "/v1/info")
    print("ok")
except errors.UnauthorizedError:
    print("unauthorized")
except ValueError as e:
    print("invalid:" + re.search(r":(\d+): ", str(e)).group(1))
"""

JS = r"""
const { Client } = await import(process.argv[1]);
try {
  await new Client().request("GET", "/v1/info");
  console.log("ok");
} catch (e) {
  if (e.code === "unauthorized") console.log("unauthorized");
  else if (/:\d+: /.test(e.message)) console.log("invalid:" + e.message.match(/:(\d+): /)[1]);
  else throw e;
}
"""


class ConfigGrammar(DaemonTest):
    daemon_env = {"NULLSPACE_API_KEY": KEY}

    def env(self, path):
        e = {k: v for k, v in os.environ.items() if not k.startswith("NULLSPACE_")}
        e.update(HOME=self.d.state_dir, XDG_CONFIG_HOME=os.path.join(self.d.state_dir, "x"),
                 NULLSPACE_CONFIG=path, NULLSPACE_STATE_DIR=os.path.join(self.d.state_dir, "n"))
        return e

    def cli_verdict(self, path):
        r = subprocess.run([CLI, "--config", path, "status", "--json"], env=self.env(path),
                           capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        if r.returncode == 0:
            return "ok"
        if r.returncode == 5:
            return "unauthorized"
        if r.returncode == 2 and (path + ":") in r.stderr:
            return "invalid:" + r.stderr.split(path + ":")[1].split(":")[0]
        return "rc=%d %s" % (r.returncode, r.stderr)

    def run_verdict(self, argv, path):
        r = subprocess.run(argv, env=self.env(path), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        return r.stdout.strip() if r.returncode == 0 else "rc=%d %s" % (r.returncode, r.stderr)

    def test_the_cli_and_both_sdks_read_every_case_alike(self):
        with open(CASES) as f:
            cases = json.load(f)
        sdk_py = os.path.join(SOURCE, "sdks", "python")
        sdk_js = os.path.join(os.path.abspath(SOURCE), "sdks", "typescript", "src", "index.js")
        for case in cases:
            with self.subTest(case["name"]):
                fd, path = tempfile.mkstemp(prefix="ns-config-", dir=self.d.state_dir)
                with os.fdopen(fd, "w", newline="") as f:
                    f.write(case["text"].replace("{url}", self.d.url).replace("{key}", KEY))
                got = {
                    "cli": self.cli_verdict(path),
                    "python": self.run_verdict(["python3", "-c", PY, sdk_py], path),
                    "typescript": self.run_verdict(["node", "--input-type=module", "-e", JS,
                                                    "file://" + sdk_js], path),
                }
                want = {k: case["expect"] for k in got}
                self.assertEqual(got, want)


class DaemonSettings(unittest.TestCase):
    """nullspaced's settings: the command line over NULLSPACE_<OPTION> variables over the
    config file (the same grammar, option names as keys) over the defaults."""

    def run_daemon(self, conf, args=(), env=None):
        state = tempfile.mkdtemp(prefix="ns-it-conf-")
        path = os.path.join(state, "nullspaced.conf")
        with open(path, "w") as f:
            f.write(conf)
        e = {k: v for k, v in os.environ.items() if not k.startswith("NULLSPACE_")}
        e["NULLSPACE_CACHE_DIR"] = os.environ.get("NULLSPACE_CACHE_DIR", "/var/cache/nullspace")
        e.update(env or {})
        d = Daemon(["--config", path] + list(args), env=e, state_dir=state)
        d.env = e  # exactly these variables
        d.own_dir = True  # cleanup() removes it
        return d

    def test_flags_over_env_over_file(self):
        d = self.run_daemon("listen = 127.0.0.1:1\nlog-level = 'debug'\n"
                            "machine-timeout-s = 111\nno-prepare = true\n",
                            env={"NULLSPACE_MACHINE_TIMEOUT_S": "222",
                                 "NULLSPACE_LOG_LEVEL": "warn"})
        try:
            d.start()  # its own --listen 127.0.0.1:0 wins over the file's
            st, _, m = d.request("POST", "/v1/machines")
            self.assertEqual(st, 201, m)
            # the environment's 222 s over the file's 111 s
            self.assertAlmostEqual((m["timeout_at"] - m["created_at"]) / 1000, 222, delta=2)
            self.assertNotIn("level=debug", d.read_log())  # warn from the environment
            self.assertEqual(d.request("DELETE", "/v1/machines/" + m["id"])[0], 200)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()

    def test_a_bad_setting_names_where_it_came_from(self):
        for conf, env, want in (
                ("listen = 127.0.0.1:0\ncolour = blue\n", {}, ":2: unknown setting 'colour'"),
                ("no-prepare = maybe\n", {}, ":1: no-prepare is a switch: true or false"),
                ("max-connections = 5\n", {"NULLSPACE_MAX_CONNECTIONS": "lots"},
                 "'--max-connections=lots' from env NULLSPACE_MAX_CONNECTIONS"),
                ("this is not a setting\n", {}, ":1: expected key = value")):
            d = self.run_daemon(conf, env=env)
            try:
                r = subprocess.run([DAEMON, "--config",
                                    os.path.join(d.state_dir, "nullspaced.conf"),
                                    "--state-dir", d.state_dir],
                                   env=d.env, capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(want, r.stderr)
            finally:
                d.cleanup()


if __name__ == "__main__":
    unittest.main()
