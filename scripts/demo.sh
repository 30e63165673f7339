#!/usr/bin/env bash
# The sandbox demo: sets up, builds, and shows what the gateway has loaded. (The end-to-end demo
# against the vendor simulators replaces this as the vendor plugins land.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh >/dev/null
sb=${SWITCHBOARD_BUILD_DIR:-build}/bin/switchboard

echo
echo "== switchboard plugins list"
"$sb" plugins list
for plugin in "${SWITCHBOARD_BUILD_DIR:-build}"/lib/switchboard/plugins/*.so; do
    echo
    echo "== switchboard plugins inspect $plugin"
    "$sb" plugins inspect "$plugin"
done
