#!/bin/bash
# vip-monitor.sh - `vip monitor` versus IPaddr2 `monitor` on the same address, in the same
# throwaway network namespace, alternating; prints medians, the ratio and peak RSS.
# Target: vip ≥ 20x faster, peak RSS ≤ 5 MiB.      Usage (root):  benches/vip-monitor.sh
. "$(dirname "$0")/common.sh"
BIN=$(bench_build)
NS=bwbench$$
ip netns add "$NS"
trap 'ip netns delete "$NS"' EXIT
ip -n "$NS" link set lo up
ip -n "$NS" link add va type veth peer name vb
ip -n "$NS" link set va up; ip -n "$NS" link set vb up
export OCF_ROOT=/usr/lib/ocf OCF_RESKEY_ip=10.97.0.10 OCF_RESKEY_cidr_netmask=24 OCF_RESKEY_nic=va
export OCF_RESKEY_CRM_meta_interval=10000 OCF_RESKEY_CRM_meta_timeout=20000 OCF_RESOURCE_INSTANCE=bench
ip netns exec "$NS" "$BIN/vip" start
IPADDR2=/usr/lib/ocf/resource.d/heartbeat/IPaddr2
ip netns exec "$NS" "$BIN/vip" monitor || { echo "vip monitor failed" >&2; exit 1; }
ip netns exec "$NS" "$IPADDR2" monitor || { echo "IPaddr2 monitor failed" >&2; exit 1; }
echo "monitor of 10.97.0.10/24 on va (running), $ROUNDS alternating rounds x $RUNS runs:"
# hyperfine runs inside the namespace so `ip netns exec` is not part of either measurement.
ip netns exec "$NS" bash -c ". '$BENCH_ROOT/benches/common.sh'; bench_pair vip IPaddr2 -- '$BIN/vip' monitor -- '$IPADDR2' monitor"
ip netns exec "$NS" bash -c ". '$BENCH_ROOT/benches/common.sh'; peak_rss vip '$BIN/vip' monitor; peak_rss IPaddr2 '$IPADDR2' monitor"
ip netns exec "$NS" "$BIN/vip" stop
