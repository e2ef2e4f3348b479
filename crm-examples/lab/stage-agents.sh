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
# With LAB_PACKAGE=FILE.deb, Bulwark's agents are not copied from TARGET_DIR: the package is
#   $LAB_DIR/stage/pkg/bulwark-agents.deb             installed by dpkg in every node at boot
# With LAB_DOUBLES=1 (the two-node lab) also the stand-ins for what cannot run here:
#   $LAB_DIR/stage/bin/{drbd-sim,axigen-standin}        from TARGET_DIR (tests/doubles)
#   $LAB_DIR/stage/sbin/{drbdadm,drbdsetup}             symlinks to the DRBD simulator, so every
#                                                       agent's drbdadm is the simulator
#   $LAB_DIR/stage/resource.d/linbit/drbd               LINBIT's stock agent, unmodified (copied
#       to drbd.stock), run in a private mount namespace whose /proc has the drbd file the stock
#       agent insists on (the simulator has no kernel module to provide it)
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
if [ -n "${LAB_PACKAGE:-}" ]; then
    # The agents come from the package, installed by dpkg in each node (node.sh, pkg-install.sh)
    [ -f "$LAB_PACKAGE" ] || lab_die "no package file $LAB_PACKAGE"
    mkdir -p "$stage/pkg"
    chmod 0755 "$stage/pkg"
    cp "$LAB_PACKAGE" "$stage/pkg/bulwark-agents.deb"
    chmod 0644 "$stage/pkg/bulwark-agents.deb"
    echo "staged $stage/pkg/bulwark-agents.deb (from $LAB_PACKAGE)"
else
    for agent in vip drbd axigen; do
        [ ! -f "$target/$agent" ] || put "$target/$agent" "$stage/resource.d/bulwark/$agent"
    done
    for f in "$target"/fence_bulwark_*; do
        case $f in *.d) continue ;; esac   # cargo's dependency files
        if [ -f "$f" ] && [ -x "$f" ]; then put "$f" "$stage/sbin/$(basename "$f")"; fi
    done
fi
if [ "${LAB_DOUBLES:-0}" = 1 ]; then
    mkdir -p "$stage/bin" "$stage/resource.d/linbit"
    chmod 0755 "$stage/bin" "$stage/resource.d/linbit"
    for double in drbd-sim axigen-standin; do
        [ -f "$target/$double" ] || lab_die "no $target/$double (cargo build --workspace --bins)"
        put "$target/$double" "$stage/bin/$double"
    done
    ln -s "$stage/bin/drbd-sim" "$stage/sbin/drbdadm"
    ln -s "$stage/bin/drbd-sim" "$stage/sbin/drbdsetup"
    if [ -f /usr/lib/ocf/resource.d/linbit/drbd ]; then
        put /usr/lib/ocf/resource.d/linbit/drbd "$stage/resource.d/linbit/drbd.stock"
        cat > "$stage/resource.d/linbit/drbd.tmp" <<'EOF'
#!/bin/sh
# Lab wrapper (stage-agents.sh): LINBIT's agent, unmodified, with a /proc/drbd to find.
# Only root may unshare; meta-data (run as hacluster) needs no /proc/drbd.
[ "$(id -u)" = 0 ] || exec /usr/lib/ocf/resource.d/linbit/drbd.stock "$@"
# shellcheck disable=SC2016
exec unshare -m --propagation private sh -c '
    mount -t tmpfs -o size=1m lab-proc /proc
    mkdir /proc/.real && mount -t proc proc /proc/.real
    for e in /proc/.real/*; do ln -s ".real/${e##*/}" "/proc/${e##*/}"; done
    echo "version: 9.2.2 (api:2/proto:86-121)" > /proc/drbd
    exec /usr/lib/ocf/resource.d/linbit/drbd.stock "$@"' drbd "$@"
EOF
        chmod 0755 "$stage/resource.d/linbit/drbd.tmp"
        mv "$stage/resource.d/linbit/drbd.tmp" "$stage/resource.d/linbit/drbd"
        echo "staged $stage/resource.d/linbit/drbd (wrapper)"
    fi
fi
for extra in "$@"; do
    name=${extra%%=*} file=${extra#*=}
    case $name in ''|*/*|.*) lab_die "bad agent name in $extra" ;; esac
    [ -f "$file" ] || lab_die "no such file $file"
    put "$file" "$stage/resource.d/bulwark/$name"
done
