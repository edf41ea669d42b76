"""nullspace.websocket: the WebSocket side of the API with the standard library only.

WebSocket is a minimal RFC 6455 client over a socket (text and binary messages, masking,
close); Streams speaks the daemon's /v1/ws protocol on it: exec output, background and
PTY processes, file watches and lifecycle events (docs/websocket-protocol.md)."""

import base64
import collections
import hashlib
import json
import os
import socket
import struct

from .errors import NullspaceError, error_for

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

StreamError = NullspaceError  # what Streams.call raises (typed by code)


def _mask(payload, key):
    n = len(payload)
    if n == 0:
        return b""
    k = int.from_bytes((key * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big")


class WebSocket:
    def __init__(self, host, port, path, headers=None, timeout=5):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        key = base64.b64encode(os.urandom(16))
        lines = [b"GET %s HTTP/1.1" % path.encode(), b"Host: %s:%d" % (host.encode(), port),
                 b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Version: 13",
                 b"Sec-WebSocket-Key: " + key]
        for k, v in (headers or {}).items():
            lines.append(("%s: %s" % (k, v)).encode())
        self.sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            d = self.sock.recv(1)
            if not d:
                break
            head += d
        self.head = head.decode(errors="replace")
        self.status = int(self.head.split()[1]) if self.head else 0
        want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        self.accepted = self.status == 101 and ("Sec-WebSocket-Accept: " + want) in self.head
        self.buf = bytearray()
        self.pos = 0

    def send(self, payload, opcode=1):
        if isinstance(payload, str):
            payload = payload.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        self.sock.sendall(hdr + mask + _mask(bytes(payload), mask))

    def _frame(self):
        """(opcode, payload) of a whole frame in the buffer, consumed; None if incomplete."""
        b, p = self.buf, self.pos
        if len(b) - p < 2:
            return None
        n, at = b[p + 1] & 0x7F, p + 2
        if n == 126:
            if len(b) - at < 2:
                return None
            n, at = struct.unpack_from("!H", b, at)[0], at + 2
        elif n == 127:
            if len(b) - at < 8:
                return None
            n, at = struct.unpack_from("!Q", b, at)[0], at + 8
        if len(b) - at < n:
            return None
        self.pos = at + n
        return b[p] & 0x0F, bytes(b[at:at + n])

    def recv(self, timeout=None):
        """(opcode, payload) of the next frame; None when `timeout` (seconds, not None)
        passes first. Raises ConnectionError when the peer closed."""
        while True:
            f = self._frame()
            if f is not None:
                return f
            if self.pos:
                del self.buf[:self.pos]
                self.pos = 0
            self.sock.settimeout(self.timeout if timeout is None else timeout)
            try:
                d = self.sock.recv(1 << 20)
            except (socket.timeout, BlockingIOError):
                # a timeout of 0 makes the socket non-blocking: an empty read then
                # raises BlockingIOError, not socket.timeout
                if timeout is None:
                    raise
                return None
            finally:
                self.sock.settimeout(self.timeout)
            if not d:
                raise ConnectionError("closed")
            self.buf += d

    def close(self):
        try:
            self.send(struct.pack("!H", 1000), opcode=8)
        except OSError:
            pass
        self.sock.close()


class Streams:
    """The /v1/ws protocol (docs/websocket-protocol.md) on top of WebSocket: requests
    with ids answered by one reply or error (raised as the code's NullspaceError);
    everything else (binary output, exit, detached, watch, event) is queued and taken
    with next() or poll()."""

    def __init__(self, host, port, api_key, timeout=120):
        self.ws = WebSocket(host, port, "/v1/ws", {"Authorization": "Bearer " + api_key},
                            timeout=timeout)
        if not self.ws.accepted:
            raise ConnectionError("WebSocket upgrade refused: " + self.ws.head.split("\r\n")[0])
        self.queue = collections.deque()
        self.next_id = 0

    def _read(self, timeout=None):
        f = self.ws.recv(timeout)
        if f is None:
            return None
        op, data = f
        if op == 2:
            ch = struct.unpack("!I", data[1:5])[0]
            return {"type": "data", "stream": data[0], "channel": ch,
                    "data": memoryview(data)[5:]}  # no copy of bulk output
        if op == 8:
            raise ConnectionError("closed %r" % data)
        if op in (9, 10):
            return {}
        return json.loads(data)

    def call(self, type, **fields):
        self.next_id += 1
        rid = self.next_id
        self.ws.send(json.dumps(dict(fields, type=type, id=rid)))
        while True:
            msg = self._read()
            if not msg:
                continue
            if msg.get("id") == rid and msg["type"] in ("reply", "error", "pong"):
                if msg["type"] == "error":
                    e = msg["error"]
                    err = error_for(e["code"], e["message"], request_id=e.get("request_id"))
                    err.msg = msg
                    raise err
                return msg
            self.queue.append(msg)

    def next(self):
        while not self.queue:
            msg = self._read()
            if msg:
                self.queue.append(msg)
        return self.queue.popleft()

    def poll(self, timeout):
        """The next message, or None when none comes within `timeout` seconds."""
        if not self.queue:
            msg = self._read(timeout)
            if msg:
                self.queue.append(msg)
        return self.queue.popleft() if self.queue else None

    def stdin(self, channel, data):
        self.ws.send(b"\0" + struct.pack("!I", channel) + bytes(data), opcode=2)

    def collect(self, channel, until=None):
        """Output of a channel until its exit/detached (or until `until`(out) is true):
        returns (stdout bytes, stderr bytes, final message or None)."""
        out = {1: b"", 2: b""}
        while True:
            msg = self.next()
            if msg.get("channel") != channel:
                continue
            if msg["type"] == "data":
                out[msg["stream"]] += msg["data"]
                if until and until(out[1]):
                    return out[1], out[2], None
            elif msg["type"] in ("exit", "detached"):
                return out[1], out[2], msg

    def close(self):
        self.ws.close()
