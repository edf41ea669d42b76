"""The built-in desktop template (issue "Desktop machines", item 1): built on first need,
a machine from it has the session on screen from its first instant — Xvfb at the
default size, the window manager, the VNC server on the machine's loopback only — and
the tools computer-use needs work inside gVisor: typing Unicode into a terminal (st)
with xdotool, the clipboard (xclip), Chromium opening a page, a screenshot (ffmpeg)."""

import time
import unittest

from harness import DaemonTest

SESSION = ". /run/nullspace-desktop/env; "


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

    def wait_window(self, name, deadline_s=30):
        """The id of the first window whose name matches name, waited for."""
        deadline = time.time() + deadline_s
        while time.time() < deadline:
            out = self.sh("xdotool search --name %s || true" % name).split()
            if out:
                return out[0]
            time.sleep(0.3)
        self.fail("no window named %s: %s" % (name, self.sh("wmctrl -l")))

    def test_the_session_is_up_from_the_first_instant(self):
        self.assertIn("1280x800 pixels", self.sh("xdpyinfo | grep dimensions"))
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

    def test_unicode_typed_into_a_terminal_and_the_clipboard(self):
        self.sh("(st -t nstyping -e bash >/dev/null 2>&1 &)")
        win = self.wait_window("nstyping")
        self.sh("xdotool windowactivate --sync %s && xdotool type --delay 20 "
                "'echo typed-é日本 > /tmp/typed' && xdotool key Return" % win)
        deadline = time.time() + 10
        while time.time() < deadline and "日本" not in self.sh("cat /tmp/typed || true"):
            time.sleep(0.2)
        self.assertEqual(self.sh("cat /tmp/typed"), "typed-é日本\n")
        self.sh("printf 'clip é日本' | xclip -selection clipboard")
        self.assertEqual(self.sh("xclip -o -selection clipboard"), "clip é日本")

    def test_chromium_opens_a_page(self):
        self.sh("(chromium --user-data-dir=/tmp/chromium-test "
                "'data:text/html,<title>nsbrowser</title>hello' >/tmp/chromium.log 2>&1 &)")
        self.wait_window("nsbrowser", 60)


if __name__ == "__main__":
    unittest.main()
