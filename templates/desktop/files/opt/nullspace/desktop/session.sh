#!/bin/sh
# The desktop session of the desktop template, started in order, each part once the one
# before it answers: the X server (Xvfb), a D-Bus session bus, the window manager, the
# desktop and panel, then the VNC server on the machine's loopback (the daemon relays
# viewers to it; nothing outside the machine reaches it) and nsdesktop, the automation
# server the daemon forwards /v1/machines/{id}/desktop/... to (server.py). The X server's frame
# buffer is as large as a screen may ever be (MAX_W x MAX_H); the screen starts at
# 1280x800 and a machine's create (its "desktop" size) or PUT /screen changes it with
# RandR, up to that (resize.py). Commands reach the session with
# `. /run/nullspace-desktop/env` (DISPLAY and the session bus).
W=1280 H=800 D=24 MAX_W=3840 MAX_H=2160
export DISPLAY=:0 HOME=${HOME:-/root}
LOG=/var/log/nullspace-desktop.log
exec >>"$LOG" 2>&1

# waits up to $1 tenths of a second for the command after it to succeed
until_ok() {
        n=$1
        shift
        while ! "$@" >/dev/null 2>&1; do
                n=$((n - 1))
                [ "$n" -gt 0 ] || { echo "session: gave up waiting for: $*"; return 1; }
                sleep 0.1
        done
}

rm -f /tmp/.X0-lock /tmp/.X11-unix/X0
# -noreset: the server keeps its RandR set-up while no client is connected yet
Xvfb :0 -screen 0 "${MAX_W}x${MAX_H}x${D}" -nolisten tcp -noreset -dpi 96 +extension RANDR &
until_ok 100 xdpyinfo || exit 1
"$(dirname "$0")/resize.py" "$W" "$H" || exit 1
eval "$(dbus-launch --sh-syntax)"
export DBUS_SESSION_BUS_ADDRESS
# what commands run in the machine need to reach the session (. this file)
mkdir -p /run/nullspace-desktop
printf 'export DISPLAY=%s DBUS_SESSION_BUS_ADDRESS=%s\n' "$DISPLAY" "'$DBUS_SESSION_BUS_ADDRESS'" \
        >/run/nullspace-desktop/env
xfwm4 --compositor=off &
until_ok 100 sh -c 'xprop -root _NET_SUPPORTING_WM_CHECK | grep -q "window id"'
xfdesktop &
xfce4-panel &
# no naps: an idle x11vnc polls less and less often (-nap), after a minute every 1.5 s
# (-sb), so a viewer watching an agent saw its first changes up to that late (a full
# frame took 525 ms on an idle desktop, 4.5 ms without). Without a viewer it sleeps all
# the same; with one it polls (a fifth to a third of a core, as with naps while busy).
# No host name lookups: a viewer's connection waited for the resolver (up to 5 s).
# Port 5901 under the name nsvnc (a link to x11vnc): E2B's desktop SDK starts an x11vnc
# of its own on 5900 and refuses to while `pgrep -x x11vnc` finds one.
/opt/nullspace/desktop/nsvnc -display :0 -localhost -rfbport 5901 -forever -shared -nopw \
        -noxdamage -xrandr -quiet -nonap -sb 0 -nolookup &
python3 /opt/nullspace/desktop/server.py &
wait
