"""nsdesktop: the desktop's automation server inside a machine of the desktop template.

An HTTP server on port 49990 that nullspaced reaches over the machine's network
(clients reach it through /v1/machines/{id}/desktop/..., which the daemon forwards
here; the preview proxy never does). session.sh starts it once the X server answers.

  GET  /health
  GET  /screen                         {width, height, depth}
  PUT  /screen {width, height}         resizes the screen (resize.py), answers the new size
  GET  /screenshot?format=png|jpeg&quality=&x=&y=&width=&height=&scale=&cursor=
  GET  /mouse                          {x, y}: the pointer
  POST /mouse/move {x, y}
  POST /mouse/click {x, y, button, double, clicks}     x, y optional: where it is
  POST /mouse/down, /mouse/up {x, y, button}
  POST /mouse/drag {x, y, to_x, to_y, button}
  POST /mouse/scroll {x, y, direction, amount}
  POST /keyboard/type {text, delay_ms}
  POST /keyboard/key {keys, delay_ms}  keys: "ctrl+shift+t" or a list of them
  GET  /windows                        [{id, title, app, pid, x, y, width, height, focused,
                                         minimized}]
  POST /windows/ID/focus, /windows/ID/close
  GET  /clipboard                      {text}
  PUT  /clipboard {text}
  POST /launch {app | command, env, cwd, wait_s}        {pid, window}
  GET  /vnc                            101, then RFB to and from the VNC server (vnc.py)

Errors: {"error": {"code", "message"}} with the daemon's codes (docs/errors.md).
"""

import json
import logging
import logging.handlers
import os
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import args  # noqa: E402
import control  # noqa: E402
import screen  # noqa: E402
import vnc  # noqa: E402
from args import ApiError  # noqa: E402

PORT = 49990
LOG_PATH = "/var/log/nsdesktop.log"
LOG = logging.getLogger("nsdesktop")
MAX_BODY = 2 << 20
TEXT_MAX = 64 << 10  # typed at once
CLIPBOARD_MAX = 1 << 20
BUTTON = ("left", "middle", "right")


def resize_route(req):
    args.known_fields(req, ("width", "height"))
    w = args.integer(req, "width", 320, 3840)
    h = args.integer(req, "height", 240, 2160)
    r = subprocess.run([os.path.join(HERE, "resize.py"), str(w), str(h)],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise ApiError(500, "internal", "xrandr refused %dx%d: %s" % (w, h, r.stderr.strip()[:300]))
    return screen.size()


def mouse_route(action, req):
    scr = screen.size()
    size = (scr["width"], scr["height"])
    if action == "move":
        args.known_fields(req, ("x", "y"))
        control.move(*args.point(req, size, True))
    elif action == "click":
        args.known_fields(req, ("x", "y", "button", "double", "clicks"))
        at = args.point(req, size, False)
        clicks = args.integer(req, "clicks", 1, 3, 2 if args.boolean(req, "double", False) else 1)
        control.click(at, args.choice(req, "button", BUTTON, "left"), clicks)
    elif action in ("down", "up"):
        args.known_fields(req, ("x", "y", "button"))
        control.press(args.point(req, size, False), args.choice(req, "button", BUTTON, "left"),
                      action == "down")
    elif action == "drag":
        args.known_fields(req, ("x", "y", "to_x", "to_y", "button"))
        start = args.point(req, size, True)
        end = (args.integer(req, "to_x", 0, size[0] - 1), args.integer(req, "to_y", 0, size[1] - 1))
        control.drag(start, end, args.choice(req, "button", BUTTON, "left"))
    elif action == "scroll":
        args.known_fields(req, ("x", "y", "direction", "amount"))
        control.scroll(args.point(req, size, False),
                       args.choice(req, "direction", ("up", "down", "left", "right"), "down"),
                       args.integer(req, "amount", 1, 100, 3))
    else:
        raise ApiError(404, "not_found", "no mouse action '%s'" % action[:32])
    return screen.pointer()


def keyboard_route(action, req):
    if action == "type":
        args.known_fields(req, ("text", "delay_ms"))
        text = args.text(req, "text", TEXT_MAX)
        delay = args.integer(req, "delay_ms", 0, 1000, 12)
        if len(text) * delay > 300000:
            raise args.invalid("delay_ms", "at most 300 s of typing at once (text length x delay)")
        control.type_text(text, delay)
        return {"typed": len(text)}
    if action == "key":
        args.known_fields(req, ("keys", "delay_ms"))
        keys = req.get("keys")
        if isinstance(keys, str):
            keys = [keys]
        if not keys or not isinstance(keys, list) or len(keys) > 100 or \
                not all(isinstance(k, str) and 0 < len(k) <= 128 for k in keys):
            raise ApiError(400, "missing_field" if keys is None else "invalid_field",
                           "field 'keys': a key combination such as ctrl+shift+t, or a list "
                           "of at most 100")
        control.keys(keys, args.integer(req, "delay_ms", 0, 1000, 12))
        return {"keys": keys}
    raise ApiError(404, "not_found", "no keyboard action '%s'" % action[:32])


def window_id(s):
    try:
        v = int(s, 0)
    except ValueError:
        v = -1
    if not 0 < v < 1 << 32:
        raise ApiError(404, "desktop_window_not_found", "no window %s" % s[:32])
    return v


def launch_route(req):
    args.known_fields(req, ("app", "command", "env", "cwd", "wait_s"))
    app = args.text(req, "app", 256, required=False)
    command = args.text(req, "command", 16 << 10, required=False)
    if bool(app) == bool(command):
        raise ApiError(400, "missing_field" if not (app or command) else "invalid_field",
                       "give one of 'app' (a desktop entry) or 'command' (a shell command)")
    env = req.get("env") or {}
    if not isinstance(env, dict) or len(env) > 256 or not all(
            isinstance(k, str) and isinstance(v, str) and k and "=" not in k and "\0" not in k + v
            for k, v in env.items()):
        raise args.invalid("env", "an object of at most 256 string values")
    cwd = args.text(req, "cwd", 4096, required=False, default=os.environ.get("HOME", "/root"))
    if not os.path.isdir(cwd):
        raise args.invalid("cwd", "no directory %s in the machine" % cwd[:200])
    return control.launch(app, command, env, cwd, args.number(req, "wait_s", 0, 60, 0))


def screenshot_route(q):
    q["_query"] = True
    args.known_fields(q, ("format", "quality", "x", "y", "width", "height", "scale", "cursor",
                          "_query"))
    scr = screen.size()
    w, h = scr["width"], scr["height"]
    x, y = args.integer(q, "x", 0, w - 1, 0), args.integer(q, "y", 0, h - 1, 0)
    region = (x, y, args.integer(q, "width", 1, w - x, w - x),
              args.integer(q, "height", 1, h - y, h - y))
    fmt = args.choice(q, "format", ("png", "jpeg", "jpg"), "png").replace("jpg", "jpeg")
    t0 = time.monotonic()
    data = screen.screenshot(region, args.boolean(q, "cursor", False), fmt,
                             args.integer(q, "quality", 1, 100, 80),
                             args.number(q, "scale", 0.05, 1, 1.0))
    # what the capture itself took (read and encode), so a client can tell it from the
    # way there and back (bench/desktop compares them request by request)
    timing = "capture;dur=%.1f" % ((time.monotonic() - t0) * 1000)
    return data, "image/" + fmt, {"Server-Timing": timing}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nsdesktop"
    # a head and its body are separate writes: with Nagle the body waits for the
    # client's delayed ACK of the head, 40 ms on every request of a kept connection
    disable_nagle_algorithm = True

    def log_message(self, fmt, *a):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise ApiError(411, "invalid_request", "send the body with a Content-Length")
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ApiError(400, "invalid_request", "bad Content-Length")
        if n > MAX_BODY:
            raise ApiError(413, "payload_too_large", "the body is over %d bytes" % MAX_BODY)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return {}
        try:
            doc = json.loads(raw)
        except ValueError as e:
            raise ApiError(400, "invalid_json", "the body is not JSON: %s" % e)
        if not isinstance(doc, dict):
            raise ApiError(400, "invalid_json", "the body must be a JSON object")
        return doc

    def send(self, status, data, mime, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", mime)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def answer(self, status, doc):
        self.send(status, json.dumps(doc).encode(), "application/json")

    def query(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        return {k: v[-1] for k, v in q.items()}

    def route(self, method):
        path = urllib.parse.urlsplit(self.path).path.rstrip("/") or "/"
        parts = path.strip("/").split("/")
        try:
            if method == "GET" and path == "/health":
                return self.answer(200, {"status": "ok"})
            if method == "GET" and path == "/screen":
                return self.answer(200, screen.size())
            if method == "PUT" and path == "/screen":
                return self.answer(200, resize_route(self.body()))
            if method == "GET" and path == "/screenshot":
                return self.send(200, *screenshot_route(self.query()))
            if method == "GET" and path == "/mouse":
                return self.answer(200, screen.pointer())
            if method == "POST" and len(parts) == 2 and parts[0] == "mouse":
                return self.answer(200, mouse_route(parts[1], self.body()))
            if method == "POST" and len(parts) == 2 and parts[0] == "keyboard":
                return self.answer(200, keyboard_route(parts[1], self.body()))
            if method == "GET" and path == "/windows":
                return self.answer(200, screen.windows())
            if method == "POST" and len(parts) == 3 and parts[0] == "windows":
                self.body()
                wid = window_id(parts[1])
                if parts[2] == "focus":
                    return self.answer(200, screen.focus(wid))
                if parts[2] == "close":
                    screen.close(wid)
                    return self.answer(200, {"id": wid, "closing": True})
            if path == "/clipboard" and method == "GET":
                return self.answer(200, {"text": control.clipboard_get()})
            if path == "/clipboard" and method == "PUT":
                req = self.body()
                args.known_fields(req, ("text",))
                text = args.text(req, "text", CLIPBOARD_MAX)
                control.clipboard_set(text)
                return self.answer(200, {"length": len(text)})
            if method == "GET" and path == "/vnc":
                return self.vnc()
            if path == "/launch" and method == "POST":
                return self.answer(200, launch_route(self.body()))
            raise ApiError(404, "not_found", "no route %s %s" % (method, path[:100]))
        except ApiError as e:
            self.answer(e.status, {"error": {"code": e.code, "message": e.message,
                                             "request_id": self.headers.get("X-Request-Id", "")}})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug of ours, or the X server gone: say so, keep serving
            LOG.exception("%s %s failed", method, path)
            try:
                self.answer(500, {"error": {"code": "internal", "message": "%s: %s (the "
                                            "machine's %s says more)" % (type(e).__name__, e,
                                                                        LOG_PATH)}})
            except OSError:
                self.close_connection = True

    def vnc(self):
        up = vnc.connect()
        self.send_response(101)
        self.send_header("Upgrade", "rfb")
        self.send_header("Connection", "Upgrade")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        vnc.splice(self.connection, up)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    handler = logging.handlers.RotatingFileHandler(LOG_PATH, maxBytes=4 << 20, backupCount=1)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    Server(("0.0.0.0", int(os.environ.get("NSDESKTOP_PORT", PORT))), Handler).serve_forever()


if __name__ == "__main__":
    main()
