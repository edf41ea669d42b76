#!/usr/bin/env python3
"""resize.py WIDTH HEIGHT: the desktop's screen becomes WIDTHxHEIGHT through RandR.

Xvfb's frame buffer is as large as a screen may ever be (3840x2160, session.sh); its one
output takes a mode of the size asked (made once, kept) and the screen follows, between
320x240 and that. The window manager, the panel and the VNC server follow RandR (viewers
get the new size). session.sh runs it for the first size; nullspaced when a machine is
created with a "desktop" size; nsdesktop's PUT /screen too. Xvfb runs with -noreset:
without it, the server resets its RandR set-up whenever its last client leaves (as this
one does at start-up, before the session's). Exit 2 on a size out of range.
"""

import os
import subprocess
import sys
import time

from Xlib import display, error
from Xlib.ext import randr

MIN = (320, 240)
MAX = (3840, 2160)
DPI = 96
SESSION_ENV = "/run/nullspace-desktop/env"
REDRAW_S = 3


def resize(d, w, h):
    root = d.screen().root
    res = root.xrandr_get_screen_resources()
    output = res.outputs[0]
    name = "%dx%d" % (w, h)
    names = res.mode_names
    mode, at = None, 0
    for m in res.modes:  # names come concatenated, in the modes' order
        if names[at:at + m.name_length] == name:
            mode = m.id
        at += m.name_length
    if mode is None:
        info = dict(id=0, width=w, height=h, dot_clock=0, h_sync_start=w, h_sync_end=w,
                    h_total=w, h_skew=0, v_sync_start=h, v_sync_end=h, v_total=h,
                    name_length=len(name), flags=0)
        mode = root.xrandr_create_mode(info, name).mode
        d.xrandr_add_output_mode(output, mode)
    crtc = d.xrandr_get_output_info(output, res.config_timestamp).crtc or res.crtcs[0]
    mm = (int(w * 25.4 / DPI), int(h * 25.4 / DPI))
    cur = root.get_geometry()
    # the screen always holds the crtc: first large enough for both sizes, then the new
    big = (max(w, cur.width), max(h, cur.height))
    if big != (cur.width, cur.height):
        root.xrandr_set_screen_size(*big, int(big[0] * 25.4 / DPI), int(big[1] * 25.4 / DPI))
    d.xrandr_set_crtc_config(crtc, res.config_timestamp, 0, 0, mode, randr.Rotate_0, [output])
    root.xrandr_set_screen_size(w, h, *mm)
    d.sync()
    g = root.get_geometry()
    return g.width, g.height


def desktop_sizes(d):
    """The sizes of xfdesktop's windows: top-level, or framed by the window manager (its
    "Desktop" window, which draws the background and icons, is); None when it has none."""
    sizes = None
    for top in d.screen().root.query_tree().children:
        try:
            for win in [top] + list(top.query_tree().children):
                cls = win.get_wm_class()
                if cls and cls[0] == "xfdesktop":
                    g = win.get_geometry()
                    sizes = (sizes or set()) | {(g.width, g.height)}
        except (error.BadWindow, error.BadDrawable):  # gone meanwhile (a reload remakes them)
            pass
    return sizes


def redraw(d, w, h):
    """xfdesktop does not follow RandR by itself: it is told to reload, and waited for
    (up to REDRAW_S) until its window has the new size. Nothing to do before the session
    is up (session.sh's first size)."""
    if not os.path.exists(SESSION_ENV) or desktop_sizes(d) is None:
        return
    subprocess.run(["sh", "-c", ". %s; exec xfdesktop --reload" % SESSION_ENV],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    deadline = time.monotonic() + REDRAW_S
    while (w, h) not in (desktop_sizes(d) or ()) and time.monotonic() < deadline:
        time.sleep(0.05)


def main(argv):
    try:
        w, h = int(argv[1]), int(argv[2])
    except (IndexError, ValueError):
        print("usage: resize.py WIDTH HEIGHT", file=sys.stderr)
        return 2
    if not (MIN[0] <= w <= MAX[0] and MIN[1] <= h <= MAX[1]):
        print("resize.py: the screen is %dx%d to %dx%d" % (MIN + MAX), file=sys.stderr)
        return 2
    d = display.Display(os.environ.get("DISPLAY") or ":0")
    got = resize(d, w, h)
    redraw(d, w, h)
    d.close()
    if got != (w, h):
        print("resize.py: the screen is %dx%d, not %dx%d" % (got + (w, h)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
