#!/usr/bin/env bash
# The sandbox demo: sets up and builds, starts the uSpeedo simulator and the daemon on free
# loopback ports, sends an example job through them, prints each recipient's outcome, and stops
# what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
echo "build: compiling (the first build takes a few minutes)..."
bash scripts/build.sh >/dev/null
build=$(realpath "${SWITCHBOARD_BUILD_DIR:-build}")
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Starts a program that prints "listening on URL"; sets $url to that URL.
start() {
    local name=$1; shift
    mkfifo "$work/$name.out"
    "$@" >"$work/$name.out" 2>"$work/$name.log" &
    pids+=($!)
    exec {fd}<"$work/$name.out"
    if ! read -r -t 20 line <&$fd; then
        echo "demo: $name did not start; its log:" >&2
        cat "$work/$name.log" >&2
        exit 1
    fi
    url=${line#listening on }
}

start simulator "$build/bin/uspeedo-simulator" --listen 127.0.0.1:0 --faults '{"block_list": ["+85255319999"]}'
simulator_url=$url
echo "simulator: uSpeedo API on $simulator_url"

sed -e "s|@SIMULATOR_URL@|$simulator_url|" -e "s|@PLUGIN_DIR@|$build/lib/switchboard/plugins|" \
    scripts/sandbox/switchboard.json.in >"$work/switchboard.json"
export USPEEDO_ACCESS_KEY_SECRET=sim-access-secret
start daemon "$build/bin/switchboard" serve --config "$work/switchboard.json"
echo "daemon: API on $url"
echo

status=0
"$build/bin/switchboard" send --server "$url" --route otp scripts/sandbox/recipients.json || status=$?
echo
# 'switchboard send' exits 2 when some recipients did not get through, which this demo shows on purpose.
[ "$status" -le 2 ] || exit "$status"
echo "demo: done. Three recipients fail on purpose: user-4 is on the simulator's block list (the vendor"
echo "refuses it), user-5's number is not E.164 and user-6 lacks the template's code (both refused by"
echo "validation, before any send)."
