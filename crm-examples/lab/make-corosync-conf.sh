#!/bin/bash
# make-corosync-conf.sh - write $LAB_DIR/corosync.conf for a lab cluster and print its path.
#
# Usage: make-corosync-conf.sh single|two
#
#   single  one node "node1", knet link 0 on 127.0.0.1 (inside its own netns)
#   two     node1/node2 with two knet links: link 0 on ${LAB_NET}.N (interface ring0), link 1 on
#           ${LAB_NET1}.N (ring1), as netns-up.sh 2 builds them; quorum two_node: 1; token 3000 ms
# Transport knet without crypto (lab only, no authkey). Logs to stderr and to
# /var/log/corosync/corosync.log, which inside a node is $LAB_DIR/nodeN/log/corosync/.
# Environment: LAB_CLUSTER = cluster_name (default bulwark-lab).
. "$(dirname "$0")/lab-common.sh"
: "${LAB_CLUSTER:=bulwark-lab}"
mode=${1:-}
case $mode in single|two) ;; *) lab_die "usage: make-corosync-conf.sh single|two" ;; esac

node() {   # NAME ID ADDR0 [ADDR1]
    echo "    node {"
    echo "        name: $1"
    echo "        nodeid: $2"
    echo "        ring0_addr: $3"
    [ -z "${4:-}" ] || echo "        ring1_addr: $4"
    echo "    }"
}

{
    echo "totem {"
    echo "    version: 2"
    echo "    cluster_name: $LAB_CLUSTER"
    echo "    transport: knet"
    echo "    crypto_cipher: none"
    echo "    crypto_hash: none"
    if [ "$mode" = two ]; then
        echo "    token: 3000"
        echo "    interface {"
        echo "        linknumber: 0"
        echo "    }"
        echo "    interface {"
        echo "        linknumber: 1"
        echo "    }"
    fi
    echo "}"
    echo "logging {"
    echo "    to_stderr: yes"
    echo "    to_logfile: yes"
    echo "    logfile: /var/log/corosync/corosync.log"
    echo "    to_syslog: no"
    echo "    timestamp: on"
    echo "}"
    echo "quorum {"
    echo "    provider: corosync_votequorum"
    [ "$mode" = single ] || echo "    two_node: 1"
    echo "}"
    echo "nodelist {"
    if [ "$mode" = two ]; then
        node node1 1 "$LAB_NET.1" "$LAB_NET1.1"
        node node2 2 "$LAB_NET.2" "$LAB_NET1.2"
    else
        node node1 1 127.0.0.1
    fi
    echo "}"
} > "$LAB_DIR/corosync.conf.tmp"
mv "$LAB_DIR/corosync.conf.tmp" "$LAB_DIR/corosync.conf"
echo "$LAB_DIR/corosync.conf"
