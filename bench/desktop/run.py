#!/usr/bin/env python3
"""The desktop API against the primitives it wraps, same run, one machine of the
built-in template desktop:

  screenshot  GET /v1/machines/{id}/desktop/screenshot (full screen PNG) from the host vs,
              inside the machine (inside.py), the same image made in-process (XGetImage +
              PIL: raw) and fetched from nsdesktop on its port (what the daemon forwards to)
  click       POST .../desktop/mouse/click vs an XTest click in-process (raw), through
              nsdesktop, and `xdotool click` spawned (how exec'd tools click)
  type        POST .../desktop/keyboard/type of 20 characters, 10 of them not in the
              keymap (é, 日本, ...), delay 0

Targets: click through the API <= 1.3x nsdesktop's own answer, and below the xdotool spawn;
screenshot through the API <= 1.3x nsdesktop's (p50).

Both sides are measured in two alternating halves of the rounds (a new machine's desktop
settles during the first seconds).

Usage: bench/desktop/run.py [--rounds 30]
"""

import argparse
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
        # the API and the machine's own figures in alternating halves: a machine just
        # made is still settling (its desktop drawing), which would weigh on whichever
        # ran first
        shot, click, typed, raw = [], [], [], {}
        for _ in range(2):
            half = max(1, a.rounds // 2)
            shot += api(d, mid, "GET", "screenshot", None, half)
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
        print(summary("screenshot: API from the host", shot))
        print(summary("screenshot: nsdesktop inside the machine", raw["http_shot"]))
        print(summary("screenshot: in-process (raw)", raw["shot"]))
        print(summary("click: API from the host", click))
        print(summary("click: nsdesktop inside the machine", raw["http_click"]))
        print(summary("click: XTest in-process (raw)", raw["click"]))
        print(summary("click: xdotool spawned in the machine", raw["xdotool"]))
        print(summary("type 20 chars (10 remapped): API", typed))
        print("screenshot API/nsdesktop p50 %.2fx, API/raw %.2fx" % (
            pct(shot, 50) / pct(raw["http_shot"], 50), pct(shot, 50) / pct(raw["shot"], 50)))
        print("click API/nsdesktop p50 %.2fx, API/raw %.2fx, API/xdotool %.2fx" % (
            pct(click, 50) / pct(raw["http_click"], 50), pct(click, 50) / pct(raw["click"], 50),
            pct(click, 50) / pct(raw["xdotool"], 50)))
        d.call("DELETE", "/v1/machines/" + mid)
    finally:
        d.stop()


if __name__ == "__main__":
    main()
