"""Run inside a desktop machine by bench/desktop/run.py (through exec): the primitives
the desktop API wraps, timed where they run, and what the API's predecessor spawned.
Prints one JSON line.

    python3 inside.py ROUNDS
- shot: a full-screen PNG as nsdesktop makes it (XGetImage, PIL), in this process
- click: a left click through XTest (nsdesktop's xinput), synced
- xdotool: `xdotool click 1` spawned, as an exec'd tool (E2B's SDK) does it
- http_shot, http_click: the same through nsdesktop on 127.0.0.1:49990 (what the
  daemon forwards to)
- pixels: an XTest click on clicker.py's square, then the square read (XGetImage of
  8x8 pixels) until it changed colour: click to changed pixels, in-process"""

import http.client
import json
import subprocess
import sys
import time

sys.path.insert(0, "/opt/nullspace/desktop")
import screen  # noqa: E402
import xgrab  # noqa: E402
import xinput  # noqa: E402

SQUARE = (60, 60, 8, 8)  # inside clicker.py's square (run.py: 40,40 size 60)


def timed(fn, rounds):
    fn()
    out = []
    for _ in range(rounds):
        t0 = time.monotonic()
        fn()
        out.append((time.monotonic() - t0) * 1000)
    return out


def nsdesktop(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", 49990, timeout=60)
    c.request(method, path, body=json.dumps(body) if body else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    c.close()
    assert r.status == 200, r.status


def click():
    xinput.move(1200, 780)
    xinput.button(1, True)
    xinput.button(1, False)


def changed_after(act, probe, limit_s=5):
    """ms from act() until probe() answers differently from before it."""
    before = probe()
    t0 = time.monotonic()
    act()
    while probe() == before:
        if time.monotonic() - t0 > limit_s:
            raise RuntimeError("nothing changed within %d s" % limit_s)
    return (time.monotonic() - t0) * 1000


def click_square():
    xinput.move(SQUARE[0] + 4, SQUARE[1] + 4)
    xinput.button(1, True)
    xinput.button(1, False)


def main():
    rounds = int(sys.argv[1])
    size = screen.size()
    full = (0, 0, size["width"], size["height"])
    print(json.dumps({
        "shot": timed(lambda: screen.screenshot(full, False, "png", 80, 1.0), rounds),
        "click": timed(click, rounds),
        "xdotool": timed(lambda: subprocess.run(["xdotool", "mousemove", "1200", "780",
                                                 "click", "1"], check=True), rounds),
        "http_shot": timed(lambda: nsdesktop("GET", "/screenshot"), rounds),
        "http_click": timed(lambda: nsdesktop("POST", "/mouse/click", {"x": 1200, "y": 780}), rounds),
        "pixels": [changed_after(click_square, lambda: xgrab.grab(*SQUARE)[0])
                   for _ in range(rounds)],
    }))


if __name__ == "__main__":
    main()
