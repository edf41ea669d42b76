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

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocket:
    def __init__(self, host, port, path, headers=None, timeout=5):
        self.sock = socket.create_connection((host, port), timeout=timeout)
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
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(hdr + mask + body)

    def _need(self, n):
        # one growing buffer read in large chunks
        while len(self.buf) - self.pos < n:
            if self.pos:
                del self.buf[:self.pos]
                self.pos = 0
            d = self.sock.recv(max(1 << 20, n))
            if not d:
                raise ConnectionError("closed")
            self.buf += d
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return out

    def recv(self):
        """Returns (opcode, payload) of the next frame."""
        b0, b1 = self._need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        return b0 & 0x0F, self._need(n)

    def close(self):
        try:
            self.send(struct.pack("!H", 1000), opcode=8)
        except OSError:
            pass
        self.sock.close()


class StreamError(Exception):
    """An error answer of the daemon: .code is the stable code (docs/errors.md)."""

    def __init__(self, msg):
        super().__init__("%s: %s" % (msg["error"]["code"], msg["error"]["message"]))
        self.code = msg["error"]["code"]
        self.msg = msg


class Streams:
    """The /v1/ws protocol (docs/websocket-protocol.md) on top of WebSocket: requests
    with ids answered by one reply or error (StreamError); everything else (binary
    output, exit, detached, watch, event) is queued and taken with next()."""

    def __init__(self, host, port, api_key, timeout=120):
        self.ws = WebSocket(host, port, "/v1/ws", {"Authorization": "Bearer " + api_key},
                            timeout=timeout)
        if not self.ws.accepted:
            raise ConnectionError("WebSocket upgrade refused: " + self.ws.head.split("\r\n")[0])
        self.queue = collections.deque()
        self.next_id = 0

    def _read(self):
        op, data = self.ws.recv()
        if op == 2:
            ch = struct.unpack("!I", data[1:5])[0]
            return {"type": "data", "stream": data[0], "channel": ch,
                    "data": memoryview(data)[5:]}  # no copy of bulk output
        if op == 8:
            raise ConnectionError("closed %r" % data)
        if op in (9, 10):
            return None
        return json.loads(data)

    def call(self, type, **fields):
        self.next_id += 1
        rid = self.next_id
        self.ws.send(json.dumps(dict(fields, type=type, id=rid)))
        while True:
            msg = self._read()
            if msg is None:
                continue
            if msg.get("id") == rid and msg["type"] in ("reply", "error", "pong"):
                if msg["type"] == "error":
                    raise StreamError(msg)
                return msg
            self.queue.append(msg)

    def next(self):
        while not self.queue:
            msg = self._read()
            if msg is not None:
                self.queue.append(msg)
        return self.queue.popleft()

    def stdin(self, channel, data):
        self.ws.send(b"\0" + struct.pack("!I", channel) + data, opcode=2)

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
