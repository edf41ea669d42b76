"""The desktop viewer's way to the VNC server.

x11vnc (as nsvnc, on port 5901) listens on the machine's loopback only (session.sh): nothing outside the machine
reaches it but through here. GET /vnc answers 101 and from then on the connection carries
RFB both ways between nullspaced's viewer relay (api/viewer_relay.c, which authorises the
viewer and drops a view-only viewer's input) and x11vnc.
"""

import selectors
import socket
import struct
import time

from args import ApiError

ADDR = ("127.0.0.1", 5901)
CHUNK = 64 << 10
DRAIN_S = 2


def connect():
    """A connection to the VNC server, or ApiError 409 desktop_not_available."""
    try:
        up = socket.create_connection(ADDR, timeout=5)
    except OSError as e:
        raise ApiError(409, "desktop_not_available", "the VNC server does not answer: %s" % e)
    up.settimeout(None)
    return up


def splice(conn, up):
    """Copies bytes both ways until both sides ended. The end of one side is passed on as
    a half-close; once the viewer's side ended, the VNC server has DRAIN_S to read what it
    sent and close (keys typed just before a viewer leaves still arrive) while what it
    sends is dropped. A reset ends at once, and up is reset too: nothing of it lingers in
    the machine."""
    sel = selectors.DefaultSelector()
    sel.register(conn, selectors.EVENT_READ, up)
    sel.register(up, selectors.EVENT_READ, conn)
    deadline = None
    clean = False
    try:
        while sel.get_map():
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = sel.select(wait)
            if not ready:
                return
            for key, _ in ready:
                data = key.fileobj.recv(CHUNK)
                if data:
                    if deadline is None:  # once the viewer left, what comes back is dropped
                        key.data.sendall(data)
                    continue
                sel.unregister(key.fileobj)
                key.data.shutdown(socket.SHUT_WR)
                if key.fileobj is conn:
                    deadline = time.monotonic() + DRAIN_S
        clean = True
    except OSError:
        return
    finally:
        sel.close()
        if not clean:
            up.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        up.close()
