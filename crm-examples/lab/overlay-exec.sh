#!/bin/bash
# overlay-exec.sh - run one command with Bulwark's staged agents visible at the system paths.
#
# Usage: overlay-exec.sh [-s STAGE] COMMAND [ARG...]
#        (STAGE defaults to $LAB_DIR/stage, as stage-agents.sh builds it)
#
# The command runs in a private mount namespace (unshare -m --propagation private) in which
# STAGE/sbin is overlaid on /usr/sbin and STAGE/resource.d on /usr/lib/ocf/resource.d, so
# Pacemaker's tools find ocf:bulwark:* and fence_bulwark_* without a running cluster and
# without changing the host. Example:
#   overlay-exec.sh crm_resource --force-check --class ocf --provider bulwark --agent vip
#   overlay-exec.sh crm_resource --show-metadata ocf:bulwark:vip
# Exit status: the command's.
set -eu
stage=
if [ "${1:-}" = -s ]; then stage=${2:?usage: overlay-exec.sh [-s STAGE] COMMAND [ARG...]}; shift 2; fi
[ -n "$stage" ] || stage=${LAB_DIR:-${TMPDIR:-/tmp}/bulwark-lab}/stage
[ $# -gt 0 ] || { echo "usage: overlay-exec.sh [-s STAGE] COMMAND [ARG...]" >&2; exit 2; }
[ -d "$stage" ] || { echo "overlay-exec: no stage directory $stage" >&2; exit 2; }
stage=$(cd "$stage" && pwd)
case $stage in *[:,]*) echo "overlay-exec: stage path $stage contains ':' or ','" >&2; exit 2 ;; esac

# The inner shell mounts, then execs the command: no extra process stays between us and it.
# shellcheck disable=SC2016  # expanded by the inner shell
exec unshare -m --propagation private -- bash -eu -c '
    stage=$1; shift
    [ ! -d "$stage/sbin" ] ||
        mount -t overlay overlay -o "lowerdir=$stage/sbin:/usr/sbin" /usr/sbin
    [ ! -d "$stage/resource.d" ] ||
        mount -t overlay overlay -o "lowerdir=$stage/resource.d:/usr/lib/ocf/resource.d" /usr/lib/ocf/resource.d
    exec "$@"' overlay-exec "$stage" "$@"
