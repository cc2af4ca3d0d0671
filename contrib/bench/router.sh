#!/usr/bin/env bash
# Router benchmark: Starling's router against Debian's jabberd2 router, same load generator,
# same machine, same run.
#
#   contrib/bench/router.sh
#
# Builds release binaries, starts both routers on loopback (free ports, throw-away configs),
# then runs `starling-bench router`:
#   1. max mode against each router, interleaved, REPEATS times;
#   2. a fixed rate of half of each router's median max, interleaved, REPEATS times;
# and prints every raw result line, then a table of medians. Router CPU time comes from
# /proc/PID/stat (utime+stime) before and after each run. Both routers are stopped on exit.
#
# Environment (defaults in brackets): COMPONENTS [8], SECONDS_PER_RUN [10], WARMUP [2],
# REPEATS [2], WINDOW [64], QUIET_BUSY_PCT [20] (before the first run wait at most QUIET_WAIT
# [300] s, and before each other run at most QUIET_WAIT_RUN [60] s, until the machine is at
# most this busy), JABBERD2_ROUTER [/usr/sbin/jabberd2-router],
# OUT [target/bench/router-<time>.txt], CARGO [cargo].
#
# Each result line carries other_cpu_pct: CPU used during the measurement by everything but
# the bench and the router (other work on the machine). Runs with a high value are noisy.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
COMPONENTS=${COMPONENTS:-8}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
WARMUP=${WARMUP:-2}
REPEATS=${REPEATS:-2}
WINDOW=${WINDOW:-64}
QUIET_BUSY_PCT=${QUIET_BUSY_PCT:-20}
QUIET_WAIT=${QUIET_WAIT:-300}
QUIET_WAIT_RUN=${QUIET_WAIT_RUN:-60}
JABBERD2_ROUTER=${JABBERD2_ROUTER:-/usr/sbin/jabberd2-router}
CARGO=${CARGO:-cargo}
OUT=${OUT:-$ROOT/target/bench/router-$(date +%Y%m%d-%H%M%S).txt}
PASSWORD="bench-$$-$RANDOM"
CLK_TCK=$(getconf CLK_TCK)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/starling-router-bench.XXXXXX")
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # Bounded: give each router 5 s to stop, then kill it.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" >&2; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # port pid name
    for _ in $(seq 100); do
        if ! kill -0 "$2" 2>/dev/null; then
            log "$3 exited; its log:"; cat "$TMP/$3.log" >&2; exit 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "$3 is not listening on port $1 after 10 s"; exit 1
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Percent of both cores busy over one second, from /proc/stat.
busy_pct() {
    local a b
    a=$(awk '/^cpu / { print $2+$3+$4+$6+$7+$8, $5 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2+$3+$4+$6+$7+$8, $5 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y); busy = y[1] - x[1]; idle = y[2] - x[2];
        printf "%d\n", ((busy + idle) > 0 ? 100 * busy / (busy + idle) : 0) }'
}

wait_quiet() { # max-seconds
    local deadline=$((SECONDS + $1)) busy
    while :; do
        busy=$(busy_pct)
        if [ "$busy" -le "$QUIET_BUSY_PCT" ]; then return 0; fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "machine still ${busy}% busy after $1 s; measuring anyway (see other_cpu_pct)"
            return 0
        fi
        log "machine ${busy}% busy (other work); waiting"
        sleep 10
    done
}

# --- build ---------------------------------------------------------------------------------
cd "$ROOT"
HAVE_STARLING=1
log "building release binaries"
if ! "$CARGO" build --release -p starling-router -p starling-bench >&2; then
    log "starling-router does not build; benchmarking jabberd2's router only"
    HAVE_STARLING=0
    "$CARGO" build --release -p starling-bench >&2
fi
BENCH=$ROOT/target/release/starling-bench
[ -x "$JABBERD2_ROUTER" ] || { log "$JABBERD2_ROUTER not found (apt-get install jabberd2)"; exit 1; }

# --- jabberd2's router -----------------------------------------------------------------------
JD2_PORT=$(free_port)
{
    echo "<users>"
    for i in $(seq "$COMPONENTS"); do echo "  <user><name>bench$i</name><secret>$PASSWORD</secret></user>"; done
    echo "</users>"
} >"$TMP/router-users.xml"
cat >"$TMP/router.xml" <<EOF
<router>
  <id>router</id>
  <pidfile>$TMP/jabberd2-router.pid</pidfile>
  <log type='file'><file>$TMP/jabberd2.log</file></log>
  <local>
    <ip>127.0.0.1</ip>
    <port>$JD2_PORT</port>
    <users>$TMP/router-users.xml</users>
  </local>
  <check><interval>0</interval><keepalive>0</keepalive></check>
  <io>
    <max_fds>1024</max_fds>
    <limits><bytes>0</bytes><connects>0</connects></limits>
    <access><order>allow,deny</order></access>
  </io>
  <aci/>
</router>
EOF
"$JABBERD2_ROUTER" -c "$TMP/router.xml" >>"$TMP/jabberd2.log" 2>&1 &
JD2_PID=$!
PIDS+=("$JD2_PID")
wait_port "$JD2_PORT" "$JD2_PID" jabberd2

# --- Starling's router -----------------------------------------------------------------------
ROUTERS=(jabberd2)
if [ "$HAVE_STARLING" = 1 ]; then
    ST_PORT=$(free_port)
    {
        echo "listen = [\"127.0.0.1:$ST_PORT\"]"
        for i in $(seq "$COMPONENTS"); do printf '\n[users.bench%d]\npassword = "%s"\n' "$i" "$PASSWORD"; done
    } >"$TMP/router.toml"
    RUST_LOG=${RUST_LOG:-warn} "$ROOT/target/release/starling-router" --config "$TMP/router.toml" >"$TMP/starling.log" 2>&1 &
    ST_PID=$!
    PIDS+=("$ST_PID")
    wait_port "$ST_PORT" "$ST_PID" starling
    ROUTERS=(starling jabberd2)
fi

port_of() { if [ "$1" = starling ]; then echo "$ST_PORT"; else echo "$JD2_PORT"; fi; }
pid_of() { if [ "$1" = starling ]; then echo "$ST_PID"; else echo "$JD2_PID"; fi; }
mech_of() { if [ "$1" = starling ]; then echo scram-sha-256; else echo digest-md5; fi; }

mkdir -p "$(dirname "$OUT")"
: >"$OUT"

# One bench run; appends the result line, with the router's CPU seconds for the whole run
# (connect to drain) and the load average, to $OUT.
run() { # router [extra bench args...]
    local router=$1 pid before after line load
    shift
    wait_quiet "$QUIET_WAIT_RUN"
    pid=$(pid_of "$router")
    load=$(cut -d' ' -f1 /proc/loadavg)
    before=$(cpu_ticks "$pid")
    line=$("$BENCH" router --router "127.0.0.1:$(port_of "$router")" --mechanism "$(mech_of "$router")" \
        --password "$PASSWORD" --components "$COMPONENTS" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" \
        --window "$WINDOW" --label "$router" --router-pid "$pid" "$@")
    after=$(cpu_ticks "$pid")
    line="$line router_cpu_s=$(awk -v a="$before" -v b="$after" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }') load1=$load"
    echo "$line" | tee -a "$OUT" >&2
}

# Median of field $3 over lines of $OUT for router $1 and mode $2.
median() {
    grep "^router=$1 " "$OUT" | grep " mode=$2 " | tr ' ' '\n' | awk -F= -v k="$3" '$1 == k { print $2 }' |
        sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
log "results: $OUT"
wait_quiet "$QUIET_WAIT"

log "max mode, ${REPEATS}x each, interleaved"
for _ in $(seq "$REPEATS"); do
    for router in "${ROUTERS[@]}"; do run "$router"; done
done

declare -A HALF
for router in "${ROUTERS[@]}"; do
    HALF[$router]=$(median "$router" max routes_per_sec | awk '{ printf "%d", $1 / 2 }')
done

log "fixed rate at half of each router's max, ${REPEATS}x each, interleaved"
for _ in $(seq "$REPEATS"); do
    for router in "${ROUTERS[@]}"; do run "$router" --rate "${HALF[$router]}"; done
done

# --- table of medians ------------------------------------------------------------------------
{
    echo
    echo "medians of $REPEATS runs; $COMPONENTS components; ${SECONDS_PER_RUN} s after ${WARMUP} s warm-up"
    printf '| %-8s | %-15s | %9s | %7s | %7s | %7s | %6s | %11s | %10s | %10s |\n' \
        router load routes/s p50_ms p90_ms p99_ms lost router_cpu% bench_cpu% other_cpu%
    printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ---------- ----------------- ----------: ---------: ---------: ---------: -------: ------------: -----------: -----------:
    for mode in max rate; do
        for router in "${ROUTERS[@]}"; do
            what=max
            [ "$mode" = rate ] && what="rate ${HALF[$router]}/s"
            printf '| %-8s | %-15s | %9.0f | %7s | %7s | %7s | %6s | %11s | %10s | %10s |\n' "$router" "$what" \
                "$(median "$router" "$mode" routes_per_sec)" "$(median "$router" "$mode" p50_ms)" \
                "$(median "$router" "$mode" p90_ms)" "$(median "$router" "$mode" p99_ms)" \
                "$(median "$router" "$mode" lost)" "$(median "$router" "$mode" router_cpu_pct)" \
                "$(median "$router" "$mode" bench_cpu_pct)" "$(median "$router" "$mode" other_cpu_pct)"
        done
    done
    if [ "$HAVE_STARLING" = 1 ]; then
        st=$(median starling max routes_per_sec)
        jd=$(median jabberd2 max routes_per_sec)
        p99=$(median starling rate p99_ms)
        awk -v s="$st" -v j="$jd" -v p="$p99" 'BEGIN {
            r = s / j
            printf "\nstarling/jabberd2 max routes/s: %.2fx (target >= 3x: %s); starling p99 at half load: %s ms (target < 5 ms: %s)\n",
                r, (r >= 3 ? "met" : "MISSED"), p, (p < 5 ? "met" : "MISSED") }'
    fi
} | tee -a "$OUT"
