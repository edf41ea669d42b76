"""A client of the agent protocol (include/nsproto.h) for tests: frames over a pair of
pipes to a real nsagent process."""

import json
import os
import select
import struct
import subprocess

HELLO, REQ, RESP, DATA, EOF, WINDOW, EXIT, SIGNAL = range(1, 9)
NOTE = 10
STDIN, STDOUT, STDERR = 0, 1, 2
RESP_ERROR = 1  # RESP flags: the answer is an error
WINDOW_INIT = 1 << 20


class Upload:
    """Sends `data` (then EOF) on stream 0 of a channel, never past the agent's window.
    None sends nothing at all."""

    def __init__(self, agent, chan, data):
        self.agent, self.chan, self.pending, self.credit = agent, chan, data, WINDOW_INIT

    def pump(self):
        while self.pending is not None and self.credit > 0:
            if not self.pending:
                self.agent.send(EOF, self.chan, b"", STDIN)
                self.pending = None
                return
            n = min(self.credit, 65536, len(self.pending))
            self.agent.send(DATA, self.chan, self.pending[:n], STDIN)
            self.pending, self.credit = self.pending[n:], self.credit - n

    def took(self, t, flags, payload):
        """Consumes a WINDOW frame for stream 0; True when it was one."""
        if t == WINDOW and flags == STDIN:
            self.credit += struct.unpack("<I", payload)[0]
            return True
        return False


class Agent:
    def __init__(self, argv, **kw):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, **kw)
        self.buf = b""
        self.notes = []  # NOTE frames, in order
        self.next_chan = 1
        t, _, _, payload = self.frame()
        assert t == HELLO, t
        self.hello = json.loads(payload)

    def send(self, t, chan, payload=b"", flags=0):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode()
        self.proc.stdin.write(struct.pack("<IHHI", len(payload), t, flags, chan) + payload)
        self.proc.stdin.flush()

    def frame(self, timeout=10):
        """Next frame as (type, flags, chan, payload). NOTE frames (the agent telling of
        processes on its own) are kept in self.notes instead."""
        while True:
            if len(self.buf) >= 12:
                n, t, flags, chan = struct.unpack("<IHHI", self.buf[:12])
                if len(self.buf) >= 12 + n:
                    payload = self.buf[12:12 + n]
                    self.buf = self.buf[12 + n:]
                    if t == NOTE:
                        self.notes.append(json.loads(payload))
                        continue
                    return t, flags, chan, payload
            r, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not r:
                raise TimeoutError("no frame from the agent")
            d = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not d:
                raise EOFError("agent closed its output")
            self.buf += d

    def request(self, req):
        chan = self.next_chan
        self.next_chan += 1
        self.send(REQ, chan, req)
        return chan

    def call(self, req):
        """A simple operation: returns the RESP object."""
        return self.call_flagged(req)[0]

    def call_flagged(self, req):
        """A simple operation: (the RESP object, its frame's flags)."""
        chan = self.request(req)
        t, flags, c, payload = self.frame()
        assert (t, c) == (RESP, chan), (t, c, payload)
        return json.loads(payload), flags

    def run(self, req, stdin=None, grant=True):
        """Runs an exec to completion: returns (resp, stdout, stderr, exit). Stdin is sent
        within the agent's window, interleaved with reading the output."""
        req = dict(req, op="exec", stdin=stdin is not None)
        chan = self.request(req)
        t, _, _, payload = self.frame()
        resp = json.loads(payload)
        if "error" in resp:
            return resp, b"", b"", None
        out = {STDOUT: b"", STDERR: b""}
        up = Upload(self, chan, stdin)
        while True:
            up.pump()
            t, flags, c, payload = self.frame()
            if c != chan or up.took(t, flags, payload):
                continue
            if t == DATA:
                out[flags] += payload
                if grant:
                    self.send(WINDOW, chan, struct.pack("<I", len(payload)), flags)
            elif t == EXIT:
                return resp, out[STDOUT], out[STDERR], json.loads(payload)

    def write_file(self, path, data, mode=None):
        req = {"op": "write", "path": path}
        if mode is not None:
            req["mode"] = mode
        chan = self.request(req)
        up = Upload(self, chan, data)
        while True:
            up.pump()
            t, flags, c, payload = self.frame()
            if c == chan and not up.took(t, flags, payload) and t == RESP:
                return json.loads(payload)

    def read_file(self, path):
        chan = self.request({"op": "read", "path": path})
        t, _, c, payload = self.frame()
        meta = json.loads(payload)
        if "error" in meta:
            return meta, None
        data = b""
        while True:
            t, flags, c, payload = self.frame()
            if c != chan:
                continue
            if t == DATA:
                data += payload
                self.send(WINDOW, chan, struct.pack("<I", len(payload)), STDOUT)
            elif t == EOF:
                return meta, data

    def close(self):
        self.proc.stdin.close()
        return self.proc.wait(10)
