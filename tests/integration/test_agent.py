"""nsagent, run as a plain process on the host, driven over its stdio with the agent
protocol: exec, streams and flow control, stdin, signals, timeouts, files, bad frames.
(Inside a machine it is the same binary on the same protocol.)"""

import json
import subprocess
import os
import shutil
import struct
import tempfile
import time
import unittest

from agentproto import (Agent, DATA, EOF, EXIT, REQ, RESP, RESP_ERROR, SIGNAL, STDERR, STDIN,
                        STDOUT, WINDOW, WINDOW_INIT)
from harness import BUILD

AGENT = os.path.join(BUILD, "nsagent")


class AgentTest(unittest.TestCase):
    """A fresh nsagent and a scratch directory per test; the agent must exit 0."""

    def setUp(self):
        self.a = Agent([AGENT])
        self.tmp = tempfile.mkdtemp(prefix="ns-agent-")

    def tearDown(self):
        self.assertEqual(self.a.close(), 0)
        shutil.rmtree(self.tmp, ignore_errors=True)


class AgentExec(AgentTest):
    def test_hello(self):
        self.assertEqual(self.a.hello["version"], 3)

    def test_processes_are_noted_on_channel_0(self):
        resp, _, _, ex = self.a.run({"cmd": "exit 4"})
        self.assertEqual(ex["exit_code"], 4)
        notes = [n for n in self.a.notes if n["pid"] == resp["pid"]]
        self.assertEqual([(n["event"], n["background"]) for n in notes],
                         [("process.start", False), ("process.exit", False)])
        self.assertEqual((notes[0]["cmd"], notes[1]["exit_code"], notes[1]["signal"]),
                         ("exit 4", 4, None))

    def test_argv_and_shell(self):
        resp, out, err, ex = self.a.run({"argv": ["echo", "hi", "there"]})
        self.assertIsInstance(resp["pid"], int)
        self.assertEqual((out, err, ex["exit_code"], ex["timed_out"]), (b"hi there\n", b"", 0, False))
        _, out, err, ex = self.a.run({"cmd": "echo out; echo err >&2; exit 3"})
        self.assertEqual((out, err, ex["exit_code"]), (b"out\n", b"err\n", 3))

    def test_missing_program_is_exit_127_with_stderr(self):
        _, out, err, ex = self.a.run({"argv": ["no-such-program-xyz"]})
        self.assertEqual(ex["exit_code"], 127)
        self.assertIn(b"no-such-program-xyz: command not found", err)

    def test_stdin_is_fed_and_closed(self):
        data = os.urandom(1 << 20)
        _, out, _, ex = self.a.run({"argv": ["cat"]}, stdin=data)
        self.assertEqual((out, ex["exit_code"]), (data, 0))
        _, out, _, _ = self.a.run({"argv": ["cat"]})
        self.assertEqual(out, b"", "without stdin the process reads /dev/null-like EOF")

    def test_env_cwd_user(self):
        _, out, _, _ = self.a.run({"cmd": "echo $FOO; pwd", "env": {"FOO": "bar"}, "cwd": self.tmp})
        self.assertEqual(out.decode().split(), ["bar", os.path.realpath(self.tmp)])
        if os.getuid() == 0:
            _, out, _, _ = self.a.run({"cmd": "id -u; echo $HOME", "user": "nobody"})
            self.assertEqual(out.decode().split()[0], "65534")
        resp, _, _, _ = self.a.run({"argv": ["true"], "cwd": "/no/such/dir"})
        self.assertEqual(resp["error"]["code"], "invalid_cwd")
        resp, _, _, _ = self.a.run({"argv": ["true"], "user": "no-such-user-q"})
        self.assertEqual(resp["error"]["code"], "unknown_user")

    def test_timeout_kills_the_process_group(self):
        t0 = time.time()
        _, _, _, ex = self.a.run({"cmd": "sleep 30 & sleep 30", "timeout_ms": 300})
        self.assertTrue(ex["timed_out"])
        self.assertEqual((ex["signal"], ex["exit_code"]), (9, 137))
        self.assertLess(time.time() - t0, 5)

    def test_signal(self):
        chan = self.a.request({"op": "exec", "argv": ["sleep", "30"]})
        self.assertEqual(self.a.frame()[0], RESP)
        self.a.send(SIGNAL, chan, struct.pack("<I", 15))
        while True:
            t, _, c, payload = self.a.frame()
            if t == EXIT and c == chan:
                self.assertEqual(json.loads(payload)["signal"], 15)
                break

    def test_background_children_do_not_hold_the_exit(self):
        t0 = time.time()
        _, out, _, ex = self.a.run({"cmd": "sleep 20 & echo started"})
        self.assertEqual((out, ex["exit_code"]), (b"started\n", 0))
        self.assertLess(time.time() - t0, 5)

    def test_flow_control_stops_at_the_window(self):
        chan = self.a.request({"op": "exec", "cmd": "head -c 3000000 /dev/zero"})
        self.assertEqual(self.a.frame()[0], RESP)
        got = 0
        deadline = time.time() + 1.5
        try:
            while time.time() < deadline:
                t, flags, c, payload = self.a.frame(timeout=0.5)
                if t == DATA:
                    got += len(payload)
        except TimeoutError:
            pass
        self.assertEqual(got, WINDOW_INIT, "the agent sends exactly the initial window, then waits")
        self.a.send(WINDOW, chan, struct.pack("<I", 1 << 30), STDOUT)
        while True:
            t, flags, c, payload = self.a.frame()
            if t == DATA:
                got += len(payload)
            if t == EXIT:
                break
        self.assertEqual(got, 3000000)

    def test_concurrent_channels(self):
        chans = [self.a.request({"op": "exec", "cmd": "sleep 0.2; echo %d" % i}) for i in range(20)]
        outs, exits = {}, set()
        while len(exits) < len(chans):
            t, flags, c, payload = self.a.frame()
            if t == DATA:
                outs[c] = outs.get(c, b"") + payload
            elif t == EXIT:
                exits.add(c)
        self.assertEqual([outs[c] for c in chans], [b"%d\n" % i for i in range(20)])

    def test_bad_requests_get_errors(self):
        self.a.send(REQ, 900, b"not json")
        t, flags, c, payload = self.a.frame()
        self.assertEqual((t, c, json.loads(payload)["error"]["code"]), (RESP, 900, "invalid_request"))
        self.assertEqual(flags & RESP_ERROR, RESP_ERROR, "an error RESP is marked in its frame")
        resp = self.a.call({"op": "teleport", "path": "/x"})
        self.assertEqual(resp["error"]["code"], "invalid_request")
        resp = self.a.call({"op": "exec"})
        self.assertEqual(resp["error"]["code"], "invalid_request")


class AgentFiles(AgentTest):
    def test_write_read_round_trip_with_parents_and_mode(self):
        path = os.path.join(self.tmp, "a/b/c.bin")
        data = os.urandom(3 << 20)
        resp = self.a.write_file(path, data, mode=0o600)
        self.assertEqual(resp["bytes"], len(data))
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        meta, back = self.a.read_file(path)
        self.assertEqual((meta["size"], back), (len(data), data))
        self.assertEqual([f for f in os.listdir(os.path.dirname(path))], ["c.bin"],
                         "no temporary file is left behind")

    def test_metadata_operations(self):
        d = os.path.join(self.tmp, "dir/sub")
        self.assertEqual(self.a.call({"op": "mkdir", "path": d})["path"], d)
        self.a.write_file(os.path.join(d, "f.txt"), b"hello")
        st = self.a.call({"op": "stat", "path": os.path.join(d, "f.txt")})
        self.assertEqual((st["type"], st["size"]), ("file", 5))
        self.assertTrue(self.a.call({"op": "exists", "path": d})["exists"])
        self.assertFalse(self.a.call({"op": "exists", "path": d + "/nope"})["exists"])
        listing = self.a.call({"op": "list", "path": os.path.join(self.tmp, "dir"), "depth": 2})
        self.assertEqual(sorted(e["name"] for e in listing["entries"]), ["f.txt", "sub"])
        to = os.path.join(self.tmp, "moved/f2.txt")
        self.assertEqual(self.a.call({"op": "rename", "path": os.path.join(d, "f.txt"), "to": to})["path"], to)
        self.assertEqual(open(to, "rb").read(), b"hello")
        self.a.call({"op": "remove", "path": os.path.join(self.tmp, "dir")})
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "dir")))

    def test_errors_have_codes(self):
        meta, _ = self.a.read_file(os.path.join(self.tmp, "missing"))
        self.assertEqual(meta["error"]["code"], "file_not_found")
        meta, _ = self.a.read_file(self.tmp)
        self.assertEqual(meta["error"]["code"], "invalid_path")
        resp = self.a.call({"op": "stat", "path": ""})
        self.assertEqual(resp["error"]["code"], "invalid_path")

    def test_only_errors_are_marked(self):
        # a file named "error" is an answer like any other: only the frame says "error"
        path = os.path.join(self.tmp, "error")
        self.a.write_file(path, b"x")
        resp, flags = self.a.call_flagged({"op": "list", "path": self.tmp})
        self.assertEqual(flags & RESP_ERROR, 0)
        self.assertIn("error", [e["name"] for e in resp["entries"]])
        resp, flags = self.a.call_flagged({"op": "stat", "path": os.path.join(self.tmp, "nope")})
        self.assertEqual((resp["error"]["code"], flags & RESP_ERROR), ("file_not_found", RESP_ERROR))


class AgentProtocolErrors(unittest.TestCase):
    def test_a_corrupt_frame_ends_the_agent_cleanly(self):
        a = Agent([AGENT], stderr=subprocess.DEVNULL)
        a.proc.stdin.write(struct.pack("<IHHI", 99, 77, 0, 1) + b"x" * 99)
        a.proc.stdin.flush()
        self.assertEqual(a.proc.wait(10), 3)

    def test_oversize_frame_is_refused(self):
        a = Agent([AGENT], stderr=subprocess.DEVNULL)
        a.proc.stdin.write(struct.pack("<IHHI", 2 << 20, REQ, 0, 1))
        a.proc.stdin.flush()
        self.assertEqual(a.proc.wait(10), 3)


if __name__ == "__main__":
    unittest.main()
