#!/usr/bin/env bash
# Builds the single-host release artifacts (docs/operations.md):
#   OUT/nullspace_VERSION_amd64.deb   the installed layout (cmake --install, prefix /usr),
#                                     man pages, copyright, the systemd unit, Depends
#   OUT/release.json                  the manifest: version, artifacts with sha256, store
#                                     schema and agent protocol versions, what it
#                                     upgrades from
# Usage: scripts/package.sh [OUT_DIR (default dist)] [BUILD_DIR (default: a fresh
# RelWithDebInfo build in a temporary directory)]. Needs dpkg-deb and fakeroot.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
out=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build=${2:-}
if [ -z "$build" ]; then
  build="$work/build"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target nullspaced nullspace nsagent nsshim nsstatx >/dev/null
fi
build=$(cd "$build" && pwd)

# what the binaries say of themselves: nullspaced 0.1.0 (store schema 3, agent protocol 2)
read -r _ version _ _ schema _ _ protocol < <("$build/nullspaced" --version | tr -d '(),')
arch=$(dpkg --print-architecture)
root="$work/root"
DESTDIR="$root" cmake --install "$build" --prefix /usr --strip >/dev/null
chmod 0755 "$root/usr/lib/nullspace/"*
chmod 0644 "$root/usr/lib/nullspace/"*.so # preloaded into machines, not run

# man pages from the programs' own help, so they say what the code does
man() { # NAME SECTION BINARY SUMMARY
  mkdir -p "$root/usr/share/man/man$2"
  {
    printf '.TH %s %s "%s" "nullspace %s"\n.SH NAME\n%s \\- %s\n.SH DESCRIPTION\n.nf\n' \
      "${1^^}" "$2" "$(date -u -d @"${SOURCE_DATE_EPOCH:-0}" +%Y-%m-%d)" "$version" "$1" "$4"
    "$3" --help 2>&1 | sed -e 's/\\/\\\\/g' -e 's/^\./\\\&./'
    printf '.fi\n.SH SEE ALSO\n/usr/share/doc/nullspace/\n'
  } | gzip -9n > "$root/usr/share/man/man$2/$1.$2.gz"
}
man nullspaced 8 "$root/usr/bin/nullspaced" "the Nullspace daemon: machines for AI agents"
man nullspace 1 "$root/usr/bin/nullspace" "the command-line client of the Nullspace daemon"

doc="$root/usr/share/doc/nullspace"
install -m 0644 packaging/copyright "$doc/copyright"
printf 'nullspace (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- Nullspace maintainers <maintainers@nullspace.invalid>  %s\n' \
  "$version" "$version" "$(date -u -R -d @"${SOURCE_DATE_EPOCH:-0}")" | gzip -9n > "$doc/changelog.gz"
find "$root" -type d -exec chmod 0755 {} +
find "$doc" "$root/usr/share/man" "$root/etc" "$root/lib/systemd" -type f -exec chmod 0644 {} +

# Depends: the shared libraries the binaries link (dpkg-shlibdeps) and the programs
# the daemon runs
mkdir -p "$work/shlibs/debian"
printf 'Source: nullspace\n\nPackage: nullspace\nArchitecture: any\n' > "$work/shlibs/debian/control"
libs=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$root/usr/bin/nullspaced" "$root/usr/bin/nullspace" \
  "$root/usr/lib/nullspace/nsshim" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
runs="runsc, iproute2, nftables, debootstrap, e2fsprogs, busybox-static, ca-certificates"
mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: nullspace
Version: $version
Architecture: $arch
Maintainer: Nullspace maintainers <maintainers@nullspace.invalid>
Installed-Size: $size
Depends: $libs, $runs
Recommends: qemu-system-x86, qemu-utils
Section: admin
Priority: optional
Homepage: https://nullspace.invalid/
Description: machines for AI agents on one self-hosted host
 Nullspace gives AI agents isolated Linux machines (gVisor sandboxes or QEMU
 virtual machines) that they create, run commands in, read and write files in,
 hibernate, resume, fork and snapshot, through an HTTP/WebSocket API, a CLI,
 SDKs and an MCP server. One daemon, one state directory.
CONTROL
echo /etc/nullspace/nullspaced.conf > "$root/DEBIAN/conffiles"
mkdir -p "$root/usr/share/lintian/overrides"
cat > "$root/usr/share/lintian/overrides/nullspace" <<'OVERRIDES'
# nsagent runs inside every machine, where no shared libraries of the host exist
nullspace: statically-linked-binary [usr/lib/nullspace/nsagent]
# PID 1 of the VM guest's initramfs (vm-assets.sh packs it with busybox), never run here
nullspace: unusual-interpreter /bin/busybox [usr/lib/nullspace/vm-init.sh]
OVERRIDES
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' |
  LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums" "$root/usr/share/lintian/overrides/nullspace"

deb="nullspace_${version}_${arch}.deb"
fakeroot dpkg-deb --root-owner-group -Zxz --build "$root" "$out/$deb" >/dev/null

sha=$(sha256sum "$out/$deb" | cut -d' ' -f1)
bytes=$(stat -c %s "$out/$deb")
cat > "$out/release.json" <<JSON
{
  "name": "nullspace",
  "version": "$version",
  "artifacts": [
    {"name": "$deb", "kind": "deb", "architecture": "$arch", "sha256": "$sha", "size_bytes": $bytes}
  ],
  "store_schema_version": $schema,
  "agent_protocol_version": $protocol,
  "upgrades_from": {
    "store_schema_versions": [$(seq -s ', ' 1 "$schema")],
    "note": "a state directory of any earlier schema is migrated in place at start; a newer one is refused (docs/operations.md)"
  }
}
JSON
echo "$out/$deb"
echo "$out/release.json"
