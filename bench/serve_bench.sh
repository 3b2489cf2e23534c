#!/usr/bin/env bash
# HTTP side benchmark (issue 7): 10,000 targets, 30 days of history.
#   bench/serve_bench.sh [BUILD_DIR]      (default build)
# Runs build/tests/unit/serve/serve-bench (setup and in-process numbers),
# then measures over HTTP on 127.0.0.1: page times with curl (best of 5),
# and requests/s under wrk from a second process for /metrics and /.
set -u
build=${1:-build}
bin=$build/tests/unit/serve/serve-bench
work=$(mktemp -d /tmp/lightsout-serve-bench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM
[ -x "$bin" ] || { echo "build $bin first (ninja -C $build)"; exit 1; }

"$bin" --targets "${TARGETS:-10000}" --days "${DAYS:-30}" --raw-hours "${RAW_HOURS:-6}" --port-file "$work/port" &
pid=$!
for _ in $(seq 1800); do [ -s "$work/port" ] && break; kill -0 "$pid" 2>/dev/null || exit 1; sleep 0.2; done
base=http://127.0.0.1:$(cat "$work/port")

timeit() { # best of 5: seconds and size
	local best=999 size=0
	for _ in 1 2 3 4 5; do
		read -r t s < <(curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$1")
		best=$(python3 -c "print(min($best, $t))"); size=$s
	done
	printf '%-48s %7.1f ms %9d bytes\n' "$2" "$(python3 -c "print($best * 1000)")" "$size"
}
timeit "$base/metrics" "GET /metrics"
timeit "$base/" "GET / (dashboard index)"
timeit "$base/network/net-3?window=24h" "GET /network/net-3?window=24h"
timeit "$base/network/net-3?window=30d" "GET /network/net-3?window=30d (1000 targets)"
timeit "$base/incident/1500" "GET /incident/1500 (of 3000)"
timeit "$base/api/v1/incidents" "GET /api/v1/incidents (all, 30 days)"
timeit "$base/api/v1/incidents?network=net-3&since=7d" "GET /api/v1/incidents?network=net-3&since=7d"
timeit "$base/api/v1/status" "GET /api/v1/status"
timeit "$base/api/v1/networks/net-3/series?signal=up&since=30d" "GET series up 30d"
for u in /metrics /; do
	r=$(wrk -t2 -c8 -d10s "$base$u" 2>&1)
	printf 'wrk -t2 -c8 -d10s %-10s %s req/s, latency avg %s\n' "$u" \
		"$(echo "$r" | awk '/Requests\/sec/ {print $2}')" "$(echo "$r" | awk '/Latency/ {print $2; exit}')"
done
