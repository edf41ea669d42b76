#!/usr/bin/env bash
# Installs the Debian 12 packages Nullspace needs to build, run and test — only the
# ones missing, without prompts. Safe to run again. Needs root (or sudo).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
  libjansson-dev libwslay-dev libsqlite3-dev sqlite3 libcurl4-openssl-dev libssl-dev libarchive-dev
  zlib1g-dev
  python3 python3-yaml curl ca-certificates
  wrk nginx-light
  runsc debootstrap util-linux iproute2 nftables busybox-static
  qemu-system-x86 qemu-utils e2fsprogs
  chromium
  nodejs
  lintian fakeroot dpkg-dev systemd
  prometheus
  openssh-client
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm ships inside some nodejs builds; Debian's own nodejs needs the npm package
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# the tests need only promtool from the prometheus package: a server it starts on
# install (on a host booted with systemd) is not ours to leave running
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
fi
