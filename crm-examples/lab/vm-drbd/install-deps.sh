#!/bin/bash
# install-deps.sh - host side of the two-VM DRBD lab: qemu (software emulation) and Debian's
# own kernel, which carries the in-tree DRBD 8.4 module.
#
# Usage (as root):  install-deps.sh
# Environment:      VM_CACHE  cache directory (default /var/cache/bulwark/vm-drbd)
# Prints nothing on success but the tool directory: $VM_CACHE/tools
#
# What it does, idempotently:
#  1. apt-get install the runtime libraries and firmware qemu-system-x86 declares, plus the
#     image build tools (debootstrap, busybox-static, cpio, e2fsprogs, kmod). qemu itself is
#     NOT installed through apt: on the build machines a backported qemu-utils blocks
#     `apt-get install qemu-system-x86`, so the packages are downloaded and unpacked with
#     dpkg-deb -x into $VM_CACHE/tools/qemu (the host's package state is left alone).
#  2. apt-get download the kernel package linux-image-amd64 depends on and unpack it into
#     $VM_CACHE/tools/kernel.
# Each unpacked package is recorded by name and version in $VM_CACHE/tools/*.version, so a newer
# candidate is unpacked again and an unchanged one is not.
set -euo pipefail
: "${VM_CACHE:=/var/cache/bulwark/vm-drbd}"
T=$VM_CACHE/tools
mkdir -p "$T"
export DEBIAN_FRONTEND=noninteractive

apt_updated=
apt_update() { [ -n "$apt_updated" ] || { apt-get update -q >/dev/null; apt_updated=1; }; }
QEMU_PACKAGES=(qemu-system-x86 qemu-system-common qemu-system-data)
# qemu's own dependencies (libraries, seabios, ipxe), as the packages declare them
qemu_deps() {
  apt-cache depends --no-recommends --no-suggests "${QEMU_PACKAGES[@]}" 2>/dev/null \
    | awk '$1 ~ /^\|?(Pre)?Depends:$/ && $2 !~ /^</ && $2 !~ /^qemu-/ {print $2}' | sort -u
}
deps=$(qemu_deps)
[ -n "$deps" ] || { apt_update; deps=$(qemu_deps); }
[ -n "$deps" ] || { echo "vm-drbd: apt knows no qemu-system-x86" >&2; exit 1; }
# shellcheck disable=SC2206
HOST_PACKAGES=($deps busybox-static cpio e2fsprogs kmod debootstrap)
missing=()
for p in "${HOST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "vm-drbd: installing ${missing[*]}" >&2
  apt_update
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# candidate version of a package (empty when apt knows none)
candidate() { apt-cache policy "$1" | awk '/Candidate:/ {print $2}'; }

# unpack PKG... into DIR unless DIR/.version already names the same package versions
unpack() {
  local dir=$1; shift
  local want="" p v
  for p in "$@"; do
    v=$(candidate "$p")
    if [ -z "$v" ] || [ "$v" = "(none)" ]; then apt_update; v=$(candidate "$p"); fi
    [ -n "$v" ] && [ "$v" != "(none)" ] || { echo "vm-drbd: apt knows no package $p" >&2; exit 1; }
    want+="$p=$v "
  done
  if [ -f "$dir/.version" ] && [ "$(cat "$dir/.version")" = "$want" ]; then return 0; fi
  local dl
  dl=$(mktemp -d "$T/dl.XXXXXX")
  (cd "$dl" && apt-get download -q -o APT::Sandbox::User=root $want >&2) || { rm -rf "$dl"; exit 1; }
  rm -rf "$dir.new" && mkdir -p "$dir.new"
  for deb in "$dl"/*.deb; do dpkg-deb -x "$deb" "$dir.new"; done
  echo "$want" > "$dir.new/.version"
  rm -rf "$dir" "$dl" && mv "$dir.new" "$dir"
}

unpack "$T/qemu" "${QEMU_PACKAGES[@]}"
kernel_pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kernel_pkg" ]; then apt_update; kernel_pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'); fi
[ -n "$kernel_pkg" ] || { echo "vm-drbd: cannot tell which kernel linux-image-amd64 depends on" >&2; exit 1; }
unpack "$T/kernel" "$kernel_pkg"

"$T/qemu/usr/bin/qemu-system-x86_64" --version >/dev/null || {
  echo "vm-drbd: the unpacked qemu does not run; missing libraries:" >&2
  ldd "$T/qemu/usr/bin/qemu-system-x86_64" | grep 'not found' >&2
  exit 1
}
ls "$T"/kernel/lib/modules/*/kernel/drivers/block/drbd/drbd.ko >/dev/null
echo "$T"
