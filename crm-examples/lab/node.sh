#!/bin/bash
# node.sh - body of lab node N; runs as PID 1 of fresh mount, UTS and PID namespaces.
#
# Usage: not by hand. node-start.sh runs, inside netns ${LAB_PREFIX}nN:
#          unshare -m -u -p -f --mount-proc --propagation private node.sh N
#
# Sets hostname nodeN and gives the node private /run and /dev/shm (tmpfs; libqb's shared memory
# and sockets must not meet another node's) and its own /var/lib/pacemaker, /var/lib/corosync,
# /var/log and /etc/corosync (bind mounts of $LAB_DIR/nodeN/...). If $LAB_DIR/stage exists, its
# sbin/ is overlaid on /usr/sbin and its resource.d/ on /usr/lib/ocf/resource.d, because
# Pacemaker 2.1 looks for agents only at those compiled-in paths. A staged package
# (stage/pkg/bulwark-agents.deb) is first installed with dpkg into tmpfs overlays (pkg-install.sh).
# Then starts corosync, waits (bounded) for its IPC, starts pacemakerd, and waits for both.
# Mount propagation is private: nothing here is visible on the host, and it all vanishes with
# the node. SIGKILL of this process (by recorded PID) takes down the whole node at once.
# Environment: LAB_CRM_CONFIG="name=value ..." (e.g. "dc-deadtime=2s stonith-enabled=false")
# seeds the node's first CIB with those cluster options.
set -eu
N=${1:?usage: node.sh N}
: "${LAB_DIR:?LAB_DIR must be exported by node-start.sh}"
R=$LAB_DIR/node$N
hostname "node$N"

mkdir -p "$R"/lib-pacemaker/{cib,pengine,blackbox,cores} "$R"/lib-corosync \
         "$R"/log/{pacemaker,corosync} "$R"/etc-corosync
chown -R hacluster:haclient "$R/lib-pacemaker" "$R/log/pacemaker"
chmod 750 "$R"/lib-pacemaker/*
chmod 770 "$R/log/pacemaker"
cp "$LAB_DIR/corosync.conf" "$R/etc-corosync/corosync.conf"

# First start with LAB_CRM_CONFIG set: seed an initial CIB with those cluster options. The
# controller reads them before its first election, so e.g. dc-deadtime=2s makes a lone node DC
# after 2 s instead of the default 20 s. Later starts keep the CIB the node wrote since.
if [ -n "${LAB_CRM_CONFIG:-}" ] && [ ! -e "$R/lib-pacemaker/cib/cib.xml" ]; then
    # the newest CIB schema this Pacemaker knows (pacemaker-3.9 on Debian 12)
    schema=$(for f in /usr/share/pacemaker/pacemaker-[0-9]*.rng; do f=${f##*/}; echo "${f%.rng}"; done |
             sort -V | tail -n 1)
    {
        echo "<cib validate-with=\"$schema\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\">"
        echo "  <configuration>"
        echo "    <crm_config>"
        echo "      <cluster_property_set id=\"cib-bootstrap-options\">"
        read -ra opts <<< "$LAB_CRM_CONFIG"
        for opt in "${opts[@]}"; do
            name=${opt%%=*} value=${opt#*=}
            case $name$value in *[!A-Za-z0-9_.:-]*) echo "node$N: bad LAB_CRM_CONFIG item $opt" >&2; exit 1 ;; esac
            echo "        <nvpair id=\"cib-bootstrap-options-$name\" name=\"$name\" value=\"$value\"/>"
        done
        echo "      </cluster_property_set>"
        echo "    </crm_config>"
        echo "    <nodes/>"
        echo "    <resources/>"
        echo "    <constraints/>"
        echo "  </configuration>"
        echo "  <status/>"
        echo "</cib>"
    } > "$R/lib-pacemaker/cib/cib.xml"
    chown hacluster:haclient "$R/lib-pacemaker/cib/cib.xml"
    chmod 600 "$R/lib-pacemaker/cib/cib.xml"
fi

mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount --bind "$R/lib-pacemaker" /var/lib/pacemaker
mount --bind "$R/lib-corosync"  /var/lib/corosync
mount --bind "$R/log"           /var/log
mount --bind "$R/etc-corosync"  /etc/corosync

stage=$LAB_DIR/stage
# A staged package (LAB_AGENTS=package) is installed by dpkg, as on a deployed node, before the
# stage's overlays are laid over /usr/sbin and resource.d (they must see the installed files).
if [ -f "$stage/pkg/bulwark-agents.deb" ]; then
    "$(dirname "$0")/pkg-install.sh" --in-this-namespace "$stage/pkg/bulwark-agents.deb" \
        > "$R/dpkg.out" 2>&1 || { echo "node$N: dpkg -i failed; see $R/dpkg.out" >&2; exit 1; }
fi
# Read-only overlays, except on a node that installed the package: there the installed paths stay
# writable (upper layer in the same tmpfs), as on a deployed node, so dpkg -r works.
overlay_stage() {   # STAGE_SUBDIR TARGET
    local opts="lowerdir=$1:$2"
    if [ -d /run/bulwark-pkg ]; then
        local key
        key=$(echo "$2" | tr / _)
        mkdir -p "/run/bulwark-pkg/stage-up$key" "/run/bulwark-pkg/stage-work$key"
        opts="$opts,upperdir=/run/bulwark-pkg/stage-up$key,workdir=/run/bulwark-pkg/stage-work$key"
    fi
    mount -t overlay overlay -o "$opts" "$2"
}
if [ -d "$stage" ]; then
    case $stage in *[:,]*) echo "node$N: stage path $stage contains ':' or ','" >&2; exit 1 ;; esac
    [ ! -d "$stage/sbin" ] || overlay_stage "$stage/sbin" /usr/sbin
    [ ! -d "$stage/resource.d" ] || overlay_stage "$stage/resource.d" /usr/lib/ocf/resource.d
fi

# The two-node lab's DRBD simulator (bulwark-lab up creates $LAB_DIR/drbd): this node's state
# and its peer's, for drbdadm/drbdsetup (the staged simulator) run by the agents. A node boots
# with DRBD down, as after a power cut: the agents bring it up.
if [ -d "$LAB_DIR/drbd/node$N" ]; then
    export DRBD_SIM_DIR=$LAB_DIR/drbd/node$N DRBD_SIM_PEER_DIR=$LAB_DIR/drbd/node$((3 - N))
    "$LAB_DIR/stage/bin/drbd-sim" ctl up=no net=no role=Secondary
fi
corosync -f > "$R/corosync.out" 2>&1 &
# pacemakerd exits at once if corosync's IPC is not up yet: wait for it, at most 10 s
for _ in $(seq 50); do
    corosync-cfgtool -s > /dev/null 2>&1 && break
    sleep 0.2
done
/usr/sbin/pacemakerd -f > "$R/pacemakerd.out" 2>&1 &
wait
