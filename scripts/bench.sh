#!/usr/bin/env bash
# The benchmark against the wire, in one run on this machine:
#   1. the reference: the uSpeedo simulator absorbing pre-built signed 1000-recipient calls replayed
#      by wrk, at 1 connection and at the daemon's calls in flight, no daemon involved;
#   2. the daemon end to end with its SQLite store: accept, send, recipients/s and the ratio to the
#      reference at the same connection count, peak RSS, p50/p99 of GET /v1/jobs/{id} while it sends;
#   3. several daemons (1, 2, 3) sharing one PostgreSQL store (a private cluster the script starts
#      and stops), sending one job: accept, send, recipients/s;
#   4. each plugin's codec: validate, encode and decode of one full call through the C ABI.
# Prints one table and writes OUT/benchmarks.md with a chart (OUT/benchmarks.svg) of recipients/s
# over the send. Figures are this machine's, at the time of the run: compare them with the
# reference beside them, not with another day's.
#
#   bash scripts/bench.sh                  1,000,000 recipients, 10 s per wrk run, into docs/
#   bash scripts/bench.sh --large          10,000,000 recipients
#   bash scripts/bench.sh --smoke          20,000 recipients, 1 s per wrk run, into build/bench-smoke/
#   options: --recipients N  --seconds S  --connections C  --out DIR  --no-build
#            --shared-recipients N (the PostgreSQL runs; default: the smaller of 200,000 and --recipients)
set -euo pipefail
cd "$(dirname "$0")/.."

recipients=1000000
seconds=10
connections=4
out=docs
build=1
shared_recipients=
while [ $# -gt 0 ]; do
    case "$1" in
        --large) recipients=10000000 ;;
        --smoke) recipients=20000; seconds=1; out=build/bench-smoke ;;
        --recipients) recipients=$2; shift ;;
        --shared-recipients) shared_recipients=$2; shift ;;
        --seconds) seconds=$2; shift ;;
        --connections) connections=$2; shift ;;
        --out) out=$2; shift ;;
        --no-build) build=0 ;;
        *) echo "bench: unknown option '$1' (see the comment at the top of $0)" >&2; exit 2 ;;
    esac
    shift
done

[ -n "$shared_recipients" ] || shared_recipients=$(( recipients < 200000 ? recipients : 200000 ))
bin=${SWITCHBOARD_BUILD_DIR:-build}/bin
if [ $build -eq 1 ]; then
    bash scripts/setup.sh
    bash scripts/build.sh >/dev/null
fi
for tool in wrk gnuplot curl psql; do
    command -v $tool >/dev/null || { echo "bench: $tool is missing: run scripts/setup.sh as root" >&2; exit 1; }
done
mkdir -p "$out"
work=$(mktemp -d)
simulator_pid=
cleanup() {
    [ -n "$simulator_pid" ] && kill "$simulator_pid" 2>/dev/null || true
    [ -f "$work/postgres/cluster" ] && bash scripts/postgres_cluster.sh stop "$work/postgres" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# ---- 1. the reference ---------------------------------------------------------------------------
"$bin/uspeedo-simulator" --listen 127.0.0.1:0 >"$work/simulator.out" 2>"$work/simulator.err" &
simulator_pid=$!
for _ in $(seq 100); do
    simulator=$(sed -n 's/^listening on //p' "$work/simulator.out")
    [ -n "$simulator" ] && break
    sleep 0.05
done
[ -n "$simulator" ] || { echo "bench: the uSpeedo simulator did not start: $(cat "$work/simulator.err")" >&2; exit 1; }

"$bin/bench_codec" --wrk-request "$simulator" "$work/request"
# The replayed call must be one the vendor takes, or wrk would measure refusals.
path=$(sed -n 's/^wrk.path = "\(.*\)"$/\1/p' "$work/request/request.lua")
headers=()
while IFS= read -r line; do headers+=(-H "$line"); done < <(sed -n 's/^wrk.headers\["\(.*\)"\] = "\(.*\)"$/\1: \2/p' "$work/request/request.lua")
answer=$(curl -s -X POST "${headers[@]}" --data-binary "@$work/request/body" "$simulator$path")
case "$answer" in
    *'"RetCode":0'*) ;;
    *) echo "bench: the simulator refused the replayed call: $answer" >&2; exit 1 ;;
esac

# Requests/s of wrk at $1 connections, the simulator's records emptied before.
reference() {
    curl -s -X POST "$simulator/_simulator/reset" >/dev/null
    local threads=$(( $1 < 2 ? 1 : 2 ))
    wrk -t"$threads" -c"$1" -d"${seconds}s" -s "$work/request/request.lua" "$simulator" >"$work/wrk-$1.txt"
    if grep -q "Non-2xx" "$work/wrk-$1.txt"; then
        echo "bench: wrk saw errors at $1 connection(s):" >&2; cat "$work/wrk-$1.txt" >&2; exit 1
    fi
    awk '/^Requests\/sec:/ {print $2}' "$work/wrk-$1.txt"
}
echo "bench: the reference (wrk, ${seconds} s at 1 and at $connections connections)..." >&2
calls_1=$(reference 1)
calls_c=$(reference "$connections")
kill "$simulator_pid"
wait "$simulator_pid" 2>/dev/null || true
simulator_pid=

# ---- 2. the daemon end to end -------------------------------------------------------------------
echo "bench: the daemon, $recipients recipients..." >&2
"$bin/bench_large_job" --recipients "$recipients" --calls-in-flight "$connections" --series "$work/series.csv" \
    >"$work/daemon.txt"
figure() { sed -n "s/^$1=//p" "$work/daemon.txt"; }

# ---- 3. several daemons on one PostgreSQL ------------------------------------------------------
echo "bench: 1, 2 and 3 daemons on one PostgreSQL, $shared_recipients recipients each..." >&2
bash scripts/postgres_cluster.sh start "$work/postgres" >&2
pg_url=$(cat "$work/postgres/url")
for n in 1 2 3; do
    psql -q "$pg_url" -c "CREATE DATABASE bench_$n"
    "$bin/bench_large_job" --recipients "$shared_recipients" --calls-in-flight "$connections" \
        --postgres "${pg_url%/*}/bench_$n" --daemons "$n" >"$work/shared-$n.txt"
done
bash scripts/postgres_cluster.sh stop "$work/postgres" >&2
shared() { sed -n "s/^$2=//p" "$work/shared-$1.txt"; }

# ---- 4. the codecs ------------------------------------------------------------------------------
# Five processes a second apart, and the median of their figures: on a shared machine a neighbour
# can slow a whole process down by half for a second or two.
echo "bench: the codecs (5 runs)..." >&2
codec_runs=5
for run in $(seq 1 $codec_runs); do
    "$bin/bench_codec" | tail -n +2 >>"$work/codec-runs.tsv"
    sleep 1
done
# Per plugin, in the order first seen: recipients, the median of each figure over the runs, the
# totals' range, the reference's median, and the total at the machine's quietest moment of the
# runs (each run's total scaled by the fastest reference over its own).
awk -F'\t' '
    function median(list,    n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return a[int((n + 1) / 2)]
    }
    !($1 in seen) { seen[$1] = 1; order[++plugins] = $1; size[$1] = $2; fastest[$1] = $7 }
    {
        for (c = 3; c <= 7; c++) figures[$1, c] = figures[$1, c] " " $c
        runs[$1] = runs[$1] " " $6 "/" $7
        if ($7 + 0 < fastest[$1] + 0) fastest[$1] = $7
    }
    END {
        for (p = 1; p <= plugins; p++) {
            name = order[p]
            n = split(runs[name], pairs, " "); scaled = ""; low = ""; high = ""
            for (i = 1; i <= n; i++) {
                split(pairs[i], f, "/")
                if (low == "" || f[1] + 0 < low + 0) low = f[1]
                if (high == "" || f[1] + 0 > high + 0) high = f[1]
                scaled = scaled " " sprintf("%.3f", f[1] * fastest[name] / f[2])
            }
            printf "%s\t%s\t%s\t%s\t%s\t%s\t%s-%s\t%s\t%s\n", name, size[name], median(figures[name, 3]), median(figures[name, 4]),
                   median(figures[name, 5]), median(figures[name, 6]), low, high, median(figures[name, 7]), median(scaled)
        }
    }' "$work/codec-runs.tsv" >"$work/codec.tsv"

# ---- report ---------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
per_call=1000
reference_1=$(awk -v c="$calls_1" -v n=$per_call 'BEGIN { printf "%.0f", c * n }')
reference_c=$(awk -v c="$calls_c" -v n=$per_call 'BEGIN { printf "%.0f", c * n }')
send_per_s=$(figure send_per_s)

gnuplot <<PLOT
set terminal svg size 900,420 dynamic font "sans,11"
set output "$out/benchmarks.svg"
set datafile separator ","
set title "Sending $recipients recipients through the daemon (uSpeedo simulator, SQLite store, $connections calls in flight)"
set xlabel "seconds since the job started"
set ylabel "recipients/s"
set key bottom right
set yrange [0:*]
plot "$work/series.csv" using 1:3 skip 1 with lines lw 2 title "daemon", \
     $reference_c with lines dt 2 title "reference: wrk at $connections connections", \
     $reference_c/2 with lines dt 3 title "target: half the reference"
PLOT

{
    echo "# Benchmarks"
    echo
    echo "Written by \`bash scripts/bench.sh$( [ "$recipients" = 1000000 ] || echo " --recipients $recipients")\` on $(date -u +%Y-%m-%d) at commit"
    echo "\`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\`, on $(nproc) cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1))."
    echo "Loopback only; the uSpeedo simulator and the daemon share the machine. Each figure is beside the"
    echo "reference measured in the same run: compare ratios, not absolute numbers from another day."
    echo
    echo "## Sending, against the wire"
    echo
    echo "| | calls/s | recipients/s | ratio to the reference at $connections connections |"
    echo "|---|---|---|---|"
    echo "| reference: wrk replaying signed 1000-recipient calls, 1 connection | $calls_1 | $reference_1 | |"
    echo "| reference: wrk, $connections connections | $calls_c | $reference_c | 1.000 |"
    echo "| the daemon, $connections calls in flight, SQLite store (synchronous=FULL) | | $send_per_s | $(ratio "$send_per_s" "$reference_c") |"
    echo
    echo "![recipients/s over the send](benchmarks.svg)"
    echo
    echo "## The daemon end to end ($recipients recipients)"
    echo
    echo "| figure | value |"
    echo "|---|---|"
    echo "| accept, in pages of 10,000 from 2 clients (each page stored before its answer) | $(figure accept_s) s ($(figure accept_per_s) recipients/s) |"
    echo "| send | $(figure send_s) s ($send_per_s recipients/s) |"
    echo "| recipients accepted by the vendor | $(figure accepted) |"
    echo "| daemon peak RSS | $(figure peak_rss_mib) MiB |"
    echo "| GET /v1/jobs/{id} while it sends: p50 / p99 ($(figure get_job_samples) requests) | $(figure get_job_p50_ms) ms / $(figure get_job_p99_ms) ms |"
    echo "| the web console's reads of the sent job (the job, failures by reason, pages of 50 anywhere in it, by state and by provider, the jobs list): p50 / p99 ($(figure console_read_samples) requests) | $(figure console_read_p50_ms) ms / $(figure console_read_p99_ms) ms |"
    echo
    echo "## Several daemons on one PostgreSQL ($shared_recipients recipients, $connections calls in flight each)"
    echo
    echo "Every daemon, the PostgreSQL server (a private cluster, default settings, synchronous_commit on) and the"
    echo "simulator share this machine's $(nproc) cores: more daemons here only share the same CPUs. On separate hosts"
    echo "each daemon brings its own cores, and the database's writes (two short transactions per call) are the limit."
    echo
    echo "| daemons | accept | send | recipients/s | ratio to 1 daemon | ratio to the reference at $connections connections |"
    echo "|---|---|---|---|---|---|"
    for n in 1 2 3; do
        echo "| $n | $(shared $n accept_s) s | $(shared $n send_s) s | $(shared $n send_per_s) | $(ratio "$(shared $n send_per_s)" "$(shared 1 send_per_s)") | $(ratio "$(shared $n send_per_s)" "$reference_c") |"
    done
    echo
    echo "## Codecs: one full call through the C ABI (median ms; the target is at most 1 ms in all)"
    echo
    echo "Each run validates a full call's recipients, encodes the call, then decodes the vendor's answer (its"
    echo "simulator's, to that call) with the same document, as the daemon does; building the documents is the"
    echo "host's work and not counted. With the daemon's allocator settings (README, \"Running it\"). Each figure is"
    echo "the median of $codec_runs processes (each the median of its 21 calls), a second apart. The reference is"
    echo "Boost.JSON reading and writing the plugin's batch document in the same process just before: a neighbour"
    echo "on this shared machine slows whole processes, both alike, by up to 1.7x. The last column scales each"
    echo "run's total by the fastest reference of the runs over its own: the codec at the machine's quiet speed."
    echo
    echo "| plugin | recipients per call | validate | encode | decode | total | total, fastest and slowest of the $codec_runs runs | reference | total at the quietest moment |"
    echo "|---|---|---|---|---|---|---|---|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s ms | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$work/codec.tsv"
} >"$out/benchmarks.md"

{
    printf '%-58s %s\n' "reference, 1 connection (recipients/s)" "$reference_1"
    printf '%-58s %s\n' "reference, $connections connections (recipients/s)" "$reference_c"
    printf '%-58s %s  (ratio %s)\n' "daemon send, $connections calls in flight (recipients/s)" "$send_per_s" "$(ratio "$send_per_s" "$reference_c")"
    printf '%-58s %s s\n' "daemon accept of $recipients" "$(figure accept_s)"
    printf '%-58s %s MiB\n' "daemon peak RSS" "$(figure peak_rss_mib)"
    printf '%-58s %s / %s ms\n' "GET /v1/jobs/{id} p50 / p99 while sending" "$(figure get_job_p50_ms)" "$(figure get_job_p99_ms)"
    printf '%-58s %s / %s ms\n' "the console's reads of the sent job, p50 / p99" "$(figure console_read_p50_ms)" "$(figure console_read_p99_ms)"
    for n in 1 2 3; do
        printf '%-58s %s  (ratio %s)\n' "$n daemon(s) on PostgreSQL, send (recipients/s)" "$(shared $n send_per_s)" \
            "$(ratio "$(shared $n send_per_s)" "$reference_c")"
    done
    awk -F'\t' '{ printf "%-58s %s ms (validate %s, encode %s, decode %s; runs %s; reference %s; at the quietest %s)\n", "codec " $1 " (" $2 " recipients)", $6, $3, $4, $5, $7, $8, $9 }' "$work/codec.tsv"
} | tee "$out/benchmarks.txt"
echo "bench: wrote $out/benchmarks.md and $out/benchmarks.svg" >&2
