#!/bin/sh
# ipmi-chassis.sh - chassis_control hook for OpenIPMI's ipmi_sim, used by Bulwark's tests and lab.
#
# ipmi_sim runs the command configured with `chassis_control "<this script> STATE_DIR MC"` in
# lan.conf and appends the operation:
#   ipmi-chassis.sh STATE_DIR MC get PARM...       prints one "PARM:VALUE" line per known PARM
#   ipmi-chassis.sh STATE_DIR MC set PARM VAL...   applies PARM/VAL pairs (power 0|1, reset 1, ...)
#   ipmi-chassis.sh STATE_DIR MC check PARM...     accepted, nothing to check
#
# Files in STATE_DIR (the simulated chassis):
#   power       1 = on (also when absent), 0 = off
#   calls.log   one line per call: "<time> <mc> <op> <args>", plus "KILLED <pid>" / "RESET" lines;
#               tests read it to prove the order of operations (off before on, no double off)
#   stuck       if present, "set power" is logged but ignored: a BMC that keeps reporting the
#               old state (tests that an agent never claims success without seeing off)
#   lag-ms      if present (milliseconds), Get Chassis Status keeps reporting the power state
#               from before a "set power" for that long after it (a BMC whose status reading
#               lags behind the chassis); power itself changes at once. Logged as "STALE ..."
#   target.pid  optional "PID STARTTIME": on power off that process is SIGKILLed, but only if
#               its start time (field 22 of /proc/PID/stat) still matches, so a recycled PID is
#               never hit
#   off-hook    optional shell command (file content, run with sh) after a power off took effect,
#   on-hook     and after a power on or reset: the lab cuts / boots the node with them. Their
#               output goes to hooks.log; they must return promptly (ipmi_sim waits for us).
state=$1
mc=$2
op=$3
shift 3
log() { echo "$(date +%T.%N) $*" >> "$state/calls.log"; }
log "$mc $op $*"

kill_target() {
    [ -s "$state/target.pid" ] || return 0
    read -r pid started < "$state/target.pid"
    case $pid in ''|*[!0-9]*) return 0 ;; esac
    # Field 22 counted after the ")" that ends the command name (names may contain spaces).
    now=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20)
    if [ -n "$now" ] && [ "$now" = "$started" ]; then
        kill -KILL "$pid" && log "KILLED $pid"
    fi
}

run_hook() {
    [ -s "$state/$1-hook" ] || return 0
    log "HOOK $1"
    sh "$state/$1-hook" >> "$state/hooks.log" 2>&1 < /dev/null || log "HOOK $1 failed"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The reading a lagging status still shows: "OLD UNTIL_MS" in $state/stale.
reported_power() {
    actual=$(cat "$state/power" 2>/dev/null || echo 1)
    if [ -s "$state/stale" ]; then
        read -r old until < "$state/stale"
        if [ "$(now_ms)" -lt "$until" ]; then
            log "STALE power:$old (actual $actual)"
            echo "$old"
            return
        fi
        rm -f "$state/stale"
    fi
    echo "$actual"
}

case $op in
get)
    for parm in "$@"; do
        case $parm in
        power) echo "power:$(reported_power)" ;;
        boot) echo "boot:default" ;;
        esac
    done
    ;;
set)
    while [ $# -ge 2 ]; do
        case $1 in
        power)
            if [ -e "$state/stuck" ]; then
                log "STUCK ignoring power $2"
            else
                if [ -s "$state/lag-ms" ]; then
                    echo "$(reported_power) $(($(now_ms) + $(cat "$state/lag-ms")))" > "$state/stale"
                fi
                echo "$2" > "$state/power"
                if [ "$2" = 0 ]; then kill_target; run_hook off; else run_hook on; fi
            fi
            ;;
        reset)
            log "RESET"
            if [ ! -e "$state/stuck" ]; then
                echo 1 > "$state/power"
                kill_target
                run_hook off
                run_hook on
            fi
            ;;
        esac
        shift 2
    done
    ;;
check) ;;
esac
exit 0
