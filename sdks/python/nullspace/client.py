"""The HTTP side of the API: one small client over http.client that raises the typed
errors of nullspace.errors, and opens WebSocket stream sessions on the same daemon."""

import http.client
import json
import socket
import urllib.parse

from . import config

from .errors import ConnectionFailedError, RequestTimeoutError, error_for
from .websocket import Streams


def _error(status, doc, payload):
    """The typed exception of an error answer (its JSON doc, else its first bytes)."""
    e = (doc.get("error") if isinstance(doc, dict) else None) or {}
    return error_for(e.get("code", "internal"), e.get("message", payload[:200]), status=status,
                     request_id=e.get("request_id"))


class Client:
    """A daemon and a key (see nullspace.config for where they come from).

    `timeout` bounds each ordinary request (seconds). Requests that wait for an operation
    (create, hibernate, resume, fork, snapshot, a foreground command) wait as long as the
    operation takes unless `wait_timeout` is given. A request that runs out of time
    raises RequestTimeoutError; only a daemon that cannot be reached raises
    ConnectionFailedError."""

    def __init__(self, api_url=None, api_key=None, timeout=600, wait_timeout=None):
        self.api_url, self.api_key = config.resolve(api_url, api_key)
        u = urllib.parse.urlsplit(self.api_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("api_url must be http(s)://HOST[:PORT]: %r" % self.api_url)
        self.https = u.scheme == "https"
        self.host = u.hostname
        self.port = u.port or (443 if self.https else 80)
        self.timeout = timeout
        self.wait_timeout = wait_timeout

    def _conn(self, timeout):
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, query=None, raw=None, wait=False):
        """Sends a request; returns the decoded JSON answer (or the raw bytes for
        non-JSON answers). `body` is sent as JSON, `raw` as application/octet-stream.
        `wait`: the request waits for an operation (bounded by wait_timeout only).
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
        limit = self.wait_timeout if wait else self.timeout
        c = self._conn(limit)
        try:
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            payload = r.read()
        except socket.timeout as e:
            raise RequestTimeoutError(
                "gave up after %s s waiting for the daemon to answer %s %s; it may still "
                "complete it (raise the client's %s)" %
                (limit, method, path, "wait_timeout" if wait else "timeout")) from e
        except OSError as e:
            raise ConnectionFailedError("cannot reach %s: %s" % (self.api_url, e)) from e
        finally:
            c.close()
        is_json = (r.getheader("Content-Type") or "").startswith("application/json")
        doc = json.loads(payload) if is_json and payload else None
        if r.status >= 400:
            raise _error(r.status, doc, payload)
        return doc if is_json else payload

    def lines(self, method, path, body):
        """Sends a JSON request whose answer is NDJSON and yields each line, decoded, as
        it arrives (the connection's silence is bounded by `timeout`; a stream that lasts
        keeps its own time). Errors raise the code's NullspaceError."""
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = "Bearer " + self.api_key
        c = self._conn(self.timeout)
        try:
            c.request(method, path, body=json.dumps(body).encode(), headers=headers)
            r = c.getresponse()
            if r.status >= 400:
                payload = r.read()
                try:
                    doc = json.loads(payload)
                except ValueError:
                    doc = None
                raise _error(r.status, doc, payload)
            while True:
                line = r.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        except socket.timeout as e:
            raise RequestTimeoutError("no line for %s s on %s %s" % (self.timeout, method,
                                                                     path)) from e
        except OSError as e:
            raise ConnectionFailedError("cannot reach %s: %s" % (self.api_url, e)) from e
        finally:
            c.close()

    def transfer(self, method, path, query=None, body=None, size=None, sink=None,
                 progress=None, content_type="application/octet-stream"):
        """Streams a body up (`body`: a file object read to its end, `size` bytes) or an
        answer down (into the file object `sink`), calling progress(done, total) as it
        goes (total None when unknown). Returns the decoded JSON answer of an upload, or
        the bytes written for a download. Errors raise the code's NullspaceError."""
        if query:
            path += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Authorization": "Bearer " + self.api_key} if self.api_key else {}
        c = self._conn(self.timeout)
        try:
            c.putrequest(method, path)
            for k, v in headers.items():
                c.putheader(k, v)
            if body is not None:
                c.putheader("Content-Type", content_type)
                c.putheader("Content-Length", str(size))
            c.endheaders()
            done = 0
            while body is not None:
                chunk = body.read(1 << 20)
                if not chunk:
                    break
                c.send(chunk)
                done += len(chunk)
                if progress:
                    progress(done, size)
            r = c.getresponse()
            if r.status >= 400 or sink is None:
                payload = r.read()
                doc = json.loads(payload) if payload and (r.getheader("Content-Type") or "") \
                    .startswith("application/json") else None
                if r.status >= 400:
                    raise _error(r.status, doc, payload)
                return doc
            total = r.getheader("Content-Length")
            total, got = (int(total) if total else None), 0
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    return got
                sink.write(chunk)
                got += len(chunk)
                if progress:
                    progress(got, total)
        except socket.timeout as e:
            raise RequestTimeoutError("gave up after %s s on %s %s" % (self.timeout, method,
                                                                        path)) from e
        except OSError as e:
            raise ConnectionFailedError("cannot reach %s: %s" % (self.api_url, e)) from e
        finally:
            c.close()

    def streams(self, timeout=600):
        """A new WebSocket session (nullspace.websocket.Streams) on this daemon."""
        if self.https:
            raise NotImplementedError("streams over https need a TLS-terminating proxy")
        return Streams(self.host, self.port, self.api_key or "", timeout=timeout)
