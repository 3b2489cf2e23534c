#!/usr/bin/env bash
# One round of ICMP echo over N lab addresses (default 65,536: a local
# 198.19.0.0/16 route in a target namespace, reached through a router
# namespace), side by side in one run: lightsout probe (one round, no
# store), lightsout watch (full round: schedule, validation, state,
# detector, storage), fping -c1 -i0, zmap -M icmp_echoscan.
# Prints wall time, CPU seconds, replies/targets and ratios.  Root; cleans
# its namespaces.  Usage: bench/icmp_bench.sh [N]
set -u
N=${1:-65536}
LIGHTSOUT=${LIGHTSOUT:-$(cd "$(dirname "$0")/.." && pwd)/build/lightsout}
P=lob
V=$P-v R=$P-r T=$P-t
work=$(mktemp -d /tmp/lightsout-icmp-bench.XXXXXX)
cleanup() {
	for ns in $V $R $T; do
		ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del $ns 2>/dev/null
	done
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
cleanup; mkdir -p "$work"

for ns in $V $R $T; do ip netns add $ns; ip -n $ns link set lo up; done
ip link add $P-vr type veth peer name $P-rv; ip link set $P-vr netns $V; ip link set $P-rv netns $R
ip link add $P-rt type veth peer name $P-tr; ip link set $P-rt netns $R; ip link set $P-tr netns $T
ip -n $V addr add 198.18.1.1/30 dev $P-vr; ip -n $V link set $P-vr up
ip -n $R addr add 198.18.1.2/30 dev $P-rv; ip -n $R link set $P-rv up
ip -n $R addr add 198.18.2.1/30 dev $P-rt; ip -n $R link set $P-rt up
ip -n $T addr add 198.18.2.2/30 dev $P-tr; ip -n $T link set $P-tr up
ip -n $V route add default via 198.18.1.2
ip -n $R route add 198.19.0.0/16 via 198.18.2.2
ip -n $T route add default via 198.18.2.1
ip -n $T route add local 198.19.0.0/16 dev lo
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
for ns in $V $R $T; do
	# no ICMP rate limits in the lab path: we measure the prober, not the kernel's limiter
	ip netns exec $ns sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=10000000 net.ipv4.icmp_msgs_burst=10000000
done
# unprivileged ICMP sockets in the vantage, as the floor used
ip netns exec $V sysctl -qw net.ipv4.ping_group_range="0 2147483647"

python3 - "$N" >"$work/targets.txt" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    print(f"198.19.{i >> 8 & 255}.{i & 255}")
PY
{
	echo "vantage: bench"
	echo "store: $work/bench.db"
	echo 'listen: "off"'
	echo "interval: 5s"
	echo "timeout: 2s"
	echo "max_pps: 10000000"
	echo "networks:"
	echo "  - name: lab"
	echo "    prefixes: [198.19.0.0/16]"
	echo "    targets:"
	awk '{printf "      - {name: t%d, role: host, kind: icmp, host: %s, count: 1}\n", NR, $1}' "$work/targets.txt"
} >"$work/bench.yaml"

if [ -n "${SETUP_ONLY:-}" ]; then
	trap - EXIT INT TERM
	cp "$work/targets.txt" /tmp/lob-targets.txt
	echo "lab up: ip netns exec $V ... ; targets in /tmp/lob-targets.txt; remove with: ip netns del $V; ip netns del $R; ip netns del $T"
	exit 0
fi

measure() { # name command...: prints "name wall user sys maxrss"
	local name=$1; shift
	/usr/bin/time -f "$name %e %U %S %M" -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err"
	cat "$work/$name.time" | tail -1
}

echo "targets: $N"
res_lp=$(measure lightsout-probe ip netns exec $V "$LIGHTSOUT" probe --timeout 2s --pps 10000000 $(cat "$work/targets.txt"))
ok_lp=$(grep -c ' ok ' "$work/lightsout-probe.out")
# watch: one full round is one interval (5 s) of spread probes; run 2 rounds
res_lw=$(measure lightsout-watch ip netns exec $V "$LIGHTSOUT" watch -q -c "$work/bench.yaml" --for 11s)
ok_lw=$(sqlite3 "$work/bench.db" "SELECT count(*) FROM measurements WHERE outcome=0")
all_lw=$(sqlite3 "$work/bench.db" "SELECT count(*) FROM measurements")
res_fp=$(measure fping ip netns exec $V fping -c1 -i0 -q -t 2000 -f "$work/targets.txt")
ok_fp=$(grep -c ' 1/1/0%' "$work/fping.err")
res_zm=$(measure zmap ip netns exec $V zmap -q -M icmp_echoscan -i $P-vr -S 198.18.1.1 \
	--gateway-mac "$(ip netns exec $V ip neigh show 198.18.1.2 | awk '{print $5}' | head -1)" \
	-b /dev/null -w <(echo 198.19.0.0/16) -r 0 -c 2 -o - 198.19.0.0/16)
ok_zm=$(sort -u "$work/zmap.out" | grep -c '^198\.19\.')

printf '%-16s %8s %8s %8s %10s %14s\n' tool wall_s user_s sys_s maxrss_kb replies/targets
for row in "$res_lp|$ok_lp/$N" "$res_lw|$ok_lw/$all_lw (2 rounds)" "$res_fp|$ok_fp/$N" "$res_zm|$ok_zm/$N"; do
	set -- ${row%%|*}
	printf '%-16s %8s %8s %8s %10s %14s\n' "$1" "$2" "$3" "$4" "$5" "${row#*|}"
done
cpu() { set -- $1; echo "$3 + $4" | bc -l; }
wall() { set -- $1; echo "$2"; }
echo "ratios (lightsout probe / other): wall vs fping $(echo "$(wall "$res_lp") / $(wall "$res_fp")" | bc -l | cut -c1-5)," \
	"vs zmap $(echo "$(wall "$res_lp") / $(wall "$res_zm")" | bc -l | cut -c1-5);" \
	"cpu vs fping $(echo "$(cpu "$res_lp") / ($(cpu "$res_fp") + 0.001)" | bc -l | cut -c1-5)," \
	"vs zmap $(echo "$(cpu "$res_lp") / ($(cpu "$res_zm") + 0.001)" | bc -l | cut -c1-5)"
echo "zmap and fping wall times include their fixed waits (zmap cooldown -c 2, fping -t 2000); so does lightsout probe (--timeout 2s for the last replies)"
