"""A minimal proxy of your own in front of a Nullspace preview: it serves
http://HOST:PORT/... by forwarding each request to one machine port's preview path URL
(which carries its signed token), so your users see your address, your auth and your
logs. Usage: python3 proxy.py PREVIEW_PATH_URL [PORT]"""
import http.server
import sys
import urllib.error
import urllib.request

target = sys.argv[1].rstrip("/")
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host",
       "proxy-authorization", "proxy-authenticate", "trailer"}


class Proxy(http.server.BaseHTTPRequestHandler):
    def forward(self):
        body = None
        if "Content-Length" in self.headers:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        sep = "&" if "?" in target else "?"
        path, _, query = self.path.partition("?")
        url = target + path + (sep + query if query else "")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        headers["X-Forwarded-For"] = self.client_address[0]
        req = urllib.request.Request(url, data=body, headers=headers, method=self.command)
        try:
            r = urllib.request.urlopen(req, timeout=60)
        except urllib.error.HTTPError as e:
            r = e
        data = r.read()
        self.send_response(r.status)
        for k, v in r.headers.items():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward


if __name__ == "__main__":
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8080
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy).serve_forever()
