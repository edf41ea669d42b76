#!/usr/bin/env python3
"""The desktop viewer's relay against the VNC server it relays to, same run, one machine
of the built-in template desktop. The same RFB client (rfb.py: full-screen updates, 32
bpp, 1280x800, one after the other for 10 s) runs

  raw     inside the machine, on x11vnc's own port (127.0.0.1:5901)
  viewer  on the host, through the daemon: the viewer WebSocket (token as subprotocol),
          the relay to nsdesktop's GET /vnc, its splice to x11vnc

in two encodings: Raw (4 MB a frame, the most a relay carries) and ZRLE (compressed
tiles, as noVNC asks for). It reports the time to the first full frame (connect), per
full frame after it (p50) and frames per second, with the viewer/raw ratios. Targets
(issue 20): >= 15 full frames/s through the viewer in ZRLE; a Raw frame through the
viewer <= 1.5x raw.

Usage: bench/desktop/viewer.py [--seconds 10]
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfb  # noqa: E402
from lib import Daemon, pct, summary  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    d = Daemon()
    try:
        m = d.call("POST", "/v1/machines", {"template": "desktop", "timeout_s": 3600})
        mid = m["id"]
        try:
            with open(os.path.join(HERE, "rfb.py"), "rb") as f:
                d.call("PUT", "/v1/machines/%s/files?path=/tmp/rfb.py" % mid, f.read(), raw=True)
            for enc in ("zrle", "raw"):
                r = d.call("POST", "/v1/machines/%s/exec" % mid,
                           {"cmd": "python3 /tmp/rfb.py tcp 127.0.0.1:5901 %s %s" % (
                               enc, a.seconds), "timeout_s": 600})
                if r["exit_code"] != 0:
                    raise RuntimeError(r["stderr"])
                raw = json.loads(r["stdout"])
                v = d.call("POST", "/v1/machines/%s/desktop/viewer" % mid, {"view_only": True})
                via = rfb.run(rfb.Ws(v["websocket_url"], v["websocket_protocol"]), enc,
                              a.seconds)
                print("%s: screen %dx%d, %.0f KB a full frame" % (
                    enc, raw["width"], raw["height"], via["bytes_per_frame"] / 1024))
                print("  connect to first frame: raw %.1f ms, viewer %.1f ms" % (
                    raw["connect_ms"], via["connect_ms"]))
                print("  " + summary("full frame: raw (x11vnc, in the machine)",
                                     raw["frame_ms"]))
                print("  " + summary("full frame: viewer (host, through the daemon)",
                                     via["frame_ms"]))
                print("  %s viewer/raw p50 %.2fx; frames/s over %.0f s: viewer %.1f, raw %.1f" % (
                    enc, pct(via["frame_ms"], 50) / pct(raw["frame_ms"], 50), a.seconds,
                    via["fps"], raw["fps"]))
        finally:
            d.call("DELETE", "/v1/machines/" + mid)
    finally:
        d.stop()


if __name__ == "__main__":
    main()
