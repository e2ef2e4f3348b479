#!/bin/bash
# axigen-san.pcs.sh - the two-node Axigen mail cluster on a shared SAN disk (no DRBD), with pcs.
#
# Usage (as root, on one node of a running cluster):
#     crm-examples/san/axigen-san.pcs.sh
#     CIB_FILE=/root/axigen-san.cib PUSH=no crm-examples/san/axigen-san.pcs.sh   # file only
#
# Both nodes see the same LUN (multipath recommended). Only one node may ever mount it: the
# group below runs on one node at a time, and fencing guarantees that a node which lost contact
# is powered off before the other mounts the filesystem. Without working fencing a shared-disk
# cluster corrupts its filesystem: stonith-enabled=true is not optional here.
#
#   mail-services     group: mail-fs (ocf:heartbeat:Filesystem, the LUN on /var/opt/axigen),
#                     mail-ip (ocf:bulwark:vip), mail-axigen (ocf:bulwark:axigen)
#   fencing           as in ../axigen-cluster.pcs.sh: iDRAC per node (level 1), PDU (level 2)
#
# Optional extra protection against a double mount (both need a small LUN of their own):
#   - ocf:heartbeat:sfex: an on-disk lock taken before the mount, as the first group member:
#       pcs resource create mail-lock ocf:heartbeat:sfex device=/dev/mapper/mail-sfex index=1 \
#           collision_timeout=1 monitor_interval=10 op monitor interval=10s timeout=30s \
#           --group mail-services --before mail-fs
#   - SBD (storage-based death): a poison-pill disk plus a hardware watchdog on each node;
#     fence_sbd becomes a further fencing level (pcs stonith sbd, `sbd -d DEV create`).
# Neither replaces the iDRAC/PDU fencing below.
set -euo pipefail

# ---- Site values: edit here, or set them in the environment ------------------------------
# Node names exactly as the cluster knows them (`crm_node -l`, the `name:` in corosync.conf).
: "${NODE1:=mail1}"
: "${NODE2:=mail2}"
# Service address (the VIP clients and MX records point at), its prefix length and interface.
: "${VIP:=192.0.2.25}"
: "${VIP_PREFIX:=24}"
: "${VIP_NIC:=eth0}"
# The shared LUN (a stable name: multipath alias or /dev/disk/by-id/wwn-...) and its filesystem.
: "${SAN_DEVICE:=/dev/mapper/mail-data}"
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

# The mail service, started in this order and stopped in reverse: the data directory first,
# then the address, then Axigen (which listens on that address).
# Monitor depth 20 writes and reads back a status file: a LUN that went away or turned
# read-only is noticed, not only an unmounted directory.
pcs resource create mail-fs ocf:heartbeat:Filesystem \
    device="$SAN_DEVICE" directory="$DATA_DIR" fstype="$FS_TYPE" options=noatime \
    op monitor interval=20s timeout=40s OCF_CHECK_LEVEL=20 \
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
