#!/bin/bash
# build-image.sh - builds (once) the boot image of the two-VM DRBD lab and prints its directory.
#
# Usage (as root):  build-image.sh          -> prints e.g. /var/cache/bulwark/vm-drbd/image-3f2a…
# Environment:      VM_CACHE   cache directory (default /var/cache/bulwark/vm-drbd)
#                   VM_MIRROR  Debian mirror for debootstrap (default: the host's apt source)
#                   VM_REBUILD=1 forces a rebuild
#
# The image is an operating system only: Debian bookworm (debootstrap minbase with DRBD's
# utilities, corosync, Pacemaker and the resource agents), Debian's kernel (its in-tree DRBD
# 8.4 module) and vminit.sh as PID 1. Everything a run varies (agents, configuration, the
# scenario) comes on a separate payload disk (run2.sh), so changing an agent never rebuilds
# the image. The image directory is named by a hash of every build input: the package list,
# suite and mirror, the kernel package version, this script and vminit.sh. A directory that
# exists and holds the `complete` stamp is reused as is; other image directories are removed.
# Concurrent callers serialise on $VM_CACHE/build.lock (held for install-deps.sh too).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
: "${VM_CACHE:=/var/cache/bulwark/vm-drbd}"
mkdir -p "$VM_CACHE"
# one builder at a time (install-deps.sh unpacks into the same tool directory)
exec 9>"$VM_CACHE/build.lock"
flock 9
T=$("$HERE/install-deps.sh")

SUITE=bookworm
# pacemaker-cli-utils must be named: debootstrap skips Recommends, and without it the agents
# have no crm_attribute. resource-agents brings ocf-shellfuncs, which LINBIT's agent sources, and
# ocft; ocft reaches its second host with `ssh root@IP` (openssh).
INCLUDE=drbd-utils,iproute2,kmod,pacemaker,pacemaker-cli-utils,corosync,resource-agents,procps,util-linux,e2fsprogs,openssh-server,openssh-client

host_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # one-line (deb URI suite ...) and deb822 (URIs: URI) forms; the main archive, not security
    grep -hoE '^(deb[[:space:]]+(\[[^]]*\][[:space:]]+)?|URIs:[[:space:]]*)[a-z]+://[^[:space:]]+/debian/?([[:space:]]|$)' "$f" \
      | grep -oE '[a-z]+://[^[:space:]]+' | head -1 && return 0
  done
  echo http://deb.debian.org/debian
}
: "${VM_MIRROR:=$(host_mirror | head -1)}"

KV=$(ls "$T/kernel/lib/modules")
key=$( { echo "$SUITE $INCLUDE $VM_MIRROR"; cat "$T/kernel/.version"; cat "$0" "$HERE/vminit.sh"; } | sha256sum | cut -c1-16)
IMG=$VM_CACHE/image-$key
if [ -f "$IMG/complete" ] && [ -z "${VM_REBUILD:-}" ]; then echo "$IMG"; exit 0; fi
started=$(date +%s)
for old in "$VM_CACHE"/image-*; do [ -e "$old" ] && rm -rf "$old"; done
W=$IMG.build
rm -rf "$W" && mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
R=$W/rootfs
echo "vm-drbd: debootstrap $SUITE from $VM_MIRROR" >&2
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$R" "$VM_MIRROR" > "$W/debootstrap.log" 2>&1 \
  || { tail -20 "$W/debootstrap.log" >&2; echo "vm-drbd: debootstrap failed" >&2; exit 1; }

# kernel modules, PID 1, and what makes a bare root usable
mkdir -p "$R/lib/modules" && cp -a "$T/kernel/lib/modules/$KV" "$R/lib/modules/"
# hardware a VM never has (≈ 210 of 390 MB); drbd, virtio and their dependencies stay
for d in sound drivers/gpu drivers/media drivers/net/wireless drivers/scsi drivers/usb \
         drivers/infiniband drivers/iio drivers/staging drivers/hid drivers/input drivers/bluetooth \
         net/wireless net/mac80211; do
  rm -rf "${R:?}/lib/modules/$KV/kernel/$d"
done
depmod -b "$R" "$KV"
install -m 755 "$HERE/vminit.sh" "$R/sbin/vminit"
echo drbd-vm > "$R/etc/hostname"
mkdir -p "$R/payload" "$R/usr/lib/ocf/resource.d/bulwark"
# ocft's remote-shell cases run `ssh root@IP` with no options: one lab key pair, trusted by both
# VMs (they boot the same image), and no host-key prompt on the lab's private links.
install -d -m 700 "$R/root/.ssh"
ssh-keygen -q -t ed25519 -N '' -C bulwark-vm-lab -f "$R/root/.ssh/id_ed25519"
cp "$R/root/.ssh/id_ed25519.pub" "$R/root/.ssh/authorized_keys"
printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n' > "$R/root/.ssh/config"
chroot "$R" ssh-keygen -A >/dev/null
# ocft's drbd.linbit says `InstallPackage drbd` (SUSE's name); each case runs `apt-get install
# drbd` on Debian, where the utilities are drbd-utils. An empty package `drbd` depending on
# drbd-utils makes that an "already installed" no-op instead of a failed install.
D=$W/drbd-deb
mkdir -p "$D/DEBIAN"
printf 'Package: drbd\nVersion: 1.0\nArchitecture: all\nDepends: drbd-utils\nMaintainer: Bulwark lab <lab@localhost>\nDescription: drbd-utils under the name ocft configs install\n' > "$D/DEBIAN/control"
dpkg-deb -b "$D" "$R/tmp/drbd.deb" >/dev/null
chroot "$R" dpkg -i /tmp/drbd.deb >/dev/null
rm -rf "$D" "$R/tmp/drbd.deb"
rm -rf "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/locale/* "$R"/var/cache/apt/archives/*.deb \
  "$R"/var/lib/apt/lists/*

# root disk (mkfs.ext4 -d: no loop mount needed); the VMs boot it with snapshot=on, read-only
truncate -s 1G "$W/rootfs.img"
mkfs.ext4 -q -F -L root -d "$R" "$W/rootfs.img"

# initramfs: busybox, the modules for virtio disks and ext4, then switch_root to /sbin/vminit
I=$W/initrd
mkdir -p "$I"/{bin,proc,sys,dev,newroot,lib/modules}
cp /bin/busybox "$I/bin/"
depmod -b "$T/kernel" "$KV"
for f in $(modprobe -d "$T/kernel" -S "$KV" --show-depends -a virtio_pci virtio_blk ext4 crc32c_generic \
           | awk '$1 == "insmod" {print $2}' | awk '!s[$0]++'); do
  cp "$f" "$I/lib/modules/"; basename "$f" .ko >> "$I/lib/modules/order"
done
[ -s "$I/lib/modules/order" ] || { echo "vm-drbd: no virtio/ext4 modules found for the initramfs" >&2; exit 1; }
cat > "$I/init" <<'EOI'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko || echo "insmod $m failed"; done
for i in $(seq 150); do [ -b /dev/vda ] && break; sleep 0.1; done
mount -t ext4 /dev/vda /newroot || { echo "BULWARK-VM root mount failed"; poweroff -f; }
umount /proc /sys; mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/vminit
EOI
chmod +x "$I/init"
(cd "$I" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$W/initrd.img"

cp "$T/kernel/boot/vmlinuz-$KV" "$W/vmlinuz"
echo "$KV" > "$W/kernel-version"
mv "$W/debootstrap.log" "$W/build.log"
rm -rf "$R" "$I"
mv "$W" "$IMG"
trap - EXIT
echo "built in $(( $(date +%s) - started )) s: $(du -sh --apparent-size "$IMG/rootfs.img" | cut -f1) apparent, $(du -sh "$IMG/rootfs.img" | cut -f1) used" > "$IMG/complete"
echo "vm-drbd: $(cat "$IMG/complete")" >&2
echo "$IMG"
