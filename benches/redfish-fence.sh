#!/bin/bash
# redfish-fence.sh - fence_bulwark_redfish versus fence_redfish against the same sushy-tools
# Redfish emulator (fake driver, HTTPS, one system, on loopback), alternating in one run:
# status and list; prints medians, ratios and peak RSS.
# Targets: status >= 10x faster, peak RSS <= 5 MiB.     Usage (root):  benches/redfish-fence.sh
# Options go on the command line here (hyperfine -N gives no stdin): fence_bulwark_redfish reads
# the password from a 0600 file (it refuses secrets in argv); fence_redfish gets -p.
# fence_redfish gets --ssl-insecure (it cannot take a CA file); ours verifies against the CA.
. "$(dirname "$0")/common.sh"
BIN=$(bench_build)
STOCK=/usr/sbin/fence_redfish
[ -x "$STOCK" ] || { echo "fence_redfish not installed (fence-agents)" >&2; exit 1; }
PINS=(sushy-tools==2.2.0 cheroot==11.1.2)   # as tests/support/redfish.rs
VENV=$BENCH_ROOT/target/redfish-venv-bench
if [ ! -f "$VENV/complete" ]; then
    tmp=$VENV.tmp.$$
    rm -rf "$tmp"
    /usr/bin/python3 -m venv "$tmp"
    "$tmp/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}"
    touch "$tmp/complete"
    mv -T "$tmp" "$VENV" 2>/dev/null || rm -rf "$tmp"
fi
STATE=$(mktemp -d /tmp/bwbench-redfish.XXXXXX)
EMU_PID=
trap '[ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null; rm -rf "$STATE"' EXIT
cd "$STATE"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench-ca -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout srv.key -out srv.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > srv.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext -out srv.pem 2>/dev/null
umask 077
PASSWORD=bench-$$-pw
printf '%s\n' "$PASSWORD" > password
printf '%s' "$PASSWORD" | "$VENV/bin/python" -c \
    'import bcrypt,sys;print("bench:"+bcrypt.hashpw(sys.stdin.read().encode(),bcrypt.gensalt(rounds=4)).decode())' > htpasswd
PORT=$((20000 + $$ % 20000))
RF_DIR=$STATE RF_USER=bench RF_PASSWORD=$PASSWORD RF_HOST=127.0.0.1 RF_PORT=$PORT TMPDIR=$STATE \
RF_CERT=$STATE/srv.pem RF_KEY=$STATE/srv.key \
RF_SYSTEMS='[{"uuid":"00000001-0000-4000-8000-000000000001","name":"node1","power_state":"On"}]' \
    "$VENV/bin/python" "$BENCH_ROOT/tests/fixtures/redfish/emulator.py" > emulator.log 2>&1 &
EMU_PID=$!
for _ in $(seq 200); do [ -f ready ] && break; sleep 0.05; done
[ -f ready ] || { cat emulator.log >&2; exit 1; }
cd "$BENCH_ROOT"

ours=("$BIN/fence_bulwark_redfish" -a "127.0.0.1:$PORT" -l bench --password-file="$STATE/password"
      --ssl-ca-file="$STATE/ca.pem")
stock=("$STOCK" -a 127.0.0.1 -u "$PORT" -l bench -p "$PASSWORD" --ssl-insecure)
"${ours[@]}" -o status > /dev/null || { echo "fence_bulwark_redfish status failed" >&2; exit 1; }
"${stock[@]}" -o status > /dev/null || { echo "fence_redfish status failed" >&2; exit 1; }

echo "status (on), $ROUNDS alternating rounds x $RUNS runs:"
bench_pair fence_bulwark_redfish fence_redfish -- "${ours[@]}" -o status -- "${stock[@]}" -o status
echo "with a SessionService (ours logs in and out; fence_redfish stays on Basic):"
echo sessions > "$STATE/faults"
bench_pair fence_bulwark_redfish fence_redfish -- "${ours[@]}" -o status -- "${stock[@]}" -o status
rm -f "$STATE/faults"
# Start-up alone: the command line parsed (clap, from the declaration) and every parameter
# validated, no device contacted.
echo "start-up (validate-all from the command line):"
bench_pair fence_bulwark_redfish fence_redfish -- "${ours[@]}" -o validate-all -- "${stock[@]}" -o validate-all
peak_rss "fence_bulwark_redfish validate-all" "${ours[@]}" -o validate-all
peak_rss "fence_bulwark_redfish status" "${ours[@]}" -o status
peak_rss "fence_redfish status" "${stock[@]}" -o status
peak_rss "fence_bulwark_redfish list" "${ours[@]}" -o list
