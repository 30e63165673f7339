#!/usr/bin/env bash
# Sets up, builds and runs every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
start=$(date +%s)
bash scripts/build.sh
echo "build: $(( $(date +%s) - start )) s"
ctest --test-dir "${SWITCHBOARD_BUILD_DIR:-build}" --output-on-failure --timeout 300 -j "$(nproc)"
