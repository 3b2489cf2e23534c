# shellcheck shell=bash
# The lab of serve_http.sh and serve_alerts.sh (sourced once P is set; not a
# test itself, hence .bash).  Namespaces $P-v, $P-r, $P-s; veths exist only
# inside them:
#
#   v 192.0.2.2 ── 192.0.2.1 r 198.51.100.1 ── 198.51.100.2 s
#   watch and its clients, all on v's own      the servers, on the 198.18.0.0/15
#   127.0.0.1 (listen 127.0.0.1:9470)          addresses given to sl_lab_up
#
# r routes 198.18.0.0/15 to s and is the control.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
: "${LIGHTSOUT:?LIGHTSOUT must name the binary}"
LIGHTSOUT=$(realpath "$LIGHTSOUT")
V=$P-v R=$P-r S=$P-s
base=http://127.0.0.1:9470
work=
watchdog=
t0=$(date +%s)

vx() { ip netns exec "$V" "$@"; }
sx() { ip netns exec "$S" "$@"; }
get() { vx curl -s --max-time 10 "$@"; }
elapsed() { echo "$(($(date +%s) - t0)) s"; }
healthy() { [ "$(get $base/healthz)" = ok ]; }
# states: "network:state=count,..." per network, from /api/v1/status
states() { get $base/api/v1/status | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join("%s:%s" % (n["name"], ",".join("%s=%d" % kv for kv in sorted(n["states"].items()) if kv[1])) for n in d["networks"]))' 2>/dev/null; }

sl_cleanup() {
	[ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
	ns_teardown "$V" "$R" "$S"
	[ -n "${KEEP:-}" ] || [ -z "$work" ] || rm -rf "$work"
}

# sl_begin NAME SECONDS: root or give up; a work directory
# /tmp/lightsout-NAME.*; cleanup on exit; the whole script is ended past
# SECONDS (every step is bounded too, so the TERM is handled within seconds).
sl_begin() {
	[ "$(id -u)" = 0 ] || give_up "needs root (network namespaces)"
	work=$(mktemp -d "/tmp/lightsout-$1.XXXXXX")
	chmod 755 "$work" # daemons that drop privileges read their files here
	trap sl_cleanup EXIT
	trap 'echo "# interrupted or out of time ($(elapsed))"; echo "$pass passed, $((fail + 1)) failed"; exit 1' INT TERM
	# a timer, not a wait: it fires only if the script overruns
	(
		trap 'kill $s 2>/dev/null; exit 0' TERM
		sleep "$2" &
		s=$!
		wait $s && kill -TERM $$
	) >/dev/null 2>&1 &
	watchdog=$!
}

# sl_lab_up ADDR...: the three namespaces, ADDR.../32 on s.
sl_lab_up() {
	local a
	ns_add "$V" "$R" "$S"
	ip link add v0 netns "$V" type veth peer name rv netns "$R"
	ip link add rs netns "$R" type veth peer name s0 netns "$S"
	ip -n "$V" addr add 192.0.2.2/24 dev v0
	ip -n "$R" addr add 192.0.2.1/24 dev rv
	ip -n "$R" addr add 198.51.100.1/24 dev rs
	ip -n "$S" addr add 198.51.100.2/24 dev s0
	for a in "$@"; do
		ip -n "$S" addr add "$a/32" dev s0
	done
	ip -n "$V" link set v0 up
	ip -n "$R" link set rv up
	ip -n "$R" link set rs up
	ip -n "$S" link set s0 up
	ip -n "$V" route add default via 192.0.2.1
	ip -n "$R" route add 198.18.0.0/15 via 198.51.100.2
	ip -n "$S" route add default via 198.51.100.1
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
}
