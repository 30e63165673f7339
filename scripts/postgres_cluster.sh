#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for the tests and the benchmark: its own data folder in a new
# temporary folder (readable by that user wherever DIR is), a free loopback port, password login, run as an unprivileged user (PostgreSQL refuses root: as
# root it runs as the `postgres` user the postgresql-15 package creates). Nothing of the
# machine's own clusters is touched.
#
#   bash scripts/postgres_cluster.sh start DIR   makes and starts it; writes DIR/url, the URL the
#                                                store takes (postgresql://switchboard:…@127.0.0.1:PORT/postgres)
#   bash scripts/postgres_cluster.sh restart DIR starts it again on its port (after its postmaster
#                                                was killed, as a test of a database crash does)
#   bash scripts/postgres_cluster.sh stop DIR    stops it by the PID in its postmaster.pid, removes
#                                                its folder and DIR
set -euo pipefail

usage() { echo "usage: postgres_cluster.sh start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
command=$1
dir=$2
bin=/usr/lib/postgresql/15/bin

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop() {
    local cluster pidfile pid
    cluster=$(cat "$dir/cluster" 2>/dev/null || true)
    pidfile="$cluster/data/postmaster.pid"
    if [ -n "$cluster" ] && [ -f "$pidfile" ]; then
        pid=$(head -n 1 "$pidfile")
        # SIGINT: PostgreSQL's fast shutdown (sessions cut, everything written).
        if kill -INT "$pid" 2>/dev/null; then
            for _ in $(seq 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    [ -z "$cluster" ] || rm -rf "$cluster"
    rm -rf "$dir"
}

start() {
    if [ ! -x "$bin/initdb" ]; then
        echo "postgres_cluster: $bin/initdb not found: install postgresql-15 (bash scripts/setup.sh as root)" >&2
        exit 1
    fi
    stop   # a cluster a killed run left behind
    mkdir -p "$dir"
    local cluster password
    cluster=$(mktemp -d /tmp/switchboard-postgres.XXXXXX)
    printf '%s\n' "$cluster" > "$dir/cluster"
    password=$(openssl rand -hex 16)
    printf '%s\n' "$password" > "$cluster/password"
    mkdir -p "$cluster/socket"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres "$cluster"
    fi
    as_owner "$bin/initdb" --pgdata="$cluster/data" --username=switchboard --pwfile="$cluster/password" \
        --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$cluster/initdb.log" 2>&1 || {
        cat "$cluster/initdb.log" >&2
        echo "postgres_cluster: initdb failed (above)" >&2
        exit 1
    }
    # A port nobody listens on: tried at random, a few times, as two runs may pick the same.
    local port
    for _ in 1 2 3 4 5; do
        port=$(( 20000 + RANDOM % 40000 ))
        if as_owner "$bin/pg_ctl" --pgdata="$cluster/data" --log="$cluster/server.log" --wait --timeout=60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster/socket -c max_connections=200" start >/dev/null; then
            printf 'postgresql://switchboard:%s@127.0.0.1:%s/postgres\n' "$password" "$port" > "$dir/url"
            printf '%s\n' "$port" > "$dir/port"
            echo "postgres_cluster: PostgreSQL 15 on 127.0.0.1:$port, data in $cluster/data"
            return
        fi
    done
    tail -n 20 "$cluster/server.log" >&2 || true
    echo "postgres_cluster: the server did not start (its log above)" >&2
    exit 1
}

# After a crash the old server's processes may hold its shared memory for a moment: tried a while.
restart() {
    local cluster port
    cluster=$(cat "$dir/cluster")
    port=$(cat "$dir/port")
    for _ in $(seq 60); do
        if as_owner "$bin/pg_ctl" --pgdata="$cluster/data" --log="$cluster/server.log" --wait --timeout=60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster/socket -c max_connections=200" start >/dev/null; then
            echo "postgres_cluster: PostgreSQL 15 on 127.0.0.1:$port again"
            return
        fi
        sleep 0.5
    done
    tail -n 20 "$cluster/server.log" >&2 || true
    echo "postgres_cluster: the server did not start again (its log above)" >&2
    exit 1
}

case "$command" in
    start) start ;;
    restart) restart ;;
    stop) stop ;;
    *) usage ;;
esac
