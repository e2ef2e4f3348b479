#!/bin/bash
# axigen-monitor.sh - `axigen monitor` (depth 0 and depth 10) versus ocf:heartbeat:anything's
# monitor of the same running Axigen stand-in, alternating; prints medians, ratios, peak RSS.
#   depth 0:  ours scans /proc for the binary; anything reads a pidfile and runs kill -0.
#   depth 10: ours greets all four listeners in parallel; anything's monitor_hook does the same
#             greetings one after another with bash /dev/tcp (the closest a shell hook gets).
# Target: depth-0 monitor >= 10x faster than anything's, peak RSS <= 5 MiB.
# Usage (root):  benches/axigen-monitor.sh
. "$(dirname "$0")/common.sh"
BIN=$(bench_build)
D=$(mktemp -d /tmp/bulwark-bench-axigen.XXXXXX)
mkdir -p "$D/bin" "$D/data/run"
cp "$BIN/axigen-standin" "$D/bin/axigen"
: > "$D/data/run/standin-control"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SMTP=$(free_port) IMAP=$(free_port) POP3=$(free_port) WEB=$(free_port) CLI=$(free_port)

export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=bench
export OCF_RESKEY_CRM_meta_interval=10000 OCF_RESKEY_CRM_meta_timeout=20000
export OCF_RESKEY_binary=$D/bin/axigen OCF_RESKEY_datadir=$D/data OCF_RESKEY_user=root
export OCF_RESKEY_require_mount=false OCF_RESKEY_cli_port=$CLI
export OCF_RESKEY_options="--datadir $D/data --bind 127.0.0.1 --listen smtp=$SMTP --listen imap=$IMAP --listen pop3=$POP3 --listen http=$WEB --listen cli=$CLI"
export OCF_RESKEY_listeners="smtp:127.0.0.1:$SMTP imap:127.0.0.1:$IMAP pop3:127.0.0.1:$POP3 webmail:127.0.0.1:$WEB"
cleanup() { "$BIN/axigen" stop > /dev/null 2>&1 || true; rm -rf "$D"; }
trap cleanup EXIT
"$BIN/axigen" start

# anything's view of the same server: a pidfile with the supervisor's pid.
SUP=$(for p in /proc/[0-9]*; do
        [ "$(readlink "$p/exe" 2>/dev/null)" = "$D/bin/axigen" ] || continue
        pp=$(awk '{print $4}' "$p/stat")
        [ "$(readlink "/proc/$pp/exe" 2>/dev/null)" = "$D/bin/axigen" ] || echo "${p#/proc/}"
      done | head -n 1)
echo "$SUP" > "$D/supervisor.pid"
ANYTHING=/usr/lib/ocf/resource.d/heartbeat/anything
HOOK="bash -c 'g() { exec 3<>/dev/tcp/127.0.0.1/\$1 || exit 1; [ -z \"\$3\" ] || printf \"\$3\" >&3; read -r -t 5 l <&3 || exit 1; case \$l in \$2*) ;; *) exit 1;; esac; exec 3>&-; }; \
g $SMTP 220; g $IMAP \"* OK\"; g $POP3 +OK; g $WEB HTTP/1. \"HEAD / HTTP/1.0\r\n\r\n\"'"
any() { env OCF_RESKEY_binfile="$D/bin/axigen" OCF_RESKEY_pidfile="$D/supervisor.pid" "$@"; }

for level in 0 10; do
  OCF_CHECK_LEVEL=$level "$BIN/axigen" monitor || { echo "axigen monitor (depth $level) failed" >&2; exit 1; }
done
any "$ANYTHING" monitor || { echo "anything monitor failed" >&2; exit 1; }
any OCF_RESKEY_monitor_hook="$HOOK" "$ANYTHING" monitor || { echo "anything monitor_hook failed" >&2; exit 1; }

echo "monitor of a running Axigen stand-in (supervisor $SUP, 4 listeners), $ROUNDS alternating rounds x $RUNS runs:"
echo "depth 0 (process):"
OCF_CHECK_LEVEL=0 bench_pair "axigen depth 0" "anything (pidfile + kill -0)" -- \
    "$BIN/axigen" monitor -- env OCF_RESKEY_binfile="$D/bin/axigen" OCF_RESKEY_pidfile="$D/supervisor.pid" "$ANYTHING" monitor
echo "depth 10 (every listener greets):"
# hyperfine -N splits the command at blanks: the hook goes through the environment instead.
export OCF_RESKEY_monitor_hook=$HOOK
OCF_CHECK_LEVEL=10 bench_pair "axigen depth 10" "anything + greeting hook" -- \
    "$BIN/axigen" monitor -- env OCF_RESKEY_binfile="$D/bin/axigen" OCF_RESKEY_pidfile="$D/supervisor.pid" "$ANYTHING" monitor
unset OCF_RESKEY_monitor_hook
OCF_CHECK_LEVEL=0 peak_rss "axigen depth 0" "$BIN/axigen" monitor
OCF_CHECK_LEVEL=10 peak_rss "axigen depth 10" "$BIN/axigen" monitor
peak_rss "anything" env OCF_RESKEY_binfile="$D/bin/axigen" OCF_RESKEY_pidfile="$D/supervisor.pid" "$ANYTHING" monitor
# Context: what any exec costs on this host (the floor under every agent's monitor).
printf '  exec floor (/bin/true):      '; hyperfine -N -w 3 -r 50 /bin/true 2>/dev/null | grep -o 'Time (mean[^[]*'
