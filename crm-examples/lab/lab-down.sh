#!/bin/bash
# lab-down.sh - stop everything the lab started and delete its namespaces; idempotent.
#
# Usage: lab-down.sh
#
# 1. Only processes recorded in $LAB_DIR/pids/*.pid whose start time still matches are signalled
#    (a recycled PID is never hit); zombies count as gone. First SIGKILL to the node inits
#    (nodeN records): a PID-namespace init ignores SIGTERM, and SIGKILL takes the whole node with
#    it. Then SIGTERM to the rest, up to 2 s for them to go, SIGKILL to the survivors.
#    Nothing is ever signalled by name.
# 2. Deletes the network namespaces listed in $LAB_DIR/netns.list (their veths go with them).
# Node state under $LAB_DIR/nodeN and logs stay for post-mortem; remove LAB_DIR yourself.
# Safe to run twice, on a half-built lab, and from a cleanup trap: always exits 0.
. "$(dirname "$0")/lab-common.sh"
set +e

alive() {   # PIDFILE -> PID, if that very process still runs
    local pid st now
    read -r pid st < "$1" || return 1
    [ -n "$pid" ] || return 1
    now=$(lab_starttime "$pid") || return 1
    [ "$now" = "$st" ] || return 1
    lab_zombie "$pid" && return 1
    echo "$pid"
}

for f in "$LAB_DIR"/pids/node*.pid; do
    [ -e "$f" ] || continue
    case ${f##*/} in node*.*.pid) continue ;; esac   # only nodeN.pid, the inits
    if pid=$(alive "$f"); then kill -KILL "$pid" 2>/dev/null; fi
done
any=0
for f in "$LAB_DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    if pid=$(alive "$f"); then kill -TERM "$pid" 2>/dev/null; any=1; fi
done
if [ "$any" = 1 ]; then
    for _ in $(seq 20); do
        left=0
        for f in "$LAB_DIR"/pids/*.pid; do
            [ -e "$f" ] || continue
            alive "$f" > /dev/null && left=1
        done
        [ "$left" = 0 ] && break
        sleep 0.1
    done
fi
for f in "$LAB_DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    if pid=$(alive "$f"); then kill -KILL "$pid" 2>/dev/null; fi
    rm -f "$f"
done

if [ -f "$LAB_DIR/netns.list" ]; then
    while read -r ns; do
        [ -z "$ns" ] || ip netns delete "$ns" 2>/dev/null
    done < "$LAB_DIR/netns.list"
    rm -f "$LAB_DIR/netns.list"
fi
exit 0
