#!/usr/bin/env bash
# The sandbox demo: sets up and builds, starts the uSpeedo simulator and the daemon on free
# loopback ports, sends an example job through them, prints each recipient's outcome, and stops
# what it started. With DEMO_KEEP=1 it leaves the daemon running until Ctrl-C, to look at the
# jobs in the web console.
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

# A free loopback port for the daemon: the simulators push their receipts to it, so they need it
# before it starts.
daemon_port=""
for _ in $(seq 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
        daemon_port=$candidate
        break
    fi
done
[ -n "$daemon_port" ] || { echo "demo: no free loopback port found" >&2; exit 1; }

# One simulator per vendor, each refusing one number the way that vendor does. CAMS also reports
# user-2's WhatsApp message undelivered, so the "whatsapp" route sends it on by SMS.
blocked='{"block_list": ["+85255319999"]}'
declare -A sim_url
declare -A instance=([uspeedo]=uspeedo-hk [cams]=cams-main [vms]=vms-cn [smn]=smn-promo)
for vendor in uspeedo cams vms smn; do
    faults=$blocked
    [ "$vendor" = cams ] && faults='{"block_list": ["+85255319999"], "undelivered_list": ["+85255311112"]}'
    start "$vendor" "$build/bin/$vendor-simulator" --listen 127.0.0.1:0 --faults "$faults" \
        --receipt-url "http://127.0.0.1:$daemon_port/v1/receipts/${instance[$vendor]}" --receipt-delay-ms 300
    sim_url[$vendor]=$url
    echo "simulator: $vendor API on $url"
done

sed -e "s|@USPEEDO_URL@|${sim_url[uspeedo]}|" -e "s|@CAMS_URL@|${sim_url[cams]}|" \
    -e "s|@VMS_URL@|${sim_url[vms]}|" -e "s|@SMN_URL@|${sim_url[smn]}|" \
    -e "s|@PLUGIN_DIR@|$build/lib/switchboard/plugins|" -e "s|@LISTEN@|127.0.0.1:$daemon_port|" \
    scripts/sandbox/switchboard.json.in >"$work/switchboard.json"
export USPEEDO_ACCESS_KEY_SECRET=sim-access-secret CAMS_ACCESS_KEY_SECRET=sim-access-secret
export VMS_SECRET_ACCESS_KEY=sim-secret-key VMS_CALLBACK_TOKEN=sim-callback-token SMN_SECRET_ACCESS_KEY=sim-secret-key
# The daemon's API key: the daemon reads it through its configuration, 'switchboard send' from here.
SWITCHBOARD_API_KEY=demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export SWITCHBOARD_API_KEY
start daemon "$build/bin/switchboard" serve --config "$work/switchboard.json"
echo "daemon: API on $url"
echo "console: $url/console/ (its API key: $SWITCHBOARD_API_KEY)"

status=0
for route in otp whatsapp voice promo; do
    # The SMS campaign comes from a CSV file (numbers as people write them); the others from JSON.
    file=scripts/sandbox/recipients.json
    [ "$route" = otp ] && file=scripts/sandbox/recipients.csv
    echo
    echo "== switchboard send --route $route $file"
    "$build/bin/switchboard" send --server "$url" --route "$route" "$file" || status=$?
    # 'switchboard send' exits 2 when some recipients did not get through, which this demo shows on purpose.
    [ "$status" -le 2 ] || exit "$status"
done
echo
echo "== the daemon's metrics (GET /metrics, as Prometheus scrapes them)"
sleep 1  # the last receipts (VMS's call records) arrive a moment after their calls
curl -s -H "Authorization: Bearer $SWITCHBOARD_API_KEY" "$url/metrics" |
    grep -E '^switchboard_(recipients|vendor_calls_total|receipts_total)' | grep -v ' 0$'
echo
echo "demo: done. Some recipients fail on purpose: +85255319999 is on every simulator's block list"
echo "(the uSpeedo, VMS and SMN vendors refuse it at once; CAMS takes it and reports it undelivered in"
echo "a receipt, and the whatsapp route then tries SMS, which refuses it too). user-2's WhatsApp"
echo "message is reported undelivered, so it goes on by SMS: its 'route:' line shows both steps."
echo "user-5's number, written with spaces, goes out in E.164 (+447911123456); user-6 lacks the"
echo "template's code, which validation refuses before any send where the route's template needs one."

if [ "${DEMO_KEEP:-}" = 1 ]; then
    echo
    echo "demo: the daemon keeps running: open $url/console/ with the key $SWITCHBOARD_API_KEY; Ctrl-C stops it"
    wait "${pids[@]}" || true
else
    echo "demo: to look at these jobs in the web console, run DEMO_KEEP=1 bash scripts/demo.sh"
fi
