#!/usr/bin/env bash
# Sets up, builds and runs every test through ctest; then, as CI does, the whole suite again under
# ASan + UBSan, the dispatcher's, store's and HTTP tests under TSan (scripts/sanitize.sh), and
# every fuzz target for 30 s (scripts/fuzz.sh). About 35 minutes on 2 cores from a clean tree.
#
#   bash scripts/test.sh            everything
#   bash scripts/test.sh --quick    the build and ctest only (about 4 minutes, a minute when built)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
case "${1:-}" in
    --quick) quick=1 ;;
    "") ;;
    *) echo "test: unknown option '$1' (--quick runs the plain build's tests only)" >&2; exit 2 ;;
esac

bash scripts/setup.sh
start=$SECONDS
bash scripts/build.sh
echo "build: $(( SECONDS - start )) s"
ctest --test-dir "${SWITCHBOARD_BUILD_DIR:-build}" --output-on-failure --timeout 300 -j "$(nproc)"
[ $quick -eq 1 ] && exit 0

start=$SECONDS
bash scripts/sanitize.sh address thread
echo "sanitizers: $(( SECONDS - start )) s"
start=$SECONDS
bash scripts/fuzz.sh --no-build "${SWITCHBOARD_FUZZ_SECONDS:-30}"
echo "fuzzing: $(( SECONDS - start )) s"
