"""What nsdesktop does to the session: mouse and keyboard input through xdotool (XTest;
it types any Unicode character by mapping a spare keycode for it), the clipboard
through xclip, and applications started in the session. Every call returns once the
X server has the input (xdotool syncs), not once an application reacted to it."""

import configparser
import glob
import os
import shlex
import subprocess
import tempfile
import threading
import time

from Xlib import XK

import screen
from args import ApiError

ENV_FILE = "/run/nullspace-desktop/env"
APP_DIRS = ("/usr/share/applications", "/usr/local/share/applications",
            os.path.expanduser("~/.local/share/applications"))
BUTTONS = {"left": "1", "middle": "2", "right": "3"}
SCROLL = {"up": "4", "down": "5", "left": "6", "right": "7"}
# names people and models use for keys, to X keysym names
KEY_ALIASES = {
    "enter": "Return", "return": "Return", "esc": "Escape", "escape": "Escape", "tab": "Tab",
    "backspace": "BackSpace", "delete": "Delete", "del": "Delete", "insert": "Insert",
    "space": "space", "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "pageup": "Page_Up", "page_up": "Page_Up", "pagedown": "Page_Down",
    "page_down": "Page_Down", "home": "Home", "end": "End", "ctrl": "ctrl", "control": "ctrl",
    "shift": "shift", "alt": "alt", "super": "super", "win": "super", "meta": "super",
    "cmd": "super", "capslock": "Caps_Lock", "printscreen": "Print", "print": "Print",
    "menu": "Menu",
}
INPUT = threading.Lock()  # one input sequence at a time: two never interleave


def session_env():
    """The environment of the session (DISPLAY, its D-Bus) for what we start in it."""
    env = dict(os.environ)
    try:
        for line in open(ENV_FILE):
            for part in shlex.split(line.replace("export ", "", 1)):
                k, _, v = part.partition("=")
                if k:
                    env[k] = v
    except OSError:
        pass
    env.setdefault("DISPLAY", ":0")
    return env


def xdotool(*argv, timeout=30):
    with INPUT:
        r = subprocess.run(("xdotool",) + argv, env=session_env(), capture_output=True,
                           timeout=timeout)
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip()[:300]
        raise ApiError(500, "internal", "xdotool failed: %s" % (err or r.returncode))


def move(x, y):
    xdotool("mousemove", "--sync", str(x), str(y))


def click(at, button, clicks):
    argv = ["mousemove", "--sync", str(at[0]), str(at[1])] if at else []
    xdotool(*argv, "click", "--repeat", str(clicks), "--delay", "80", BUTTONS[button])


def press(at, button, down):
    argv = ["mousemove", "--sync", str(at[0]), str(at[1])] if at else []
    xdotool(*argv, "mousedown" if down else "mouseup", BUTTONS[button])


def drag(start, end, button):
    """Press at start, move there in steps (applications look for motion), release."""
    mid = ((start[0] + end[0]) // 2, (start[1] + end[1]) // 2)
    xdotool("mousemove", "--sync", *map(str, start), "mousedown", BUTTONS[button],
            "sleep", "0.05", "mousemove", *map(str, mid), "sleep", "0.05",
            "mousemove", "--sync", *map(str, end), "sleep", "0.05", "mouseup", BUTTONS[button])


def scroll(at, direction, amount):
    argv = ["mousemove", "--sync", str(at[0]), str(at[1])] if at else []
    xdotool(*argv, "click", "--repeat", str(amount), "--delay", "20", SCROLL[direction])


def type_text(text, delay_ms):
    if text:
        xdotool("type", "--delay", str(delay_ms), "--", text,
                timeout=30 + len(text) * (delay_ms + 30) / 1000)


def keysym_of(name):
    """The X keysym name of a key name ('enter', 'a', 'F5', 'ctrl'), or an error."""
    alias = KEY_ALIASES.get(name.lower())
    if alias:
        return alias
    if len(name) > 1 and name[0] in "fF" and name[1:].isdigit() and 1 <= int(name[1:]) <= 24:
        return "F" + name[1:]
    if XK.string_to_keysym(name) or (len(name) == 1 and name.isprintable()):
        return name
    raise ApiError(400, "invalid_field", "unknown key '%s' (X keysym names such as Return, "
                   "Escape, a, F5, or enter, esc, ctrl, shift, alt, super)" % name[:32])


def combo(spec):
    """'ctrl+shift+t' as xdotool's combination ('ctrl+shift+t'); '+' alone is the key."""
    parts = ["plus"] if spec == "+" else spec.split("+")
    if not 1 <= len(parts) <= 6 or "" in parts:
        raise ApiError(400, "invalid_field", "key combination '%s': keys joined by + (at most 6)"
                       % spec[:64])
    return "+".join(keysym_of(p) for p in parts)


def keys(combos, delay_ms):
    xdotool("key", "--delay", str(delay_ms), "--", *[combo(c) for c in combos])


def clipboard_get():
    r = subprocess.run(["xclip", "-selection", "clipboard", "-o", "-t", "UTF8_STRING"],
                       env=session_env(), capture_output=True, timeout=10)
    if r.returncode != 0:  # nothing owns the clipboard, or not as text
        return ""
    return r.stdout.decode("utf-8", "replace")


def clipboard_set(text):
    """xclip takes the selection, then stays in the background to serve it (holding
    what it inherited: its stderr goes to a file, never a pipe we would wait on)."""
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(["xclip", "-selection", "clipboard", "-i"], env=session_env(),
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        p.communicate(text.encode(), timeout=10)
        if p.returncode != 0:
            err.seek(0)
            raise ApiError(500, "internal", "xclip failed: %s"
                           % err.read(300).decode(errors="replace"))


def _entry(app):
    """The Exec line and Terminal flag of desktop entry `app` (file name or Name=)."""
    paths = []
    for d in APP_DIRS:
        paths += sorted(glob.glob(os.path.join(d, "*.desktop")))
    wanted = app.lower()
    for by_name in (False, True):
        for path in paths:
            stem = os.path.basename(path)[:-len(".desktop")]
            cp = configparser.RawConfigParser(interpolation=None, strict=False)
            try:
                cp.read(path, encoding="utf-8")
                sec = cp["Desktop Entry"]
            except (configparser.Error, KeyError, UnicodeDecodeError):
                continue
            name = sec.get("Name", "")
            if (name.lower() if by_name else stem.lower()) == wanted and sec.get("Exec"):
                return sec["Exec"], sec.get("Terminal", "false").lower() == "true"
    raise ApiError(404, "desktop_app_not_found", "no desktop entry '%s' (a .desktop file name "
                   "or Name= under /usr/share/applications)" % app[:64])


def _exec_argv(line):
    argv = []
    for word in shlex.split(line):
        if len(word) == 2 and word[0] == "%" and word[1] != "%":
            continue  # a field code: we pass no files or URLs
        argv.append(word.replace("%%", "%"))
    if not argv:
        raise ApiError(500, "internal", "the desktop entry's Exec line is empty")
    return argv


def launch(app, command, env, cwd, wait_s):
    """Starts desktop entry `app` or shell command `command` in the session, detached;
    with wait_s, waits that long for a new window (its own pid's first)."""
    if app:
        line, terminal = _entry(app)
        argv = _exec_argv(line)
        if terminal:
            argv = ["st", "-e"] + argv
    else:
        argv = ["/bin/sh", "-c", command]
    before = {w["id"] for w in screen.windows()} if wait_s else set()
    full_env = dict(session_env(), **env)
    try:
        p = subprocess.Popen(argv, env=full_env, cwd=cwd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    except OSError as e:
        raise ApiError(400, "invalid_field", "cannot start %s: %s" % (argv[0][:64], e.strerror))
    threading.Thread(target=p.wait, daemon=True).start()  # reaped when it ends
    return {"pid": p.pid, "window": _new_window(before, p.pid, wait_s) if wait_s else None}


def _new_window(before, pid, wait_s):
    deadline = time.monotonic() + wait_s
    while True:
        new = [w for w in screen.windows() if w["id"] not in before]
        mine = [w for w in new if w["pid"] == pid]
        if mine or new:
            return (mine or new)[0]
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)
