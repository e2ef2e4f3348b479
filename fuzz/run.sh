#!/bin/bash
# Fuzzes every target for SECONDS each, one after the other (the CI machine has 2 cores shared
# with the test suite), and fails on any crash, panic, timeout or out-of-memory. Prints one
# line per target with its executions, for docs/fuzzing.md.
#   fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-20}
shift || true
CARGO_FUZZ_VERSION=0.13.1
if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
# Debug assertions on: an integer overflow is a panic here, as in the test builds.
build=(-s none -O -a)
cargo fuzz build "${build[@]}"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=0
for t in "${targets[@]}"; do
    log="$logs/$t.log"
    # -timeout: one input taking over 5 s is a hang; -rss_limit_mb: runaway allocation.
    # New inputs go to a scratch corpus (first directory), not into the committed one.
    mkdir -p "$logs/corpus-$t"
    if nice cargo fuzz run "${build[@]}" "$t" "$logs/corpus-$t" "corpus/$t" -- -max_total_time="$secs" -timeout=5 \
        -rss_limit_mb=1024 -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        echo "fuzz $t: ${secs}s, ${runs:-?} executions, no crash"
    else
        echo "fuzz $t: FAILED (crash, panic, timeout or OOM); the input is under fuzz/artifacts/$t/"
        grep -E "panicked|ERROR: libFuzzer|SUMMARY|Test unit written" "$log" | head -8 || tail -20 "$log"
        failed=1
    fi
done
exit $failed
