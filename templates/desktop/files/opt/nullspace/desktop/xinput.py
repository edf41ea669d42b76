"""Mouse and keyboard input through XTest (libX11 and libXtst through ctypes): each call
is a few X requests, synced before it returns, so the server has the input when the
caller hears back.

Typing any Unicode character: a character the keyboard map lacks is given a spare
keycode (one the map leaves empty) and keeps it. Tools that map a character, type it
and restore the map at once lose characters: applications look the keycode up when
they read the event, by which time the map has changed back. Here a keycode is only
given to another character once nothing typed with it for REMAP_AFTER_S seconds (the
least recently used first).
The characters a call lacks are mapped before its first key is pressed: a client reads
the map when it looks up its first key and asks to hear of changes in the same breath,
and a change falling in between is never heard of (its key is lost: the é of "héllo"
typed into a new terminal, 1 time in 6 on a loaded host).
Callers serialise (INPUT lock in control.py)."""

import ctypes
import time

from args import ApiError

_X11 = ctypes.CDLL("libX11.so.6")
_XTST = ctypes.CDLL("libXtst.so.6")
_KeySym = ctypes.c_ulong
_X11.XOpenDisplay.restype = ctypes.c_void_p
_X11.XOpenDisplay.argtypes = [ctypes.c_char_p]
_X11.XDisplayKeycodes.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int),
                                  ctypes.POINTER(ctypes.c_int)]
_X11.XGetKeyboardMapping.restype = ctypes.POINTER(_KeySym)
_X11.XGetKeyboardMapping.argtypes = [ctypes.c_void_p, ctypes.c_ubyte, ctypes.c_int,
                                     ctypes.POINTER(ctypes.c_int)]
_X11.XChangeKeyboardMapping.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                        ctypes.POINTER(_KeySym), ctypes.c_int]
_X11.XStringToKeysym.restype = _KeySym
_X11.XStringToKeysym.argtypes = [ctypes.c_char_p]
_X11.XFree.argtypes = [ctypes.c_void_p]
_X11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
_XTST.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
_XTST.XTestFakeButtonEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                                       ctypes.c_ulong]
_XTST.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                       ctypes.c_ulong]

REMAP_AFTER_S = 0.25
NO_SYMBOL = 0
MODIFIERS = {"ctrl": "Control_L", "shift": "Shift_L", "alt": "Alt_L", "super": "Super_L"}
_display = None
_spare = None   # keycodes the map left empty, ours to assign
_given = {}     # keysym -> keycode we assigned it
_used_at = {}   # keycode -> when it last typed


def _disp():
    global _display
    if not _display:
        _display = _X11.XOpenDisplay(None)
        if not _display:
            raise OSError("cannot open the X display")
    return _display


def _mapping():
    """(first keycode, keysyms per keycode, [keysyms of each keycode])."""
    lo, hi = ctypes.c_int(), ctypes.c_int()
    _X11.XDisplayKeycodes(_disp(), ctypes.byref(lo), ctypes.byref(hi))
    per = ctypes.c_int()
    n = hi.value - lo.value + 1
    syms = _X11.XGetKeyboardMapping(_disp(), lo.value, n, ctypes.byref(per))
    try:
        rows = [[syms[i * per.value + j] for j in range(per.value)] for i in range(n)]
    finally:
        _X11.XFree(syms)
    return lo.value, per.value, rows


def keysym_of_char(ch):
    """The keysym of one character (Latin-1 keysyms are their code points)."""
    if ch == "\n":
        return _X11.XStringToKeysym(b"Return")
    if ch == "\t":
        return _X11.XStringToKeysym(b"Tab")
    cp = ord(ch)
    return cp if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF else 0x01000000 + cp


def keysym_of_name(name):
    return _X11.XStringToKeysym(name.encode())


def _find(keysym, first, rows):
    """(keycode, needs shift) of keysym in the map, or None. The spare keycodes are not
    looked at: what they hold is in _given (rows may predate a change of ours)."""
    for level in (0, 1):
        for i, row in enumerate(rows):
            if len(row) > level and row[level] == keysym and first + i not in (_spare or ()):
                return first + i, level == 1
    return None


def _ours(row):
    """Whether a keycode's keysyms are empty, or one character an earlier nsdesktop gave it:
    the same Latin-1 or Unicode keysym at the first two levels (the US map has none)."""
    syms = {s for s in row if s != NO_SYMBOL}
    if not syms:
        return True
    sym = row[0]
    return len(syms) == 1 and row[1] == sym and (0xA0 <= sym <= 0xFF or sym >= 0x01000000)


def _assign_init(first, rows):
    global _spare
    _spare = [first + i for i, row in enumerate(rows) if _ours(row) and first + i > 8]


def _assign(keysym, per):
    """A spare keycode for keysym (the least recently used when all are taken)."""
    if not _spare:
        raise ApiError(500, "internal", "the keyboard map has no free keycode to type with")
    free = [k for k in _spare if k not in _given.values()]
    if free:
        code = free[0]
    else:
        code = min(_spare, key=lambda k: _used_at.get(k, 0))
        wait = _used_at.get(code, 0) + REMAP_AFTER_S - time.monotonic()
        if wait > 0:  # its last character may still be read with the old map
            time.sleep(wait)
        for sym in [s for s, k in _given.items() if k == code]:
            del _given[sym]
    syms = (_KeySym * per)(*([keysym] * per))
    _X11.XChangeKeyboardMapping(_disp(), code, per, syms, 1)
    _X11.XSync(_disp(), 0)
    _given[keysym] = code
    _used_at[code] = time.monotonic()  # not taken back by the next one of the same call
    return code


class Keys:
    """Key lookups against the map as it is now (fetched once per call)."""

    def __init__(self):
        self.first, self.per, self.rows = _mapping()
        if _spare is None:  # which keycodes are spare, before anything is looked up
            _assign_init(self.first, self.rows)

    def code(self, keysym):
        """(keycode, needs shift) for keysym, mapping a spare keycode when needed."""
        if keysym in _given:
            return _given[keysym], False
        found = _find(keysym, self.first, self.rows)
        if found:
            return found
        return _assign(keysym, self.per), False

    def prepare(self, keysyms):
        """Maps the keysyms the map lacks before anything is pressed, as many as there are
        spare keycodes (the rest are mapped when their turn comes)."""
        lacking = [sym for sym in dict.fromkeys(keysyms)
                   if sym not in _given and not _find(sym, self.first, self.rows)]
        for sym in lacking[:len(_spare)]:
            self.code(sym)


def _key(code, down):
    _XTST.XTestFakeKeyEvent(_disp(), code, 1 if down else 0, 0)


def type_text(text, delay_ms):
    keys = Keys()
    shift = keys.code(keysym_of_name("Shift_L"))[0]
    keys.prepare([keysym_of_char(ch) for ch in text])
    for ch in text:
        code, shifted = keys.code(keysym_of_char(ch))
        if shifted:
            _key(shift, True)
        _key(code, True)
        _key(code, False)
        if shifted:
            _key(shift, False)
        _X11.XSync(_disp(), 0)
        _used_at[code] = time.monotonic()
        if delay_ms:
            time.sleep(delay_ms / 1000)


def press_combos(combos, delay_ms):
    """Each combination (its keysyms, modifiers first) pressed and released in turn."""
    keys = Keys()
    shift = keys.code(keysym_of_name("Shift_L"))[0]
    keys.prepare([sym for syms in combos for sym in syms])
    for syms in combos:
        codes = []
        for sym in syms:
            code, shifted = keys.code(sym)
            if shifted and shift not in codes:
                codes.append(shift)
            codes.append(code)
        for code in codes:
            _key(code, True)
        for code in reversed(codes):
            _key(code, False)
        _X11.XSync(_disp(), 0)
        for code in codes:
            _used_at[code] = time.monotonic()
        if delay_ms:
            time.sleep(delay_ms / 1000)


def move(x, y):
    _XTST.XTestFakeMotionEvent(_disp(), -1, x, y, 0)
    _X11.XSync(_disp(), 0)


def button(number, down):
    _XTST.XTestFakeButtonEvent(_disp(), number, 1 if down else 0, 0)
    _X11.XSync(_disp(), 0)
