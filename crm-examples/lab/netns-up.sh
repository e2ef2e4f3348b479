#!/bin/bash
# netns-up.sh - create the lab's network namespaces and links; nothing touches the host's network.
#
# Usage: netns-up.sh [COUNT]            COUNT = 1 or 2 nodes (default 2)
#
# COUNT=1: netns ${LAB_PREFIX}n1 with loopback only (single-node cluster on 127.0.0.1).
# COUNT=2: netns ${LAB_PREFIX}n1, ${LAB_PREFIX}n2 joined by TWO veth links, one per knet link:
#            ring0: ${LAB_NET}.1/24  <-> ${LAB_NET}.2/24     (interface "ring0" in each node)
#            ring1: ${LAB_NET1}.1/24 <-> ${LAB_NET1}.2/24    (interface "ring1" in each node)
#          and a service network (where virtual IPs live and clients connect): a bridge "br0"
#          in netns ${LAB_PREFIX}sw with one port per node (interface "svc", ${LAB_SVC_NET}.N/24)
#          and one for the client netns ${LAB_PREFIX}c (interface "svc", ${LAB_SVC_NET}.200/24).
#          and a management network (where the PDU answers): bridge "br1" in the same netns with
#          ports "mN" (interface "mgmt", ${LAB_MGMT_NET}.N/24 in node N) and the switch's own
#          address ${LAB_MGMT_NET}.250/24 on br1 (the PDU simulator listens there).
#          Cutting a ring:  ip -n ${LAB_PREFIX}n1 link set ring0 down
#          Cutting a node off the service net:  ip -n ${LAB_PREFIX}sw link set n1 down
# LAB_SERVICE=0 skips the service network, LAB_SERVICE=1 adds it for COUNT=1 too.
# Each veth is created directly inside its two namespaces, so the fixed names never clash
# between labs. Every namespace is recorded in $LAB_DIR/netns.list (lab-down.sh deletes them).
. "$(dirname "$0")/lab-common.sh"
count=${1:-2}
case $count in 1|2) ;; *) lab_die "usage: netns-up.sh [1|2]" ;; esac
if [ "$count" = 2 ]; then : "${LAB_SERVICE:=1}"; else : "${LAB_SERVICE:=0}"; fi

for n in $(seq 1 "$count"); do
    lab_add_netns "$(lab_node_ns "$n")"
done

veth() {   # NS_A IF_A NS_B IF_B: one veth pair with its ends created in place, both up
    ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
    ip -n "$1" link set "$2" up
    ip -n "$3" link set "$4" up
}

if [ "$count" = 2 ]; then
    n1=$(lab_node_ns 1) n2=$(lab_node_ns 2)
    veth "$n1" ring0 "$n2" ring0
    veth "$n1" ring1 "$n2" ring1
    for n in 1 2; do
        ns=$(lab_node_ns "$n")
        ip -n "$ns" addr add "$LAB_NET.$n/24" dev ring0
        ip -n "$ns" addr add "$LAB_NET1.$n/24" dev ring1
    done
fi

if [ "$LAB_SERVICE" = 1 ]; then
    sw=$(lab_switch_ns) cl=$(lab_client_ns)
    lab_add_netns "$sw"
    lab_add_netns "$cl"
    ip -n "$sw" link add br0 type bridge
    ip -n "$sw" link set br0 up
    for n in $(seq 1 "$count"); do
        ns=$(lab_node_ns "$n")
        veth "$ns" svc "$sw" "n$n"
        ip -n "$sw" link set "n$n" master br0
        ip -n "$ns" addr add "$LAB_SVC_NET.$n/24" dev svc
    done
    veth "$cl" svc "$sw" c
    ip -n "$sw" link set c master br0
    ip -n "$cl" addr add "$LAB_SVC_NET.200/24" dev svc
    ip -n "$sw" link add br1 type bridge
    ip -n "$sw" link set br1 up
    ip -n "$sw" addr add "$LAB_MGMT_NET.250/24" dev br1
    for n in $(seq 1 "$count"); do
        ns=$(lab_node_ns "$n")
        veth "$ns" mgmt "$sw" "m$n"
        ip -n "$sw" link set "m$n" master br1
        ip -n "$ns" addr add "$LAB_MGMT_NET.$n/24" dev mgmt
    done
fi
echo "netns up: $(tr '\n' ' ' < "$LAB_DIR/netns.list")"
