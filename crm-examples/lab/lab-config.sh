#!/bin/bash
# lab-config.sh - configure the running two-node lab's cluster: the Axigen stack and fencing.
#
# Usage: lab-config.sh ours|package|stock
#
#   ours, package
#          crm-examples/axigen-cluster.pcs.sh (the template admins copy) with the lab's values,
#          then the few lab-only overrides below: Bulwark's agents throughout.
#   stock  the same structure (same resource ids, constraints, fencing topology, delays) with
#          the stock agents: ocf:linbit:drbd, ocf:heartbeat:IPaddr2, ocf:heartbeat:anything,
#          fence_ipmilan, fence_apc_snmp. For the comparison run (benches/lab-failover.sh).
#
# Lab-only overrides, and why:
#   mail-fs      the "DRBD device" is the replicated volume directory $LAB_DIR/drbd/r0-volume,
#                bind-mounted (fstype=none options=bind) on Axigen's data directory; see
#                bulwark-lab's header for the replication model.
#   mail-axigen  the Axigen stand-in (tests/doubles) as the binary, run as root, listening on the
#                VIP; probed on the VIP.
#   mail-drbd    drbdconf names the lab's stub drbd.conf (the simulator needs no real one).
#   fencing      BMCs on 127.0.0.1:623 of the fencing node's own namespace (bmc-sim.sh), the PDU
#                on the management network (${LAB_MGMT_NET}.250), secrets in $LAB_DIR/secrets.
# Runs pcs inside node1 (nodeexec.sh), so the agents pcs validates are the staged ones. The
# configuration is built in a file and pushed in one step.
. "$(dirname "$0")/lab-common.sh"
set -o pipefail
agents=${1:-}
case $agents in ours|package|stock) ;; *) lab_die "usage: lab-config.sh ours|package|stock" ;; esac
: "${LAB_VIP:=$LAB_SVC_NET.10}"
: "${LAB_FENCE_DELAY:=5s}"
data=$LAB_DIR/mnt/axigen
volume=$LAB_DIR/drbd/r0-volume
secrets=$LAB_DIR/secrets
standin=$LAB_DIR/stage/bin/axigen-standin
cib=$LAB_DIR/cib/$agents.xml
mkdir -p "$LAB_DIR/cib"
rm -f "$cib" "$cib.orig"
node1() { "$LAB_SCRIPTS/nodeexec.sh" 1 "$@"; }
pcsf() { node1 pcs -f "$cib" "$@"; }

if [ "$agents" != stock ]; then   # ours, staged or installed from the package
    node1 env NODE1=node1 NODE2=node2 VIP="$LAB_VIP" VIP_PREFIX=24 VIP_NIC=svc \
        DRBD_RESOURCE=r0 DRBD_DEVICE="$volume" FS_TYPE=none DATA_DIR="$data" \
        NODE1_BMC=127.0.0.1 NODE2_BMC=127.0.0.1 BMC_USER=admin \
        NODE1_BMC_PASSWORD_FILE="$secrets/bmc.pass" NODE2_BMC_PASSWORD_FILE="$secrets/bmc.pass" \
        PDU="$LAB_MGMT_NET.250" PDU_USER=fence-aes128 \
        PDU_AUTH_PASSWORD_FILE="$secrets/pdu-auth.pass" PDU_PRIV_PASSWORD_FILE="$secrets/pdu-priv.pass" \
        FENCE_DELAY="$LAB_FENCE_DELAY" CIB_FILE="$cib" PUSH=no \
        "$LAB_SCRIPTS/../axigen-cluster.pcs.sh" > "$LAB_DIR/logs/config.out"
    pcsf resource update mail-fs options=bind
    pcsf resource update mail-drbd drbdconf="$LAB_DIR/drbd/drbd.conf"
    pcsf resource update mail-axigen binary="$standin" user=root \
        options="--datadir $data --bind $LAB_VIP"
else
    node1 pcs cluster cib "$cib"
    cp "$cib" "$cib.orig"
    pcsf property set stonith-enabled=true stonith-timeout=90s
    pcsf resource defaults update resource-stickiness=100 migration-threshold=3 failure-timeout=10min
    pcsf resource create mail-drbd ocf:linbit:drbd \
        drbd_resource=r0 drbdconf="$LAB_DIR/drbd/drbd.conf" \
        op monitor interval=29s role=Promoted timeout=30s \
        op monitor interval=31s role=Unpromoted timeout=30s \
        op start timeout=240s op stop timeout=100s \
        op promote timeout=120s op demote timeout=90s op notify timeout=90s \
        promotable promoted-max=1 promoted-node-max=1 clone-max=2 clone-node-max=1 notify=true
    pcsf resource create mail-fs ocf:heartbeat:Filesystem \
        device="$volume" directory="$data" fstype=none options=bind \
        op monitor interval=20s timeout=40s op start timeout=60s op stop timeout=60s \
        --group mail-services
    pcsf resource create mail-ip ocf:heartbeat:IPaddr2 \
        ip="$LAB_VIP" cidr_netmask=24 nic=svc \
        op monitor interval=10s timeout=20s --group mail-services
    pcsf resource create mail-axigen ocf:heartbeat:anything \
        binfile="$standin" cmdline_options="--datadir $data --bind $LAB_VIP" \
        workdir="$data" logfile="$LAB_DIR/logs/axigen-stock.out" \
        op monitor interval=10s timeout=20s op start timeout=120s op stop timeout=120s \
        --group mail-services
    pcsf constraint colocation add mail-services with Promoted mail-drbd-clone INFINITY
    pcsf constraint order promote mail-drbd-clone then start mail-services
    for n in 1 2; do
        delay=0s
        if [ "$n" = 1 ]; then delay=$LAB_FENCE_DELAY; fi
        pcsf stonith create "fence-node$n-ipmilan" fence_ipmilan \
            ip=127.0.0.1 username=admin password_script="cat $secrets/bmc.pass" lanplus=1 cipher=3 \
            pcmk_host_list="node$n" pcmk_delay_base="$delay" op monitor interval=60s
        pcsf constraint location "fence-node$n-ipmilan" avoids "node$n"
    done
    pcsf stonith create fence-pdu-apc fence_apc_snmp \
        ip="$LAB_MGMT_NET.250" snmp_version=3 username=fence-sha1 \
        snmp_sec_level=authPriv snmp_auth_prot=SHA snmp_priv_prot=AES \
        password_script="cat $secrets/pdu-auth.pass" \
        snmp_priv_passwd_script="cat $secrets/pdu-priv.pass" \
        pcmk_host_map="node1:1;node2:2" pcmk_delay_base="node1:$LAB_FENCE_DELAY;node2:0s" \
        op monitor interval=60s
    for n in 1 2; do
        pcsf stonith level add 1 "node$n" "fence-node$n-ipmilan"
        pcsf stonith level add 2 "node$n" fence-pdu-apc
    done
fi
node1 crm_verify --xml-file "$cib"
node1 pcs cluster cib-push "$cib" diff-against="$cib.orig"
echo "configured ($agents agents) from $cib"
