#!/usr/bin/env bash
# examples/http.rs under load, glassbox against tokio: wrk's req/s and p99 latency for
# each runtime, run alternately so that a noisy neighbour hurts both alike.
#
#   scripts/http-bench.sh              hello world, 50 connections, 3 rounds each
#   ROUNDS=5 DURATION=10s scripts/http-bench.sh
#
# Three scenes, each `wrk -t1 -c50 -d$DURATION --latency`:
#   1. GET /, one thread: glassbox against tokio current_thread.
#   2. GET /, --workers 2: two glassbox runtimes (SO_REUSEPORT) against tokio
#      multi_thread with two workers.
#   3. GET / while a client hits /block?ms=200 (then /offload?ms=200) once a second, on
#      glassbox: the p99 shows the stall that /block causes and /offload does not.
# With taskset, the server runs on the first cores and wrk on the last, so they do
# not fight for one core. wrk is a Debian package: installed here if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}

if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --example http -q
server_bin=target/release/examples/http

cores=$(nproc)
server_pin=() client_pin=()
if command -v taskset >/dev/null && [ "$cores" -ge 2 ]; then
    server_pin=(taskset -c "0-$((cores > 2 ? cores - 2 : 0))")
    client_pin=(taskset -c "$((cores - 1))")
fi

server_pid=
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true # killed: its status is not ours
        server_pid=
    fi
}
trap stop_server EXIT

# Starts the server with the given arguments; sets $url from its first stdout line.
start_server() {
    local out
    out=$(mktemp)
    "${server_pin[@]}" "$server_bin" --addr 127.0.0.1:0 "$@" >"$out" 2>/dev/null &
    server_pid=$!
    for _ in $(seq 100); do
        [ -s "$out" ] && break
        sleep 0.05
    done
    url=$(head -1 "$out" | sed 's/^listening on //')
    rm -f "$out"
}

# One wrk run against $url/; prints "REQ_PER_SEC P99_MS".
measure() {
    "${client_pin[@]}" wrk -t1 -c50 -d"$DURATION" --latency "$url/" | awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
            return v
        }
        $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 }
        END { printf "%.0f %.3f\n", rps, p99 }'
}

# The median of the numbers on stdin.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Runs glassbox and tokio alternately $ROUNDS times with the extra server arguments
# given; prints each run, then the medians and their ratio.
compare() {
    local title=$1
    shift
    local results
    results=$(mktemp)
    echo "== $title =="
    for round in $(seq "$ROUNDS"); do
        for runtime in glassbox tokio; do
            start_server --runtime "$runtime" "$@"
            read -r rps p99 < <(measure)
            stop_server
            printf '  round %s %-8s %8s req/s  p99 %7s ms\n' "$round" "$runtime" "$rps" "$p99"
            echo "$runtime $rps $p99" >>"$results"
        done
    done
    local g_rps t_rps g_p99 t_p99
    g_rps=$(awk '$1 == "glassbox" { print $2 }' "$results" | median)
    t_rps=$(awk '$1 == "tokio" { print $2 }' "$results" | median)
    g_p99=$(awk '$1 == "glassbox" { print $3 }' "$results" | median)
    t_p99=$(awk '$1 == "tokio" { print $3 }' "$results" | median)
    rm -f "$results"
    printf '  median   glassbox %8.0f req/s  p99 %7.3f ms\n' "$g_rps" "$g_p99"
    printf '  median   tokio    %8.0f req/s  p99 %7.3f ms\n' "$t_rps" "$t_p99"
    awk -v g="$g_rps" -v t="$t_rps" -v gp="$g_p99" -v tp="$t_p99" \
        'BEGIN { printf "  ratio glassbox/tokio: req/s %.2f, p99 %.2f\n", g / t, gp / tp }'
}

# GET / under load while one client hits $1 once a second: the p99 of everyone else.
with_a_slow_route() {
    local route=$1
    start_server --runtime glassbox
    ( while sleep 1; do curl -s -o /dev/null "$url$route"; done ) &
    local hitter=$!
    read -r rps p99 < <(measure)
    kill "$hitter" 2>/dev/null
    wait "$hitter" 2>/dev/null || true
    stop_server
    printf '  %-22s %8s req/s  p99 %8s ms\n' "$route" "$rps" "$p99"
}

echo "wrk -t1 -c50 -d$DURATION --latency, $cores cores, server pinned: ${server_pin[*]:-no}"
compare "GET /, one thread (tokio current_thread)"
compare "GET /, --workers 2 (tokio multi_thread, 2 workers)" --workers 2
echo "== GET / on glassbox while /block or /offload is hit once a second =="
with_a_slow_route "/block?ms=200"
with_a_slow_route "/offload?ms=200"
