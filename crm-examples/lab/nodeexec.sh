#!/bin/bash
# nodeexec.sh - run a command inside lab node N: its network, mount, UTS, IPC and PID namespaces.
#
# Usage: nodeexec.sh N COMMAND [ARG...]
# Examples: nodeexec.sh 1 crm_mon -1
#           nodeexec.sh 1 pcs resource create d1 ocf:bulwark:dummy
#           nodeexec.sh 2 stonith_admin --reboot node1
# The node is found through its recorded init PID (start time checked), never by name.
. "$(dirname "$0")/lab-common.sh"
N=${1:?usage: nodeexec.sh N COMMAND [ARG...]}
shift
[ $# -gt 0 ] || lab_die "usage: nodeexec.sh N COMMAND [ARG...]"
pid=$(lab_pid "node$N") || exit 1
exec nsenter -t "$pid" -a "$@"
