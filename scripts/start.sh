#!/usr/bin/env bash
# Command 1 of the README: install what is missing, build, and run the daemon in the
# foreground with its embedded defaults (state in /var/lib/nullspace as root,
# API on 127.0.0.1:7700). Extra arguments go to nullspaced.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target nullspaced nullspace nsagent nsshim
state="${NULLSPACE_STATE_DIR:-/var/lib/nullspace}"
[ "$(id -u)" -eq 0 ] || state="${NULLSPACE_STATE_DIR:-$HOME/.local/state/nullspace}"
# the base template (debootstrap, about a minute) and the VM guest kernel are built by the
# daemon itself at start-up, once per cache dir; /readyz and `nullspace status` show how far
[ "$(id -u)" -eq 0 ] && export NULLSPACE_CACHE_DIR="${NULLSPACE_CACHE_DIR:-/var/cache/nullspace}"
mkdir -p "$state"
rm -f "$state/nullspaced.addr"
build/nullspaced --state-dir "$state" "$@" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null' TERM INT
# the banner names the address the daemon really bound (--listen, port 0 included)
for _ in $(seq 100); do
  [ -s "$state/nullspaced.addr" ] && break
  kill -0 $daemon 2>/dev/null || break
  sleep 0.1
done
if [ -s "$state/nullspaced.addr" ]; then
  addr=$(cat "$state/nullspaced.addr")
  cat >&2 <<MSG

nullspaced is running: API http://$addr, state in $state
  API key:   $state/api-key   (or the NULLSPACE_API_KEY you set)
  try:       export NULLSPACE_API_URL=http://$addr NULLSPACE_API_KEY=\$(cat $state/api-key)
             $(pwd)/build/nullspace status
             $(pwd)/build/nullspace machines create   (the first one may wait for the base template)
        or:  curl -H "Authorization: Bearer \$(cat $state/api-key)" http://$addr/v1/info
Stop with Ctrl-C (SIGTERM/SIGINT drain in-flight requests first).

MSG
fi
status=0
wait $daemon || status=$?
if [ $status -gt 128 ] && kill -0 $daemon 2>/dev/null; then # a signal we passed on
  status=0
  wait $daemon || status=$?
fi
exit $status
