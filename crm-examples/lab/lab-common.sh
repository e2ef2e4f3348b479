# shellcheck shell=bash
# lab-common.sh - defaults and helpers shared by the Bulwark lab scripts (sourced, not run).
#
# Usage (first line of every lab script):   . "$(dirname "$0")/lab-common.sh"
#
# Environment, all optional. Every file a lab script writes lives under LAB_DIR, every
# namespace it creates is named after LAB_PREFIX, so two labs with different values never meet:
#   LAB_DIR       state, logs, pid files      (default ${TMPDIR:-/tmp}/bulwark-lab)
#   LAB_PREFIX    namespace name prefix       (default blw)
#   LAB_NET       ring0 network, 3 octets     (default 10.99.0)  node N = $LAB_NET.N/24
#   LAB_NET1      ring1 network               (default 10.99.1)
#   LAB_SVC_NET   service network             (default 10.99.2)  client = $LAB_SVC_NET.200
#   LAB_MGMT_NET  management network          (default 10.99.3)  PDU = $LAB_MGMT_NET.250
#
# Files:
#   $LAB_DIR/pids/NAME.pid   "PID STARTTIME" of each process a script started. Processes are only
#                            ever signalled through these records, after re-reading the start
#                            time (a recycled PID is never hit), never by name.
#   $LAB_DIR/netns.list      network namespaces created here; lab-down.sh deletes them.
#   $LAB_DIR/logs/           launch output of everything started.
#   $LAB_DIR/nodeN/          per-node state (CIB, logs); kept after lab-down.sh for post-mortem.
#   $LAB_DIR/stage/          optional agents to overlay inside nodes (stage-agents.sh).
set -eu
: "${LAB_DIR:=${TMPDIR:-/tmp}/bulwark-lab}"
: "${LAB_PREFIX:=blw}"
: "${LAB_NET:=10.99.0}"
: "${LAB_NET1:=10.99.1}"
: "${LAB_SVC_NET:=10.99.2}"
: "${LAB_MGMT_NET:=10.99.3}"
LAB_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LAB_DIR LAB_PREFIX LAB_NET LAB_NET1 LAB_SVC_NET LAB_MGMT_NET LAB_SCRIPTS
mkdir -p "$LAB_DIR/pids" "$LAB_DIR/logs"

lab_die() { echo "lab: $*" >&2; exit 1; }

# Namespace names. Interfaces inside them have fixed short names (ring0, ring1, svc), which is
# why the prefix is not limited by the 15-character interface name limit.
lab_node_ns()   { echo "${LAB_PREFIX}n$1"; }   # node N
lab_client_ns() { echo "${LAB_PREFIX}c"; }      # client on the service network
lab_switch_ns() { echo "${LAB_PREFIX}sw"; }     # holds the service network's bridge

# Start time of a process (field 22 of /proc/PID/stat, clock ticks since boot). The command
# name in field 2 may contain spaces and parentheses, so cut after the last ") ".
lab_starttime() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    local -a fields
    read -ra fields <<< "${stat##*) }"
    [ -n "${fields[19]:-}" ] || return 1
    echo "${fields[19]}"
}

# True if PID has exited but was not reaped yet (state Z or X): dead, nothing to signal.
lab_zombie() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    case $stat in Z*|X*) return 0 ;; esac
    return 1
}

lab_record_pid() {   # NAME PID
    local st
    st=$(lab_starttime "$2") || lab_die "cannot record $1: pid $2 is gone"
    echo "$2 $st" > "$LAB_DIR/pids/$1.pid"
}

# PID recorded under NAME if that very process still runs; fails otherwise.
lab_pid() {          # NAME -> PID
    local pid st now
    [ -r "$LAB_DIR/pids/$1.pid" ] || { echo "lab: no process recorded as $1" >&2; return 1; }
    read -r pid st < "$LAB_DIR/pids/$1.pid" || true
    now=$(lab_starttime "${pid:-0}") || now=
    if [ -z "$pid" ] || [ "$now" != "$st" ]; then
        echo "lab: $1 (pid ${pid:-?}) is not running" >&2
        return 1
    fi
    echo "$pid"
}

# Signal the process recorded under NAME, if it is still the same process.
lab_signal() {       # NAME SIGNAL
    local pid
    pid=$(lab_pid "$1" 2>/dev/null) || return 0
    kill "-$2" "$pid" 2>/dev/null || true
}

# Retry CMD every 0.2 s until it succeeds; give up after SECONDS.
lab_wait() {         # SECONDS CMD...
    local end=$((SECONDS + $1))
    shift
    until "$@" > /dev/null 2>&1; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.2
    done
}

lab_add_netns() {    # NAME: create and record, loopback up
    ip netns add "$1"
    echo "$1" >> "$LAB_DIR/netns.list"
    ip -n "$1" link set lo up
}
