#!/bin/bash
# The desktop template's ready command: the X server answers, a window manager runs,
# the desktop has drawn its window, the VNC server and nsdesktop accept connections.
export DISPLAY=:0
xdpyinfo >/dev/null 2>&1 &&
        xprop -root _NET_SUPPORTING_WM_CHECK | grep -q "window id" &&
        wmctrl -l | grep -q . &&
        (exec 3<>/dev/tcp/127.0.0.1/5901) 2>/dev/null &&
        (exec 3<>/dev/tcp/127.0.0.1/49990) 2>/dev/null
