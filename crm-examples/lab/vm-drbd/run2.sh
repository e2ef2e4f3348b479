#!/bin/bash
# run2.sh - boots the two lab VMs (nodea, nodeb) on a payload, waits for both to power off,
# and leaves their serial output in the work directory.
#
# Usage (as root):  run2.sh WORKDIR
# Environment:
#   VM_IMAGE     image directory (default: whatever build-image.sh prints; builds it once)
#   VM_PAYLOAD   directory copied onto the payload disk (default: this directory's scenario.sh,
#                r0.res, corosync.conf, cib-drbd.xml and ocft/ configs, plus the agents below)
#   BULWARK_DRBD path of ocf:bulwark:drbd (target/*/drbd) to install in the VMs (with the
#                bulwark-drbd-(un)fence-peer handlers next to it, when built); without it the
#                cluster runs LINBIT's ocf:linbit:drbd (PROVIDER=linbit)
#   PROVIDER     bulwark | linbit: which agent the promotable clone uses (default: bulwark when
#                BULWARK_DRBD is set)
#   SCENARIO_ENV extra lines for the payload's env file (KEY=VALUE, one a line)
#   VM_TIMEOUT   seconds before both VMs are killed (default 300); the scenario inside gets
#                VM_TIMEOUT-20
#   VM_MEM       guest memory in MB (default 512)
# Writes to WORKDIR: node{a,b}.console (kernel + scenario chatter), node{a,b}.results (only
# "BULWARK-RESULT node key=value ..." lines and BEGIN/END blocks), node{a,b}.pid (qemu's own
# pid files), payload.img, drbd{a,b}.img (64 MB DRBD backing disks), wall (seconds).
# Exit status: 0 when both VMs powered off by themselves, 124 when they were killed at the time
# limit, 1 on a setup error. Every qemu is signalled by the PID it was started with, after
# checking its command line still names WORKDIR (never a recycled PID); an EXIT trap kills what
# is left on any failure.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=${1:?usage: run2.sh WORKDIR}
mkdir -p "$W"; W=$(cd "$W" && pwd)
: "${VM_TIMEOUT:=300}" "${VM_MEM:=512}"
IMG=${VM_IMAGE:-$("$HERE/build-image.sh")}
T=${VM_CACHE:-/var/cache/bulwark/vm-drbd}/tools
Q=$T/qemu/usr/bin/qemu-system-x86_64
[ -f "$IMG/complete" ] || { echo "run2: no complete image in $IMG" >&2; exit 1; }

# --- payload disk: scenario, configuration, agents, env
P=$W/payload
rm -rf "$P" && mkdir -p "$P/agents"
if [ -n "${VM_PAYLOAD:-}" ]; then cp -a "$VM_PAYLOAD"/. "$P/"; else
  cp "$HERE"/{scenario.sh,r0.res,corosync.conf,cib-drbd.xml} "$P/"; cp -r "$HERE/ocft" "$P/"; fi
if [ -n "${BULWARK_DRBD:-}" ]; then
  install -m 755 "$BULWARK_DRBD" "$P/agents/drbd"; : "${PROVIDER:=bulwark}"; fi
for h in fence-peer unfence-peer; do
  src=$(dirname "${BULWARK_DRBD:-/nonexistent/x}")/bulwark-drbd-$h
  if [ -n "${BULWARK_DRBD:-}" ] && [ -f "$src" ]; then install -m 755 "$src" "$P/agents/"; fi
done
: "${PROVIDER:=linbit}"
{ echo "PROVIDER=$PROVIDER"; echo "${SCENARIO_ENV:-}"; } > "$P/env"
# sized from its content (debug builds of the agent and both handlers are ~30 MB each), with
# room for ext4's own metadata; the file is sparse
mb=$(du -sm --apparent-size "$P" | cut -f1)
rm -f "$W/payload.img"; truncate -s "$((mb * 3 / 2 + 64))M" "$W/payload.img"
mkfs.ext4 -q -F -L payload -d "$P" "$W/payload.img"

for n in a b; do rm -f "$W/drbd$n.img" "$W/node$n".{console,results,pid}; truncate -s 64M "$W/drbd$n.img"; done

pids=()
# kill PID only while its command line still names this work directory
kill_ours() {
  local sig=$1 pid
  for pid in "${pids[@]}"; do
    [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF "$W/" && kill "-$sig" "$pid" 2>/dev/null || true
  done
}
alive() { local pid; for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done; return 1; }
cleanup() { kill_ours TERM; sleep 1; kill_ours KILL; }
trap cleanup EXIT
trap 'exit 130' INT TERM

boot() { # boot NAME N(1|2) NETROLE(server=on|server=off)
  local name=$1 n=$2 role=$3
  # The root disk is the cached image opened with snapshot=on: writes go to a throwaway overlay.
  # Two point-to-point links over unix stream sockets in WORKDIR (no TCP port to collide):
  # ring0 carries corosync, repl carries DRBD, so the replication link can be cut alone.
  "$Q" -name "bulwark-$name" -pidfile "$W/$name.pid" \
    -L /usr/share/seabios -L "$T/qemu/usr/share/qemu" -L /usr/lib/ipxe/qemu \
    -accel "${VM_ACCEL:-tcg,tb-size=256}" -smp 1 -m "$VM_MEM" -display none -no-reboot -nodefaults \
    -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
    -drive "file=$IMG/rootfs.img,if=virtio,format=raw,snapshot=on" \
    -drive "file=$W/drbd${name#node}.img,if=virtio,format=raw" \
    -drive "file=$W/payload.img,if=virtio,format=raw,readonly=on" \
    -netdev "stream,id=r0,$role,addr.type=unix,addr.path=$W/ring0.sock" \
    -device "virtio-net-pci,netdev=r0,romfile=,mac=52:54:00:77:00:0$n" \
    -netdev "stream,id=r1,$role,addr.type=unix,addr.path=$W/repl.sock" \
    -device "virtio-net-pci,netdev=r1,romfile=,mac=52:54:00:78:00:0$n" \
    -serial "file:$W/$name.console" -serial "file:$W/$name.results" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 node=$name ring0=192.168.77.$n/24 repl=192.168.78.$n/24 vmtimeout=$((VM_TIMEOUT - 20))" \
    > "$W/$name.qemu.log" 2>&1 &
  pids+=($!)
}
start=$(date +%s.%N)
rm -f "$W"/*.sock
boot nodea 1 server=on
for _ in $(seq 50); do [ -S "$W/ring0.sock" ] && [ -S "$W/repl.sock" ] && break; sleep 0.1; done
boot nodeb 2 server=off
echo "run2: qemu pids ${pids[*]} (work dir $W)" >&2

rc=0
deadline=$(( $(date +%s) + VM_TIMEOUT ))
while alive; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "run2: time limit of ${VM_TIMEOUT}s reached; killing the VMs" >&2
    rc=124; break
  fi
  sleep 0.5
done
cleanup
wait 2>/dev/null || true
awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f\n", e - s}' > "$W/wall"
for n in a b; do tr -d '\r' < "$W/node$n.results" > "$W/node$n.results.tmp" 2>/dev/null && mv "$W/node$n.results.tmp" "$W/node$n.results" || true; done
echo "run2: wall $(cat "$W/wall") s, exit $rc" >&2
exit $rc
