#!/bin/bash
# axigen-cluster.pcs.sh - the two-node Axigen mail cluster with Bulwark's agents, built with pcs.
#
# Usage (as root, on one node of a running cluster):
#     crm-examples/axigen-cluster.pcs.sh                 # build, then push to the cluster
#     CIB_FILE=/root/axigen.cib PUSH=no crm-examples/axigen-cluster.pcs.sh   # build a file only
#
# What it creates (the same configuration as axigen-cluster.xml and axigen-cluster.crm):
#
#   mail-drbd-clone   promotable clone of ocf:bulwark:drbd (DRBD resource r0, see r0.res):
#                     one Primary at a time, on the node that has UpToDate data
#   mail-services     group, on the Promoted node only, started after the promotion:
#       mail-fs       ocf:heartbeat:Filesystem  /dev/drbd0 on /var/opt/axigen (Axigen's store)
#       mail-ip       ocf:bulwark:vip           the service address clients connect to
#       mail-axigen   ocf:bulwark:axigen        the mail server, probed on the service address
#   fence-<node>-idrac  fence_bulwark_idrac, one per node, never running on its own target
#   fence-pdu         fence_bulwark_pdu, the networked power switch both nodes are plugged into
#   fencing topology  level 1: the node's iDRAC; level 2 (iDRAC unreachable or failed): the PDU
#
# The configuration is built in a CIB file and pushed in one step (`pcs cluster cib-push
# diff-against=`), so the cluster never acts on half of it, and a push fails instead of
# overwriting changes someone made meanwhile. Run it on a cluster that has no mail resources
# yet; to start over, remove them first (pcs resource delete / pcs stonith delete).
#
# Requirements on every node before pushing: Bulwark installed (ocf:bulwark:* and
# /usr/sbin/fence_bulwark_*), the DRBD resource r0 configured, initialised and connected
# (r0.res), a filesystem on /dev/drbd0, /var/opt/axigen existing as an empty mount point, Axigen
# installed but not started at boot (the cluster starts it), and the password files below.
set -euo pipefail

# ---- Site values: edit here, or set them in the environment ------------------------------
# Node names exactly as the cluster knows them (`crm_node -l`, the `name:` in corosync.conf).
: "${NODE1:=mail1}"
: "${NODE2:=mail2}"
# Service address (the VIP clients and MX records point at), its prefix length and interface.
: "${VIP:=192.0.2.25}"
: "${VIP_PREFIX:=24}"
: "${VIP_NIC:=eth0}"
# DRBD: the resource name in r0.res and its device, and the filesystem on it.
: "${DRBD_RESOURCE:=r0}"
: "${DRBD_DEVICE:=/dev/drbd0}"
: "${FS_TYPE:=xfs}"
# Axigen's data directory: the whole store, configuration and queue live here.
: "${DATA_DIR:=/var/opt/axigen}"
# iDRAC (IPMI over LAN) of each node, and the user the fence agent logs in as.
: "${NODE1_BMC:=192.0.2.101}"
: "${NODE2_BMC:=192.0.2.102}"
: "${BMC_USER:=fence}"
# Password files, one line each, mode 0600 root, present on BOTH nodes (the device that fences
# node1 runs on node2 and vice versa). The fence agent reads the file itself: the password is
# never in the CIB, in any command line or in a log. Do not use password= instead.
: "${NODE1_BMC_PASSWORD_FILE:=/etc/bulwark/idrac-${NODE1}.pass}"
: "${NODE2_BMC_PASSWORD_FILE:=/etc/bulwark/idrac-${NODE2}.pass}"
# Networked PDU (SNMPv3 user with authentication and privacy) and the outlet of each node.
# Nodes with two power supplies on one PDU list both outlets: NODE1_OUTLET=1,2 (all of a
# node's outlets are switched off and confirmed off before any is switched on again).
: "${PDU:=192.0.2.110}"
: "${PDU_USER:=fence}"
: "${PDU_AUTH_PASSWORD_FILE:=/etc/bulwark/pdu-auth.pass}"
: "${PDU_PRIV_PASSWORD_FILE:=/etc/bulwark/pdu-priv.pass}"
: "${NODE1_OUTLET:=1}"
: "${NODE2_OUTLET:=2}"
# Two-node fence race: when the nodes lose sight of each other, both try to fence. The node
# whose fence devices carry the delay wins (its peer waits before shooting it), so the race
# always ends with exactly one survivor: NODE1 here. Alternative: priority-fencing-delay (the
# node running the higher-priority resources wins; see the comment at the end).
: "${FENCE_DELAY:=5s}"
# Where to build, and whether to push. An existing CIB_FILE is used as the starting point
# (e.g. one saved with `pcs cluster cib FILE` earlier); otherwise the live CIB is read.
: "${CIB_FILE:=}"
: "${PUSH:=yes}"

# ---- Build ---------------------------------------------------------------------------------
tmpdir=
if [ -z "$CIB_FILE" ]; then
    tmpdir=$(mktemp -d)
    trap 'rm -rf "$tmpdir"' EXIT
    CIB_FILE=$tmpdir/cib.xml
fi
[ -s "$CIB_FILE" ] || pcs cluster cib "$CIB_FILE"
cp "$CIB_FILE" "$CIB_FILE.orig"
pcs() { command pcs -f "$CIB_FILE" "$@"; }

# Fencing is what makes failover safe: the survivor takes over only after the other node is
# confirmed off. stonith-timeout covers level 1 (a few seconds) plus a PDU cycle.
pcs property set stonith-enabled=true stonith-timeout=90s

# Resources stay where they run after a failed node comes back (no second interruption);
# three failures within failure-timeout move the service to the other node.
pcs resource defaults update resource-stickiness=100 migration-threshold=3 failure-timeout=10min

# DRBD: promotable clone, exactly one Primary. notify=true is required (the agent refuses to
# start without it): the pre/post notifications are how each side learns the other's moves.
# Each role gets its own monitor interval (Pacemaker tells monitors apart by interval).
# promote's timeout must exceed the fence-peer handler's own timeouts (r0.res), because a
# promotion can wait for that handler.
pcs resource create mail-drbd ocf:bulwark:drbd \
    drbd_resource="$DRBD_RESOURCE" \
    op monitor interval=29s role=Promoted timeout=30s \
    op monitor interval=31s role=Unpromoted timeout=30s \
    op start timeout=240s op stop timeout=100s \
    op promote timeout=120s op demote timeout=90s op notify timeout=90s op reload timeout=30s \
    promotable promoted-max=1 promoted-node-max=1 clone-max=2 clone-node-max=1 notify=true

# The mail service, started in this order and stopped in reverse: the data directory first,
# then the address, then Axigen (which listens on that address).
pcs resource create mail-fs ocf:heartbeat:Filesystem \
    device="$DRBD_DEVICE" directory="$DATA_DIR" fstype="$FS_TYPE" options=noatime \
    op monitor interval=20s timeout=40s \
    op start timeout=60s op stop timeout=60s \
    --group mail-services
pcs resource create mail-ip ocf:bulwark:vip \
    ip="$VIP" cidr_netmask="$VIP_PREFIX" nic="$VIP_NIC" \
    op monitor interval=10s timeout=20s \
    --group mail-services
# Axigen: the cheap depth-0 monitor (the supervisor process is alive) every 10 s, and depth 10
# every 30 s: every listener on the service address accepts a connection and greets correctly
# (a server that is up but not serving is noticed, not just a dead process). The agent refuses
# to start unless DATA_DIR is a mount point, so Axigen never writes its store to the root disk.
# Depth 20 (CLI login) needs cli_password_file=/etc/bulwark/axigen-cli.pass (a root-only file,
# never a plain parameter) and a third monitor, e.g. interval=120s OCF_CHECK_LEVEL=20.
pcs resource create mail-axigen ocf:bulwark:axigen \
    datadir="$DATA_DIR" probe_address="$VIP" \
    op monitor interval=10s timeout=20s \
    op monitor interval=30s timeout=30s OCF_CHECK_LEVEL=10 \
    op start timeout=120s op stop timeout=120s \
    --group mail-services

# The group runs only where DRBD is Primary, and only after the promotion has happened.
pcs constraint colocation add mail-services with Promoted mail-drbd-clone INFINITY
pcs constraint order promote mail-drbd-clone then start mail-services

# Fencing, level 1: each node's iDRAC. pcmk_host_list says which node a device can fence (an
# IPMI device would otherwise claim every node), and the location constraint keeps a device off
# the node it fences (a node cannot be trusted to fence itself).
pcs stonith create "fence-$NODE1-idrac" fence_bulwark_idrac \
    ip="$NODE1_BMC" username="$BMC_USER" password_file="$NODE1_BMC_PASSWORD_FILE" \
    pcmk_host_list="$NODE1" pcmk_delay_base="$FENCE_DELAY" \
    op monitor interval=60s
pcs stonith create "fence-$NODE2-idrac" fence_bulwark_idrac \
    ip="$NODE2_BMC" username="$BMC_USER" password_file="$NODE2_BMC_PASSWORD_FILE" \
    pcmk_host_list="$NODE2" \
    op monitor interval=60s
pcs constraint location "fence-$NODE1-idrac" avoids "$NODE1"
pcs constraint location "fence-$NODE2-idrac" avoids "$NODE2"

# Fencing, level 2: the PDU cuts the node's power when its iDRAC cannot be reached (the iDRAC
# shares the node's power and network, so it fails with the node more often than the PDU).
# pcmk_host_map maps each node to its outlet(s); the per-node delay mirrors level 1's.
pcs stonith create fence-pdu fence_bulwark_pdu \
    ip="$PDU" snmp_version=3 username="$PDU_USER" \
    snmp_sec_level=authPriv snmp_auth_prot=SHA-256 snmp_priv_prot=AES \
    password_file="$PDU_AUTH_PASSWORD_FILE" snmp_priv_passwd_file="$PDU_PRIV_PASSWORD_FILE" \
    pcmk_host_map="$NODE1:$NODE1_OUTLET;$NODE2:$NODE2_OUTLET" \
    pcmk_delay_base="$NODE1:$FENCE_DELAY;$NODE2:0s" \
    op monitor interval=60s

pcs stonith level add 1 "$NODE1" "fence-$NODE1-idrac"
pcs stonith level add 2 "$NODE1" fence-pdu
pcs stonith level add 1 "$NODE2" "fence-$NODE2-idrac"
pcs stonith level add 2 "$NODE2" fence-pdu

# Alternative to the static delay: let the node that runs the mail service win any fence race.
#   pcs resource meta mail-services priority=10
#   pcs property set priority-fencing-delay=10s
# (then drop pcmk_delay_base above; Pacemaker >= 2.0.4).

# ---- Check and push --------------------------------------------------------------------------
crm_verify -V --xml-file "$CIB_FILE"
if [ "$PUSH" = yes ]; then
    command pcs cluster cib-push "$CIB_FILE" diff-against="$CIB_FILE.orig"
    echo "pushed; watch it start with: crm_mon"
else
    echo "configuration built in $CIB_FILE (not pushed); push it with:"
    echo "  pcs cluster cib-push $CIB_FILE diff-against=$CIB_FILE.orig"
fi
