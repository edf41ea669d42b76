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
# the base template (debootstrap, about a minute, once) is shared with the test suite
[ "$(id -u)" -eq 0 ] && export NULLSPACE_CACHE_DIR="${NULLSPACE_CACHE_DIR:-/var/cache/nullspace}"
# the guest kernel and initramfs of VM machines ({"runtime":"vm"}), once
[ "$(id -u)" -eq 0 ] && scripts/vm-assets.sh
cat >&2 <<MSG

nullspaced is starting: API http://127.0.0.1:7700, state in $state
  API key:   $state/api-key   (or the NULLSPACE_API_KEY you set)
  try:       $(pwd)/build/nullspace status
             $(pwd)/build/nullspace machines create   (the first one builds the base template)
        or:  curl -H "Authorization: Bearer \$(cat $state/api-key)" http://127.0.0.1:7700/v1/info
Stop with Ctrl-C (SIGTERM/SIGINT drain in-flight requests first).

MSG
exec build/nullspaced --state-dir "$state" "$@"
