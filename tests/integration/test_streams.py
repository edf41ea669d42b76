"""Streams and sessions over the WebSocket (/v1/ws) and the process routes, against real
gVisor machines: streaming exec, background processes (tags, re-attach with replay,
stdin, any signal, logs), PTY sessions (a python3 REPL, resize seen by `stty size`),
file watch, sessions across a client leaving and across hibernate/resume, flow control
with 256 MiB of output, and bad input."""

import json
import signal
import time
import unittest

from harness import Daemon, DaemonTest, error_code
from wsclient import Session, WsError

# four times what the daemon may hold for a paused reader (64 MiB), and quick enough
# through the sanitized build (1 GiB took a minute there)
BIG = 256 << 20


class Streams(DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        st, _, m = cls.d.request("POST", "/v1/machines", body={"auto_resume": True})
        assert st == 201, m
        cls.mid = m["id"]

    def session(self):
        s = Session(self.d)
        self.addCleanup(s.close)
        return s

    def api(self, method, path, body=None):
        return self.d.request(method, "/v1/machines/%s%s" % (self.mid, path), body=body)

    def test_exec_streams_output_then_the_exit_and_takes_stdin(self):
        s = self.session()
        r = s.call("exec", machine=self.mid, cmd="echo out; echo err >&2; exit 3")
        out, err, end = s.collect(r["channel"])
        self.assertEqual((out, err, end["type"], end["exit_code"]), (b"out\n", b"err\n", "exit", 3))
        r = s.call("exec", machine=self.mid, argv=["sh", "-c", "cat; echo done"], stdin=True)
        s.stdin(r["channel"], b"typed\n")
        s.stdin(r["channel"], b"")  # an empty stdin frame is the end of input
        out, _, end = s.collect(r["channel"])
        self.assertEqual((out, end["exit_code"]), (b"typed\ndone\n", 0))

    def test_background_process_tag_logs_stdin_and_any_signal(self):
        st, _, p = self.api("POST", "/processes", {
            "cmd": "echo ready; while read l; do echo \"in:$l\"; done; echo eof", "tag": "svc"})
        self.assertEqual((st, p["tag"]), (201, "svc"), p)
        s = self.session()
        r = s.call("process.attach", machine=self.mid, tag="svc")
        self.assertEqual(r["pid"], p["pid"])
        out, _, _ = s.collect(r["channel"], until=lambda o: b"ready\n" in o)
        st, _, _ = self.api("POST", "/processes/svc/stdin", {"data": "hello\n"})
        self.assertEqual(st, 200)
        out, _, _ = s.collect(r["channel"], until=lambda o: b"in:hello\n" in o)
        s.call("process.stdin", machine=self.mid, pid=p["pid"], data="bGFzdAo=",
               encoding="base64", eof=True)
        out, _, end = s.collect(r["channel"])
        self.assertIn(b"in:last\neof\n", out)
        self.assertEqual((end["type"], end["exit_code"], end["running"]), ("exit", 0, False))
        st, _, logs = self.api("GET", "/processes/svc/logs")
        self.assertEqual((st, logs["running"], logs["exit_code"]), (200, False, 0))
        self.assertEqual(logs["stdout"], "ready\nin:hello\nin:last\neof\n")
        st, _, lst = self.api("GET", "/processes")
        mine = [x for x in lst["processes"] if x["pid"] == p["pid"]]
        self.assertEqual((mine[0]["tag"], mine[0]["running"]), ("svc", False))
        st, _, b = self.api("POST", "/processes/svc/signal", {"signal": "TERM"})
        self.assertEqual((st, error_code(b)), (409, "process_exited"))
        # any signal: the process's own handler runs (here it exits 7)
        r = s.call("process.start", machine=self.mid, tag="trap",
                   cmd="trap 'echo got USR1; exit 7' USR1; echo armed; while :; do sleep 0.05; done")
        s.collect(r["channel"], until=lambda o: b"armed" in o)
        s.call("process.signal", machine=self.mid, tag="trap", signal="SIGUSR1")
        out, _, end = s.collect(r["channel"])
        self.assertEqual((out, end["exit_code"]), (b"got USR1\n", 7))

    def test_a_client_that_leaves_reattaches_with_replay(self):
        s = self.session()
        r = s.call("process.start", machine=self.mid, tag="count",
                   cmd="i=0; while [ $i -lt 40 ]; do echo n$i; i=$((i+1)); sleep 0.05; done")
        s.collect(r["channel"], until=lambda o: b"n3\n" in o)
        s.close()  # the process runs on without anybody attached
        time.sleep(0.5)
        s2 = self.session()
        r2 = s2.call("process.attach", machine=self.mid, tag="count")
        self.assertEqual(r2["replay_from"], {"stdout": 0, "stderr": 0})
        out, _, end = s2.collect(r2["channel"])
        self.assertEqual(out, b"".join(b"n%d\n" % i for i in range(40)))
        self.assertEqual(end["exit_code"], 0)
        # without replay only what comes next is sent: here nothing, the process ended
        r3 = s2.call("process.attach", machine=self.mid, tag="count", replay=False)
        out, _, end = s2.collect(r3["channel"])
        self.assertEqual((out, end["type"]), (b"", "exit"))

    def output_until(self, s, ch, text, seconds=60):
        """The channel's output until `text` appears; past `seconds`, a failure that shows
        what did arrive (and the process list), not a socket timeout."""
        out, deadline = b"", time.time() + seconds
        while text not in out:
            left = deadline - time.time()
            if left <= 0:
                st, _, procs = self.api("GET", "/processes")
                self.fail("no %r after %d s; the channel printed %r; processes: %r" %
                          (text, seconds, out[-2000:], procs))
            msg = s.poll(left)
            if msg and msg.get("channel") == ch and msg["type"] == "data":
                out += bytes(msg["data"])
        return out

    def test_pty_session_drives_a_python_repl_resizes_and_reconnects(self):
        s = self.session()
        r = s.call("process.start", machine=self.mid, cmd="python3 -q", pty=True, cols=100,
                   rows=30, tag="repl")
        ch, pid = r["channel"], r["pid"]
        self.assertTrue(r["pty"])
        s.collect(ch, until=lambda o: o.endswith(b">>> "))
        s.stdin(ch, b"import subprocess; x = 6 * 7; print('x=%d' % x)\n")
        s.collect(ch, until=lambda o: b"x=42" in o)
        size = "subprocess.run(['stty', 'size'])\n"
        s.stdin(ch, size.encode())
        # resized only once the REPL waits at its prompt again: a resize that lands while
        # readline puts the terminal back between two commands can be lost inside the
        # machine (seen 1-2 times in 300 under gVisor; never at the prompt in 400, never
        # with a plain shell in 300) — a terminal user resizes at a prompt too
        self.output_until(s, ch, b"30 100\r\nCompletedProcess(args=['stty', 'size'], "
                                 b"returncode=0)\r\n>>> ")
        s.call("process.resize", machine=self.mid, pid=pid, cols=132, rows=43)
        s.stdin(ch, size.encode())
        self.output_until(s, ch, b"43 132")
        s.call("close", channel=ch)
        # typed while nobody is attached: the output waits in the replay buffer
        s.call("process.stdin", machine=self.mid, pid=pid, data="print('away', x)\n")
        time.sleep(0.5)
        s2 = self.session()
        r2 = s2.call("process.attach", machine=self.mid, pid=pid)
        out, _, _ = s2.collect(r2["channel"], until=lambda o: b"away 42" in o)
        self.assertIn(b"x=42", out)  # the replay starts from the session's beginning
        s2.call("process.signal", machine=self.mid, pid=pid, signal="KILL")
        _, _, end = s2.collect(r2["channel"])
        self.assertEqual((end["type"], end["signal"]), ("exit", 9))

    def test_a_pty_without_a_command_is_a_login_shell(self):
        st, _, p = self.api("POST", "/processes", {"pty": True, "cols": 77, "rows": 11})
        self.assertEqual(st, 201, p)
        s = self.session()
        r = s.call("process.attach", machine=self.mid, pid=p["pid"])
        s.stdin(r["channel"], b"stty size; echo shell=$0\n")
        out, _, _ = s.collect(r["channel"], until=lambda o: b"shell=" in o and b"11 77" in o)
        s.stdin(r["channel"], b"exit 4\n")
        _, _, end = s.collect(r["channel"])
        self.assertEqual(end["exit_code"], 4)
        st, _, lst = self.api("GET", "/processes")
        me = [x for x in lst["processes"] if x["pid"] == p["pid"]][0]
        self.assertTrue(me["cmd"].endswith(" -l"), me)

    def test_fork_children_start_with_the_parents_processes(self):
        st, _, p = self.api("POST", "/processes", {"cmd": "echo before; sleep 300", "tag": "kept"})
        st, _, f = self.api("POST", "/fork", {"count": 1})
        self.assertEqual(st, 201, f)
        child = f["machines"][0]["id"]
        try:
            st, _, lst = self.d.request("GET", "/v1/machines/%s/processes" % child)
            kept = [x for x in lst["processes"] if x["tag"] == "kept"]
            self.assertEqual((kept[0]["pid"], kept[0]["running"]), (p["pid"], True))
            st, _, logs = self.d.request("GET", "/v1/machines/%s/processes/kept/logs" % child)
            self.assertEqual(logs["stdout"], "before\n")
            # they run independently: killing the child's copy leaves the parent's
            self.d.request("POST", "/v1/machines/%s/processes/kept/signal" % child,
                           body={"signal": "KILL"})
            st, _, lst = self.api("GET", "/processes")
            self.assertTrue([x for x in lst["processes"] if x["tag"] == "kept"][0]["running"])
        finally:
            self.d.request("DELETE", "/v1/machines/" + child)
            self.api("POST", "/processes/kept/signal", {"signal": "KILL"})

    def paced_collect(self, s, channel):
        """A client that stops for 0.3 s after every 2 MiB: with every buffer on the way
        full, the command's last MiB waits in its pipe long after the command exited."""
        out, end, since = 0, None, 0
        while end is None:
            msg = s.next()
            if msg.get("channel") != channel:
                continue
            if msg["type"] == "data" and msg["stream"] == 1:
                out += len(msg["data"])
                since += len(msg["data"])
                if since >= 2 << 20:
                    since = 0
                    time.sleep(0.3)
            elif msg["type"] in ("exit", "detached"):
                end = msg
        return out, end

    def test_a_slow_client_gets_all_output_of_a_command_that_exited(self):
        # output the command left in its pipe is delivered whatever the client's pace;
        # only output its background children keep writing is cut after the exit
        s = self.session()
        r = s.call("exec", machine=self.mid, cmd="head -c 16000000 /dev/zero")
        self.assertEqual(self.paced_collect(s, r["channel"])[0], 16000000)
        r = s.call("process.start", machine=self.mid, tag="slowreader",
                   cmd="head -c 16000000 /dev/zero")
        out, end = self.paced_collect(s, r["channel"])
        self.assertEqual((out, end["type"]), (16000000, "exit"))
        # a background child holding the output open: cut after the exit as before (else
        # this waits for the sleep)
        r = s.call("exec", machine=self.mid, cmd="echo hi; sleep 600 &")
        out, err, end = s.collect(r["channel"])
        self.assertEqual((out, end["exit_code"]), (b"hi\n", 0))

    def test_watch_streams_create_modify_delete_and_rename(self):
        s = self.session()
        self.api("POST", "/exec", {"cmd": "rm -rf /tmp/w && mkdir /tmp/w"})
        r = s.call("watch", machine=self.mid, path="/tmp/w", recursive=True)
        self.api("POST", "/exec", {"cmd": "mkdir /tmp/w/d"})
        got = []

        def expect(kind, path):
            while not any(e["type"] == kind and e["path"] == path for e in got):
                m = s.next()
                if m.get("channel") == r["channel"] and m["type"] == "watch":
                    got.append(m["event"])
        expect("create", "/tmp/w/d")
        self.api("POST", "/exec", {"cmd": "echo a > /tmp/w/d/f; echo b >> /tmp/w/d/f; "
                                          "mv /tmp/w/d/f /tmp/w/g; rm /tmp/w/g"})
        expect("create", "/tmp/w/d/f")
        expect("modify", "/tmp/w/d/f")
        expect("rename", "/tmp/w/g")
        expect("delete", "/tmp/w/g")
        ren = [e for e in got if e["type"] == "rename"][0]
        self.assertEqual(ren["from"], "/tmp/w/d/f")
        with self.assertRaises(WsError) as c:
            s.call("watch", machine=self.mid, path="/tmp/nope")
        self.assertEqual(c.exception.code, "file_not_found")

    def test_processes_survive_hibernate_and_clients_reattach_after_resume(self):
        s = self.session()
        r = s.call("process.start", machine=self.mid, tag="tick",
                   cmd="i=0; while true; do echo t$i; i=$((i+1)); sleep 0.1; done")
        s.collect(r["channel"], until=lambda o: b"t2\n" in o)
        ev = s.call("events.subscribe", machine=self.mid)
        st, _, m = self.d.request("POST", "/v1/machines/%s/hibernate" % self.mid)
        self.assertEqual((st, m["state"]), (200, "hibernated"), m)
        _, _, end = s.collect(r["channel"])
        self.assertEqual((end["type"], end["reason"]), ("detached", "machine_hibernating"))
        states = []
        while "hibernated" not in states:
            msg = s.next()
            if msg["type"] == "event" and msg["channel"] == ev["channel"]:
                states.append(msg["event"]["data"]["state"])
        self.assertEqual(states, ["hibernating", "hibernated"])
        # attaching wakes the machine (auto_resume) and the loop goes on where it was
        r2 = s.call("process.attach", machine=self.mid, tag="tick", replay=False)
        out, _, _ = s.collect(r2["channel"], until=lambda o: o.count(b"\n") >= 3)
        first = int(out.split(b"\n")[0][1:])
        self.assertGreater(first, 2)
        s.call("process.signal", machine=self.mid, tag="tick", signal="KILL")
        _, _, end = s.collect(r2["channel"])
        self.assertEqual(end["signal"], 9)

    def test_a_reader_that_reads_nothing_slows_the_writer_bounded_memory(self):
        s = self.session()
        before = self.d.rss_kib()
        r = s.call("process.start", machine=self.mid, tag="gig",
                   cmd="head -c %d /dev/zero" % BIG)
        time.sleep(3)  # read nothing: flow control holds the writer back
        grown = self.d.rss_kib() - before
        self.assertLess(grown, 64 * 1024, "daemon memory is bounded by the windows")
        st, _, lst = self.api("GET", "/processes")
        gig = [x for x in lst["processes"] if x["pid"] == r["pid"]][0]
        self.assertTrue(gig["running"])
        self.assertLess(gig["stdout_bytes"], 64 << 20)
        total = 0
        while True:
            m = s.next()
            if m.get("channel") != r["channel"]:
                continue
            if m["type"] == "data":
                total += len(m["data"])
            else:
                break
        self.assertEqual((total, m["type"], m["exit_code"]), (BIG, "exit", 0))
        print("\n256 MiB through a paused WebSocket reader: daemon RSS +%d KiB" % grown)

    def test_nobody_attached_the_ring_keeps_the_last_mib(self):
        st, _, p = self.api("POST", "/processes", {"cmd": "seq 1 400000; echo end >&2",
                                                   "tag": "lots"})
        self.assertEqual(st, 201)
        while True:
            st, _, logs = self.api("GET", "/processes/lots/logs")
            if not logs["running"]:
                break
            time.sleep(0.2)
        self.assertEqual((logs["stderr"], logs["stderr_dropped_bytes"]), ("end\n", 0))
        self.assertGreater(logs["stdout_dropped_bytes"], 0)
        self.assertEqual(len(logs["stdout"]), 1 << 20)
        self.assertTrue(logs["stdout"].endswith("\n399999\n400000\n"))

    def test_bad_input_gets_stable_codes_and_the_session_stays(self):
        s = self.session()
        cases = [
            ({"type": "exec", "cmd": "true"}, "missing_field"),
            ({"type": "exec", "machine": "m_nope", "cmd": "true"}, "machine_not_found"),
            ({"type": "exec", "machine": self.mid}, "invalid_field"),
            ({"type": "exec", "machine": self.mid, "cmd": "x", "bogus": 1}, "unknown_field"),
            ({"type": "process.attach", "machine": self.mid, "pid": "1"}, "invalid_field"),
            ({"type": "process.attach", "machine": self.mid, "pid": 99999}, "process_not_found"),
            ({"type": "process.attach", "machine": self.mid}, "missing_field"),
            ({"type": "process.signal", "machine": self.mid, "pid": 1, "signal": "NOPE"},
             "invalid_field"),
            ({"type": "process.start", "machine": self.mid, "cmd": "x", "tag": "123"},
             "invalid_field"),
            ({"type": "process.start", "machine": self.mid, "cmd": "x", "cols": 5},
             "invalid_field"),
            ({"type": "close", "channel": 999}, "channel_not_found"),
            ({"type": "stdin", "channel": 999, "data": "x"}, "channel_not_found"),
        ]
        for body, code in cases:
            with self.assertRaises(WsError, msg=body) as c:
                s.call(body.pop("type"), **body)
            self.assertEqual(c.exception.code, code, body)
        st, _, p = self.api("POST", "/processes", {"cmd": "sleep 30", "tag": "plain"})
        with self.assertRaises(WsError) as c:
            s.call("process.resize", machine=self.mid, pid=p["pid"], cols=10, rows=10)
        self.assertEqual(c.exception.code, "not_a_terminal")
        chans = [s.call("watch", machine=self.mid, path="/tmp") for _ in range(16)]
        with self.assertRaises(WsError) as c:
            s.call("watch", machine=self.mid, path="/tmp")
        self.assertEqual(c.exception.code, "too_many_channels")
        for ch in chans:
            s.call("close", channel=ch["channel"])
        s.ws.send(b"\0\0\0\3\xe7hi", opcode=2)
        self.assertEqual(s.next()["error"]["code"], "channel_not_found")
        for path, body, code in [("/processes", {"cmd": "x", "tag": ""}, "invalid_field"),
                                 ("/processes/plain/signal", {"signal": "NOPE"}, "invalid_field"),
                                 ("/processes/plain/stdin", {"data": "%%%", "encoding": "base64"},
                                  "invalid_field"),
                                 ("/processes/nope/resize", {"cols": 1, "rows": 1},
                                  "process_not_found")]:
            st, _, b = self.api("POST", path, body)
            self.assertEqual(error_code(b), code, (path, b))
        self.assertEqual(s.call("ping")["type"], "pong")
        self.api("POST", "/processes/plain/signal", {"signal": "KILL"})

    def test_random_messages_never_break_the_session_or_the_daemon(self):
        import json as _json
        import random
        rnd = random.Random(5)  # fixed seed: a failure reproduces
        types = ["exec", "process.start", "process.attach", "process.list", "process.stdin",
                 "process.signal", "process.resize", "watch", "events.subscribe", "stdin",
                 "monitor.subscribe",
                 "close", "ping", "nope", 7, None]
        values = [None, True, -1, 0, 1, 2 ** 40, "", "x" * 300, "/tmp", "../..", [], {}, [1, "a"],
                  {"a": 1}, 1.5, "m_nope", self.mid, "TERM", "KILL" * 20]
        fields = ["machine", "cmd", "argv", "env", "cwd", "user", "tag", "pid", "channel", "pty",
                  "cols", "rows", "attach", "replay", "data", "encoding", "eof", "signal", "path",
                  "recursive", "timeout_s", "stdin", "machines", "interval_ms", "type",
                  "since_seq", "bogus"]
        s = Session(self.d, timeout=10)
        self.addCleanup(s.close)
        for i in range(400):
            msg = {"type": rnd.choice(types), "id": i}
            for f in rnd.sample(fields, rnd.randint(0, 5)):
                msg[f] = rnd.choice(values)
            if msg["type"] in ("exec", "process.start") and rnd.random() < 0.5:
                msg["cmd"] = "true"  # some of them really start something
            if rnd.random() < 0.1:
                s.ws.send(_json.dumps(msg)[: rnd.randint(0, 40)])  # cut short: not JSON
                self.assertEqual(s.next()["type"], "error")
                continue
            try:
                s.call(msg.pop("type"), **msg)
            except WsError as e:
                self.assertTrue(e.code)  # a stable code, never a dropped session
            if rnd.random() < 0.05:
                # stream 0 (input) to some channel: other streams end a session by design
                s.ws.send(b"\0" + bytes(rnd.getrandbits(8) for _ in range(rnd.randint(4, 30))),
                          opcode=2)
        self.assertEqual(s.call("ping")["type"], "pong")
        st, _, m = self.d.request("GET", "/v1/machines/" + self.mid)
        self.assertEqual((st, m["state"]), (200, "running"))


class KilledMidStream(unittest.TestCase):
    """Bulk output goes from the agent's pipe to the daemon's socket without passing
    through the shim (spliced): a daemon killed in the middle of it must leave the next
    daemon a stream that starts on a frame boundary."""

    def test_a_daemon_killed_mid_stream_leaves_the_agent_stream_whole(self):
        d = Daemon().start()
        try:
            st, _, m = d.request("POST", "/v1/machines")
            self.assertEqual(st, 201, m)
            mid = m["id"]
            for round_ in range(3):
                s = Session(d)
                r = s.call("exec", machine=mid, cmd="cat /dev/zero")
                got = 0
                while got < (8 << 20) * (round_ + 1):
                    msg = s.next()
                    if msg.get("channel") == r["channel"] and msg["type"] == "data":
                        got += len(msg["data"])
                d.proc.send_signal(signal.SIGKILL)  # frames in flight, one cut midway
                d.stop()
                s.close()
                d.start()
                s = Session(d)
                r = s.call("exec", machine=mid, cmd="head -c 20000000 /dev/zero; echo end >&2")
                out, err, end = s.collect(r["channel"])
                self.assertEqual((len(out), err, end["exit_code"]), (20000000, b"end\n", 0))
                s.close()
            st, _, got = d.request("DELETE", "/v1/machines/" + mid)
            self.assertEqual((st, got["state"]), (200, "destroyed"))
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
