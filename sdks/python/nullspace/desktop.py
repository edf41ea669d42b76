"""The desktop (docs/desktop.md) of machines from the desktop template: m.desktop takes
screenshots and sends mouse and keyboard input, lists, focuses and closes windows,
reads and sets the clipboard and launches applications — what a computer-use agent
does. Every input call returns once the machine's X server has the input.

    m = Machine.create(template="desktop")
    png = m.desktop.screenshot()                     # bytes
    m.desktop.launch(app="chromium", wait_s=30)      # {"pid", "window"}
    m.desktop.click(640, 400)
    m.desktop.type("héllo 日本")
    m.desktop.key("ctrl+l")
    print(m.desktop.viewer(view_only=True)["url"])   # watch it in a browser
"""

import urllib.parse


class Desktop:
    """m.desktop. Errors raise the daemon's typed errors (DesktopNotAvailableError on a
    machine of another template, DesktopWindowNotFoundError, DesktopAppNotFoundError,
    InvalidFieldError, ...)."""

    def __init__(self, machine):
        self.machine = machine

    def _call(self, method, suffix, body=None, query=None):
        return self.machine.client.request(method, self.machine._path("/desktop" + suffix),
                                           body=body, query=query)

    def screen(self):
        """{"width", "height", "depth"} of the screen."""
        return self._call("GET", "/screen")

    def resize(self, width, height):
        """Changes the screen's size (320x240 to 3840x2160; windows stay open, viewers
        follow): the new {"width", "height", "depth"}. A machine gets its first size at
        create: Machine.create(template="desktop", desktop={"width": 1920, "height": 1080})."""
        return self._call("PUT", "/screen", {"width": width, "height": height})

    def screenshot(self, format="png", quality=None, region=None, scale=None, cursor=False):
        """The screen as PNG (or JPEG: format="jpeg", quality 1-100) bytes; region
        (x, y, width, height) crops, scale (0.05-1) shrinks, cursor draws the pointer."""
        q = {"format": format, "quality": quality, "scale": scale,
             "cursor": "true" if cursor else None}
        if region:
            q.update(zip(("x", "y", "width", "height"), region))
        return self._call("GET", "/screenshot", query=q)

    def cursor_position(self):
        """(x, y) of the mouse pointer."""
        p = self._call("GET", "/mouse")
        return p["x"], p["y"]

    def move(self, x, y):
        return self._call("POST", "/mouse/move", {"x": x, "y": y})

    def click(self, x=None, y=None, button="left", double=False, clicks=None):
        """Clicks button (left, middle, right) at (x, y), or where the pointer is."""
        body = {"button": button, "double": double}
        if x is not None or y is not None:
            body.update(x=x, y=y)
        if clicks is not None:
            body["clicks"] = clicks
        return self._call("POST", "/mouse/click", body)

    def double_click(self, x=None, y=None, button="left"):
        return self.click(x, y, button, double=True)

    def right_click(self, x=None, y=None):
        return self.click(x, y, "right")

    def mouse_down(self, x=None, y=None, button="left"):
        return self._call("POST", "/mouse/down", _at(x, y, button=button))

    def mouse_up(self, x=None, y=None, button="left"):
        return self._call("POST", "/mouse/up", _at(x, y, button=button))

    def drag(self, start, end, button="left"):
        """Drags from start (x, y) to end (x, y) with button held."""
        return self._call("POST", "/mouse/drag", {"x": start[0], "y": start[1], "to_x": end[0],
                                                  "to_y": end[1], "button": button})

    def scroll(self, direction="down", amount=3, x=None, y=None):
        """Turns the wheel amount steps up, down, left or right (at x, y when given)."""
        return self._call("POST", "/mouse/scroll",
                          _at(x, y, direction=direction, amount=amount))

    def type(self, text, delay_ms=None):
        """Types text (any Unicode) into the focused window."""
        body = {"text": text}
        if delay_ms is not None:
            body["delay_ms"] = delay_ms
        return self._call("POST", "/keyboard/type", body)

    def key(self, *keys, delay_ms=None):
        """Presses keys or combinations one after another: key("ctrl+shift+t"),
        key("esc", "enter")."""
        body = {"keys": list(keys)}
        if delay_ms is not None:
            body["delay_ms"] = delay_ms
        return self._call("POST", "/keyboard/key", body)

    def windows(self):
        """The application windows: [{"id", "title", "app", "pid", "x", "y", "width",
        "height", "focused", "minimized"}]."""
        return self._call("GET", "/windows")

    def focus(self, window):
        """Raises and focuses a window (its id or its dict); the window after."""
        return self._call("POST", "/windows/%s/focus" % _wid(window))

    def close(self, window):
        """Asks a window to close, as its close button does."""
        return self._call("POST", "/windows/%s/close" % _wid(window))

    def clipboard(self):
        """The clipboard's text ("" when it holds none)."""
        return self._call("GET", "/clipboard")["text"]

    def set_clipboard(self, text):
        return self._call("PUT", "/clipboard", {"text": text})

    def launch(self, app=None, command=None, env=None, cwd=None, wait_s=None):
        """Starts a desktop entry (app="chromium") or a shell command in the session:
        {"pid", "window"}; with wait_s the new window (or None when none came)."""
        body = {k: v for k, v in (("app", app), ("command", command), ("env", env),
                                   ("cwd", cwd), ("wait_s", wait_s)) if v is not None}
        return self._call("POST", "/launch", body)

    def start_recording(self, fps=None):
        """Starts recording the screen into an MP4 kept on the host (fps 1-30, default
        10): {"id", "state": "recording", ...}. One recording at a time per machine; a
        hibernate, snapshot or fork ends it (the file stays playable)."""
        return self._call("POST", "/recordings", {} if fps is None else {"fps": fps})

    def stop_recording(self, recording):
        """Stops a recording and returns it once its file is complete."""
        return self._call("POST", "/recordings/%s/stop" % _rid(recording))

    def recordings(self):
        """The machine's recordings, newest first (also after the machine is destroyed)."""
        return self._call("GET", "/recordings")["recordings"]

    def recording(self, recording):
        return self._call("GET", "/recordings/%s" % _rid(recording))

    def download_recording(self, recording, path=None):
        """The recording's MP4 as bytes, or written to path (then the path)."""
        data = self._call("GET", "/recordings/%s/file" % _rid(recording))
        if path is None:
            return data
        with open(path, "wb") as f:
            f.write(data)
        return path

    def delete_recording(self, recording):
        self._call("DELETE", "/recordings/%s" % _rid(recording))

    def viewer(self, view_only=False, expires_in_s=None):
        """A URL of the daemon's browser viewer (noVNC) for this desktop, for a person to
        watch (view_only: the daemon drops the viewer's input) or take over: {"url",
        "view_only", "expires_at", "websocket_url", "websocket_protocol", "machine_id"}.
        The URL lets viewers connect for expires_in_s (default 900, max 86400); a
        connected viewer stays connected. Connecting resumes a hibernated machine."""
        body = {"view_only": bool(view_only)}
        if expires_in_s is not None:
            body["expires_in_s"] = expires_in_s
        return self._call("POST", "/viewer", body)


def _at(x, y, **fields):
    if x is not None or y is not None:
        fields.update(x=x, y=y)
    return fields


def _rid(recording):
    rid = recording["id"] if isinstance(recording, dict) else recording
    return urllib.parse.quote(str(rid), safe="")


def _wid(window):
    wid = window["id"] if isinstance(window, dict) else window
    return urllib.parse.quote(str(wid), safe="")
