#!/usr/bin/env bash
# Instructions per route of starling-router, counted by valgrind's callgrind: a measure that
# does not depend on what else the machine is doing, unlike routes per second.
#
#   contrib/bench/router-callgrind.sh [ROUTER_BIN]
#
# Builds release binaries (unless ROUTER_BIN is given), then runs the router under callgrind
# twice, each time with `starling-bench router` in max mode (8 components, no warm-up) for
# SHORT [5] and LONG [15] seconds, and prints
#
#   (instructions of the long run - instructions of the short run)
#     / (routes of the long run - routes of the short run)
#
# which leaves out what does not grow with the number of routes (start-up, SCRAM logins).
# Under callgrind the router runs some 50 times slower, so each run routes tens of thousands.
# Needs valgrind. Environment: SHORT, LONG, CARGO [cargo].

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHORT=${SHORT:-5}
LONG=${LONG:-15}
CARGO=${CARGO:-cargo}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/starling-router-callgrind.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

cd "$ROOT"
if [ $# -ge 1 ]; then
    ROUTER=$1
    "$CARGO" build --release -p starling-bench >&2
else
    "$CARGO" build --release -p starling-router -p starling-bench >&2
    ROUTER=$ROOT/target/release/starling-router
fi
BENCH=$ROOT/target/release/starling-bench

# One run: prints "<instructions> <routes>".
run() { # seconds
    local port pid line
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    {
        echo "listen = [\"127.0.0.1:$port\"]"
        for i in $(seq 8); do printf '\n[users.bench%d]\npassword = "callgrind"\n' "$i"; done
    } >"$TMP/router.toml"
    RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.out" \
        "$ROUTER" --config "$TMP/router.toml" >"$TMP/router.log" 2>&1 &
    pid=$!
    for _ in $(seq 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        sleep 0.2
    done
    line=$("$BENCH" router --router "127.0.0.1:$port" --password callgrind --seconds "$1" \
        --warmup 0 --drain 20 --connect-timeout 120 --label callgrind)
    echo "$line" >&2
    kill -TERM "$pid"
    wait "$pid" || true
    echo "$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$TMP/router.log")" \
        "$(echo "$line" | tr ' ' '\n' | sed -n 's/^routes=//p')"
}

read -r short_ir short_routes < <(run "$SHORT")
read -r long_ir long_routes < <(run "$LONG")
echo "instructions_per_route=$(( (long_ir - short_ir) / (long_routes - short_routes) ))" \
    "short_ir=$short_ir short_routes=$short_routes long_ir=$long_ir long_routes=$long_routes"
