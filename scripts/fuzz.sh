#!/usr/bin/env bash
# Builds the libFuzzer targets (FuzzHTTPRequest, FuzzSSE, FuzzServiceJSON) and runs each for a
# bounded time.
#
#   scripts/fuzz.sh [seconds per target]        default 60
#
# The corpus starts from the unit tests' inputs (exported by `swift test` with PROXYM_FUZZ_SEEDS)
# and grows in $FUZZ_WORK/corpus/<target>, kept between runs. Exits non-zero if a target crashed or
# found a property violated; each artifact is printed as a Swift byte literal to add to
# Tests/ProxymHTTPTests/FuzzCrashers/FuzzCrashers.swift (HTTP, SSE) or to ServiceFuzzCrashers in
# Tests/ProxymFuzzChecksTests/ServiceFuzzTests.swift (services), where a normal `swift test` replays it.
#
# Environment:
#   FUZZ_SCRATCH       scratch path of the fuzz build           (default .build-fuzz)
#   FUZZ_TEST_SCRATCH  scratch path for the seed-exporting tests (default .build)
#   FUZZ_WORK          corpus, seeds and artifacts              (default $FUZZ_SCRATCH/work)
#   FUZZ_CONFIG        release or debug                         (default release: ~9x the execs)
#   FUZZ_TARGETS       which targets                  (default "FuzzHTTPRequest FuzzSSE FuzzServiceJSON")
#   FUZZ_NO_SEEDS=1    skip exporting the test inputs (no `swift test` run)
set -euo pipefail

seconds="${1:-60}"
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [seconds per target]" >&2; exit 2 ;; esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scratch="${FUZZ_SCRATCH:-.build-fuzz}"
test_scratch="${FUZZ_TEST_SCRATCH:-.build}"
work="${FUZZ_WORK:-$scratch/work}"
config="${FUZZ_CONFIG:-release}"
targets="${FUZZ_TARGETS:-FuzzHTTPRequest FuzzSSE FuzzServiceJSON}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

# SwiftPM's --sanitize=fuzzer alone reaches the compiler as `-sanitize=fuzzer -sanitize=address`, of
# which the frontend keeps only the last: no coverage instrumentation, and libFuzzer runs blind.
# -Xswiftc -sanitize=fuzzer,address instruments every module; --sanitize=fuzzer stays so SwiftPM
# lets libFuzzer provide `main`. lld, because gold warns about ASan's local symbols.
for target in $targets; do
    echo "== building $target ($config)"
    started=$SECONDS
    swift build --scratch-path "$scratch" -c "$config" --product "$target" \
        --sanitize=fuzzer --sanitize=address \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld
    echo "== built $target in $((SECONDS - started))s"
done
bin="$(swift build --scratch-path "$scratch" -c "$config" --show-bin-path)"

if [ "${FUZZ_NO_SEEDS:-0}" != 1 ]; then
    echo "== exporting the test inputs as seeds"
    rm -rf "$work/seeds"
    PROXYM_FUZZ_SEEDS="$work/seeds" swift test --scratch-path "$test_scratch" \
        --filter 'ProxymHTTPTests.FuzzTests|ProxymFuzzChecksTests.ServiceFuzzTests'
fi

failed=0
for target in $targets; do
    corpus="$work/corpus/$target"
    artifacts="$work/artifacts/$target"
    seeds="$work/seeds/$target"
    mkdir -p "$corpus" "$artifacts" "$seeds"
    rm -f "$artifacts"/*
    echo "== fuzzing $target for ${seconds}s (corpus $corpus)"
    set +e
    # No Swift backtracer: it fights ASan over the crash; libFuzzer reports the trap itself.
    SWIFT_BACKTRACE=enable=no "$bin/$target" "$corpus" "$seeds" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=8192 \
        -dict="$root/scripts/fuzz/$target.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
        >"$work/$target.log" 2>&1
    status=$?
    set -e
    grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|INFO: seed corpus|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|==[0-9]+==ERROR|SUMMARY|Done )|deadly|Fatal error|violated' \
        "$work/$target.log" || true
    found=("$artifacts"/*)
    if [ "$status" -ne 0 ] || [ -e "${found[0]}" ]; then
        failed=1
        echo "!! $target failed (exit $status); full log: $work/$target.log"
        for artifact in "$artifacts"/*; do
            [ -e "$artifact" ] || continue
            echo "   $(basename "$artifact") as a Swift literal for FuzzCrashers.swift:"
            printf '   Crasher(name: "%s", bytes: [' "$(basename "$artifact")"
            od -An -v -tx1 "$artifact" | tr -s ' \n' ' ' | sed -e 's/^ //' -e 's/ $//' -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/,$//'
            echo ']),'
        done
    fi
done
exit "$failed"
