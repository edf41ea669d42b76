"""Run in a desktop machine by bench/desktop/run.py (through the launch API): a square
window at a fixed place (override-redirect: no window manager moves or frames it) that
changes colour at every button press, so a click shows as changed pixels.

    python3 clicker.py X Y SIZE"""

import sys

from Xlib import X, display

COLOURS = (0x2060C0, 0xE0A020)


def main():
    x, y, size = (int(a) for a in sys.argv[1:4])
    d = display.Display()
    s = d.screen()
    w = s.root.create_window(x, y, size, size, 0, s.root_depth, X.InputOutput,
                             X.CopyFromParent, background_pixel=COLOURS[0],
                             override_redirect=True,
                             event_mask=X.ButtonPressMask | X.ExposureMask)
    w.map()
    d.sync()
    n = 0
    while True:
        e = d.next_event()
        if e.type == X.ButtonPress:
            n += 1
            w.change_attributes(background_pixel=COLOURS[n % 2])
            w.clear_area()
            d.sync()


if __name__ == "__main__":
    main()
