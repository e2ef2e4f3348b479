#!/bin/bash
# drbd-monitor.sh - `drbd monitor` (ocf:bulwark:drbd) versus LINBIT's `ocf:linbit:drbd` monitor
# on the same DRBD simulator state (connected Secondary, both UpToDate), alternating; prints
# the medians, the ratio and each peak RSS. Target: ≥ 10x faster, peak RSS ≤ 5 MiB.
# Usage (root):  benches/drbd-monitor.sh
#
# LINBIT's agent needs /proc/drbd to exist and `drbdadm sh-dev` to name a block device: the
# measurement runs in a private mount namespace whose /proc is a tmpfs holding a fake
# /proc/drbd (DRBD 9.2.2) next to links into the real procfs, and the simulator's device is
# a mknod'ed node. Both agents read that same /proc/drbd, the same simulator state, and a
# stand-in for the score tool (crm_master for LINBIT's, crm_attribute for ours) that answers
# "10000" to the query so neither writes. The simulator is a release build of drbd-sim.
. "$(dirname "$0")/common.sh"
(cd "$BENCH_ROOT" && cargo build --release -q --bin drbd && cargo build --release -q -p bulwark-test-doubles --bin drbd-sim)
BIN=$BENCH_ROOT/target/release
LINBIT=/usr/lib/ocf/resource.d/linbit/drbd
[ -x "$LINBIT" ] || { echo "needs drbd-utils' $LINBIT" >&2; exit 1; }
W=$(mktemp -d /tmp/bulwark-drbd-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/bin" "$W/sbin" "$W/node"
ln -s "$BIN/drbd-sim" "$W/bin/drbdadm"
ln -s "$BIN/drbd-sim" "$W/bin/drbdsetup"
for tool in "$W/bin/crm_attribute" "$W/sbin/crm_master"; do
    printf '#!/bin/sh\ncase "$*" in *-G*) echo 10000;; esac\nexit 0\n' > "$tool"
    chmod 755 "$tool"
done
mknod "$W/drbd0" b 147 0
echo 'resource r0 {}' > "$W/drbd.conf"
DRBD_SIM_DIR=$W/node "$BIN/drbd-sim" ctl "device=$W/drbd0"

export PATH="$W/bin:$PATH" DRBD_SIM_DIR="$W/node" HA_SBIN_DIR="$W/sbin"
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=mailstore OCF_RESKEY_crm_feature_set=3.16.2
export OCF_RESKEY_drbd_resource=r0 OCF_RESKEY_drbdconf="$W/drbd.conf"
export OCF_RESKEY_CRM_meta_interval=31000 OCF_RESKEY_CRM_meta_timeout=20000
export OCF_RESKEY_CRM_meta_clone_max=2 OCF_RESKEY_CRM_meta_clone_node_max=1 OCF_RESKEY_CRM_meta_notify=true
export OCF_RESKEY_CRM_meta_promoted_max=1 OCF_RESKEY_CRM_meta_promoted_node_max=1
export OCF_RESKEY_CRM_meta_master_max=1 OCF_RESKEY_CRM_meta_master_node_max=1
unset DRBD_SIM_PEER_DIR DRBD_SIM_VERSION BULWARK_PROC_DRBD BULWARK_DRBDADM BULWARK_DRBDSETUP

unshare -m bash -c '
set -euo pipefail
mount --make-rprivate /
mount -t tmpfs -o size=1m bulwark-proc /proc
mkdir /proc/.real
mount -t proc proc /proc/.real
for e in /proc/.real/*; do n=${e##*/}; case $n in [0-9]*) ;; *) ln -s ".real/$n" "/proc/$n";; esac; done
echo "version: 9.2.2 (api:2/proto:86-121)" > /proc/drbd
. "$1/benches/common.sh"
"$2/drbd" monitor || { echo "drbd monitor failed ($?)" >&2; exit 1; }
"$3" monitor || { echo "linbit drbd monitor failed ($?)" >&2; exit 1; }
echo "monitor of r0 (connected Secondary, UpToDate), $ROUNDS alternating rounds x $RUNS runs:"
bench_pair bulwark-drbd linbit-drbd -- "$2/drbd" monitor -- "$3" monitor
peak_rss bulwark-drbd "$2/drbd" monitor
peak_rss linbit-drbd "$3" monitor
' bench "$BENCH_ROOT" "$BIN" "$LINBIT"
