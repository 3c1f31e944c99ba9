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
#   4. The syscall ledger: each runtime's server under `strace -f -c` for one fixed wrk
#      run (GET /, one thread), every kind of call counted per request; glassbox
#      twice, as it ships and without its stall watchdog (GLASSBOX_STALL_MS=0).
#   5. HTTP/2 (--http2): h2load, 50 connections of up to 1,000 concurrent streams,
#      $H2_REQUESTS requests in all; run only if SCENES includes it (it needs
#      Debian's nghttp2-client, installed here if missing).
#
#   SCENES="ledger" scripts/http-bench.sh      only the ledger (default: all but h2)
#   SCENES="h2" scripts/http-bench.sh          only HTTP/2
# With taskset, the server runs on the first cores and wrk on the last, so they do
# not fight for one core. wrk is a Debian package: installed here if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
SCENES=${SCENES:-"one workers slow ledger"}
H2_REQUESTS=${H2_REQUESTS:-500000}

wants() { [[ " $SCENES " == *" $1 "* ]]; }
need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }
}
need wrk wrk
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

# Starts the server with the given arguments; sets $url from its first stdout line
# and $server_pid. $launcher (e.g. `strace -f -c -o FILE`) goes before the server.
launcher=()
start_server() {
    local out
    out=$(mktemp)
    "${server_pin[@]}" "${launcher[@]}" "$server_bin" --addr 127.0.0.1:0 "$@" >"$out" 2>/dev/null &
    server_pid=$!
    for _ in $(seq 200); do
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

# Scene 4: each runtime's server under `strace -f -c` for one wrk run; prints every
# kind of system call per request, side by side.
ledger() {
    need strace strace
    local dir side requests
    dir=$(mktemp -d)
    echo "== syscalls per request: GET /, wrk -t1 -c50 -d$DURATION, under strace -f -c =="
    # Three sides: glassbox as it ships, glassbox without its stall watchdog
    # (GLASSBOX_STALL_MS=0: tokio has none), and tokio.
    for side in glassbox unwatched tokio; do
        case $side in
            unwatched) launcher=(env GLASSBOX_STALL_MS=0 strace -f -c -o "$dir/$side.strace")
                start_server --runtime glassbox ;;
            *) launcher=(strace -f -c -o "$dir/$side.strace")
                start_server --runtime "$side" ;;
        esac
        launcher=()
        requests=$("${client_pin[@]}" wrk -t1 -c50 -d"$DURATION" "$url/" |
            awk '/requests in/ { print $1 }')
        stop_traced_server
        echo "$requests" >"$dir/$side.requests"
    done
    printf '  %-16s %14s %14s %14s\n' call glassbox/req "no watchdog" tokio/req \
        '(requests)' "$(cat "$dir/glassbox.requests")" "$(cat "$dir/unwatched.requests")" \
        "$(cat "$dir/tokio.requests")"
    # strace -c's rows: % time, seconds, usecs/call, calls, [errors,] syscall.
    awk -v gr="$(cat "$dir/glassbox.requests")" -v ur="$(cat "$dir/unwatched.requests")" \
        -v tr="$(cat "$dir/tokio.requests")" '
        FNR == 1 { side = FILENAME ~ /glassbox/ ? "g" : FILENAME ~ /unwatched/ ? "u" : "t" }
        $1 ~ /^[0-9.]+$/ && $NF != "total" { count[$NF, side] = $4; kinds[$NF] = 1 }
        END {
            for (k in kinds) {
                g = count[k, "g"] / gr; u = count[k, "u"] / ur; t = count[k, "t"] / tr
                if (g >= 0.0001 || u >= 0.0001 || t >= 0.0001)
                    printf "  %-16s %14.4f %14.4f %14.4f\n", k, g, u, t
            }
        }' "$dir/glassbox.strace" "$dir/unwatched.strace" "$dir/tokio.strace" | sort -k2,2 -g -r
    rm -rf "$dir"
}

# Stops a server started under strace with Ctrl-C's signal (it drains and exits), so
# that strace writes its summary as its child ends.
stop_traced_server() {
    pkill -INT -P "$server_pid" || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# Scene 5: HTTP/2, h2load with 50 connections of up to 1,000 concurrent streams each,
# alternately; prints each run, then the medians and their ratio.
h2() {
    need h2load nghttp2-client
    local runtime round results rps
    results=$(mktemp)
    echo "== HTTP/2 (--http2): h2load -c50 -m1000 -n$H2_REQUESTS =="
    for round in $(seq "$ROUNDS"); do
        for runtime in glassbox tokio; do
            start_server --runtime "$runtime" --http2
            rps=$("${client_pin[@]}" h2load -c50 -m1000 -n"$H2_REQUESTS" "$url/" |
                awk '/^finished in/ { printf "%.0f", $4 } /^requests:/ && $8 != '"$H2_REQUESTS"' { print " FAILED:", $0 }')
            stop_server
            printf '  round %s %-8s %s req/s\n' "$round" "$runtime" "$rps"
            echo "$runtime $rps" >>"$results"
        done
    done
    local g_rps t_rps
    g_rps=$(awk '$1 == "glassbox" { print $2 }' "$results" | median)
    t_rps=$(awk '$1 == "tokio" { print $2 }' "$results" | median)
    rm -f "$results"
    awk -v g="$g_rps" -v t="$t_rps" \
        'BEGIN { printf "  median   glassbox %.0f req/s, tokio %.0f: ratio %.2f\n", g, t, g / t }'
}

echo "wrk -t1 -c50 -d$DURATION --latency, $cores cores, server pinned: ${server_pin[*]:-no}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if wants one; then compare "GET /, one thread (tokio current_thread)"; fi
if wants workers; then compare "GET /, --workers 2 (tokio multi_thread, 2 workers)" --workers 2; fi
if wants slow; then
    echo "== GET / on glassbox while /block or /offload is hit once a second =="
    with_a_slow_route "/block?ms=200"
    with_a_slow_route "/offload?ms=200"
fi
if wants ledger; then ledger; fi
if wants h2; then h2; fi
