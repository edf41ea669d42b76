"""Desktop machines (docs/desktop.md): the built-in desktop template, built on first need,
has its session on screen from a machine's first instant (Xvfb, the window manager,
VNC on the machine's loopback only), and /v1/machines/{id}/desktop/... drives it
through the machine's automation server: screenshots, mouse and keyboard input that
real applications receive (xev records it, st shows typed text), Unicode typing and
the clipboard, windows, launching applications, stable errors."""

import re
import struct
import time
import unittest

from harness import DaemonTest, error_code

SESSION = ". /run/nullspace-desktop/env; "


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    return struct.unpack(">II", data[16:24])


class Desktop(DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        st, _, m = cls.d.request("POST", "/v1/machines", {"template": "desktop", "timeout_s": 1800})
        assert st == 201, m
        cls.mid = m["id"]

    def sh(self, cmd, timeout_s=60):
        st, _, r = self.d.request("POST", "/v1/machines/%s/exec" % self.mid,
                                  {"cmd": SESSION + cmd, "timeout_s": timeout_s})
        self.assertEqual(st, 200, r)
        self.assertEqual(r["exit_code"], 0, r)
        return r["stdout"]

    def api(self, method, path, body=None, expect=200, mid=None):
        st, hdrs, r = self.d.request(method, "/v1/machines/%s/desktop/%s" % (mid or self.mid, path),
                                     body)
        self.assertEqual(st, expect, r)
        return r

    def refused(self, method, path, body, status, code):
        st, _, r = self.d.request(method, "/v1/machines/%s/desktop/%s" % (self.mid, path), body)
        self.assertEqual((st, error_code(r)), (status, code), (path, body, r))

    def launch(self, command, title):
        """A window of command (whose title is `title`), waited for by the API."""
        r = self.api("POST", "launch", {"command": command, "wait_s": 30})
        self.assertIsNotNone(r["window"], r)
        self.assertEqual(r["window"]["title"], title, r)
        # its own session (process group): the shell and what it started end together
        self.addCleanup(self.sh, "kill -- -%d 2>/dev/null || true" % r["pid"])
        return r["window"]

    def until(self, fn, what, deadline_s=10):
        deadline = time.time() + deadline_s
        while time.time() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.2)
        self.fail("gave up waiting: " + what)

    def test_the_session_is_up_from_the_first_instant(self):
        self.assertEqual(self.api("GET", "screen"), {"width": 1280, "height": 800, "depth": 24})
        self.assertIn("Name: Xfwm4", self.sh("wmctrl -m"))
        # VNC listens on the loopback (127.0.0.1, ::1) port 5900 and nowhere else
        tcp = self.sh("cat /proc/net/tcp /proc/net/tcp6 | awk '$4 == \"0A\" {print $2}'")
        vnc = {a for a in tcp.split() if a.endswith(":170C")}
        self.assertIn("0100007F:170C", vnc, tcp)
        self.assertLessEqual(vnc, {"0100007F:170C", "00000000000000000000000001000000:170C"})
        # a screenshot that is not blank: many colours (the desktop's icons and panel)
        colours = self.sh(
            "ffmpeg -loglevel error -f x11grab -video_size 1280x800 -i :0 -frames:v 1 "
            "-f rawvideo -pix_fmt rgb24 - | python3 -c \"import sys; b = sys.stdin.buffer."
            "read(); print(len({b[i:i + 3] for i in range(0, len(b), 3)}))\"")
        self.assertGreater(int(colours), 20, colours)

    def test_screenshots(self):
        st, hdrs, png = self.d.request("GET", "/v1/machines/%s/desktop/screenshot" % self.mid)
        self.assertEqual((st, hdrs["content-type"]), (200, "image/png"))
        self.assertEqual(png_size(png), (1280, 800))
        region = self.api("GET", "screenshot?x=100&y=50&width=200&height=100")
        self.assertEqual(png_size(region), (200, 100))
        self.assertEqual(png_size(self.api("GET", "screenshot?scale=0.5")), (640, 400))
        st, hdrs, jpeg = self.d.request(
            "GET", "/v1/machines/%s/desktop/screenshot?format=jpeg&quality=40" % self.mid)
        self.assertEqual((st, hdrs["content-type"], jpeg[:2]), (200, "image/jpeg", b"\xff\xd8"))
        # the pointer is drawn only when asked for
        self.api("POST", "mouse/move", {"x": 900, "y": 600})
        self.assertEqual(self.api("GET", "mouse"), {"x": 900, "y": 600})
        around = "screenshot?x=880&y=580&width=40&height=40"
        self.assertEqual(self.api("GET", around), self.api("GET", around + "&cursor=false"))
        self.assertNotEqual(self.api("GET", around), self.api("GET", around + "&cursor=true"))
        for query, code in (("format=gif", "invalid_field"), ("width=2000", "invalid_field"),
                            ("x=1280", "invalid_field"), ("scale=2", "invalid_field"),
                            ("quality=abc", "invalid_field"), ("colour=1", "unknown_field")):
            self.refused("GET", "screenshot?" + query, None, 400, code)

    def test_typing_shows_on_screen_and_unicode_arrives(self):
        win = self.launch("st -t nstyping -e bash", "nstyping")
        self.assertTrue(self.api("POST", "windows/%d/focus" % win["id"])["focused"])
        at = "screenshot?x=%d&y=%d&width=%d&height=%d" % (win["x"], win["y"], win["width"],
                                                           win["height"])
        elsewhere = "screenshot?x=1180&y=700&width=100&height=100"
        before, other = self.api("GET", at), self.api("GET", elsewhere)
        text = "echo typed-é日本 > /tmp/typed"
        self.assertEqual(self.api("POST", "keyboard/type", {"text": text}), {"typed": len(text)})
        self.api("POST", "keyboard/key", {"keys": "enter"})
        try:
            self.until(lambda: "日本" in self.sh("cat /tmp/typed 2>/dev/null || true"), "/tmp/typed")
        except AssertionError:
            open("/tmp/typing-fail.png", "wb").write(self.api("GET", "screenshot"))
            raise AssertionError(self.sh("cat /tmp/typed 2>/dev/null || true"))
        self.assertEqual(self.sh("cat /tmp/typed"), "typed-é日本\n")
        # the terminal shows it; the rest of the screen did not change
        self.assertNotEqual(self.api("GET", at), before)
        self.assertEqual(self.api("GET", elsewhere), other)
        # the clipboard, both ways between the API and the session's own tools
        self.assertEqual(self.api("PUT", "clipboard", {"text": "clip é日本\nline 2"}),
                         {"length": 15})
        self.assertEqual(self.sh("xclip -o -selection clipboard"), "clip é日本\nline 2")
        self.sh("printf 'from-xclip ü' | xclip -selection clipboard")
        self.assertEqual(self.api("GET", "clipboard"), {"text": "from-xclip ü"})
        # pasting it into the terminal types it
        self.api("POST", "keyboard/type", {"text": "echo "})
        self.api("POST", "keyboard/key", {"keys": ["ctrl+shift+v", "space"], "delay_ms": 0})
        self.api("POST", "keyboard/type", {"text": "> /tmp/pasted\n"})
        self.until(lambda: "ü" in self.sh("cat /tmp/pasted 2>/dev/null || true"), "/tmp/pasted")

    def test_mouse_input_reaches_an_application(self):
        # xev prints the button events its window gets, with where they happened
        win = self.launch("stdbuf -oL xev -event button -geometry 300x200+700+100 -name nsclicks "
                          "> /tmp/xev.log", "nsclicks")
        cx, cy = win["x"] + 150, win["y"] + 100
        self.assertEqual(self.api("POST", "mouse/click", {"x": cx, "y": cy}), {"x": cx, "y": cy})
        self.api("POST", "mouse/click", {"x": cx + 10, "y": cy, "button": "right", "double": True})
        self.api("POST", "mouse/scroll", {"direction": "down", "amount": 2})
        self.api("POST", "mouse/drag", {"x": cx - 50, "y": cy - 20, "to_x": cx + 50,
                                        "to_y": cy + 20, "button": "middle"})
        self.api("POST", "mouse/down", {"x": cx, "y": cy})
        self.api("POST", "mouse/up", {})

        log = self.until(lambda: (lambda s: s if s.count("ButtonRelease") >= 7 else None)(
            self.sh("cat /tmp/xev.log")), "7 button releases in xev's log")
        got = re.findall(r"ButtonPress event.*?root:\((\d+,\d+)\).*?button (\d+)", log, re.S)
        got = [(b, at) for at, b in got]
        c, r = "%d,%d" % (cx, cy), "%d,%d" % (cx + 10, cy)
        self.assertEqual(got, [("1", c), ("3", r), ("3", r), ("5", r), ("5", r),
                               ("2", "%d,%d" % (cx - 50, cy - 20)), ("1", c)], log)
        self.assertIn("button 2", log.split("ButtonRelease")[-2], log)

    def test_windows_focus_and_close(self):
        one = self.launch("st -t nswin1", "nswin1")
        two = self.launch("st -t nswin2", "nswin2")
        listed = {w["id"]: w for w in self.api("GET", "windows")}
        self.assertEqual(listed[one["id"]]["app"], "st-256color")
        self.assertTrue(listed[two["id"]]["focused"])  # the newest has the focus
        self.assertFalse(listed[one["id"]]["focused"])
        self.assertTrue(self.api("POST", "windows/%d/focus" % one["id"])["focused"])
        focused = [w["id"] for w in self.api("GET", "windows") if w["focused"]]
        self.assertEqual(focused, [one["id"]])
        self.assertEqual(self.api("POST", "windows/%s/close" % hex(two["id"])),
                         {"id": two["id"], "closing": True})
        self.until(lambda: two["id"] not in [w["id"] for w in self.api("GET", "windows")],
                   "window 2 to close")
        for wid in ("123", "abc", "0x0"):
            self.refused("POST", "windows/%s/focus" % wid, None, 404, "desktop_window_not_found")
        self.refused("POST", "windows/123/close", None, 404, "desktop_window_not_found")

    def test_launch_an_application_by_its_desktop_entry(self):
        r = self.api("POST", "launch", {"app": "chromium", "wait_s": 60})
        self.addCleanup(self.sh, "pkill -x chromium || true")
        self.assertEqual(r["window"]["app"], "Chromium", r)
        self.assertIsInstance(r["pid"], int)
        self.refused("POST", "launch", {"app": "nosuch"}, 404, "desktop_app_not_found")
        self.refused("POST", "launch", {}, 400, "missing_field")
        self.refused("POST", "launch", {"app": "a", "command": "b"}, 400, "invalid_field")
        self.refused("POST", "launch", {"command": "true", "cwd": "/nonexistent"}, 400,
                     "invalid_field")
        self.refused("POST", "launch", {"command": "true", "wait_s": 61}, 400, "invalid_field")
        self.refused("POST", "launch", {"command": "true", "env": {"A": 1}}, 400, "invalid_field")

    def test_bad_input_gets_stable_errors(self):
        for path, body, code in (
                ("keyboard/key", {"keys": "ctrl+nosuchkey"}, "invalid_field"),
                ("keyboard/key", {"keys": "ctrl++"}, "invalid_field"),
                ("keyboard/key", {}, "missing_field"),
                ("keyboard/key", {"keys": []}, "invalid_field"),
                ("keyboard/type", {}, "missing_field"),
                ("keyboard/type", {"text": "x" * 70000}, "invalid_field"),
                ("keyboard/type", {"text": "x" * 1000, "delay_ms": 1000}, "invalid_field"),
                ("mouse/click", {"x": 5000, "y": 1}, "invalid_field"),
                ("mouse/click", {"x": 1}, "missing_field"),
                ("mouse/click", {"button": "fourth"}, "invalid_field"),
                ("mouse/click", {"clicks": 9}, "invalid_field"),
                ("mouse/move", {}, "missing_field"),
                ("mouse/move", {"x": 1, "y": 1, "z": 1}, "unknown_field"),
                ("mouse/drag", {"x": 1, "y": 1}, "missing_field"),
                ("mouse/scroll", {"direction": "sideways"}, "invalid_field")):
            self.refused("POST", path, body, 400, code)
        st, _, r = self.d.request("POST", "/v1/machines/%s/desktop/mouse/move" % self.mid,
                                  b"{nope", headers={"Content-Type": "application/json"})
        self.assertEqual((st, error_code(r)), (400, "invalid_json"))
        self.refused("GET", "nosuch", None, 404, "not_found")
        self.refused("DELETE", "windows", None, 405, "method_not_allowed")
        self.refused("POST", "mouse/teleport", {}, 404, "not_found")
        st, _, r = self.d.request("GET", "/v1/machines/m_0000000000000000/desktop/screen")
        self.assertEqual((st, error_code(r)), (404, "machine_not_found"))
        st, _, r = self.d.request("GET", "/v1/machines/%s/desktop/screen" % self.mid, key=False)
        self.assertEqual(st, 401, r)

    def test_a_machine_without_a_desktop_and_the_port_is_no_preview(self):
        st, _, m = self.d.request("POST", "/v1/machines", {})
        self.assertEqual(st, 201, m)
        try:
            for method, path in (("GET", "screen"), ("GET", "screenshot"),
                                 ("POST", "mouse/click")):
                st, _, r = self.d.request(method, "/v1/machines/%s/desktop/%s" % (m["id"], path),
                                          {} if method == "POST" else None)
                self.assertEqual((st, error_code(r)), (409, "desktop_not_available"), r)
        finally:
            self.d.request("DELETE", "/v1/machines/" + m["id"])
        st, _, r = self.d.request("POST", "/v1/machines/%s/previews" % self.mid, {"port": 49990})
        self.assertEqual(st, 201, r)
        path = r["path_url"][r["path_url"].index("/preview/"):]
        st, _, r = self.d.request("GET", path + "screen", key=False)
        self.assertEqual((st, error_code(r)), (403, "forbidden"), r)


if __name__ == "__main__":
    unittest.main()
