#!/bin/bash
# pdu-sim.sh - the simulated switched PDU for the lab: net-snmp snmpd on 127.0.0.1:PORT/udp (run it
# inside a node's or the lab's network namespace for another loopback) with pdu-handler.py.
# PDU_ADDR (default 127.0.0.1) listens on another address of that namespace instead, and
# PDU_CLIENTS (default: PDU_ADDR) is the source address or network (e.g. 10.99.3.0/24) the
# communities accept.
#
#   pdu-sim.sh start STATE_DIR PORT MODEL     prints the snmpd PID once it answers
#   pdu-sim.sh stop  STATE_DIR                SIGTERM (then SIGKILL) to the recorded PID if it is snmpd
#
# MODEL: a stem of pdu-models/ (apc-rpdu2, apc-rpdu, apc-masterswitch, apc-masterswitch-plus,
# eaton-g3, eaton-epdu, raritan-px2, tripplite) or a model file path.
# Credentials and behaviour from the environment (defaults in brackets):
#   PDU_COMMUNITY [private] read-write, PDU_RO_COMMUNITY [public]; PDU_V3_USER [fence] with
#   PDU_AUTH_PASS / PDU_PRIV_PASS (required for v3 users; no v3 users without them) creates
#   USER (SHA-256/AES-256), USER-aes128 (SHA-256/AES), USER-sha1 (SHA/AES),
#   USER-md5 (MD5, authNoPriv) and USER-noauth (noAuthNoPriv), all read-write.
#   PDU_OUTLET_NAMES (comma list, outlet 1 first), PDU_OUTLETS, PDU_INITIAL_STATE, PDU_SWITCH_DELAY,
#   PDU_REBOOT_SECONDS, PDU_OFF_HOOK, PDU_ON_HOOK: written to STATE_DIR/pdu.env (see pdu-handler.py).
# Per-outlet hooks: write a shell command to STATE_DIR/outlet-N.off-hook (e.g. to kill the node on
# outlet N); it runs when that outlet's off takes effect. Secrets go to STATE_DIR/snmpd.conf
# (mode 600), never to an argv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,22p' "$0" >&2; exit 2; }
addr=${PDU_ADDR:-127.0.0.1}
clients=${PDU_CLIENTS:-$addr}
[ $# -ge 2 ] || usage
cmd=$1 state=$2

stop() {
    local pidf=$state/snmpd.pid pid
    [ -s "$pidf" ] || return 0
    pid=$(cat "$pidf")
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = snmpd ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidf"
}

case $cmd in
stop) stop; exit 0 ;;
start) [ $# -eq 4 ] || usage ;;
*) usage ;;
esac
port=$3 model=$4
[ -f "$model" ] || model=$here/pdu-models/$model.model
[ -f "$model" ] || { echo "pdu-sim: no model $4" >&2; exit 2; }
model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
mkdir -p "$state/persist"; chmod 700 "$state" "$state/persist"
state=$(cd "$state" && pwd)
directive() { sed -n "s/^$1[[:space:]]\{1,\}//p" "$model" | head -1; }

{
    echo "PDU_MODEL_FILE=$model"
    for k in PDU_OUTLETS PDU_INITIAL_STATE PDU_SWITCH_DELAY PDU_REBOOT_SECONDS PDU_OFF_HOOK PDU_ON_HOOK; do
        [ -n "${!k:-}" ] && echo "$k=${!k}"
    done
} > "$state/pdu.env"
if [ -n "${PDU_OUTLET_NAMES:-}" ]; then
    i=1
    IFS=, read -r -a names <<< "$PDU_OUTLET_NAMES"
    for n in "${names[@]}"; do printf '%s\n' "$n" > "$state/outlet-$i.name"; i=$((i + 1)); done
fi

communities="rwcommunity ${PDU_COMMUNITY:-private} $clients
rocommunity ${PDU_RO_COMMUNITY:-public} $clients"
users=
if [ -n "${PDU_AUTH_PASS:-}" ] && [ -n "${PDU_PRIV_PASS:-}" ]; then
    u=${PDU_V3_USER:-fence} a=$PDU_AUTH_PASS p=$PDU_PRIV_PASS
    users="createUser $u SHA-256 $a AES-256 $p
createUser $u-aes128 SHA-256 $a AES $p
createUser $u-sha1 SHA $a AES $p
createUser $u-md5 MD5 $a
createUser $u-noauth
rwuser $u priv
rwuser $u-aes128 priv
rwuser $u-sha1 priv
rwuser $u-md5 auth
rwuser $u-noauth noauth"
fi

umask 077
# Filled in with awk from the environment, so no secret reaches a command line.
COMMUNITIES=$communities USERS=$users SYSOBJECTID=$(directive sysobjectid) SYSDESCR=$(directive sysdescr) \
SYSNAME=pdu-$port REGISTER=$(directive register) HANDLER=$here/pdu-handler.py STATE_DIR=$state \
awk '{
    n = split("COMMUNITIES USERS SYSOBJECTID SYSDESCR SYSNAME REGISTER HANDLER STATE_DIR", keys, " ")
    for (i = 1; i <= n; i++) { k = "@" keys[i] "@"; while ((j = index($0, k)) > 0) $0 = substr($0, 1, j - 1) ENVIRON[keys[i]] substr($0, j + length(k)) }
    print
}' "$here/pdu-snmpd.conf.in" > "$state/snmpd.conf"

stop
SNMP_PERSISTENT_DIR=$state/persist MIBS= MIBDIRS=/nonexistent snmpd -f -Lo -C -I -smux \
    -c "$state/snmpd.conf" -p "$state/snmpd.pid" "udp:$addr:$port" > "$state/snmpd.log" 2>&1 < /dev/null &
pid=$!
echo "$pid" > "$state/snmpd.pid"
# Ready when sysObjectID answers; the probe uses the read-only community through a config file
# (snmpget -c would put it in an argv).
mkdir -p "$state/client"
printf 'defVersion 2c\ndefCommunity %s\n' "${PDU_RO_COMMUNITY:-public}" > "$state/client/snmp.conf"
for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "pdu-sim: snmpd exited; see $state/snmpd.log" >&2; tail -5 "$state/snmpd.log" >&2; exit 1
    fi
    if SNMPCONFPATH=$state/client SNMP_PERSISTENT_DIR=$state/client MIBS= MIBDIRS=/nonexistent \
        snmpget -t 0.2 -r 0 -On -Oqv "$addr:$port" .1.3.6.1.2.1.1.2.0 >/dev/null 2>&1; then
        echo "$pid"; exit 0
    fi
    sleep 0.1
done
echo "pdu-sim: snmpd (pid $pid) did not answer on $addr:$port" >&2
exit 1
