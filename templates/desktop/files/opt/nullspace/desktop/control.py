"""What nsdesktop does to the session: mouse and keyboard input through XTest (xinput.py:
any Unicode character is typed through a spare keycode mapped for it), the clipboard
through xclip, and applications started in the session. Every call returns once the
X server has the input, not once an application reacted to it."""

import configparser
import glob
import os
import shlex
import subprocess
import tempfile
import threading
import time

import screen
import xinput
from args import ApiError

ENV_FILE = "/run/nullspace-desktop/env"
APP_DIRS = ("/usr/share/applications", "/usr/local/share/applications",
            os.path.expanduser("~/.local/share/applications"))
BUTTONS = {"left": 1, "middle": 2, "right": 3}
SCROLL = {"up": 4, "down": 5, "left": 6, "right": 7}
# names people and models use for keys, to X keysym names (modifiers: xinput.MODIFIERS)
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


def _at(at):
    if at:
        xinput.move(*at)


def move(x, y):
    with INPUT:
        xinput.move(x, y)


def click(at, button, clicks):
    with INPUT:
        _at(at)
        for i in range(clicks):
            if i:
                time.sleep(0.08)  # well inside any double-click interval
            xinput.button(BUTTONS[button], True)
            xinput.button(BUTTONS[button], False)


def press(at, button, down):
    with INPUT:
        _at(at)
        xinput.button(BUTTONS[button], down)


def drag(start, end, button):
    """Press at start, move there in steps (applications look for motion), release."""
    mid = ((start[0] + end[0]) // 2, (start[1] + end[1]) // 2)
    with INPUT:
        xinput.move(*start)
        xinput.button(BUTTONS[button], True)
        for p in (mid, end):
            time.sleep(0.05)
            xinput.move(*p)
        time.sleep(0.05)
        xinput.button(BUTTONS[button], False)


def scroll(at, direction, amount):
    with INPUT:
        _at(at)
        for i in range(amount):
            if i:
                time.sleep(0.02)
            xinput.button(SCROLL[direction], True)
            xinput.button(SCROLL[direction], False)


def type_text(text, delay_ms):
    with INPUT:
        xinput.type_text(text, delay_ms)


def keysym_of(name):
    """The keysym of a key name ('enter', 'a', 'F5', 'ctrl', 'é'), or an error."""
    alias = KEY_ALIASES.get(name.lower(), name)
    alias = xinput.MODIFIERS.get(alias, alias)
    if len(alias) > 1 and alias[0] in "fF" and alias[1:].isdigit() and 1 <= int(alias[1:]) <= 24:
        alias = "F" + alias[1:]
    sym = xinput.keysym_of_name(alias)
    if sym:
        return sym
    if len(name) == 1 and name.isprintable():
        return xinput.keysym_of_char(name)
    raise ApiError(400, "invalid_field", "unknown key '%s' (X keysym names such as Return, "
                   "Escape, a, F5, or enter, esc, ctrl, shift, alt, super)" % name[:32])


def combo(spec):
    """'ctrl+shift+t' as its keysyms, in order; '+' alone is the key."""
    parts = ["plus"] if spec == "+" else spec.split("+")
    if not 1 <= len(parts) <= 6 or "" in parts:
        raise ApiError(400, "invalid_field", "key combination '%s': keys joined by + (at most 6)"
                       % spec[:64])
    return [keysym_of(p) for p in parts]


def keys(combos, delay_ms):
    syms = [combo(c) for c in combos]  # all checked before any is pressed
    with INPUT:
        xinput.press_combos(syms, delay_ms)


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
    """The first new window once the window manager placed it (its view says where)."""
    deadline = time.monotonic() + wait_s
    while True:
        new = [w for w in screen.windows() if w["id"] not in before]
        mine = [w for w in new if w["pid"] == pid]
        if (mine or new) and screen.settled((mine or new)[0]["id"]):
            return screen.window((mine or new)[0]["id"])
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)
