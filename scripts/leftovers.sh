#!/usr/bin/env bash
# What the test suite leaves on the host: processes, mounts, network namespaces, nftables
# tables, address claims and state directories of the daemons it started (their state
# dirs are /tmp/ns-*). `leftovers.sh snapshot FILE` records what is there now;
# `leftovers.sh check FILE` prints what appeared since and exits 1 if anything did.
# scripts/test.sh runs both around each CTest run, so a test or bench that does not
# destroy what it created fails the suite (machines outlive their daemon by design).
set -euo pipefail
list() {
  # processes with a test state dir on their command line (shims, runsc, QEMU, helpers)
  pgrep -af '/tmp/ns-' 2>/dev/null | grep -v -e pgrep -e leftovers.sh | sed 's/^[0-9]* /process /' || true
  grep ' /tmp/ns-' /proc/mounts | awk '{print "mount " $2}' || true
  ip netns list 2>/dev/null | awk '$1 ~ /^nsm-|^nsp[0-9a-f]+-/ {print "netns " $1}' || true
  nft list tables 2>/dev/null | awk '$3 ~ /^nullspace_/ {print "nft " $3}' || true
  ls /run/nullspace/net 2>/dev/null | sed 's/^/claim /' || true
  ls -d /tmp/ns-* 2>/dev/null | sed 's/^/dir /' || true
}
case "${1:-}" in
  snapshot) list | sort -u > "$2" ;;
  check)
    new=$(list | sort -u | comm -13 "$2" -)
    if [ -n "$new" ]; then
      echo "== the tests left these behind:" >&2
      echo "$new" >&2
      exit 1
    fi
    ;;
  *) echo "usage: $0 snapshot|check FILE" >&2; exit 2 ;;
esac
