"""The real `nullspace` CLI against the real daemon: configuration precedence, --json on
every command, and stable exit codes."""

import json
import os
import subprocess
import time
import unittest

from harness import CLI, DaemonTest


class Cli(DaemonTest):
    def test_status_human_and_json(self):
        r = self.d.cli("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("daemon      ok", r.stdout)
        self.assertIn("base pool   0 ready of 0 (0 starting)", r.stdout)  # --base-pool 0
        self.assertRegex(r.stdout, r"netns pool  \d ready of 4 \(\d being made\)")
        r = self.d.cli("status", "--json")
        doc = json.loads(r.stdout)
        self.assertEqual((doc["status"], doc["info"]["version"]), ("ok", "0.1.0"))
        self.assertEqual(doc["key_source"], "env")

    def test_doctor_checks_the_host_and_the_daemon(self):
        r = self.d.cli("doctor", "--json")
        doc = json.loads(r.stdout)
        names = [c["name"] for c in doc["checks"]]
        self.assertEqual(names, ["daemon", "base template", "vm guest", "runsc", "cgroup v2",
                                 "nftables", "kvm", "disk", "density", "leftovers"])
        self.assertEqual((r.returncode, doc["ok"]), (0, True), r.stdout)
        # the daemon raised kernel.pid_max: gVisor's threads are PIDs, 32768 fit ~780 machines
        with open("/proc/sys/kernel/pid_max") as f:
            self.assertGreaterEqual(int(f.read()), 4194304)
        density = [c for c in doc["checks"] if c["name"] == "density"][0]
        self.assertEqual(density["status"], "ok", density)
        self.assertRegex(density["detail"], r"^about \d+ idle machines fit in \d+ MiB")
        self.assertEqual(doc["checks"][0]["status"], "ok")
        self.assertTrue(all(c["status"] == "ok" or c["fix"] for c in doc["checks"]))
        r = self.d.cli("doctor")
        self.assertRegex(r.stdout, r"(?m)^ok    daemon         http://")
        # a shim whose state directory is gone is found, and the verdict is a failure
        import sys
        gone = os.path.join(self.d.state_dir, "gone")
        orphan = subprocess.Popen(["nsshim", "-c", "import time; time.sleep(60)",
                                   gone + "/machines/m_orphan"], executable=sys.executable)
        try:
            time.sleep(0.3)
            r = self.d.cli("doctor", "--json")
            left = [c for c in json.loads(r.stdout)["checks"] if c["name"] == "leftovers"][0]
            self.assertEqual((r.returncode, left["status"]), (1, "fail"), left)
            self.assertIn("pid %d of %s" % (orphan.pid, gone), left["detail"])
        finally:
            orphan.kill()
            orphan.wait()
        r = self.d.cli("doctor", env={"NULLSPACE_API_URL": "http://127.0.0.1:1"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("fail  daemon         no answer from http://127.0.0.1:1", r.stdout)

    def test_every_command_speaks_json(self):
        created = json.loads(self.d.cli("--json", "keys", "create", "--name", "j").stdout)
        r = self.d.cli("--json", "machines", "create", "--metadata", "by=cli", "--env", "X=1",
                       "--timeout-action", "hibernate", "--no-auto-resume")
        self.assertEqual(r.returncode, 0, r.stderr)
        machine = json.loads(r.stdout)
        self.assertEqual(machine["metadata"], {"by": "cli"})
        self.assertEqual((machine["timeout_action"], machine["auto_resume"]), ("hibernate", False))
        mid = machine["id"]
        wh = json.loads(self.d.cli("--json", "webhooks", "create", "https://hooks.example.invalid/a",
                                   "--event", "key.*").stdout)["id"]
        proj = os.path.join(self.d.state_dir, "proj")
        os.makedirs(proj, exist_ok=True)
        with open(os.path.join(proj, "main.py"), "w") as f:
            f.write("print('hello')\n")
        runs = {
            "status": ["status"],
            "events": ["events", "--type", "machine.*", "--limit", "5"],
            "webhooks create": ["webhooks", "create", "https://hooks.example.invalid/b",
                                "--event", "machine.*", "--description", "cli"],
            "webhooks list": ["webhooks", "list"],
            "webhooks get": ["webhooks", "get", wh],
            "webhooks test": ["webhooks", "test", wh],
            "webhooks deliveries": ["webhooks", "deliveries", wh, "--limit", "5"],
            "webhooks redeliver": None,  # needs a delivery's ID: after the loop
            "webhooks rotate-secret": ["webhooks", "rotate-secret", wh],
            "webhooks update": ["webhooks", "update", wh, "--disable"],
            "doctor": ["doctor"],
            "keys create": ["keys", "create"],
            "keys list": ["keys", "list", "--limit", "2"],
            "keys get": ["keys", "get", created["id"]],
            "keys revoke": ["keys", "revoke", created["id"]],
            "secrets set": ["secrets", "set", "CLI_JSON", "--value", "v"],
            "secrets list": ["secrets", "list"],
            "secrets get": ["secrets", "get", "CLI_JSON"],
            "secrets delete": ["secrets", "delete", "CLI_JSON"],
            "machines create": None,
            "machines list": ["machines", "list", "--state", "running"],
            "machines get": ["machines", "get", mid],
            "machines exec": ["machines", "exec", mid, "--", "sh", "-c", "echo $X"],
            "machines timeout": ["machines", "timeout", mid, "600"],
            "machines hibernate": ["machines", "hibernate", mid],
            "machines resume": ["machines", "resume", mid],
            "machines pause": ["machines", "pause", mid],
            "machines fork": ["machines", "fork", mid, "--count", "1", "--metadata", "k=v"],
            "snapshots create": ["snapshots", "create", mid, "--name", "cli"],
            "snapshots list": ["snapshots", "list", "--limit", "5"],
            "snapshots get": None,
            "snapshots delete": None,
            "files write": ["files", "write", mid, "/root/f.txt", "--from", __file__],
            "files read": ["files", "read", mid, "/root/f.txt"],
            "files ls": ["files", "ls", mid, "/root", "--depth", "2"],
            "files stat": ["files", "stat", mid, "/root/f.txt"],
            "files mkdir": ["files", "mkdir", mid, "/root/d/e"],
            "files mv": ["files", "mv", mid, "/root/f.txt", "/root/d/g.txt"],
            "files chmod": ["files", "chmod", mid, "/root/d/g.txt", "600"],
            "files rm": ["files", "rm", mid, "/root/d"],
            "processes start": ["processes", "start", mid, "--tag", "j", "--", "cat"],
            "processes list": ["processes", "list", mid],
            "processes stdin": ["processes", "stdin", mid, "j", "--eof"],
            "processes logs": ["processes", "logs", mid, "j"],
            "processes kill": None,  # the process may have ended: its answer is an error
            "processes resize": None,  # needs a PTY: test_processes_start_list_stdin_logs_kill
            "machines metrics": ["machines", "metrics", mid],
            "machines network": ["machines", "network", mid, "--deny-out", "192.0.2.1"],
            "machines preview": ["machines", "preview", mid, "8000", "--expires-s", "60"],
            "machines events": ["machines", "events", mid, "--limit", "5"],
            "files sign": ["files", "sign", mid, "/root/f.txt", "--expires-s", "60"],
            "mcp": None,  # a stdio protocol server: test_mcp.py drives it
            "shell": None,  # interactive: test_shell_is_an_interactive_terminal
            "ssh": None,  # runs OpenSSH: test_ssh.py
            "ssh-proxy": None,  # OpenSSH's ProxyCommand: test_ssh.py
            "machines connect": ["machines", "connect", mid],
            "files watch": None,  # runs until events: test_files_watch_prints_events...
            "templates build": ["templates", "build", "--name", "cli-t", "--start-cmd",
                                "sleep 600"],
            "templates list": ["templates", "list"],
            "templates get": ["templates", "get", "cli-t"],
            "templates alias": ["templates", "alias", "cli-t", "cli-t:v2"],
            "templates pool": ["templates", "pool", "cli-t:v2", "--size", "0"],
            "templates logs": None,  # needs the build's ID: test_templates.test_cli_build
            "templates cancel": None,  # needs a running build: test_templates
            "templates delete": ["templates", "delete", "cli-t:v2"],
            "templates prune": ["templates", "prune", "--older-than-s", "3600"],
            "files upload": ["files", "upload", mid, __file__, "/root/up/t.py"],
            "files download": ["files", "download", mid, "/root/up",
                               os.path.join(self.d.state_dir, "down")],
            "volumes create": ["volumes", "create", "clivol", "--size-mb", "32"],
            "volumes list": ["volumes", "list"],
            "volumes get": ["volumes", "get", "clivol"],
            "volumes upload": ["volumes", "upload", "clivol", __file__, "/t.py"],
            "volumes download": ["volumes", "download", "clivol", "/t.py",
                                 os.path.join(self.d.state_dir, "t.py")],
            "volumes delete": ["volumes", "delete", "clivol"],
            "deploy": ["deploy", proj, "--name", "clid"],
            "deployments list": ["deployments", "list"],
            "deployments get": ["deployments", "get", "clid"],
            "deployments revisions": ["deployments", "revisions", "clid"],
            "deployments rollback": ["deployments", "rollback", "clid", "1"],
            "deployments run": ["deployments", "run", "clid", "--follow"],
            "deployments runs": ["deployments", "runs", "clid"],
            "deployments logs": None,  # prints the log itself: test_deployments
            "deployments cancel": None,  # needs an active run: test_deployments
            "deployments delete": ["deployments", "delete", "clid"],
            "machines destroy": ["machines", "destroy", mid],
            "schema": ["schema"],
            "skills install": ["skills", "install", "--dir", os.path.join(self.d.state_dir, "sk")],
            "webhooks delete": None,  # after the loop
            # a machine of the code-interpreter template: test_code_clients (--json too)
            "code run": None, "code interrupt": None, "code contexts list": None,
            "code contexts create": None, "code contexts delete": None,
            "code contexts restart": None, "code runs start": None, "code runs list": None,
            "code runs get": None, "code runs cancel": None, "code runs delete": None,
            "code artifacts list": None, "code artifacts get": None,
            # a machine of the desktop template: test_desktop.test_the_cli
            **{"desktop " + v: None for v in (
                "screenshot", "screen", "cursor", "move", "click", "drag", "scroll", "type",
                "key", "windows", "focus", "close", "clipboard", "launch", "viewer", "resize",
                "record start", "record stop", "record list", "record get", "record download",
                "record delete")},
        }
        schema = json.loads(self.d.cli("schema").stdout)
        self.assertEqual(sorted(c["name"] for c in schema["commands"]), sorted(runs))
        for name, argv in runs.items():
            if argv is None:
                continue
            r = self.d.cli("--json", *argv)
            self.assertEqual(r.returncode, 0, (name, r.stderr))
            doc = json.loads(r.stdout)
            if name == "machines exec":
                self.assertEqual(doc["stdout"], "1\n")
            if name == "files read":
                import base64
                self.assertEqual(base64.b64decode(doc["content"]), open(__file__, "rb").read())
            if name == "machines fork":
                self.assertEqual(doc["machines"][0]["metadata"], {"k": "v"})
            if name == "snapshots create":
                snap = doc["id"]
        dl = json.loads(self.d.cli("--json", "webhooks", "deliveries", wh).stdout)["deliveries"]
        r = self.d.cli("--json", "webhooks", "redeliver", wh, dl[0]["id"])
        self.assertEqual((r.returncode, json.loads(r.stdout)["state"]), (0, "pending"), r.stderr)
        r = self.d.cli("--json", "webhooks", "delete", wh)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.d.cli("webhooks", "get", wh).returncode, 6)
        # the snapshot outlives its machine; a machine spawned from it holds it
        self.assertEqual(json.loads(self.d.cli("--json", "snapshots", "get", snap).stdout)["name"],
                         "cli")
        r = self.d.cli("--json", "machines", "create", "--snapshot", snap)
        self.assertEqual(r.returncode, 0, r.stderr)
        spawned = json.loads(r.stdout)
        self.assertEqual(spawned["snapshot_id"], snap)
        r = self.d.cli("snapshots", "delete", snap)
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertIn("snapshot_in_use", r.stderr)
        self.assertEqual(self.d.cli("machines", "destroy", spawned["id"]).returncode, 0)
        r = self.d.cli("--json", "snapshots", "delete", snap)
        self.assertEqual((r.returncode, json.loads(r.stdout)["deleted"]), (0, True), r.stderr)
        self.assertEqual(self.d.cli("snapshots", "get", snap).returncode, 6)

    def test_files_stream_through_stdin_and_stdout(self):
        mid = json.loads(self.d.cli("--json", "machines", "create").stdout)["id"]
        data = "line\n" * 100000
        r = self.d.cli("files", "write", mid, "/srv/big.txt", "--mode", "640", input=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.d.cli("files", "read", mid, "/srv/big.txt")
        self.assertEqual((r.returncode, r.stdout), (0, data))
        r = self.d.cli("files", "stat", mid, "/srv/big.txt")
        self.assertIn("640", r.stdout)
        r = self.d.cli("files", "read", mid, "/srv/missing")
        self.assertEqual(r.returncode, 6)
        self.assertIn("file_not_found", r.stderr)
        self.assertEqual(self.d.cli("files", "write", mid, "/x", "--mode", "999").returncode, 2)
        self.assertEqual(self.d.cli("machines", "destroy", mid).returncode, 0)

    def test_machines_exec_streams_output_and_exit_code(self):
        mid = json.loads(self.d.cli("--json", "machines", "create").stdout)["id"]
        r = self.d.cli("machines", "exec", mid, "--", "sh", "-c", "echo out; echo err >&2; exit 7")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (7, "out\n", "err\n"))
        r = self.d.cli("machines", "exec", "--stdin", mid, "--", "wc", "-c", input="12345")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "5"))
        self.assertEqual(self.d.cli("machines", "destroy", mid).returncode, 0)
        self.assertEqual(self.d.cli("machines", "exec", mid, "--", "true").returncode, 7)
        self.assertEqual(self.d.cli("machines", "get", "m_0000000000000000").returncode, 6)
        self.assertEqual(self.d.cli("machines", "create", "--env", "novalue").returncode, 2)

    def test_machines_exec_output_arrives_while_the_command_runs(self):
        mid = json.loads(self.d.cli("--json", "machines", "create").stdout)["id"]
        e = self.d.client_env()
        p = subprocess.Popen([CLI, "machines", "exec", mid, "--", "sh", "-c",
                              "echo first; while [ ! -e /tmp/go ]; do sleep 0.05; done; "
                              "echo second; exit 4"],
                             env=e, stdout=subprocess.PIPE, text=True)
        # the command waits for a file only we create: "first" must arrive before it ends
        self.assertEqual(p.stdout.readline(), "first\n")
        self.d.request("POST", "/v1/machines/%s/exec" % mid, body={"cmd": "touch /tmp/go"})
        self.assertEqual((p.stdout.read(), p.wait(timeout=60)), ("second\n", 4))
        p.stdout.close()
        r = self.d.cli("--json", "machines", "exec", mid, "--", "echo", "x")
        self.assertEqual((r.returncode, json.loads(r.stdout)["stdout"]), (0, "x\n"))
        self.assertEqual(self.d.cli("machines", "destroy", mid).returncode, 0)

    def test_processes_start_list_stdin_logs_kill(self):
        mid = json.loads(self.d.cli("--json", "machines", "create").stdout)["id"]
        r = self.d.cli("processes", "start", mid, "--tag", "echoer", "--", "sh", "-c",
                       "while read l; do echo \"got $l\"; done; echo done")
        self.assertEqual(r.returncode, 0, r.stderr)
        pid = int(r.stdout)
        r = self.d.cli("processes", "list", mid)
        self.assertIn("echoer", r.stdout)
        self.assertIn("running", r.stdout)
        r = self.d.cli("processes", "stdin", mid, "echoer", "--eof", input="one\ntwo\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        for _ in range(100):
            doc = json.loads(self.d.cli("--json", "processes", "logs", mid, str(pid)).stdout)
            if not doc["running"]:
                break
            time.sleep(0.1)
        r = self.d.cli("processes", "logs", mid, "echoer")
        self.assertEqual((r.returncode, r.stdout), (0, "got one\ngot two\ndone\n"))
        r = self.d.cli("processes", "start", mid, "--", "sleep", "300")
        sleeper = r.stdout.strip()
        self.assertEqual(self.d.cli("processes", "kill", mid, sleeper, "--signal", "TERM")
                         .returncode, 0)
        doc = json.loads(self.d.cli("--json", "processes", "list", mid).stdout)
        mine = [x for x in doc["processes"] if str(x["pid"]) == sleeper]
        for _ in range(50):
            if not mine[0]["running"]:
                break
            time.sleep(0.1)
            doc = json.loads(self.d.cli("--json", "processes", "list", mid).stdout)
            mine = [x for x in doc["processes"] if str(x["pid"]) == sleeper]
        self.assertEqual((mine[0]["running"], mine[0]["signal"]), (False, 15))
        self.assertEqual(self.d.cli("processes", "logs", mid, "nope").returncode, 6)
        self.assertEqual(self.d.cli("processes", "logs", mid).returncode, 2)
        self.assertEqual(self.d.cli("processes", "kill", mid, "a/b").returncode, 2)
        self.assertEqual(self.d.cli("processes", "start", mid).returncode, 2)
        r = self.d.cli("processes", "start", mid, "--pty", "--tag", "term", "--cols", "50")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.d.cli("processes", "resize", mid, "term", "90", "30").returncode, 0)
        doc = json.loads(self.d.cli("--json", "processes", "list", mid).stdout)
        term = [x for x in doc["processes"] if x["tag"] == "term"][0]
        self.assertEqual(term["size"], {"cols": 90, "rows": 30})
        self.assertEqual(self.d.cli("processes", "resize", mid, "term", "x", "30").returncode, 2)
        self.assertEqual(self.d.cli("processes", "resize", mid, "echoer", "9", "9").returncode, 7)
        self.assertEqual(self.d.cli("machines", "destroy", mid).returncode, 0)

    def test_shell_is_an_interactive_terminal(self):
        import fcntl
        import pty
        import select
        import struct
        import termios
        mid = json.loads(self.d.cli("--json", "machines", "create").stdout)["id"]
        pid, fd = pty.fork()
        if pid == 0:  # the CLI on a terminal of its own, as a person would run it
            os.execve(CLI, [CLI, "shell", mid], self.d.client_env())
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
        seen = bytearray()

        def until(text):
            end = time.time() + 60
            while text not in seen and time.time() < end:
                if select.select([fd], [], [], 0.2)[0]:
                    try:
                        seen.extend(os.read(fd, 65536))
                    except OSError:
                        break
            self.assertIn(text, bytes(seen))
        try:
            os.write(fd, b"PS1='rea''dy> '; echo $((6*7)); stty size\n")
            until(b"42")
            # the session started at our terminal's size; resized at the prompt (a resize
            # while readline puts the terminal back between commands can be lost in the
            # machine: test_streams.py)
            until(b"33 101\r\n")
            until(b"ready> ")  # the prompt (its text is not in the echoed command)
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 44, 120, 0, 0))
            time.sleep(0.5)  # SIGWINCH reaches the CLI, which resizes the session
            os.write(fd, b"stty size\n")
            until(b"44 120")
            os.write(fd, b"exit 3\n")
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 3)
        finally:
            os.close(fd)
        self.assertEqual(self.d.cli("shell", "m_0000000000000000").returncode, 6)
        self.assertEqual(self.d.cli("shell").returncode, 2)
        self.assertEqual(self.d.cli("machines", "destroy", mid).returncode, 0)

    def test_files_watch_prints_events_as_they_happen(self):
        mid = json.loads(self.d.cli("--json", "machines", "create").stdout)["id"]
        self.assertEqual(self.d.cli("files", "mkdir", mid, "/root/w").returncode, 0)
        e = self.d.client_env()
        p = subprocess.Popen([CLI, "--json", "files", "watch", mid, "/root/w", "--recursive",
                              "--count", "2"], env=e, stdout=subprocess.PIPE, text=True)
        time.sleep(1)  # the watch is set up (events before it are not reported)
        self.d.request("POST", "/v1/machines/%s/exec" % mid,
                       body={"cmd": "mkdir /root/w/d && mv /root/w/d /root/w/e"})
        out, _ = p.communicate(timeout=60)
        events = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(p.returncode, 0)
        self.assertEqual([(x["type"], x["path"]) for x in events],
                         [("create", "/root/w/d"), ("rename", "/root/w/e")])
        r = self.d.cli("files", "watch", mid, "/root/nope")
        self.assertEqual((r.returncode, "file_not_found" in r.stderr), (6, True))
        self.assertEqual(self.d.cli("files", "watch", mid).returncode, 2)
        self.assertEqual(self.d.cli("machines", "destroy", mid).returncode, 0)

    def test_keys_round_trip(self):
        r = self.d.cli("keys", "create", "--name", "robot")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("shown once", r.stdout)
        doc = json.loads(self.d.cli("--json", "keys", "create", "--name", "robot2").stdout)
        secret = doc["key"]
        r = self.d.cli("status", env={"NULLSPACE_API_KEY": secret})
        self.assertEqual(r.returncode, 0)
        self.assertIn("robot2", self.d.cli("keys", "list").stdout)
        self.assertEqual(self.d.cli("keys", "revoke", doc["id"]).returncode, 0)
        r = self.d.cli("status", env={"NULLSPACE_API_KEY": secret})
        self.assertEqual(r.returncode, 5)
        self.assertIn("unauthorized", r.stderr)
        doc = json.loads(self.d.cli("--json", "keys", "create", "--format", "e2b").stdout)
        self.assertRegex(doc["key"], r"^e2b_[0-9a-f]{40}$")
        self.assertEqual(self.d.cli("status", env={"NULLSPACE_API_KEY": doc["key"]}).returncode, 0)
        r = self.d.cli("keys", "create", "--format", "pem")
        self.assertEqual(r.returncode, 4, r.stderr)  # invalid_field
        self.assertIn("nullspace or e2b", r.stderr)

    def test_exit_codes(self):
        self.assertEqual(self.d.cli("keys", "get", "key_0000000000000000").returncode, 6)
        self.assertEqual(self.d.cli("status", key=False,
                                    env={"NULLSPACE_STATE_DIR": "/nonexistent"}).returncode, 5)
        r = self.d.cli("status", env={"NULLSPACE_API_URL": "http://127.0.0.1:1"})
        self.assertEqual(r.returncode, 3)
        r = self.d.cli("--json", "status", env={"NULLSPACE_API_URL": "http://127.0.0.1:1"})
        self.assertEqual(json.loads(r.stdout)["error"]["code"], "connection_failed")
        self.assertEqual(self.d.cli("frobnicate").returncode, 2)
        self.assertEqual(self.d.cli("keys", "list", "--bogus").returncode, 2)
        self.assertEqual(self.d.cli("keys", "get").returncode, 2)
        self.assertEqual(self.d.cli("--timeout", "-1", "status").returncode, 2)
        self.assertEqual(self.d.cli("--help").returncode, 0)
        self.assertEqual(self.d.cli("keys", "create", "--help").returncode, 0)

    def test_last_key_conflict_exit_code(self):
        listed = json.loads(self.d.cli("--json", "keys", "list", "--limit", "1000").stdout)
        active = [k["id"] for k in listed["keys"] if k["revoked_at"] is None]
        mine = [k for k in active if k != active[0]]
        for k in mine:
            self.assertEqual(self.d.cli("keys", "revoke", k).returncode, 0)
        r = self.d.cli("--json", "keys", "revoke", active[0])
        self.assertEqual(r.returncode, 7)
        self.assertEqual(json.loads(r.stdout)["error"]["code"], "last_key")

    def test_configuration_precedence(self):
        good, bad = self.d.url, "http://127.0.0.1:1"
        cfg_dir = os.path.join(self.d.state_dir, "xdg", "nullspace")
        os.makedirs(cfg_dir, exist_ok=True)
        cfg = os.path.join(cfg_dir, "config")
        try:
            with open(cfg, "w") as f:
                f.write("# test config\napi_url = %s\napi_key = %s\n" % (good, self.d.key))
            # config alone
            r = self.d.cli("status", "--json", key=False, env={"NULLSPACE_API_URL": ""})
            doc = json.loads(r.stdout)
            self.assertEqual((r.returncode, doc["key_source"]), (0, "config"))
            # env beats config
            with open(cfg, "w") as f:
                f.write("api_url = %s\n" % good)
            self.assertEqual(self.d.cli("status", env={"NULLSPACE_API_URL": bad}).returncode, 3)
            # flag beats env
            r = self.d.cli("--api-url", good, "status", env={"NULLSPACE_API_URL": bad})
            self.assertEqual(r.returncode, 0, r.stderr)
            r = self.d.cli("--api-key", "wrong-key-wrong-key", "status")
            self.assertEqual(r.returncode, 5)
            # --config names another file; a missing one is a usage error
            other = os.path.join(self.d.state_dir, "other.conf")
            with open(other, "w") as f:
                f.write("api_url = %s\n" % bad)
            self.assertEqual(self.d.cli("--config", other, "status",
                                        env={"NULLSPACE_API_URL": ""}).returncode, 3)
            self.assertEqual(self.d.cli("--config", other + ".missing", "status").returncode, 2)
            with open(other, "w") as f:
                f.write("this line is wrong\n")
            self.assertEqual(self.d.cli("--config", other, "status").returncode, 2)
        finally:
            os.unlink(cfg)


if __name__ == "__main__":
    unittest.main()
