#!/bin/bash
# scenario.sh - the two-VM DRBD scenario (tests/drbd_vm.rs), run by vminit on both VMs.
#
# Environment: NODE (nodea|nodeb, from vminit); /payload/env: PROVIDER (bulwark|linbit), TOKEN
# (the text written on the Primary and read back on the other node).
# Output: result lines on the second serial port (/dev/ttyS1), one fact each:
#     BULWARK-RESULT <node> <key>=<value>          value = rest of the line
#     BULWARK-BEGIN <node> <name> ... BULWARK-END <node> <name>   (multi-line blocks)
# Steps (nodea directs; the nodes meet through permanent node attributes bw-* in the CIB):
#  1. DRBD bootstrap outside the cluster: create-md, up, skip the initial sync (both disks are
#     zero-filled), down again, so Pacemaker's start is the agent's start.
#  2. corosync + Pacemaker; nodea loads the promotable clone (cib-drbd.xml with PROVIDER).
#  3. Exactly one node promoted (crm_mon, and each node's DRBD role).
#  4. The Primary makes a filesystem and writes TOKEN; nodea moves the promoted role with a
#     location constraint (Pacemaker demotes, then promotes the other node); the new Primary
#     mounts and reads TOKEN.
#  5. Both nodes run LINBIT's and our monitor with the same environment (score calls captured
#     by a crm_master/crm_attribute stub) and report exit code and score: "connected".
#  6. The new Secondary cuts its replication link (ip link set repl down): its score as set by
#     the cluster's monitor, and both agents' monitor on both nodes: "disconnected".
#  6b. (fencing resource-and-stonith) the Primary's fence-peer handler placed its constraint;
#     a constraint asking for the Secondary does not get it promoted.
#  7. Link up again, resync, the constraint removed by the resync target's handler, score
#     back; then the clone is stopped: "down" comparison.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
. /payload/env
P=/payload
PROVIDER=${PROVIDER:-bulwark} TOKEN=${TOKEN:-bulwark-vm-token}
PEER=nodeb; [ "$NODE" = nodeb ] && PEER=nodea

t() { echo "T+$(cut -d' ' -f1 /proc/uptime)s $NODE: $*"; }
result() { echo "BULWARK-RESULT $NODE $*" > /dev/ttyS1; t "$*"; }
block() { { echo "BULWARK-BEGIN $NODE $1"; cat; echo "BULWARK-END $NODE $1"; } > /dev/ttyS1; }
dump() {
  echo "=== /proc/drbd"; cat /proc/drbd
  echo "=== crm_mon"; crm_mon -1 -A 2>&1 | tail -n 30
  echo "=== pacemaker log: the agent's operations"
  grep -hE 'pacemaker-(execd|controld).*drbd_r0|drbd\(drbd_r0|drbd_r0.*(output|exit)' /var/log/pacemaker/pacemaker.log 2>/dev/null \
    | grep -v 'abort_transition_graph' | tail -n 60
  echo "=== kernel"; dmesg | grep -i drbd | tail -n 20
}
# A failure is reported once, and announced to the peer (bw-failed) so it stops waiting too.
die() {
  result "error=$*"
  crm_attribute --node "$NODE" --name bw-failed --update "$(echo "$*" | cut -c1-200)" >/dev/null 2>&1
  dump; exit 1
}
# wait_for SECONDS COMMAND...: poll COMMAND every half second until it succeeds
wait_for() {
  local end=$(( $(date +%s) + $1 )); shift
  until "$@"; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.5; done
}
# meeting points: permanent node attributes, written straight into the CIB
say() { crm_attribute --node "$NODE" --name "bw-$1" --update "${2:-1}" >/dev/null 2>&1; }
hear() { crm_attribute --node "$1" --name "bw-$2" --query --quiet 2>/dev/null; }
heard() { [ "$(hear "$1" "$2")" = "${3:-1}" ]; }
peer_failed() { [ -n "$(hear "$PEER" failed)" ]; }
heard_or_peer_failed() { heard "$@" || peer_failed; }
await() {
  wait_for "$1" heard_or_peer_failed "$2" "$3" "${4:-1}" || die "waited ${1}s for $2 to say $3"
  peer_failed && die "$PEER failed: $(hear "$PEER" failed)"
}
# promotion score of NODE as the cluster holds it (empty when none)
score_of() { crm_attribute --node "$1" --name master-drbd_r0 --lifetime reboot --query --quiet 2>/dev/null; }
drbd_role() { drbdadm role r0 2>/dev/null | cut -d/ -f1; }
cstate() { drbdadm cstate r0 2>/dev/null; }
# "node=Role" per clone instance, from crm_mon's XML
roles() {
  crm_mon -1 --output-as xml 2>/dev/null | awk '
    /<resource id="drbd_r0[:"]/ { r = ""; if (match($0, /role="[^"]*"/)) r = substr($0, RSTART + 6, RLENGTH - 7) }
    /<node name=/ && r != "" { if (match($0, /name="[^"]*"/)) print substr($0, RSTART + 6, RLENGTH - 7) "=" r; r = "" }
    /<\/resource>/ { r = "" }'
}
nodes_in() { roles | awk -F= -v a="$1" -v b="$2" '$2 == a || $2 == b { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
promoted() { nodes_in Promoted Master; }
unpromoted() { nodes_in Unpromoted Slave; }
failures() { crm_mon -1 --output-as xml 2>/dev/null | grep -c '<failure ' ; }
# "op_key on node: exit reason" of each failed action
failed_actions() {
  crm_mon -1 --output-as xml 2>/dev/null | grep '<failure ' \
    | sed -n 's/.*op_key="\([^"]*\)" node="\([^"]*\)".*exitreason="\([^"]*\)".*/\1 on \2: \3/p' | paste -sd ';'
}
promoted_or_failed() { one_promoted_any || [ "$(failures)" != 0 ]; }
one_promoted() { [ "$(promoted)" = "$1" ] && [ "$(unpromoted)" = "$2" ]; }
one_promoted_any() { local p u; p=$(promoted); u=$(unpromoted); [ -n "$p" ] && [ "${p% *}" = "$p" ] && [ -n "$u" ] && [ "$u" != "$p" ]; }

# Both agents' monitor with the environment Pacemaker gives a promotable clone instance; the
# promotion-score calls go to a stub that logs them (its query answers "1", a score neither
# agent sets, so every decision shows up as a set, a removal or nothing).
mkdir -p /tmp/stub
cat > /tmp/stub/score-stub <<'EOS'
#!/bin/bash
if [ "${0##*/}" = crm_attribute ]; then
  case " $* " in *" --promotion "*|*" -p "*) ;; *) exec /usr/sbin/crm_attribute "$@" ;; esac
fi
for a; do case $a in -G|--query) echo 1; exit 0 ;; -D|--delete) echo removed >> /tmp/stub/log; exit 0 ;; esac; done
prev=; for a; do [ "$prev" = -v ] && { echo "$a" >> /tmp/stub/log; exit 0; }; prev=$a; done
echo "unexpected $*" >> /tmp/stub/log
EOS
chmod +x /tmp/stub/score-stub
ln -sf score-stub /tmp/stub/crm_master; ln -sf score-stub /tmp/stub/crm_attribute
compare() { # compare STATE [INTERVAL_MS]: 0 makes the monitor a probe
  local agent rc score feature interval=${2:-6000}
  feature=$(cibadmin -Q 2>/dev/null | head -1 | sed -n 's/.*crm_feature_set="\([^"]*\)".*/\1/p')
  for agent in linbit bulwark; do
    [ -x /usr/lib/ocf/resource.d/$agent/drbd ] || continue
    rm -f /tmp/stub/log
    env -i PATH=/tmp/stub:$PATH HA_SBIN_DIR=/tmp/stub OCF_ROOT=/usr/lib/ocf \
      OCF_RESOURCE_INSTANCE=drbd_r0 OCF_RESKEY_drbd_resource=r0 OCF_RESKEY_crm_feature_set="${feature:-3.16.2}" \
      OCF_RESKEY_CRM_meta_clone_max=2 OCF_RESKEY_CRM_meta_clone_node_max=1 \
      OCF_RESKEY_CRM_meta_promoted_max=1 OCF_RESKEY_CRM_meta_master_max=1 \
      OCF_RESKEY_CRM_meta_promoted_node_max=1 OCF_RESKEY_CRM_meta_master_node_max=1 \
      OCF_RESKEY_CRM_meta_notify=true OCF_RESKEY_CRM_meta_globally_unique=false \
      OCF_RESKEY_CRM_meta_interval=$interval OCF_RESKEY_CRM_meta_timeout=20000 \
      HA_LOGFILE=/tmp/stub/ha.log HA_debug=0 \
      timeout 30 /usr/lib/ocf/resource.d/$agent/drbd monitor > /tmp/stub/out 2>&1
    rc=$?
    score=$(tail -n 1 /tmp/stub/log 2>/dev/null); score=${score:-kept}
    result "cmp.$1.$agent=rc:$rc score:$score"
    [ "$rc" = 0 ] || [ "$rc" = 8 ] || [ "$rc" = 7 ] || tail -n 5 /tmp/stub/out
  done
  result "state.$1=$(grep -o 'cs:[^ ]* ro:[^ ]* ds:[^ ]*' /proc/drbd)"
}

# ---- 0. configuration and agents from the payload
cp "$P/r0.res" /etc/drbd.d/r0.res
cp "$P/corosync.conf" /etc/corosync/corosync.conf
if [ -f "$P/agents/drbd" ]; then install -m 755 "$P/agents/drbd" /usr/lib/ocf/resource.d/bulwark/drbd; fi
# the fence handlers r0.res names: Bulwark's from the payload, else LINBIT's
handlers=linbit
for h in fence-peer unfence-peer; do
  if [ -f "$P/agents/bulwark-drbd-$h" ]; then
    install -m 755 "$P/agents/bulwark-drbd-$h" /usr/local/sbin/; handlers=bulwark
    printf '#!/bin/sh\nexec /usr/local/sbin/bulwark-drbd-%s "$@"\n' "$h" > /usr/local/sbin/lab-$h
  else
    printf '#!/bin/sh\nexec /usr/lib/drbd/crm-%s.9.sh "$@"\n' "$h" > /usr/local/sbin/lab-$h
  fi
  chmod 755 /usr/local/sbin/lab-$h
done
result "handlers=$handlers"
result "module=$(head -n 1 /proc/drbd)"
result "provider=$PROVIDER"
if [ "$NODE" = nodea ]; then
  for agent in linbit bulwark; do
    [ -x /usr/lib/ocf/resource.d/$agent/drbd ] || continue
    OCF_ROOT=/usr/lib/ocf /usr/lib/ocf/resource.d/$agent/drbd meta-data 2>/dev/null | block "metadata.$agent"
    result "metadata.$agent.rc=${PIPESTATUS[0]}"
  done
fi

# ---- 1. DRBD bootstrap
yes yes | drbdadm create-md --force r0 > /tmp/create-md.out 2>&1 || { cat /tmp/create-md.out; die "create-md failed"; }
drbdadm up r0 || die "drbdadm up failed"
wait_for 60 grep -q 'cs:Connected' /proc/drbd || die "DRBD did not connect"
# both backing disks are zero-filled sparse files: identical, so the initial sync can be skipped
if [ "$NODE" = nodea ]; then drbdadm -- --clear-bitmap new-current-uuid r0 || die "new-current-uuid failed"; fi
wait_for 60 grep -q 'ds:UpToDate/' /proc/drbd || die "local disk never UpToDate"
t "bootstrap: $(grep -o 'cs:.*' /proc/drbd)"
sleep 1
drbdadm down r0 || die "drbdadm down failed"

# ---- 2. the cluster. Both nodes start from the same seeded CIB: no fencing (nothing to fence
# with in the lab), a short dc-deadtime (the default 20 s wait for a DC dominates start-up of a
# fresh two-node cluster), and the promotable clone already defined, so Pacemaker starts it as
# soon as the nodes have joined.
mkdir -p /var/lib/pacemaker/cib
{
  echo '<cib crm_feature_set="3.0.0" validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0">'
  echo '<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">'
  echo '<nvpair id="opt-stonith-enabled" name="stonith-enabled" value="false"/>'
  echo '<nvpair id="opt-dc-deadtime" name="dc-deadtime" value="2s"/>'
  echo '</cluster_property_set></crm_config><nodes/><resources>'
  sed "s/@PROVIDER@/$PROVIDER/" "$P/cib-drbd.xml"
  echo '</resources><constraints/></configuration><status/></cib>'
} > /var/lib/pacemaker/cib/cib.xml
chown -R hacluster:haclient /var/lib/pacemaker/cib; chmod 600 /var/lib/pacemaker/cib/cib.xml
corosync || die "corosync did not start"
(pacemakerd > /var/log/pacemakerd.out 2>&1 &)
wait_for 150 sh -c "crm_mon -1 2>/dev/null | grep -q 'Online: \[ nodea nodeb \]'" || die "cluster never formed"
t "cluster formed"
result "clone=$(crm_resource --resource drbd_r0 --query-xml 2>/dev/null | grep -o 'provider="[^"]*"' | head -n 1)"

# ---- 3. exactly one node promoted
if [ "$NODE" = nodea ]; then
  wait_for 120 promoted_or_failed || die "no single promoted node: promoted='$(promoted)' unpromoted='$(unpromoted)'"
  [ "$(failures)" = 0 ] || die "failed actions: $(failed_actions)"
  PRIM=$(promoted)
  sleep 6   # one Unpromoted monitor interval: the promotion must hold
  result "promoted=$(promoted)"
  result "unpromoted=$(unpromoted)"
  result "failures.start=$(failures)"
  result "score.initial.nodea=$(score_of nodea)"
  result "score.initial.nodeb=$(score_of nodeb)"
  say primary "$PRIM"
else
  announced() { [ -n "$(hear nodea primary)" ] || peer_failed; }
  wait_for 180 announced || die "nodea never named the promoted node"
  peer_failed && die "nodea failed: $(hear nodea failed)"
  PRIM=$(hear nodea primary)
fi
result "role.initial=$(drbd_role)"
[ "$PRIM" = nodea ] && SEC=nodeb || SEC=nodea

# ---- 4. data written on the Primary, read on the other node after a controlled switch-over
if [ "$NODE" = "$PRIM" ]; then
  mkfs.ext4 -q /dev/drbd0 || die "mkfs on drbd0 failed"
  mount /dev/drbd0 /mnt || die "mount on the Primary failed"
  echo "$TOKEN" > /mnt/proof && sync && umount /mnt || die "write on the Primary failed"
  result "written=$TOKEN"
  say written
fi
if [ "$NODE" = nodea ]; then
  await 60 "$PRIM" written
  echo "<rsc_location id=\"bw-switch\" rsc=\"ms_drbd_r0\" role=\"Promoted\" node=\"$SEC\" score=\"INFINITY\"/>" \
    | cibadmin --create --scope constraints --xml-pipe || die "cannot place the switch-over constraint"
  wait_for 120 one_promoted "$SEC" "$PRIM" || die "switch-over did not finish: promoted='$(promoted)' unpromoted='$(unpromoted)'"
  result "switched.promoted=$(promoted)"
  result "switched.unpromoted=$(unpromoted)"
  say switched
fi
if [ "$NODE" = "$SEC" ]; then
  await 180 nodea switched
  wait_for 30 sh -c '[ "$(drbdadm role r0 | cut -d/ -f1)" = Primary ]' || die "not Primary after the switch-over"
  mount /dev/drbd0 /mnt || die "mount on the new Primary failed"
  result "read=$(cat /mnt/proof)"
  umount /mnt || die "umount on the new Primary failed"
  say read
fi
# the other node waits through the whole switch-over (up to 120 s on a busy host) and the mount
await 240 "$SEC" read
result "role.switched=$(drbd_role)"

# ---- 5. connected: both agents' view
wait_for 30 grep -q 'ds:UpToDate/UpToDate' /proc/drbd
compare connected
say compared-connected
await 60 "$PEER" compared-connected

# ---- 6. the replication link cut on the Secondary (the old Primary)
if [ "$NODE" = nodea ]; then
  result "score.connected.$PRIM=$(score_of "$PRIM")"
  result "score.connected.$SEC=$(score_of "$SEC")"
fi
if [ "$NODE" = "$PRIM" ]; then
  ip link set repl down
  result "link=down"
  say cut
fi
await 60 "$PRIM" cut
wait_for 60 sh -c '! grep -q "cs:Connected" /proc/drbd' || die "DRBD still connected after the link cut"
t "disconnected: $(grep -o 'cs:.*' /proc/drbd)"
if [ "$NODE" = nodea ]; then
  # the cluster's own monitor (every 6 s on the Unpromoted) moves the score
  before=$(score_of "$PRIM")
  wait_for 60 sh -c "[ \"\$(crm_attribute --node $PRIM --name master-drbd_r0 --lifetime reboot --query --quiet 2>/dev/null)\" != '$before' ]"
  sleep 7   # one more monitor interval: the score must have settled
  result "score.disconnected.$PRIM=$(score_of "$PRIM")"
  result "score.disconnected.$SEC=$(score_of "$SEC")"
  result "disconnected.promoted=$(promoted)"
fi
compare disconnected
say compared-disconnected
await 60 "$PEER" compared-disconnected

# ---- 6b. fencing: the Primary's fence-peer handler placed the constraint; with it, the
# disconnected Secondary cannot be promoted even when a constraint asks for it.
fence_constraint() { cibadmin -Q -o constraints 2>/dev/null | sed -n '/id="drbd-fence-by-handler-r0-ms_drbd_r0"/,/<\/rsc_location>/p'; }
if [ "$NODE" = "$SEC" ]; then
  wait_for 60 sh -c 'dmesg | grep -q "fence-peer.*exit code"'
  result "fence.helper=$(dmesg | grep -o 'fence-peer.*exit code [0-9]*' | tail -n 1)"
fi
if [ "$NODE" = nodea ]; then
  wait_for 60 sh -c "cibadmin -Q -o constraints 2>/dev/null | grep -q drbd-fence-by-handler-r0" || true
  result "fence.allowed=$(fence_constraint | sed -n 's/.*<expression .*value="\([^"]*\)".*/\1/p' | paste -sd,)"
  cibadmin --delete --xml-text '<rsc_location id="bw-switch"/>' >/dev/null 2>&1 || die "cannot remove bw-switch"
  echo "<rsc_location id=\"bw-back\" rsc=\"ms_drbd_r0\" role=\"Promoted\" node=\"$PRIM\" score=\"INFINITY\"/>" \
    | cibadmin --create --scope constraints --xml-pipe || die "cannot place bw-back"
  sleep 15   # a few transitions: the promoted role must not move
  result "fence.promoted-while-fenced=$(promoted)"
  cibadmin --delete --xml-text '<rsc_location id="bw-back"/>' >/dev/null 2>&1 || die "cannot remove bw-back"
  say fence-checked
fi
await 120 nodea fence-checked

# ---- 7. link back, resync, score back; then the clone stopped
if [ "$NODE" = "$PRIM" ]; then ip link set repl up; result "link=up"; fi
wait_for 90 grep -q 'ds:UpToDate/UpToDate' /proc/drbd || die "no resync after the link came back"
if [ "$NODE" = nodea ]; then
  # the resync target's after-resync-target handler removes the constraint
  if wait_for 60 sh -c '! cibadmin -Q -o constraints 2>/dev/null | grep -q drbd-fence-by-handler-r0'; then
    result "fence.removed=yes"
  else
    result "fence.removed=no"
  fi
  wait_for 60 sh -c "[ \"\$(crm_attribute --node $PRIM --name master-drbd_r0 --lifetime reboot --query --quiet 2>/dev/null)\" = \"\$(crm_attribute --node $SEC --name master-drbd_r0 --lifetime reboot --query --quiet 2>/dev/null)\" ]"
  result "score.reconnected.$PRIM=$(score_of "$PRIM")"
  result "score.reconnected.$SEC=$(score_of "$SEC")"
  result "failures.end=$(failures)"
  crm_resource --resource ms_drbd_r0 --meta --set-parameter target-role --parameter-value Stopped >/dev/null \
    || die "cannot stop the clone"
fi
wait_for 90 sh -c '! grep -q "cs:" /proc/drbd' || die "DRBD still up after the clone was stopped"
compare down
compare down-probe 0

# ---- 8. resource-agents' own ocft suite for LINBIT's agent (configs drbd.linbit and
# drbd.bulwark on the payload: the shipped drbd.linbit with these VMs' names, replication
# addresses and disk filled in, and for ours AgentRoot changed). It runs on nodea with nodeb as
# its remote host (`ssh root@192.168.78.2`), on r0's disk, which the stopped clone left down.
# Each case script that does not exit 0 leaves a .retest file; every one is created first, so a
# case ocft never ran (it stops an agent's run after a "core" failure) counts as failed too.
ocft_run() { # ocft_run CONFIG
  local cfg=$1 cases=/var/lib/resource-agents/ocft/cases f n summary verdict
  ocft make -d /tmp/ocft/configs "$cfg" > "/tmp/ocft/$cfg.make" 2>&1 || { cat "/tmp/ocft/$cfg.make"; die "ocft make $cfg failed"; }
  for f in "$cases"/[0-9]*_"$cfg".sh; do touch "${f%.sh}.retest"; done
  # the console shows the run as it goes (a VM killed at its time limit reports nothing else)
  # stdin is not the console: drbdadm up on r0's "unclean" metadata would wait there for an answer
  (cd / && timeout 900 ocft test "$cfg" < /dev/null) 2>&1 | tee "/tmp/ocft/$cfg.out"
  result "ocft.$cfg.exit=${PIPESTATUS[0]}"
  for f in "$cases"/[0-9]*_"$cfg".sh; do
    n=${f##*/}; n=${n%%_*}
    summary=$(sed -n 's/^# Summary: //p' "$f")
    if [ -e "${f%.sh}.retest" ]; then verdict=fail; else verdict=pass; fi
    result "ocft.$cfg.case$n=$verdict $summary"
  done
  sed 's/\x1b\[[0-9;]*m//g' "/tmp/ocft/$cfg.out" | block "ocft.$cfg"
}
if [ -d "$P/ocft" ]; then
  # ocf-directories' HA_RSCTMP, which systemd-tmpfiles would have made
  mkdir -p /run/resource-agents /run/sshd
  if [ "$NODE" = nodeb ]; then
    /usr/sbin/sshd || die "sshd did not start"
    say ocft-ready
    await 1800 nodea ocft-done
  else
    await 60 nodeb ocft-ready
    mkdir -p /tmp/ocft/configs && cp "$P"/ocft/drbd.* /tmp/ocft/configs/
    result "ocft.shipped=$(sha256sum < /usr/share/resource-agents/ocft/configs/drbd.linbit | cut -c1-64)"
    ocft_start=$(date +%s)
    for cfg in drbd.linbit drbd.bulwark; do
      if [ "$cfg" = drbd.linbit ] || [ -x /usr/lib/ocf/resource.d/bulwark/drbd ]; then ocft_run "$cfg"; fi
    done
    result "ocft.seconds=$(( $(date +%s) - ocft_start ))"
    say ocft-done
  fi
fi
result "done=1"
say finished
# nodea stays up until nodeb is through (its crm_attribute calls need the cluster)
if [ "$NODE" = nodea ]; then wait_for 60 heard nodeb finished; fi
dump > /dev/null
exit 0
