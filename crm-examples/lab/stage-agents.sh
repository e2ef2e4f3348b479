#!/bin/bash
# stage-agents.sh - build $LAB_DIR/stage, the tree node.sh and overlay-exec.sh lay over the system.
#
# Usage: stage-agents.sh [TARGET_DIR] [NAME=FILE ...]
#
#   TARGET_DIR  a cargo target profile directory (default: <repo>/target/debug); build first with
#               cargo build --workspace --bins
#   NAME=FILE   extra OCF agents to stage as ocf:bulwark:NAME (test fixtures)
#
# Result (whichever binaries exist are copied; copies, so a rebuild cannot change a running lab):
#   $LAB_DIR/stage/resource.d/bulwark/{vip,drbd,axigen}   from TARGET_DIR/{vip,drbd,axigen}
#   $LAB_DIR/stage/sbin/fence_bulwark_*                   from TARGET_DIR/fence_bulwark_*
# Directories 0755 and files 0755 (and $LAB_DIR traversable), so that unprivileged users such as
# nobody or hacluster can read meta-data. An existing stage is replaced. Prints what was staged.
. "$(dirname "$0")/lab-common.sh"
target=$LAB_SCRIPTS/../../target/debug
if [ $# -gt 0 ] && [ "${1#*=}" = "$1" ]; then target=$1; shift; fi
[ -d "$target" ] || lab_die "no target directory $target (cargo build --workspace --bins)"
target=$(cd "$target" && pwd)
stage=$LAB_DIR/stage

rm -rf "$stage"
mkdir -p "$stage/resource.d/bulwark" "$stage/sbin"
chmod 0755 "$stage" "$stage/resource.d" "$stage/resource.d/bulwark" "$stage/sbin"
chmod a+x "$LAB_DIR"

put() {   # SOURCE DEST
    cp "$1" "$2.tmp"
    chmod 0755 "$2.tmp"
    mv "$2.tmp" "$2"
    echo "staged $2"
}
for agent in vip drbd axigen; do
    [ ! -f "$target/$agent" ] || put "$target/$agent" "$stage/resource.d/bulwark/$agent"
done
for f in "$target"/fence_bulwark_*; do
    case $f in *.d) continue ;; esac   # cargo's dependency files
    if [ -f "$f" ] && [ -x "$f" ]; then put "$f" "$stage/sbin/$(basename "$f")"; fi
done
for extra in "$@"; do
    name=${extra%%=*} file=${extra#*=}
    case $name in ''|*/*|.*) lab_die "bad agent name in $extra" ;; esac
    [ -f "$file" ] || lab_die "no such file $file"
    put "$file" "$stage/resource.d/bulwark/$name"
done
