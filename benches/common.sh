# common.sh - helpers for the bench scripts (sourced). Benchmarks are not tests: they print
# ratios against the stock peer measured in the same run, on the same state, alternating.
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${ROUNDS:=5}"          # alternating rounds
: "${RUNS:=30}"           # runs of each command per round

bench_build() {   # builds the release binaries the bench measures
    (cd "$BENCH_ROOT" && cargo build --release --workspace --bins -q)
    echo "$BENCH_ROOT/target/release"
}

# bench_pair LABEL_A LABEL_B -- CMD_A -- CMD_B : alternates hyperfine runs of A and B, prints each
# median (ms) and the ratio B/A. Commands are argument lists run without a shell (hyperfine -N),
# so the environment of this script is theirs.
bench_pair() {
    local la=$1 lb=$2; shift 2
    [ "$1" = -- ] && shift
    local a=() b=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do a+=("$1"); shift; done
    shift
    b=("$@")
    local dir; dir=$(mktemp -d)
    local r
    for r in $(seq "$ROUNDS"); do
        hyperfine -N -w 3 -r "$RUNS" --export-json "$dir/a$r.json" "${a[*]}" > /dev/null 2>&1
        hyperfine -N -w 3 -r "$RUNS" --export-json "$dir/b$r.json" "${b[*]}" > /dev/null 2>&1
    done
    python3 - "$dir" "$la" "$lb" <<'PY'
import json, statistics, sys, glob, os
d, la, lb = sys.argv[1:4]
def times(prefix):
    t = []
    for f in sorted(glob.glob(os.path.join(d, prefix + "*.json"))):
        t += json.load(open(f))["results"][0]["times"]
    return t
a, b = times("a"), times("b")
ma, mb = statistics.median(a) * 1e3, statistics.median(b) * 1e3
print(f"  {la:<28} median {ma:9.3f} ms  ({len(a)} runs)")
print(f"  {lb:<28} median {mb:9.3f} ms  ({len(b)} runs)")
print(f"  ratio {lb} / {la}: {mb / ma:.1f}x")
PY
    rm -rf "$dir"
}

# peak_rss LABEL CMD... : peak resident set size of one run, in KiB and MiB.
peak_rss() {
    local label=$1; shift
    local kb
    kb=$( { /usr/bin/time -f '%M' "$@" > /dev/null 2>/dev/null; } 2>&1 | tail -n 1)
    # /usr/bin/time writes to stderr after the command's own stderr; re-run capturing only it
    kb=$(/usr/bin/time -o /dev/stdout -f '%M' "$@" 2>/dev/null | tail -n 1)
    awk -v l="$label" -v k="$kb" 'BEGIN { printf "  peak RSS %-24s %6d KiB (%.2f MiB)\n", l, k, k/1024 }'
}
