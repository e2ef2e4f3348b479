#!/bin/bash
# pdu-fence.sh - fence_bulwark_pdu versus fence_apc_snmp against the same simulated APC rPDU
# (snmpd + pdu-handler.py on loopback, SNMP v2c), alternating in one run: status, reboot with
# default timing, list; prints medians, ratios and peak RSS.
# Targets: status >= 10x faster, peak RSS <= 5 MiB.      Usage (root):  benches/pdu-fence.sh
# Options go on the command line here (hyperfine -N gives no stdin): fence_bulwark_pdu takes the
# community from a 0600 file (it refuses secrets in argv); fence_apc_snmp gets -c, as it would
# pass it on to snmpget anyway.
. "$(dirname "$0")/common.sh"
BIN=$(bench_build)
STOCK=/usr/sbin/fence_apc_snmp
[ -x "$STOCK" ] || { echo "fence_apc_snmp not installed (fence-agents)" >&2; exit 1; }
STATE=$(mktemp -d /tmp/bwbench-pdu.XXXXXX)
PORT=$((20000 + $$ % 20000))
SIM=$BENCH_ROOT/crm-examples/lab/sim/pdu-sim.sh
trap '"$SIM" stop "$STATE/sim"; rm -rf "$STATE"' EXIT
COMMUNITY=bench-$$
PDU_COMMUNITY=$COMMUNITY PDU_OUTLET_NAMES=node1,node2 "$SIM" start "$STATE/sim" "$PORT" apc-rpdu > /dev/null
umask 077
printf '%s\n' "$COMMUNITY" > "$STATE/community"

ours=("$BIN/fence_bulwark_pdu" -a 127.0.0.1 -u "$PORT" --password-file="$STATE/community")
stock=("$STOCK" -a 127.0.0.1 -u "$PORT" -d 2c -c "$COMMUNITY")
"${ours[@]}" -n 1 -o status > /dev/null || { echo "fence_bulwark_pdu status failed" >&2; exit 1; }
"${stock[@]}" -n 1 -o status > /dev/null || { echo "fence_apc_snmp status failed" >&2; exit 1; }

echo "status of outlet 1 (on), $ROUNDS alternating rounds x $RUNS runs:"
bench_pair fence_bulwark_pdu fence_apc_snmp -- "${ours[@]}" -n 1 -o status -- "${stock[@]}" -n 1 -o status
echo "list (8 outlets), $ROUNDS alternating rounds x $RUNS runs:"
bench_pair fence_bulwark_pdu fence_apc_snmp -- "${ours[@]}" -o list -- "${stock[@]}" -o list
# A reboot ends with the outlet on again, so every run starts from the same state.
: "${REBOOT_ROUNDS:=2}" "${REBOOT_RUNS:=3}"
echo "reboot of outlet 2 with default timing, $REBOOT_ROUNDS alternating rounds x $REBOOT_RUNS runs:"
ROUNDS=$REBOOT_ROUNDS RUNS=$REBOOT_RUNS bench_pair fence_bulwark_pdu fence_apc_snmp -- \
    "${ours[@]}" -n 2 -o reboot -- "${stock[@]}" -n 2 -o reboot
peak_rss "fence_bulwark_pdu status" "${ours[@]}" -n 1 -o status
peak_rss "fence_apc_snmp status" "${stock[@]}" -n 1 -o status
peak_rss "fence_bulwark_pdu reboot" "${ours[@]}" -n 2 -o reboot
peak_rss "fence_apc_snmp reboot" "${stock[@]}" -n 2 -o reboot
