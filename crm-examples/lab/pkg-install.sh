#!/bin/bash
# pkg-install.sh - install a .deb with dpkg where only one mount namespace sees it.
#
# Usage: pkg-install.sh DEB [-- COMMAND [ARG...]]
#        pkg-install.sh --in-this-namespace DEB
#
# Lays an overlay with a tmpfs upper layer over each directory dpkg writes to (/usr, /var/lib/dpkg,
# /var/cache/man), then runs `dpkg -i DEB` as an admin would. The installed files live in the
# tmpfs and vanish with the namespace.
#
# The first form makes that namespace itself (unshare -m --propagation private), installs, and
# runs COMMAND in it (e.g. a shell, to try the package by hand); the machine is not changed.
# The second form installs into the CALLER's mount namespace, which the caller vouches is private
# and disposable: a lab node's (node.sh). Nothing here can tell a private namespace from the
# host's reliably (a container's PID 1 may live in yet another one), so it is never guessed.
# dpkg's output goes to stderr and its log to the tmpfs; exit status is dpkg's (or COMMAND's).
# BULWARK_PKG_SCRATCH (default /run/bulwark-pkg) is where the tmpfs is mounted.
set -eu
if [ "${1:-}" != --in-this-namespace ]; then
    [ $# -ge 1 ] || { echo "usage: pkg-install.sh DEB [-- COMMAND [ARG...]]" >&2; exit 2; }
    exec unshare -m --propagation private -- "$0" --in-this-namespace "$@"
fi
shift
deb=${1:?usage: pkg-install.sh --in-this-namespace DEB}
shift
[ "${1:-}" != -- ] || shift
scratch=${BULWARK_PKG_SCRATCH:-/run/bulwark-pkg}
[ -f "$deb" ] || { echo "pkg-install: no package file $deb" >&2; exit 2; }
mkdir -p "$scratch"
mount -t tmpfs -o mode=0755 bulwark-pkg "$scratch"
for dir in /usr /var/lib/dpkg /var/cache/man; do
    [ -d "$dir" ] || continue
    key=$(echo "$dir" | tr / _)
    mkdir -p "$scratch/up$key" "$scratch/work$key"
    mount -t overlay overlay -o "lowerdir=$dir,upperdir=$scratch/up$key,workdir=$scratch/work$key" "$dir"
done
dpkg --log="$scratch/dpkg.log" -i "$deb" 1>&2
[ $# -eq 0 ] || exec "$@"
