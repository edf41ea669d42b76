"""The desktop viewer's way to the VNC server.

x11vnc listens on the machine's loopback only (session.sh): nothing outside the machine
reaches it but through here. GET /vnc answers 101 and from then on the connection carries
RFB both ways between nullspaced's viewer relay (api/viewer_relay.c, which authorises the
viewer and drops a view-only viewer's input) and x11vnc.
"""

import selectors
import socket

from args import ApiError

ADDR = ("127.0.0.1", 5900)
CHUNK = 64 << 10


def connect():
    """A connection to the VNC server, or ApiError 409 desktop_not_available."""
    try:
        up = socket.create_connection(ADDR, timeout=5)
    except OSError as e:
        raise ApiError(409, "desktop_not_available", "the VNC server does not answer: %s" % e)
    up.settimeout(None)
    return up


def splice(conn, up):
    """Copies bytes both ways until either side ends; then closes up at once (a reset:
    nothing of it lingers in the machine)."""
    sel = selectors.DefaultSelector()
    sel.register(conn, selectors.EVENT_READ, up)
    sel.register(up, selectors.EVENT_READ, conn)
    try:
        while True:
            for key, _ in sel.select():
                data = key.fileobj.recv(CHUNK)
                if not data:
                    return
                key.data.sendall(data)
    except OSError:
        return
    finally:
        sel.close()
        up.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        up.close()
