#!/bin/sh
# Debian's Chromium in a network namespace of its own, for viewer.mjs: on a host where
# other tests add and remove machines' network interfaces all the time, Chromium's own
# network (which watches the host's addresses) would fail page loads with
# ERR_NETWORK_CHANGED. In here there is only a loopback; the daemon's port on it leads to
# the daemon through NS_BRIDGE_SOCK (bridge.mjs). Playwright talks to Chromium over pipes.
# Needs root (unshare).
here=$(dirname "$(readlink -f "$0")")
exec unshare --net sh -c '
        ip link set lo up || exit 1
        node "$1/bridge.mjs" inside "$NS_BRIDGE_SOCK" "$NS_BRIDGE_PORT" $$ > "$NS_BRIDGE_SOCK.ready" &
        n=0
        until [ -s "$NS_BRIDGE_SOCK.ready" ]; do
                n=$((n + 1))
                [ $n -lt 200 ] || { echo "the bridge never listened" >&2; exit 1; }
                sleep 0.05
        done
        shift
        exec "${CHROMIUM:-/usr/bin/chromium}" "$@"' sh "$here" "$@"
