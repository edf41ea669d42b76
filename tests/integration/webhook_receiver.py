"""A real HTTP receiver for webhook tests: a threaded server on loopback that answers each
path with a scripted series of statuses (or hangs), records every request, and checks
Standard Webhooks signatures with its own HMAC code (not the daemon's)."""

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time


def verify(secret, headers, body, tolerance_s=300):
    """Raises ValueError unless the request carries a valid, fresh v1 signature."""
    msg_id = headers["webhook-id"]
    ts = headers["webhook-timestamp"]
    if abs(time.time() - int(ts)) > tolerance_s:
        raise ValueError("timestamp outside the tolerance")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, ("%s.%s." % (msg_id, ts)).encode() + body, hashlib.sha256).digest()
    want = "v1," + base64.b64encode(mac).decode()
    if not any(hmac.compare_digest(want, s) for s in headers["webhook-signature"].split()):
        raise ValueError("bad signature")


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.got = []         # (path, headers, body bytes, time)
        self.script = {}      # path -> list of statuses ("hang" hangs); the last repeats
        self.stopping = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                with outer.lock:
                    outer.got.append((self.path, hdrs, body, time.time()))
                    seq = outer.script.get(self.path, [200])
                    status = seq.pop(0) if len(seq) > 1 else seq[0]
                if status == "hang":
                    outer.stopping.wait(60)
                    return
                reply = b'{"ok":true}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client (the daemon) that hung up on a hanging answer

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def requests(self, path):
        with self.lock:
            return [g for g in self.got if g[0] == path]

    def events(self, path):
        return [json.loads(g[2]) for g in self.requests(path)]

    def wait(self, pred, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        return False

    def close(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
