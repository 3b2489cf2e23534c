#!/usr/bin/env bash
# Memory and start-up with N configured ICMP targets (default 100,000) over
# a local 2001:db8:1::/64 route in a target namespace: time from exec to
# probing ("watching ..." logged), time until every target has completed
# its first round (in the store), and peak RSS per target.  Root; cleans
# up.  Usage: bench/startup_bench.sh [N]
set -u
N=${1:-100000}
LIGHTSOUT=${LIGHTSOUT:-$(cd "$(dirname "$0")/.." && pwd)/build/lightsout}
P=los V=$P-v T=$P-t
work=$(mktemp -d /tmp/lightsout-startup-bench.XXXXXX)
cleanup() {
	for ns in $V $T; do ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del $ns 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
cleanup; mkdir -p "$work"
for ns in $V $T; do ip netns add $ns; ip -n $ns link set lo up; done
ip link add $P-vt type veth peer name $P-tv; ip link set $P-vt netns $V; ip link set $P-tv netns $T
ip -n $V addr add 2001:db8::1/64 dev $P-vt nodad; ip -n $V link set $P-vt up
ip -n $T addr add 2001:db8::2/64 dev $P-tv nodad; ip -n $T link set $P-tv up
ip -n $V route add 2001:db8:1::/64 via 2001:db8::2
ip -n $T route add local 2001:db8:1::/64 dev lo
ip netns exec $T sysctl -qw net.ipv6.icmp.ratelimit=0
ip netns exec $V sysctl -qw net.ipv4.ping_group_range="0 2147483647"
interval=10
{
	echo "vantage: bench"; echo "store: $work/bench.db"; echo 'listen: "off"'
	echo "interval: ${interval}s"; echo "timeout: 2s"; echo "max_pps: 100000"
	echo "networks:"; echo "  - name: lab"; echo "    prefixes: [\"2001:db8:1::/64\"]"; echo "    targets:"
	awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "      - {name: t%d, role: host, kind: icmp, host: \"2001:db8:1::%x:%x\", count: 1}\n", i, int(i / 65536), i % 65536 }'
} >"$work/bench.yaml"
echo "targets: $N, configuration $(du -h "$work/bench.yaml" | cut -f1)"
t0=$(date +%s%N)
ip netns exec $V /usr/bin/time -f "%M" -o "$work/rss" "$LIGHTSOUT" watch -c "$work/bench.yaml" --for $((interval * 2 + 4))s 2>"$work/log" &
pid=$!
# steady-state RSS once probing runs (peak includes parsing the YAML)
( sleep $((interval + 2)); pgrep -n -f "lightsout watch -c $work/bench.yaml" | xargs -r -I{} grep VmRSS /proc/{}/status >"$work/steady" ) &
for _ in $(seq 1200); do # at most 60 s
	grep -q watching "$work/log" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.05
done
t1=$(date +%s%N)
wait $pid
rss=$(cat "$work/rss")
first=$(sqlite3 "$work/bench.db" "SELECT count(DISTINCT target) FROM measurements")
ok=$(sqlite3 "$work/bench.db" "SELECT count(*) FROM measurements WHERE outcome=0")
all=$(sqlite3 "$work/bench.db" "SELECT count(*) FROM measurements")
echo "start-up (exec to probing): $(( (t1 - t0) / 1000000 )) ms"
echo "targets measured: $first of $N; replies $ok of $all rounds"
steady=$(awk '{print $2}' "$work/steady" 2>/dev/null)
echo "peak RSS: $rss kB = $(( rss * 1024 / N )) bytes per target (includes the YAML parse)"
echo "steady RSS while probing: ${steady:-?} kB = $(( ${steady:-0} * 1024 / N )) bytes per target"
