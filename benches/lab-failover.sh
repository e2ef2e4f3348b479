#!/bin/bash
# lab-failover.sh - the two-node lab's failover scenarios with Bulwark's agents versus the stock
# ones (ocf:linbit:drbd on the simulator, IPaddr2, ocf:heartbeat:anything, fence_ipmilan,
# fence_apc_snmp), alternating whole labs: ours, stock, ours, stock ... Not a test.
#
# Usage (root):  benches/lab-failover.sh [SCENARIO...]      (default: all five)
# Environment: ROUNDS (default 1) alternating rounds; LAB_BIN_DIR to skip the release build.
#
# For every scenario it prints the median time from fault to the SMTP banner on the VIP (seen
# from the client namespace) and the agents' share of it: the execution time pacemaker-execd
# logged for every resource operation (stop, demote, promote, notify, start ...) plus the fence
# agents' own time (request to result, minus the configured pcmk_delay_base), from both nodes'
# pacemaker.log. Target: ours <= stock in every scenario, agents' share <= 10%.
# A scenario the stock stack does not recover from within LAB_SETTLE_TIMEOUT (default 120 s)
# is reported as such (IPaddr2 does not watch the link, for instance).
: "${ROUNDS:=1}"   # before common.sh, whose default (5) is meant for quick commands
. "$(dirname "$0")/common.sh"
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(power corosync axigen link bmc)
[ "$(id -u)" = 0 ] || { echo "lab-failover.sh: run as root" >&2; exit 4; }
LAB=$BENCH_ROOT/crm-examples/lab/bulwark-lab
if [ -z "${LAB_BIN_DIR:-}" ]; then LAB_BIN_DIR=$(bench_build); fi
export LAB_BIN_DIR LAB_NO_INSTALL=1 LAB_SETTLE_TIMEOUT=${LAB_SETTLE_TIMEOUT:-120}
out=$(mktemp -d /tmp/bulwark-lab-bench.XXXXXX)
chmod 755 "$out"
current=
cleanup() { [ -z "$current" ] || LAB_DIR=$current "$LAB" down > /dev/null 2>&1 || true; }
trap cleanup EXIT

for r in $(seq "$ROUNDS"); do
    for agents in ours stock; do
        current=$out/$agents-$r
        export LAB_DIR=$current LAB_PREFIX=bb$$ LAB_AGENTS=$agents
        echo "round $r: $agents agents (lab in $LAB_DIR)"
        if ! "$LAB" up > "$out/$agents-$r.up.log" 2>&1; then
            echo "  up failed; see $out/$agents-$r.up.log"
            continue
        fi
        for sc in "${scenarios[@]}"; do
            if "$LAB" failover "$sc" > "$out/$agents-$r.$sc.log" 2>&1; then
                line=$(grep '^RESULT ' "$out/$agents-$r.$sc.log")
                echo "$line" >> "$out/results"
                echo "  $sc: $(sed 's/.* seconds=\([^ ]*\).* fenced_by=\([^ ]*\).*/\1 s, fenced by \2/' <<< "$line")"
            else
                echo "RESULT scenario=$sc agents=$agents failed=yes" >> "$out/results"
                echo "  $sc: not recovered ($(grep 'bulwark-lab:' "$out/$agents-$r.$sc.log" | tail -n 1))"
            fi
        done
        "$LAB" down > /dev/null 2>&1 || true
        current=
    done
done

echo
echo "fault to SMTP banner (median over $ROUNDS round(s)) and the agents' share of it:"
python3 - "$out/results" "${scenarios[@]}" <<'PY'
import statistics, sys
rows = []
for line in open(sys.argv[1]):
    kv = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
    rows.append(kv)
print(f"  {'scenario':<10} {'ours':>9} {'share':>7} {'stock':>9} {'share':>7}  ratio ours/stock")
for sc in sys.argv[2:]:
    cells = []
    med = {}
    for agents in ("ours", "stock"):
        rs = [r for r in rows if r.get("scenario") == sc and r.get("agents") == agents]
        ok = [r for r in rs if "seconds" in r]
        if not ok:
            cells += ["failed" if rs else "-", ""]
            continue
        secs = statistics.median(float(r["seconds"]) for r in ok)
        share = statistics.median(int(r["agents_ms"]) / 1000 / float(r["seconds"]) for r in ok)
        med[agents] = secs
        cells += [f"{secs:8.2f}s", f"{share:6.0%}"]
    ratio = f"{med['ours'] / med['stock']:.2f}" if len(med) == 2 else "-"
    print(f"  {sc:<10} {cells[0]:>9} {cells[1]:>7} {cells[2]:>9} {cells[3]:>7}  {ratio}")
PY
echo "(logs and RESULT lines in $out)"
