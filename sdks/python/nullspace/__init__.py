"""The Nullspace Python SDK (standard library only). Today: the WebSocket streams client
(nullspace.websocket); the rest of the SDK is being built."""

__version__ = "0.1.0"
