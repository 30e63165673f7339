#!/usr/bin/env bash
# Runs the libFuzzer targets (tests/fuzz), each for a given time, built with clang, ASan and UBSan
# in build-asan (the tree scripts/sanitize.sh tests too). Each target starts from its seeds (the
# vendors' documented examples, sample requests and files) and its regression inputs, and keeps
# what it learns in build-asan/fuzz-corpus/<target>, so a later run goes on from there.
#
#   bash scripts/fuzz.sh                  every target, 30 s each
#   bash scripts/fuzz.sh 600              every target, 10 minutes each
#   bash scripts/fuzz.sh 60 plugin_vms    one target
#   options: --no-build
#
# Prints executions, time, coverage and crashes per target; exits non-zero when any target
# crashed, leaked, timed out (10 s on one input) or ran out of memory (2 GiB). The input that did
# is left in build-asan/fuzz-artifacts/<target>/<time of the run>/: copy it to tests/fuzz/regressions/<target>/ with
# the fix, and ctest replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
seconds=30
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0 ;;
        [0-9]*) seconds=$1 ;;
        -*) echo "fuzz: unknown option '$1' (see the comment at the top of $0)" >&2; exit 2 ;;
        *) targets+=("$1") ;;
    esac
    shift
done

build_dir=${SWITCHBOARD_ASAN_BUILD_DIR:-build-asan}
if [ $build -eq 1 ]; then
    bash scripts/setup.sh
    bash scripts/sanitize.sh --configure-only address
    cmake --build "$build_dir" --target fuzz_targets
fi

if [ ${#targets[@]} -eq 0 ]; then
    for program in "$build_dir"/fuzz/fuzz_*; do
        targets+=("$(basename "$program" | sed 's/^fuzz_//')")
    done
fi

symbolizer=external_symbolizer_path=/usr/lib/llvm-14/bin/llvm-symbolizer
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:$symbolizer}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:$symbolizer}

failed=()
summary=()
for target in "${targets[@]}"; do
    program="$build_dir/fuzz/fuzz_$target"
    if [ ! -x "$program" ]; then
        echo "fuzz: no target '$target' in $build_dir/fuzz (built with scripts/fuzz.sh without --no-build)" >&2
        exit 2
    fi
    corpus="$build_dir/fuzz-corpus/$target"
    artifacts="$build_dir/fuzz-artifacts/$target/$(date +%Y%m%dT%H%M%S)"
    log="$build_dir/fuzz-logs/$target.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    inputs=("$corpus" tests/fuzz/seeds/"$target")
    [ -d tests/fuzz/regressions/"$target" ] && inputs+=(tests/fuzz/regressions/"$target")

    echo "fuzz: $target for $seconds s"
    status=0
    # -fork would survive a crash and go on; one process stops at the first fault, which is what
    # a check wants. The corpus is the first input folder, so new inputs are written there.
    "$program" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${inputs[@]}" >"$log" 2>&1 || status=$?

    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
    faults=$(find "$artifacts" -type f | wc -l)
    summary+=("$(printf '%-18s %12s %8s %8s %7s' "$target" "${runs:-?}" "$seconds" "${coverage:-?}" "$faults")")
    if [ $status -ne 0 ] || [ "$faults" -ne 0 ]; then
        failed+=("$target")
        echo "fuzz: $target FAILED (exit $status); its log: $log, its inputs: $artifacts/" >&2
        grep -E -m 5 'ERROR|runtime error|SUMMARY|Test unit written' "$log" >&2 || true
    fi
done

echo
printf '%-18s %12s %8s %8s %7s\n' target executions seconds edges faults
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} target(s), no crash, leak, timeout or out-of-memory"
