"""What nsdesktop reads from the X server (python3-xlib; one connection, one request at a
time): the screen's size, the pointer, screenshots (xgrab's pixels, PIL encodes them), the
application windows by the window manager's EWMH hints, which it also asks to focus
or close one."""

import io
import threading
import time
from array import array

from PIL import Image
from Xlib import X, Xatom, display, error
from Xlib.protocol import event

import xgrab
from args import ApiError

LOCK = threading.Lock()
_DISPLAY = None
# windows that are part of the session, not applications: never listed
SKIPPED_TYPES = ("_NET_WM_WINDOW_TYPE_DESKTOP", "_NET_WM_WINDOW_TYPE_DOCK")


def _disp():
    """The connection (under LOCK), opened again when the last one broke."""
    global _DISPLAY
    if _DISPLAY is None:
        _DISPLAY = display.Display()
        if _DISPLAY.has_extension("XFIXES"):
            _DISPLAY.xfixes_query_version()
    return _DISPLAY


def _reset():
    global _DISPLAY
    try:
        _DISPLAY.close()
    except Exception:
        pass
    _DISPLAY = None


def locked(fn):
    """fn(d) under LOCK; a connection that broke is opened anew for the next call."""
    with LOCK:
        try:
            return fn(_disp())
        except (error.ConnectionClosedError, OSError):
            _reset()
            raise


def size():
    def read(d):  # the root's geometry now: RandR changes it (resize.py), the setup's not
        g = d.screen().root.get_geometry()
        return {"width": g.width, "height": g.height, "depth": g.depth}
    return locked(read)


def pointer():
    def read(d):
        p = d.screen().root.query_pointer()
        return {"x": p.root_x, "y": p.root_y}
    return locked(read)


def screenshot(region, cursor, fmt, quality, scale):
    """The screen (or region (x, y, w, h)) as PNG or JPEG bytes."""
    def grab(d):
        x, y, w, h = region
        raw, bpp, stride = xgrab.grab(x, y, w, h)
        img = Image.frombytes("RGB", (w, h), raw, "raw", "BGRX" if bpp == 32 else "BGR;16",
                              stride)
        if cursor and d.has_extension("XFIXES"):
            _draw_cursor(d, img, x, y)
        return img

    img = locked(grab)
    if scale != 1.0:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.BILINEAR)
    out = io.BytesIO()
    if fmt == "png":
        img.save(out, "PNG", compress_level=1)
    else:
        img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _draw_cursor(d, img, x0, y0):
    c = d.xfixes_get_cursor_image(d.screen().root)
    if not c.width or not c.height:
        return
    argb = array("I", (v & 0xFFFFFFFF for v in c.cursor_image))
    pic = Image.frombytes("RGBA", (c.width, c.height), argb.tobytes(), "raw", "BGRA")
    img.paste(pic, (c.x - c.xhot - x0, c.y - c.yhot - y0), pic)


def _atom(d, name):
    return d.intern_atom(name)


def _prop(d, win, name, kind=X.AnyPropertyType):
    p = win.get_full_property(_atom(d, name), kind)
    return p.value if p is not None else None


def _title(d, win):
    v = _prop(d, win, "_NET_WM_NAME", _atom(d, "UTF8_STRING"))
    if v is None:
        v = _prop(d, win, "WM_NAME", Xatom.STRING)
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return v or ""


def _active(d):
    v = _prop(d, d.screen().root, "_NET_ACTIVE_WINDOW", Xatom.WINDOW)
    return int(v[0]) if v is not None and len(v) else 0


def _client_ids(d):
    v = _prop(d, d.screen().root, "_NET_CLIENT_LIST", Xatom.WINDOW)
    return [int(w) for w in v] if v is not None else []


def _view(d, wid, active):
    win = d.create_resource_object("window", wid)
    types = _prop(d, win, "_NET_WM_WINDOW_TYPE", Xatom.ATOM)
    skipped = {_atom(d, t) for t in SKIPPED_TYPES}
    if types is not None and any(int(t) in skipped for t in types):
        return None
    cls = win.get_wm_class() or ("", "")
    pid = _prop(d, win, "_NET_WM_PID", Xatom.CARDINAL)
    state = _prop(d, win, "_NET_WM_STATE", Xatom.ATOM)
    geo = win.get_geometry()
    at = d.screen().root.translate_coords(win, 0, 0)
    return {"id": wid, "title": _title(d, win), "app": cls[1] or cls[0] or "",
            "pid": int(pid[0]) if pid is not None and len(pid) else None,
            "x": at.x, "y": at.y, "width": geo.width, "height": geo.height,
            "focused": wid == active,
            "minimized": state is not None and _atom(d, "_NET_WM_STATE_HIDDEN") in
            [int(s) for s in state]}


def windows():
    """The application windows, in the window manager's order (oldest first)."""
    def read(d):
        active, out = _active(d), []
        for wid in _client_ids(d):
            try:
                v = _view(d, wid, active)
            except (error.BadWindow, error.BadDrawable):
                continue  # closed while we looked
            if v:
                out.append(v)
        return out
    return locked(read)


def settled(wid):
    """Whether the window manager has placed window wid: it is shown (viewable) in its
    frame. Until then its position is where the application asked, not where it is."""
    def read(d):
        win = d.create_resource_object("window", wid)
        try:
            return (win.get_attributes().map_state == X.IsViewable and
                    _prop(d, win, "_NET_FRAME_EXTENTS", Xatom.CARDINAL) is not None)
        except (error.BadWindow, error.BadDrawable):
            return False
    return locked(read)


def window(wid):
    for w in windows():
        if w["id"] == wid:
            return w
    raise ApiError(404, "desktop_window_not_found", "no window %d (GET .../desktop/windows "
                   "lists them)" % wid)


def _ask_wm(d, wid, name, data):
    root = d.screen().root
    msg = event.ClientMessage(window=d.create_resource_object("window", wid),
                              client_type=_atom(d, name), data=(32, data))
    root.send_event(msg, event_mask=X.SubstructureRedirectMask | X.SubstructureNotifyMask)
    d.sync()


def focus(wid, wait_s=1.0):
    """Asks the window manager to raise and focus window wid (shown again when minimized);
    waits up to wait_s for it to be the active window. Its view after."""
    window(wid)
    # source 2: a pager, whose requests window managers honour without focus-stealing checks
    locked(lambda d: _ask_wm(d, wid, "_NET_ACTIVE_WINDOW", [2, X.CurrentTime, 0, 0, 0]))
    deadline = time.monotonic() + wait_s
    while locked(_active) != wid and time.monotonic() < deadline:
        time.sleep(0.02)
    return window(wid)


def close(wid):
    """Asks the window manager to close window wid (as its close button does: the
    application may ask first, or refuse)."""
    window(wid)
    locked(lambda d: _ask_wm(d, wid, "_NET_CLOSE_WINDOW", [X.CurrentTime, 2, 0, 0, 0]))
