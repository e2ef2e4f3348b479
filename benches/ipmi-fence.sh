#!/bin/bash
# ipmi-fence.sh - fence_bulwark_ipmi versus fence_ipmilan --lanplus --cipher=3 against the same
# OpenIPMI ipmi_sim on loopback, alternating in one run: status, reboot with each agent's
# default timing, metadata; prints medians, ratios and peak RSS, and checks in the simulator's
# hook log that every reboot (of either agent) read power off back before switching on.
# Targets: status >= 10x faster, metadata >= 30x faster, reboot <= 1 s, peak RSS <= 5 MiB;
# start-up (validate-all: argv parsed and checked, no device) reported beside them.
# Then the same status and reboot pairs against pyghmi's BMC server (a second implementation
# we did not write; suite 3 only, so ours negotiates automatically and fence_ipmilan gets
# --cipher=3), in a venv built by tests/fixtures/ipmi/pyghmi-venv.sh under target/tmp.
# Usage:  benches/ipmi-fence.sh          (ipmi_sim, ipmitool and fence-agents installed)
#         PYGHMI=0 benches/ipmi-fence.sh (skip the pyghmi half, e.g. without PyPI)
# Neither agent gets the password in its argv (hyperfine -N gives no stdin): ours reads a 0600
# file (--password-file), fence_ipmilan runs a script (-S) -- and then, being fence_ipmilan,
# hands the password to ipmitool as `-P <password>` anyway.
. "$(dirname "$0")/common.sh"
BIN=$(bench_build)
STOCK=/usr/sbin/fence_ipmilan
[ -x "$STOCK" ] || { echo "fence_ipmilan not installed (fence-agents)" >&2; exit 1; }
command -v ipmi_sim > /dev/null || { echo "ipmi_sim not installed (openipmi)" >&2; exit 1; }
STATE=$(mktemp -d /tmp/bwbench-ipmi.XXXXXX)
SIM_PID=
PYGHMI_PID=
cleanup() {
    local rc=$?
    # wait returns the killed simulator's 143; that must not become the script's status.
    local pid
    for pid in $SIM_PID $PYGHMI_PID; do
        kill "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    rm -rf "$STATE"
    exit "$rc"
}
trap cleanup EXIT
PORT=$((20000 + $$ % 20000))
PASSWORD=bench-$$
HOOK=$BENCH_ROOT/crm-examples/lab/sim/ipmi-chassis.sh
AUTHS="none md2 md5 straight"
mkdir -p "$STATE/sim"
echo 1 > "$STATE/power"
umask 077
cat > "$STATE/lan.conf" << EOF
name "bench"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $PORT
    priv_limit admin
    allowed_auths_callback $AUTHS
    allowed_auths_user $AUTHS
    allowed_auths_operator $AUTHS
    allowed_auths_admin $AUTHS
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "$HOOK $STATE 0x20"
  user 2 true "admin" "$PASSWORD" admin 10 $AUTHS
EOF
cat > "$STATE/bmc.emu" << 'EOF'
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
EOF
printf '%s\n' "$PASSWORD" > "$STATE/pw"
printf '#!/bin/sh\ncat %s\n' "$STATE/pw" > "$STATE/pw.sh"
chmod 700 "$STATE/pw.sh"
ipmi_sim -c "$STATE/lan.conf" -f "$STATE/bmc.emu" -s "$STATE/sim" -n > "$STATE/ipmi_sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 50); do
    IPMI_PASSWORD=$PASSWORD ipmitool -E -I lanplus -C 3 -H 127.0.0.1 -p "$PORT" -U admin \
        -N 1 -R 1 chassis power status > /dev/null 2>&1 && break
    sleep 0.2
done

ours=("$BIN/fence_bulwark_ipmi" -a 127.0.0.1 -u "$PORT" -l admin --password-file="$STATE/pw")
stock=("$STOCK" --lanplus --cipher=3 -a 127.0.0.1 -u "$PORT" -l admin -S "$STATE/pw.sh")
"${ours[@]}" -o status > /dev/null || { echo "fence_bulwark_ipmi status failed" >&2; exit 1; }
"${stock[@]}" -o status > /dev/null || { echo "fence_ipmilan status failed" >&2; exit 1; }

echo "status (on), $ROUNDS alternating rounds x $RUNS runs:"
bench_pair fence_bulwark_ipmi fence_ipmilan -- "${ours[@]}" -o status -- "${stock[@]}" -o status
echo "metadata, $ROUNDS alternating rounds x $RUNS runs:"
bench_pair fence_bulwark_ipmi fence_ipmilan -- "${ours[@]}" -o metadata -- "${stock[@]}" -o metadata
# Start-up alone: the command line parsed (clap, from the declaration) and every parameter
# validated, no device contacted.
echo "start-up (validate-all from the command line), $ROUNDS alternating rounds x $RUNS runs:"
bench_pair fence_bulwark_ipmi fence_ipmilan -- "${ours[@]}" -o validate-all -- "${stock[@]}" -o validate-all
# A reboot ends with power on again, so every run starts from the same state. Defaults: ours
# polls (power_wait 0), fence_ipmilan sleeps power_wait=2 after off and after on.
: "${REBOOT_ROUNDS:=2}" "${REBOOT_RUNS:=3}"
echo "reboot with default timing, $REBOOT_ROUNDS alternating rounds x $REBOOT_RUNS runs:"
: > "$STATE/calls.log"
ROUNDS=$REBOOT_ROUNDS RUNS=$REBOOT_RUNS bench_pair fence_bulwark_ipmi fence_ipmilan -- \
    "${ours[@]}" -o reboot -- "${stock[@]}" -o reboot
# Every "set power 1" must follow a "set power 0" and a "get power" after it.
awk '/set power 0/ { off = 1; seen = 0; next }
     /get power/   { if (off) seen = 1; next }
     /set power 1/ { n++; if (!(off && seen)) bad++; off = 0 }
     END { printf "  reboots in the hook log: %d, power on without a reading after off: %d\n", n, bad
           exit bad > 0 }' "$STATE/calls.log" || { echo "ORDER VIOLATION" >&2; exit 1; }
peak_rss "fence_bulwark_ipmi status" "${ours[@]}" -o status
peak_rss "fence_ipmilan status" "${stock[@]}" -o status
peak_rss "fence_bulwark_ipmi reboot" "${ours[@]}" -o reboot
peak_rss "fence_ipmilan reboot" "${stock[@]}" -o reboot
peak_rss "fence_bulwark_ipmi metadata" "${ours[@]}" -o metadata
peak_rss "fence_ipmilan metadata" "${stock[@]}" -o metadata
peak_rss "fence_bulwark_ipmi validate-all" "${ours[@]}" -o validate-all

[ "${PYGHMI:-1}" = 0 ] && exit 0
echo
echo "pyghmi BMC (pyghmi.ipmi.bmc, suite 3):"
PY=$("$BENCH_ROOT/tests/fixtures/ipmi/pyghmi-venv.sh" "$BENCH_ROOT/target/tmp")
PYPORT=$((PORT + 1))
mkdir -p "$STATE/pyghmi"
exec 3< <(printf 'admin\n%s\n' "$PASSWORD")
"$PY" "$BENCH_ROOT/tests/fixtures/ipmi/pyghmi_bmc.py" "$PYPORT" "$STATE/pyghmi" <&3 \
    > "$STATE/pyghmi.out" 2> "$STATE/pyghmi.log" &
PYGHMI_PID=$!
exec 3<&-
for _ in $(seq 50); do grep -q ready "$STATE/pyghmi.out" 2> /dev/null && break; sleep 0.2; done
pours=("$BIN/fence_bulwark_ipmi" -a 127.0.0.1 -u "$PYPORT" -l admin --password-file="$STATE/pw")
pstock=("$STOCK" --lanplus --cipher=3 -a 127.0.0.1 -u "$PYPORT" -l admin -S "$STATE/pw.sh")
"${pours[@]}" -o status > /dev/null || { echo "fence_bulwark_ipmi status on pyghmi failed" >&2; exit 1; }
"${pstock[@]}" -o status > /dev/null || { echo "fence_ipmilan status on pyghmi failed" >&2; exit 1; }
echo "status (on), $ROUNDS alternating rounds x $RUNS runs:"
bench_pair fence_bulwark_ipmi fence_ipmilan -- "${pours[@]}" -o status -- "${pstock[@]}" -o status
echo "reboot with default timing, $REBOOT_ROUNDS alternating rounds x $REBOOT_RUNS runs:"
: > "$STATE/pyghmi/events"
ROUNDS=$REBOOT_ROUNDS RUNS=$REBOOT_RUNS bench_pair fence_bulwark_ipmi fence_ipmilan -- \
    "${pours[@]}" -o reboot -- "${pstock[@]}" -o reboot
awk '/^set off/ { off = 1; seen = 0; next }
     /^get off/ { if (off) seen = 1; next }
     /^set on/  { n++; if (!(off && seen)) bad++; off = 0 }
     END { printf "  reboots in the pyghmi event log: %d, power on without an OFF reading after off: %d\n", n, bad
           exit bad > 0 }' "$STATE/pyghmi/events" || { echo "ORDER VIOLATION" >&2; exit 1; }
