#!/bin/bash
# pkg-install.sh - install a .deb with dpkg inside the calling process's PRIVATE mount namespace.
#
# Usage: pkg-install.sh DEB [SCRATCH]
#
# Lays an overlay with a tmpfs upper layer over each directory dpkg writes to (/usr, /var/lib/dpkg,
# /var/cache/man), then runs `dpkg -i DEB` as an admin would. The host
# never sees the installed files: they live in the tmpfs and vanish with the namespace. Refuses to
# run in the host's mount namespace (compares with PID 1's), so it cannot change the machine.
# SCRATCH (default /run/bulwark-pkg) is where the tmpfs goes; it must not be under an overlaid path.
#
# Used by the lab's nodes (node.sh, when stage-agents.sh staged a package: the path a deployment
# takes) and by tests/package_deb.rs. dpkg's output goes to stderr; exit status is dpkg's.
set -eu
deb=${1:?usage: pkg-install.sh DEB [SCRATCH]}
scratch=${2:-/run/bulwark-pkg}
[ -f "$deb" ] || { echo "pkg-install: no package file $deb" >&2; exit 2; }
if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ] && [ "$$" != 1 ]; then
    echo "pkg-install: refusing to install into the host's mount namespace (run under unshare -m)" >&2
    exit 2
fi
mkdir -p "$scratch"
mount -t tmpfs -o mode=0755 bulwark-pkg "$scratch"
# /usr: every path the package installs; /var/lib/dpkg: its database; /var/cache/man: man-db's
# trigger. dpkg's own log goes to the scratch tmpfs (--log), not the host's /var/log.
for dir in /usr /var/lib/dpkg /var/cache/man /var/cache/debconf; do
    [ -d "$dir" ] || continue
    key=$(echo "$dir" | tr / _)
    mkdir -p "$scratch/up$key" "$scratch/work$key"
    mount -t overlay overlay -o "lowerdir=$dir,upperdir=$scratch/up$key,workdir=$scratch/work$key" "$dir"
done
exec dpkg --log="$scratch/dpkg.log" -i "$deb" 1>&2
