#!/bin/bash
# bmc-sim.sh - node N's simulated BMC (OpenIPMI ipmi_sim, IPMI 2.0 lanplus) for the two-node lab.
#
# Usage: bmc-sim.sh start N | stop N
#
# The BMC of node N listens on 127.0.0.1:623/udp inside the OTHER node's network namespace: the
# node that fences N reaches it on its own loopback, N itself cannot (a node never fences
# itself). ipmi_sim stays in the host's PID namespace, so its chassis hook (sim/ipmi-chassis.sh)
# outlives node N: power off runs `power.sh off N` (SIGKILL of N's init), power on runs
# `power.sh on N` (N boots and rejoins). State: $LAB_DIR/bmc/nodeN (power, calls.log,
# hooks.log, lan.conf mode 0600). Recorded as bmcN in $LAB_DIR/pids (stop: SIGTERM by record).
# Credentials: user "admin", password from $LAB_DIR/secrets/bmc.pass (created by bulwark-lab);
# it goes into the 0600 lan.conf, never into an argv. Readiness: ipmitool over lanplus.
. "$(dirname "$0")/lab-common.sh"
action=${1:-}
N=${2:-}
case $action/$N in start/[12]|stop/[12]) ;; *) lab_die "usage: bmc-sim.sh start|stop N" ;; esac
dir=$LAB_DIR/bmc/node$N
other=$((3 - N))

if [ "$action" = stop ]; then
    lab_signal "bmc$N" TERM
    for _ in $(seq 50); do lab_pid "bmc$N" > /dev/null 2>&1 || break; sleep 0.1; done
    lab_signal "bmc$N" KILL
    rm -f "$LAB_DIR/pids/bmc$N.pid"
    exit 0
fi

if lab_pid "bmc$N" > /dev/null 2>&1; then lab_die "bmc$N already runs"; fi
secret=$LAB_DIR/secrets/bmc.pass
[ -s "$secret" ] || lab_die "no $secret"
mkdir -p "$dir/sim"
chmod 700 "$dir"
[ -e "$dir/power" ] || echo 1 > "$dir/power"
cat > "$dir/bmc.emu" <<'EOF'
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
EOF
q() { printf '%q' "$1"; }
env_prefix="LAB_DIR=$(q "$LAB_DIR") LAB_PREFIX=$(q "$LAB_PREFIX")"
echo "$env_prefix $(q "$LAB_SCRIPTS/power.sh") off $N" > "$dir/off-hook"
echo "$env_prefix $(q "$LAB_SCRIPTS/power.sh") on $N" > "$dir/on-hook"
umask 077
auths="none md2 md5 straight"
{
    echo "name \"node$N-bmc\""
    echo "set_working_mc 0x20"
    echo "  startlan 1"
    echo "    addr 127.0.0.1 623"
    echo "    priv_limit admin"
    for who in callback user operator admin; do echo "    allowed_auths_$who $auths"; done
    echo "    guid a123456789abcdefa123456789abcde$N"
    echo "  endlan"
    echo "  chassis_control \"$LAB_SCRIPTS/sim/ipmi-chassis.sh $dir 0x20\""
    echo "  user 1 true \"\" \"test\" user 10 $auths"
    echo "  user 2 true \"admin\" \"$(head -n 1 "$secret")\" admin 10 $auths"
} > "$dir/lan.conf"
umask 022

ip netns exec "$(lab_node_ns "$other")" ipmi_sim -c "$dir/lan.conf" -f "$dir/bmc.emu" -s "$dir/sim" -n \
    > "$LAB_DIR/logs/bmc$N.out" 2>&1 < /dev/null &
lab_record_pid "bmc$N" $!
ready() {
    IPMI_PASSWORD=$(head -n 1 "$secret") ip netns exec "$(lab_node_ns "$other")" \
        ipmitool -I lanplus -C 3 -H 127.0.0.1 -p 623 -U admin -E -N 1 -R 1 chassis power status
}
lab_wait 15 ready || lab_die "bmc$N did not answer; see $LAB_DIR/logs/bmc$N.out"
echo "bmc$N up in $(lab_node_ns "$other") on 127.0.0.1:623"
