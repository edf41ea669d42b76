"""The tests' WebSocket clients: the Python SDK's own (sdks/python/nullspace/websocket.py),
bound to a test daemon."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdks",
                                "python"))
from nullspace.websocket import StreamError, Streams, WebSocket  # noqa: E402,F401

WsError = StreamError


def Session(daemon, timeout=120):
    """A Streams session on `daemon` (a harness or bench Daemon) with its API key."""
    return Streams(daemon.host, daemon.port, daemon.key, timeout=timeout)
