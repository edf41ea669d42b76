#!/usr/bin/env python3
"""The desktop API against the primitives it wraps, same run, one machine of the
built-in template desktop:

  screenshot  GET /v1/machines/{id}/desktop/screenshot (full screen PNG) from the host vs
              the capture of the same request as nsdesktop timed it (its Server-Timing:
              XGetImage + PIL, raw), paired request by request; and, inside the machine
              (inside.py), the same image made in-process and fetched from nsdesktop on its
              port (what the daemon forwards to)
  click       POST .../desktop/mouse/click vs an XTest click in-process (raw), through
              nsdesktop, and `xdotool click` spawned (how exec'd tools click)
  type        POST .../desktop/keyboard/type of 20 characters, 10 of them not in the
              keymap (é, 日本, ...), delay 0
  pixels      click to changed pixels: a click through the API on a square that changes
              colour when clicked (clicker.py, launched through the API), then 8x8
              screenshots of it through the API until they differ, vs the same in-process
              (XTest click, XGetImage polled)

Targets: screenshot through the API <= 1.5x raw (p50 of the paired ratios, issue 20); click
through the API <= 1.3x nsdesktop's own answer, and below the xdotool spawn.

Both sides are measured in two alternating halves of the rounds (a new machine's desktop
settles during the first seconds).

Usage: bench/desktop/run.py [--rounds 30]
"""

import argparse
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lib import Daemon, pct, summary  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = "abcdefghij" + "éü日本語ñøßçå"


def api(d, mid, method, path, body, rounds):
    base = "/v1/machines/%s/desktop/" % mid
    d.call(method, base + path, body)
    out = []
    for _ in range(rounds):
        t0 = time.monotonic()
        d.call(method, base + path, body)
        out.append((time.monotonic() - t0) * 1000)
    return out


def shots(d, mid, rounds):
    """Full-screen PNGs through the API: (round trip, nsdesktop's capture) ms, per request."""
    path = "/v1/machines/%s/desktop/screenshot" % mid
    out = []
    for i in range(rounds + 1):
        c = http.client.HTTPConnection(d.host, d.port, timeout=60)
        t0 = time.monotonic()
        c.request("GET", path, headers={"Authorization": "Bearer " + d.key})
        r = c.getresponse()
        r.read()
        ms = (time.monotonic() - t0) * 1000
        c.close()
        timing = r.getheader("Server-Timing", "")
        if r.status != 200 or "capture;dur=" not in timing:
            raise RuntimeError("screenshot: %d %r" % (r.status, timing))
        if i:
            out.append((ms, float(timing.split("capture;dur=")[1].split(",")[0])))
    return out


SQUARE = {"x": 60, "y": 60, "width": 8, "height": 8}  # inside clicker.py's square


def square_shot(mid):
    """The path of a screenshot of 8x8 pixels inside clicker.py's square."""
    return "/v1/machines/%s/desktop/screenshot?%s" % (
        mid, "&".join("%s=%d" % kv for kv in SQUARE.items()))


def click_to_pixels(d, mid, rounds):
    """ms from a click through the API until a screenshot through the API shows it."""
    base = "/v1/machines/%s/desktop/" % mid
    shot = square_shot(mid)
    out = []
    for _ in range(rounds):
        before = d.call("GET", shot)
        t0 = time.monotonic()
        d.call("POST", base + "mouse/click", {"x": 64, "y": 64})
        while d.call("GET", shot) == before:
            if time.monotonic() - t0 > 5:
                raise RuntimeError("the square did not change within 5 s")
        out.append((time.monotonic() - t0) * 1000)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    a = ap.parse_args()
    d = Daemon()
    try:
        t0 = time.monotonic()
        m = d.call("POST", "/v1/machines", {"template": "desktop", "timeout_s": 3600})
        print("first create (the template built in this state directory): %.1f s" %
              (time.monotonic() - t0))
        mid = m["id"]
        with open(os.path.join(HERE, "inside.py"), "rb") as f:
            d.call("PUT", "/v1/machines/%s/files?path=/tmp/bench-inside.py" % mid, f.read(),
                   raw=True)
        with open(os.path.join(HERE, "clicker.py"), "rb") as f:
            d.call("PUT", "/v1/machines/%s/files?path=/tmp/bench-clicker.py" % mid, f.read(),
                   raw=True)
        before = d.call("GET", square_shot(mid))
        d.call("POST", "/v1/machines/%s/desktop/launch" % mid,
               {"command": "python3 /tmp/bench-clicker.py 40 40 60"})
        while d.call("GET", square_shot(mid)) == before:  # its square is on the screen
            time.sleep(0.05)
        # the API and the machine's own figures in alternating halves: a machine just
        # made is still settling (its desktop drawing), which would weigh on whichever
        # ran first
        shot, click, typed, pixels, raw = [], [], [], [], {}
        for _ in range(2):
            half = max(1, a.rounds // 2)
            shot += shots(d, mid, half)
            pixels += click_to_pixels(d, mid, half)
            click += api(d, mid, "POST", "mouse/click", {"x": 1200, "y": 780}, half)
            typed += api(d, mid, "POST", "keyboard/type", {"text": TEXT, "delay_ms": 0},
                         max(3, half // 3))
            r = d.call("POST", "/v1/machines/%s/exec" % mid,
                       {"cmd": ". /run/nullspace-desktop/env; python3 /tmp/bench-inside.py %d"
                        % half, "timeout_s": 600})
            if r["exit_code"] != 0:
                raise RuntimeError(r["stderr"])
            for k, v in json.loads(r["stdout"]).items():
                raw[k] = raw.get(k, []) + v
        print(summary("screenshot: API from the host", [s[0] for s in shot]))
        print(summary("screenshot: its capture in nsdesktop (raw)", [s[1] for s in shot]))
        print(summary("screenshot: nsdesktop inside the machine", raw["http_shot"]))
        print(summary("screenshot: in-process, separate rounds", raw["shot"]))
        print(summary("click: API from the host", click))
        print(summary("click: nsdesktop inside the machine", raw["http_click"]))
        print(summary("click: XTest in-process (raw)", raw["click"]))
        print(summary("click: xdotool spawned in the machine", raw["xdotool"]))
        print(summary("type 20 chars (10 remapped): API", typed))
        print(summary("click to changed pixels: API", pixels))
        print(summary("click to changed pixels: in-process (raw)", raw["pixels"]))
        api_ms = [s[0] for s in shot]
        print("screenshot API/raw p50 of the paired ratios %.2fx (target <= 1.5x); "
              "API/nsdesktop p50 %.2fx, API/in-process %.2fx" % (
                  pct([a / r for a, r in shot], 50), pct(api_ms, 50) / pct(raw["http_shot"], 50),
                  pct(api_ms, 50) / pct(raw["shot"], 50)))
        print("click API/nsdesktop p50 %.2fx, API/raw %.2fx, API/xdotool %.2fx" % (
            pct(click, 50) / pct(raw["http_click"], 50), pct(click, 50) / pct(raw["click"], 50),
            pct(click, 50) / pct(raw["xdotool"], 50)))
        print("click to changed pixels API/raw p50 %.2fx" % (
            pct(pixels, 50) / pct(raw["pixels"], 50)))
        d.call("DELETE", "/v1/machines/" + mid)
    finally:
        d.stop()


if __name__ == "__main__":
    main()
