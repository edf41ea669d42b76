"""A minimal RFB client for bench/desktop/viewer.py: full-screen framebuffer updates, one
after the other for SECONDS, over TCP (inside a machine: x11vnc on 127.0.0.1:5901, the
raw primitive) or over the daemon's viewer WebSocket (what a browser viewer gets), in
ENCODING raw (4 bytes a pixel: the most bytes a relay carries) or zrle (zlib-compressed
tiles, as noVNC asks for; its rectangles are skipped by their length, not decoded).
Prints one JSON line: connect_ms (from the transport's connection to the first full
frame), the time of each full frame after that, and the bytes they took.

    python3 rfb.py tcp HOST:PORT ENCODING SECONDS
    python3 rfb.py ws WS_URL SUBPROTOCOL ENCODING SECONDS
"""

import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.parse


class Tcp:
    def __init__(self, hostport):
        host, port = hostport.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=60)
        self.buf = bytearray()  # appended to, consumed from the front: no quadratic copies
        self.taken = 0  # RFB bytes read

    def send(self, data):
        self.s.sendall(data)

    def fill(self):
        chunk = self.s.recv(1 << 20)
        if not chunk:
            raise EOFError("closed")
        self.buf += chunk

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        self.taken += n
        return out


class Ws(Tcp):
    """RFB in binary WebSocket messages (masked from us, as RFC 6455 asks of clients)."""

    def __init__(self, url, protocol):
        u = urllib.parse.urlsplit(url)
        super().__init__(u.netloc)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: "
                        "Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Protocol: %s\r\n\r\n" % (u.path, u.netloc, key,
                                                                 protocol)).encode())
        raw = b""
        while b"\r\n\r\n" not in raw:
            raw += self.s.recv(4096)
        head, rest = raw.split(b"\r\n\r\n", 1)
        self.raw = bytearray(rest)
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(head.decode(errors="replace"))

    def send(self, data):
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else
                               bytes([0x80 | 126]) + struct.pack(">H", n))
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def raw_exact(self, n):
        while len(self.raw) < n:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise EOFError("closed")
            self.raw += chunk
        out = bytes(self.raw[:n])
        del self.raw[:n]
        return out

    def fill(self):
        b0, b1 = self.raw_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self.raw_exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self.raw_exact(8))[0]
        payload = self.raw_exact(n)
        if b0 & 0x0F == 8:
            raise EOFError("closed: %r" % payload[2:])
        if b0 & 0x0F in (0, 2):
            self.buf += payload


ENCODINGS = {"raw": 0, "zrle": 16}


def handshake(t, encoding):
    version = t.exact(12)
    t.send(b"RFB 003.008\n")
    types = t.exact(t.exact(1)[0])
    assert 1 in types, types
    t.send(b"\x01")
    assert t.exact(4) == b"\0\0\0\0"
    t.send(b"\x01")  # shared
    w, h = struct.unpack(">HH", t.exact(4))
    t.exact(16)  # pixel format
    t.exact(struct.unpack(">I", t.exact(4))[0])  # name
    # 32 bpp true colour, one encoding (Raw is always allowed)
    t.send(struct.pack(">B3xBBBBHHHBBB3x", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
    t.send(struct.pack(">BxHi", 2, 1, ENCODINGS[encoding]))
    return version, w, h


def full_frame(t, w, h):
    """A non-incremental update of the whole screen, read to its last rectangle."""
    t.send(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))
    while True:
        kind = t.exact(1)[0]
        if kind == 0:
            break
        if kind == 2:  # bell
            continue
        if kind == 3:  # server cut text
            t.exact(3)
            t.exact(struct.unpack(">I", t.exact(4))[0])
            continue
        raise RuntimeError("unexpected message %d" % kind)
    t.exact(1)
    for _ in range(struct.unpack(">H", t.exact(2))[0]):
        x, y, rw, rh, enc = struct.unpack(">HHHHi", t.exact(12))
        if enc == 0:
            t.exact(rw * rh * 4)
        elif enc == 16:
            t.exact(struct.unpack(">I", t.exact(4))[0])
        elif enc in (-223, -308):  # desktop size pseudo-rectangles
            if enc == -308:
                t.exact(4 + 16 * t.exact(4)[0])
        else:
            raise RuntimeError("encoding %d" % enc)


def run(t, encoding, seconds):
    """Connects over transport t (made just now), then full frames for `seconds`."""
    t0 = time.monotonic()
    _, w, h = handshake(t, encoding)
    full_frame(t, w, h)
    connect_ms = (time.monotonic() - t0) * 1000
    frames = []
    start = time.monotonic()
    before = t.taken
    while time.monotonic() - start < seconds:
        s = time.monotonic()
        full_frame(t, w, h)
        frames.append((time.monotonic() - s) * 1000)
    elapsed = time.monotonic() - start
    t.s.close()
    return {"connect_ms": connect_ms, "frame_ms": frames, "fps": len(frames) / elapsed,
            "bytes_per_frame": (t.taken - before) / max(1, len(frames)), "width": w,
            "height": h}


def main(argv):
    t = Tcp(argv[2]) if argv[1] == "tcp" else Ws(argv[2], argv[3])
    print(json.dumps(run(t, argv[-2], float(argv[-1]))))


if __name__ == "__main__":
    main(sys.argv)
