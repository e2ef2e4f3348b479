#!/bin/bash
# vminit.sh - PID 1 of each lab VM (installed as /sbin/vminit by build-image.sh).
#
# Kernel command line (set by run2.sh):
#   node=NAME            host name (nodea / nodeb)
#   ring0=ADDR/NN        cluster link address, on the NIC whose MAC starts 52:54:00:77
#   repl=ADDR/NN         DRBD replication link address, on the NIC whose MAC starts 52:54:00:78
#   vmtimeout=SECONDS    the scenario is killed after this long (default 240)
# Mounts the payload disk (/dev/vdc, read-only) on /payload and runs /payload/scenario.sh.
# The console (ttyS0) gets the kernel's and the scenario's chatter; the second serial port
# (ttyS1) only gets result lines, which the scenario writes itself, so no kernel message can
# split one. Ends with an immediate power-off (nothing here needs a clean shutdown: the root disk
# is a throwaway snapshot).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
# libqb (corosync, Pacemaker IPC) needs /dev/shm
mkdir -p /run/lock /var/lib/drbd /dev/shm /dev/pts /payload
mount -t tmpfs tmpfs /dev/shm; mount -t devpts devpts /dev/pts
NODE=vm RING0='' REPL='' VMTIMEOUT=240
for a in $(cat /proc/cmdline); do
  case $a in
    node=*) NODE=${a#node=} ;;
    ring0=*) RING0=${a#ring0=} ;;
    repl=*) REPL=${a#repl=} ;;
    vmtimeout=*) VMTIMEOUT=${a#vmtimeout=} ;;
  esac
done
export NODE
hostname "$NODE"
report() { echo "BULWARK-RESULT $NODE $*" > /dev/ttyS1; echo "BULWARK-RESULT $NODE $*"; }
poweroff_now() { sync; echo o > /proc/sysrq-trigger; sleep 10; }

modprobe virtio_net
for d in /sys/class/net/*; do
  case $(cat "$d/address") in
    52:54:00:77:*) ip link set "${d##*/}" name ring0 ;;
    52:54:00:78:*) ip link set "${d##*/}" name repl ;;
  esac
done
ip link set lo up
ip addr add "$RING0" dev ring0 && ip link set ring0 up || report "vminit-error=ring0"
ip addr add "$REPL" dev repl && ip link set repl up || report "vminit-error=repl"
modprobe drbd || report "vminit-error=modprobe-drbd"

if ! mount -o ro /dev/vdc /payload || [ ! -f /payload/scenario.sh ]; then
  report "vminit-error=no-payload"
  poweroff_now
fi
report "booted uptime=$(cut -d' ' -f1 /proc/uptime)"
timeout -k 5 "$VMTIMEOUT" bash /payload/scenario.sh
report "scenario-exit=$? uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff_now
