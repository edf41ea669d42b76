"""The HTTP side of the API: one small client over http.client that raises the typed
errors of nullspace.errors, and opens WebSocket stream sessions on the same daemon."""

import http.client
import json
import urllib.parse

from . import config
from .errors import ConnectionFailedError, error_for
from .websocket import Streams


class Client:
    """A daemon and a key (see nullspace.config for where they come from)."""

    def __init__(self, api_url=None, api_key=None, timeout=600):
        self.api_url, self.api_key = config.resolve(api_url, api_key)
        u = urllib.parse.urlsplit(self.api_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("api_url must be http(s)://HOST[:PORT]: %r" % self.api_url)
        self.https = u.scheme == "https"
        self.host = u.hostname
        self.port = u.port or (443 if self.https else 80)
        self.timeout = timeout

    def _conn(self):
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout)

    def request(self, method, path, body=None, query=None, raw=None):
        """Sends a request; returns the decoded JSON answer (or the raw bytes for
        non-JSON answers). `body` is sent as JSON, `raw` as application/octet-stream.
        Errors raise the code's NullspaceError subclass."""
        if query:
            path += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {}
        if self.api_key:
            headers["Authorization"] = "Bearer " + self.api_key
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif raw is not None:
            headers["Content-Type"] = "application/octet-stream"
        c = self._conn()
        try:
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            payload = r.read()
        except OSError as e:
            raise ConnectionFailedError("cannot reach %s: %s" % (self.api_url, e)) from e
        finally:
            c.close()
        is_json = (r.getheader("Content-Type") or "").startswith("application/json")
        doc = json.loads(payload) if is_json and payload else None
        if r.status >= 400:
            e = (doc or {}).get("error") or {}
            raise error_for(e.get("code", "internal"), e.get("message", payload[:200]),
                            status=r.status, request_id=e.get("request_id"))
        return doc if is_json else payload

    def streams(self, timeout=600):
        """A new WebSocket session (nullspace.websocket.Streams) on this daemon."""
        if self.https:
            raise NotImplementedError("streams over https need a TLS-terminating proxy")
        return Streams(self.host, self.port, self.api_key or "", timeout=timeout)
