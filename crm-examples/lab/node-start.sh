#!/bin/bash
# node-start.sh - start lab node N (corosync + pacemaker) in netns ${LAB_PREFIX}nN.
#
# Usage: node-start.sh N
#
# Needs netns-up.sh and make-corosync-conf.sh first (and stage-agents.sh if the node should see
# Bulwark's agents). Runs node.sh as PID 1 of new mount, UTS and PID namespaces:
#   ip netns exec ${LAB_PREFIX}nN unshare -m -u -p -f --mount-proc --propagation private node.sh N
# and records the host PID of that init as "nodeN" in $LAB_DIR/pids (nodeexec.sh, lab-down.sh
# and fencing hooks address the node by it). Launch output: $LAB_DIR/logs/nodeN.launch.out
# ("unshare: sigprocmask unblock failed" there is harmless).
# Then waits until crm_mon inside the node names a DC: crm_mon answers before that, and a DC
# takes ~20 s (dc-deadtime). Environment: LAB_DC_TIMEOUT seconds (default 90); LAB_DC_TIMEOUT=0
# returns as soon as the init is recorded.
. "$(dirname "$0")/lab-common.sh"
N=${1:?usage: node-start.sh N}
: "${LAB_DC_TIMEOUT:=90}"
[ -s "$LAB_DIR/corosync.conf" ] || lab_die "no $LAB_DIR/corosync.conf (run make-corosync-conf.sh)"
if lab_pid "node$N" > /dev/null 2>&1; then lab_die "node$N is already running"; fi

# ip netns exec execs unshare (no fork), so $! is unshare; unshare -f forks the node's init.
# The node must not inherit descriptors of whoever started us: a BMC simulator's hook would
# otherwise hand the node its UDP socket (and the node would keep the BMC's port bound).
(
    for fd in /proc/"$BASHPID"/fd/*; do
        fd=${fd##*/}
        case $fd in 0|1|2|255) ;; *) eval "exec $fd>&-" 2> /dev/null || true ;; esac
    done
    exec ip netns exec "$(lab_node_ns "$N")" \
        unshare -m -u -p -f --mount-proc --propagation private "$LAB_SCRIPTS/node.sh" "$N" \
        > "$LAB_DIR/logs/node$N.launch.out" 2>&1 < /dev/null
) &
upid=$!
lab_record_pid "node$N.unshare" "$upid"
init=
for _ in $(seq 50); do
    # the child of the recorded unshare process, looked up by parent PID (not by name)
    init=$(pgrep -P "$upid" | head -n 1) || true
    [ -n "$init" ] && break
    sleep 0.1
done
[ -n "$init" ] || lab_die "node$N: unshare (pid $upid) started no init; see $LAB_DIR/logs/node$N.launch.out"
lab_record_pid "node$N" "$init"

if [ "$LAB_DC_TIMEOUT" -gt 0 ]; then
    has_dc() {
        lab_pid "node$N" > /dev/null || return 2
        nsenter -t "$init" -a crm_mon -1 --output-as xml 2>/dev/null | grep -q '<current_dc [^>]*present="true"'
    }
    end=$((SECONDS + LAB_DC_TIMEOUT))
    until has_dc; do
        lab_pid "node$N" > /dev/null 2>&1 ||
            lab_die "node$N died during start; see $LAB_DIR/node$N/*.out and $LAB_DIR/logs/node$N.launch.out"
        [ "$SECONDS" -lt "$end" ] ||
            lab_die "node$N: no DC after $LAB_DC_TIMEOUT s; see $LAB_DIR/node$N/*.out"
        sleep 0.5
    done
fi
echo "node$N up, init pid $init"
