# shellcheck shell=bash
# Lab for the probe integration tests (sourced by probes_*.sh; not a test
# itself, hence .bash).  Root only.  Four namespaces, all named $PL-*:
#
#   v (vantage) 192.0.2.2 ── 192.0.2.1 r1 198.51.100.1 ── 198.51.100.2 r2 203.0.113.1 ── s (servers) 203.0.113.x
#                2001:db8:1::2   2001:db8:1::1  2001:db8:2::1   2001:db8:2::2  2001:db8:3::1    2001:db8:3::10
#
# lightsout runs in v; servers (nginx, NSD, OpenSMTPD, the python misfits
# of probes_evil.py) run in s; r1 and r2 forward.  pl_down (EXIT trap)
# ends every process in the namespaces and deletes them.

PL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$PL_DIR/lib.bash"
PL_REPO=$(cd "$PL_DIR/../.." && pwd)
: "${LIGHTSOUT:=$PL_REPO/build/lightsout}"
PL=${PL:-lopr}
PL_RUN=
PL_NS="v r1 r2 s"

pl_ns() { printf '%s-%s' "$PL" "$1"; }
pl_exec() {
	local ns=$1
	shift
	ip netns exec "$(pl_ns "$ns")" "$@"
}
pl_msg() { printf '[%s] %s\n' "$PL" "$*" >&2; }

pl_down() {
	local ns all=()
	for ns in $PL_NS; do all+=("$(pl_ns "$ns")"); done
	ns_teardown "${all[@]}"
	[ -n "$PL_RUN" ] && rm -rf "$PL_RUN"
	PL_RUN=
}

pl_link() { # NS1 IF1 NS2 IF2
	ip link add "$2" netns "$(pl_ns "$1")" type veth peer name "$4" netns "$(pl_ns "$3")"
	pl_exec "$1" ip link set "$2" up
	pl_exec "$3" ip link set "$4" up
}

pl_up() {
	[ "$(id -u)" = 0 ] || {
		echo "probes integration tests need root (network namespaces)" >&2
		exit 1
	}
	[ -x "$LIGHTSOUT" ] || {
		echo "no binary at $LIGHTSOUT (build first, or set LIGHTSOUT)" >&2
		exit 1
	}
	pl_down
	PL_RUN=$(mktemp -d "/tmp/$PL.XXXXXX")
	chmod 755 "$PL_RUN" # daemons that drop privileges read their files here
	local ns all=()
	for ns in $PL_NS; do all+=("$(pl_ns "$ns")"); done
	ns_add "${all[@]}"
	for ns in $PL_NS; do
		pl_exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	pl_link v v0 r1 r1v
	pl_link r1 r1n r2 r2p
	pl_link r2 r2s s s0
	pl_exec v ip addr add 192.0.2.2/24 dev v0
	pl_exec v ip -6 addr add 2001:db8:1::2/64 dev v0 nodad
	pl_exec v ip route add default via 192.0.2.1
	pl_exec v ip -6 route add default via 2001:db8:1::1
	pl_exec r1 ip addr add 192.0.2.1/24 dev r1v
	pl_exec r1 ip addr add 198.51.100.1/24 dev r1n
	pl_exec r1 ip -6 addr add 2001:db8:1::1/64 dev r1v nodad
	pl_exec r1 ip -6 addr add 2001:db8:2::1/64 dev r1n nodad
	pl_exec r1 ip route add 203.0.113.0/24 via 198.51.100.2
	pl_exec r1 ip -6 route add 2001:db8:3::/64 via 2001:db8:2::2
	pl_exec r2 ip addr add 198.51.100.2/24 dev r2p
	pl_exec r2 ip addr add 203.0.113.1/24 dev r2s
	pl_exec r2 ip -6 addr add 2001:db8:2::2/64 dev r2p nodad
	pl_exec r2 ip -6 addr add 2001:db8:3::1/64 dev r2s nodad
	pl_exec r2 ip route add default via 198.51.100.1
	pl_exec r2 ip -6 route add default via 2001:db8:2::1
	for ns in r1 r2; do
		pl_exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	done
	local a
	for a in 10 11 12 13 14 25 26 27 28 29 30 53 54 60 61; do
		pl_exec s ip addr add "203.0.113.$a/24" dev s0
	done
	pl_exec s ip -6 addr add 2001:db8:3::10/64 dev s0 nodad
	pl_exec s ip route add default via 203.0.113.1
	pl_exec s ip -6 route add default via 2001:db8:3::1
	# the path works end to end before any test starts
	wait_until 10 pl_exec v ping -c1 -W1 203.0.113.10 >/dev/null 2>&1 || pl_msg "no path from v to s"
}

# Starts a daemon in a namespace in the background (its pid ends with pl_down).
pl_bg() {
	local ns=$1
	shift
	pl_exec "$ns" "$@" >>"$PL_RUN/bg.log" 2>&1 &
}

# Waits until a TCP port answers inside s (at most 20 s).
pl_wait_tcp() {
	wait_until 20 pl_exec s bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
	pl_msg "nothing listens on $1:$2"
	return 1
}

# Waits until a DNS server answers SOA ADDR [NAME] inside s (at most 10 s).
pl_wait_udp53() {
	wait_until 10 pl_exec s dig +time=1 +tries=1 +norec @"$1" "${2:-lab.test}" SOA >/dev/null 2>&1 && return 0
	pl_msg "no DNS on $1"
	return 1
}

# pl_probe ARGS...: one JSON line per result, from inside v.
pl_probe() {
	pl_exec v timeout 60 "$LIGHTSOUT" probe --format json "$@" 2>>"$PL_RUN/probe.err"
}

# pl_expect NAME OUTCOME DETAIL_REGEX TARGET [probe options...]
# Runs one probe and checks its outcome and that its detail matches.
pl_expect() {
	local name=$1 outcome=$2 re=$3
	shift 3
	local line
	line=$(pl_probe "$@" | head -n 1)
	if python3 - "$outcome" "$re" "$line" <<'EOF'; then
import json, re, sys
want, rx, line = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    o = json.loads(line)
except ValueError:
    sys.exit(1)
ok = o.get("outcome") == want and re.search(rx, o.get("detail", "")) is not None
sys.exit(0 if ok else 1)
EOF
		ok "$name: $line"
	else
		bad "$name: want $outcome /$re/, got: ${line:-<nothing>}"
	fi
}

pl_summary() {
	# a sanitizer build must have stayed silent through every probe run
	if grep -qE 'Sanitizer|runtime error:' "$PL_RUN/probe.err" 2>/dev/null; then
		bad "sanitizer report:"
		grep -m 5 -E 'Sanitizer|runtime error:' "$PL_RUN/probe.err"
	fi
	it_summary
}
