"""A small web app the networking tests run inside machines (uploaded there): HTTP/1.1
keep-alive, a page whose script opens a WebSocket back to wherever it was loaded from,
a WebSocket echo, and what the server saw of Host. Standard library only.
Usage: python3 machine_web.py PORT"""

import base64
import hashlib
import http.server
import socketserver
import sys

PAGE = b"""<!doctype html><html><body><p id="out">waiting</p><script>
const ws = new WebSocket("ws://" + location.host + location.pathname + "ws");
ws.onopen = () => ws.send("ping");
ws.onmessage = (e) => { document.getElementById("out").textContent = e.data; };
ws.onerror = () => { document.getElementById("out").textContent = "ws-error"; };
</script></body></html>"""

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, body, ctype="text/plain"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.endswith("/ws"):
            return self.websocket()
        if self.path == "/host":
            seen = "%s|%s" % (self.headers.get("Host"), self.headers.get("X-Forwarded-Host"))
            return self.send_body(seen.encode())
        if self.path == "/":
            return self.send_body(PAGE, "text/html")
        self.send_body(("path:" + self.path).encode())

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        self.send_body(b"got:" + self.rfile.read(n))

    def websocket(self):
        key = self.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            op, n = head[0] & 15, head[1] & 127
            if n == 126:
                n = int.from_bytes(self.rfile.read(2), "big")
            mask = self.rfile.read(4) if head[1] & 128 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            if op == 8:
                self.wfile.write(b"\x88\x00")
                return
            out = b"echo:" + data[:100]
            self.wfile.write(bytes([0x81, len(out)]) + out)
            self.wfile.flush()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    Server(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
