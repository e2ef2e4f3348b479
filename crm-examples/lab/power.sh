#!/bin/bash
# power.sh - the power feed of lab node N: what a BMC's chassis control or a PDU outlet does to it.
#
# Usage: power.sh off|on|status N
#
#   off     power loss: SIGKILL to the node's init (by recorded PID, start time checked) takes
#           corosync, pacemaker, the agents and the node's mounts with it; its links go down
#           and lose their addresses (the network namespace itself stays); the node's DRBD
#           runtime state (role, connection) is cleared as a powered-off kernel loses it, so the
#           peer's DRBD sees the peer gone. Returns once the init is gone.
#   on      after LAB_BOOT_DELAY seconds (default 15, see below) brings its links back up with
#           their base addresses and boots the node again (node-start.sh N, not waiting for a
#           DC) unless it runs; it
#           rejoins the cluster with the CIB it had.
#   status  prints "on" or "off".
#
# The BMC simulators (bmc-sim.sh) and the PDU simulator call this from their power hooks, the
# lab's power-loss scenario calls it directly. Environment: LAB_DIR, LAB_PREFIX as for every lab
# script (the hooks carry them). Log: $LAB_DIR/logs/power.log.
. "$(dirname "$0")/lab-common.sh"
action=${1:-}
N=${2:-}
case $action/$N in off/[12]|on/[12]|boot/[12]|status/[12]) ;; *) lab_die "usage: power.sh off|on|status N" ;; esac
log() { echo "$(date +%T.%N) node$N $*" >> "$LAB_DIR/logs/power.log"; }

# A server takes a while to boot; the lab's nodes would be back in two seconds and rejoin before
# the survivor has taken over, which no real cluster sees. "on" therefore boots the node after
# LAB_BOOT_DELAY seconds (default 15; 0 = at once), in the background (the BMC simulator waits
# for its hook), recorded as bootN so lab-down.sh stops a pending boot.
if [ "$action" = on ] && [ "${LAB_BOOT_DELAY:-15}" != 0 ]; then
    lab_signal "boot$N" KILL
    log "power on: booting in ${LAB_BOOT_DELAY:-15} s"
    setsid "$0" boot "$N" < /dev/null > /dev/null 2>&1 9>&- &
    lab_record_pid "boot$N" $!
    exit 0
fi
if [ "$action" = boot ]; then
    sleep "${LAB_BOOT_DELAY:-15}"
    action=on
fi
# One switch per node: an off and an on that come in together (a PDU's reboot runs both hooks
# detached) are applied one after the other, never interleaved.
# The node started below must not inherit the lock (fd 9), or it would hold it for its life.
exec 9> "$LAB_DIR/power-node$N.lock"
flock -w 60 9 || lab_die "power.sh: node$N's switch is busy"
# power off cancels a pending boot
[ "$action" != off ] || lab_signal "boot$N" KILL

case $action in
status)
    if lab_pid "node$N" > /dev/null 2>&1; then echo on; else echo off; fi
    ;;
off)
    log "power off"
    if pid=$(lab_pid "node$N" 2>/dev/null); then
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            { lab_pid "node$N" > /dev/null 2>&1 && ! lab_zombie "$pid"; } || break
            sleep 0.05
        done
        log "killed init $pid"
    fi
    # The node's network namespace outlives its init: take its links down and forget their
    # addresses (a service address it held must not keep answering). Loopback stays: the
    # other node's BMC simulator lives there.
    ns=$(lab_node_ns "$N")
    for dev in ring0 ring1 svc mgmt; do
        ip -n "$ns" link set "$dev" down 2> /dev/null || true
        ip -n "$ns" addr flush dev "$dev" 2> /dev/null || true
    done
    if [ -d "$LAB_DIR/drbd/node$N" ] && [ -x "$LAB_DIR/stage/bin/drbd-sim" ]; then
        DRBD_SIM_DIR=$LAB_DIR/drbd/node$N "$LAB_DIR/stage/bin/drbd-sim" ctl up=no net=no role=Secondary
    fi
    ;;
on)
    if lab_pid "node$N" > /dev/null 2>&1; then
        log "power on: already running"
        exit 0
    fi
    log "power on"
    # links come back with the node's configured addresses (netns-up.sh's layout)
    ns=$(lab_node_ns "$N")
    for dev_net in "ring0 $LAB_NET" "ring1 $LAB_NET1" "svc $LAB_SVC_NET" "mgmt $LAB_MGMT_NET"; do
        read -r dev net <<< "$dev_net"
        ip -n "$ns" link show "$dev" > /dev/null 2>&1 || continue
        ip -n "$ns" addr replace "$net.$N/24" dev "$dev"
        ip -n "$ns" link set "$dev" up
    done
    LAB_DC_TIMEOUT=0 "$LAB_SCRIPTS/node-start.sh" "$N" >> "$LAB_DIR/logs/power.log" 2>&1 9>&- ||
        log "node-start failed"
    ;;
esac
exit 0
