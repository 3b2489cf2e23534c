#!/bin/bash
# Live BGP test against a real FRR (Debian frr 8.x: zebra + bgpd) in network
# namespaces (root needed).  Companion of bgp_bird.sh with a second
# implementation, so our passive speaker is checked against two real peers.
#
#   ns lofrr-col  (our collector, bgp-peer-driver)  192.0.2.2  2001:db8:1::2
#        | veth
#   ns lofrr-r1   (FRR zebra+bgpd, AS 4200000010)   192.0.2.1  2001:db8:1::1
#
# We connect out to FRR over IPv4 (FRR passive) and accept FRR's IPv6 session
# on port 1179.  FRR runs as the frr user from its own config, pid, log and
# vty files in a temp dir (never the system service), driven with
# `vtysh --vty_socket`.  Checks: sessions establish and FRR agrees on the
# capabilities and hold time; IPv4 routes with a 4-octet AS_PATH and IPv6
# routes over MP-BGP (FRR sends a global + link-local next hop) are learned,
# unwatched ones are not reported; FRR receives nothing from us; `no network`
# is a withdrawal within 1 s (IPv4 and MP_UNREACH) and `network` a
# restoration; a ROUTE-REFRESH from FRR leaves the session up; `clear bgp`
# (Cease) is followed by a reconnect; a SIGSTOP'ed bgpd is caught by our hold
# timer without a prefix withdrawal; after SIGCONT the sessions recover.
# Usage: tests/integration/bgp_frr.sh [BUILD_DIR]
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/integration/lib.bash"
build=${1:-${BUILD_DIR:-$here/build}}
driver=$build/tests/unit/bgp/bgp-peer-driver
frr=/usr/lib/frr
[ -x "$driver" ] || { echo "no $driver: build first" >&2; exit 2; }
[ -x $frr/bgpd ] && [ -x $frr/zebra ] && command -v vtysh >/dev/null ||
	{ echo "frr not installed (apt-get install -y frr)" >&2; exit 2; }
id frr >/dev/null 2>&1 || { echo "no frr user (Debian's frr package creates it)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }

C=lofrr-col
R=lofrr-r1
AS=4200000010
work=$(mktemp -d /tmp/lightsout-bgp-frr.XXXXXX)
driver_pid=
zebra_pid=
bgpd_pid=

cleanup() {
	ns_teardown $C $R # the driver, zebra and bgpd run there
	# keep the logs of the last run for diagnosis
	mkdir -p /tmp/lightsout-bgp-frr-last && cp "$work"/*.log /tmp/lightsout-bgp-frr-last/ 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_for PATTERN SECONDS: waits (bounded) for a line in the driver log.
wait_for() { wait_until "$2" grep -q -E "$1" "$work/driver.log"; }
count() { grep -c -E "$1" "$work/driver.log"; }
more_than() { [ "$(count "$1")" -gt "$2" ]; }
# wait_count PATTERN N SECONDS: waits (bounded) until PATTERN has more than N lines.
wait_count() { wait_until "$3" more_than "$1" "$2"; }
last_vis() { grep '^visibility 0 ' "$work/driver.log" | tail -1 | grep -q -E "$1"; }
# wait_vis PATTERN SECONDS: waits (bounded) for the latest visibility line to match.
wait_vis() { wait_until "$2" last_vis "$1"; }
vty() { timeout 10 vtysh --vty_socket "$work" "$@"; }
# frr_conf CMD...: configuration commands under `router bgp`.
frr_conf() {
	local args=(-c "configure terminal" -c "router bgp $AS") c
	for c in "$@"; do args+=(-c "$c"); done
	vty "${args[@]}" >/dev/null
}
# frr_check 'show ...' PYTHON-EXPR: the expression over the command's JSON (d).
frr_check() {
	vty -c "$1 json" 2>/dev/null | python3 -c "import json, sys
d = json.load(sys.stdin)
sys.exit(0 if ($2) else 1)" 2>/dev/null
}

ns_add $C $R
ip link add lofrr-c netns $C type veth peer name lofrr-r netns $R
ip -n $C addr add 192.0.2.2/24 dev lofrr-c
ip -n $C addr add 2001:db8:1::2/64 dev lofrr-c nodad
ip -n $R addr add 192.0.2.1/24 dev lofrr-r
ip -n $R addr add 2001:db8:1::1/64 dev lofrr-r nodad
ip -n $C link set lofrr-c up
ip -n $R link set lofrr-r up
# FRR adds the link-local next hop only once the address has left DAD.
link_local_ready() {
	ip -n $R -6 addr show dev lofrr-r scope link | grep -q "inet6 fe80" &&
		! ip -n $R -6 addr show dev lofrr-r scope link | grep -q tentative
}
wait_until 5 link_local_ready || echo "# FRR's link-local address is still tentative"

cat > "$work/zebra.conf" <<CONF
hostname $R
log file $work/zebra.log
CONF
# 203.0.113.0/25 and 2001:db8:200::/48 are announced but not watched.  The
# route-map puts a second 4-octet AS on the IPv4 path.  `debug bgp updates out`
# logs the next hops FRR sends.
cat > "$work/bgpd.conf" <<CONF
hostname $R
log file $work/bgpd.log
debug bgp updates out
route-map PREPEND permit 10
 set as-path prepend 4200000099
router bgp $AS
 bgp router-id 192.0.2.1
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor 192.0.2.2 remote-as 64501
 neighbor 192.0.2.2 passive
 neighbor 192.0.2.2 timers 3 9
 neighbor 192.0.2.2 timers connect 2
 neighbor 2001:db8:1::2 remote-as 64501
 neighbor 2001:db8:1::2 port 1179
 neighbor 2001:db8:1::2 timers 3 9
 neighbor 2001:db8:1::2 timers connect 2
 address-family ipv4 unicast
  network 198.51.100.0/24
  network 203.0.113.0/25
  neighbor 192.0.2.2 activate
  neighbor 192.0.2.2 route-map PREPEND out
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:100::/48
  network 2001:db8:200::/48
  neighbor 2001:db8:1::2 activate
 exit-address-family
CONF
cat > "$work/lightsout.yaml" <<CONF
store: $work/store.db
listen: "off"
networks:
  - name: lab
    prefixes: [198.51.100.0/24, 2001:db8:100::/48]
    targets:
      - {name: t, role: host, kind: icmp, host: 198.51.100.1}
bgp:
  listen: "[::]:1179"
  peers:
    - {address: 192.0.2.1, remote_as: $AS, local_as: 64501, hold_time: 9s}
    - {address: "2001:db8:1::1", remote_as: $AS, local_as: 64501, hold_time: 9s, passive: true}
CONF
# The daemons drop to the frr user: it owns the directory of their files.
chown -R frr:frr "$work"
chmod 750 "$work"

ip netns exec $R $frr/zebra -d -f "$work/zebra.conf" -i "$work/zebra.pid" -z "$work/zserv.api" \
	--vty_socket "$work" < /dev/null >> "$work/zebra-stdio.log" 2>&1 || { echo "zebra failed"; exit 1; }
wait_until 5 eval '[ -s "$work/zebra.pid" ] && [ -S "$work/zserv.api" ]' || { echo "zebra did not come up"; exit 1; }
zebra_pid=$(cat "$work/zebra.pid")
ip netns exec $R $frr/bgpd -d -f "$work/bgpd.conf" -i "$work/bgpd.pid" -z "$work/zserv.api" \
	--vty_socket "$work" < /dev/null >> "$work/bgpd-stdio.log" 2>&1 || { echo "bgpd failed"; exit 1; }
wait_until 5 eval '[ -s "$work/bgpd.pid" ] && [ -S "$work/bgpd.vty" ]' || { echo "bgpd did not come up"; exit 1; }
bgpd_pid=$(cat "$work/bgpd.pid")
: > "$work/driver.log"
ip netns exec $C "$driver" "$work/lightsout.yaml" 150 > "$work/driver.log" 2> "$work/driver-stderr.log" &
driver_pid=$!

# 1. sessions, and what FRR negotiated with us
t0=$(now_ms)
if wait_for "^peer 192.0.2.1 OpenConfirm Established" 15; then
	ok "IPv4 session established, we connect out ($(($(now_ms) - t0)) ms)"
else bad "IPv4 session"; fi
if wait_for "^peer 2001:db8:1::1 OpenConfirm Established" 15; then
	ok "IPv6 session established, FRR connects in ($(($(now_ms) - t0)) ms)"
else bad "IPv6 session"; fi
n4='d["192.0.2.2"]'
n6='d["2001:db8:1::2"]'
caps4="$n4[\"neighborCapabilities\"]"
caps6="$n6[\"neighborCapabilities\"]"
if frr_check "show bgp neighbors" "$n4['bgpState'] == 'Established' and $n6['bgpState'] == 'Established' \
	and $n4['bgpTimerHoldTimeMsecs'] == 9000 and $n6['bgpTimerHoldTimeMsecs'] == 9000 \
	and $n4['bgpTimerKeepAliveIntervalMsecs'] == 3000"; then
	ok "FRR: both neighbors Established, hold 9 s, keepalive 3 s"
else bad "FRR's view of the sessions"; fi
if frr_check "show bgp neighbors" "$caps4['4byteAs'] == 'advertisedAndReceived' \
	and $caps6['4byteAs'] == 'advertisedAndReceived' \
	and $caps4['multiprotocolExtensions']['ipv4Unicast'].get('advertisedAndReceived') \
	and $caps6['multiprotocolExtensions']['ipv6Unicast'].get('advertisedAndReceived') \
	and $caps4['routeRefresh'].startswith('advertisedAndReceived')"; then
	ok "FRR: 4-octet AS, MP IPv4/IPv6 unicast and route refresh negotiated with us"
else bad "capabilities seen by FRR"; fi
# 2. routes
if wait_for "^route 192.0.2.1 \+ 198.51.100.0/24 $AS 4200000099\$" 6; then
	ok "IPv4 route learned with its 4-octet AS_PATH"
else bad "IPv4 route: $(grep '^route 192.0.2.1' "$work/driver.log" | head -1)"; fi
if wait_for "^route 2001:db8:1::1 \+ 2001:db8:100::/48 $AS\$" 6; then
	ok "IPv6 route learned over MP-BGP"
else bad "IPv6 route: $(grep '^route 2001' "$work/driver.log" | head -1)"; fi
if grep -q "send UPDATE w/ mp_nexthops 2001:db8:1::1, fe80::" "$work/bgpd.log"; then
	ok "FRR sent the IPv6 route with a global + link-local (32-byte) next hop"
else bad "FRR's IPv6 next hop: $(grep -m1 mp_nexthop "$work/bgpd.log")"; fi
if grep -q -E "203.0.113.0/25|2001:db8:200::/48" "$work/driver.log"; then bad "unwatched route stored"
else ok "unwatched 203.0.113.0/25 and 2001:db8:200::/48 not reported"; fi
# 3. both peers counted (FRR sends no End-of-RIB to us: 5 s grace)
if wait_vis "visible=2/2 peers=2" 12; then ok "both prefixes visible"; else bad "visibility"; fi
if frr_check "show bgp summary" "d['ipv4Unicast']['peers']['192.0.2.2']['pfxRcd'] == 0 \
	and d['ipv6Unicast']['peers']['2001:db8:1::2']['pfxRcd'] == 0" &&
	frr_check "show bgp neighbors" "$n4['messageStats']['updatesRecv'] == 0 and $n6['messageStats']['updatesRecv'] == 0"; then
	ok "FRR received no UPDATE from us"
else bad "we announced something to FRR"; fi
# 4. withdrawals: IPv4 (withdrawn routes field) and IPv6 (MP_UNREACH)
t0=$(now_ms)
frr_conf "address-family ipv4 unicast" "no network 198.51.100.0/24"
if wait_for "^withdrawn lab 198.51.100.0/24" 1; then
	ok "no network 198.51.100.0/24 seen as bgp_withdrawn within 1 s ($(($(now_ms) - t0)) ms)"
else bad "IPv4 withdrawal within 1 s"; fi
if wait_for "^route 192.0.2.1 - 198.51.100.0/24" 1; then ok "IPv4 withdraw event stored"; else bad "IPv4 withdraw route event"; fi
t0=$(now_ms)
frr_conf "address-family ipv6 unicast" "no network 2001:db8:100::/48"
if wait_for "^withdrawn lab 2001:db8:100::/48" 1; then
	ok "no network 2001:db8:100::/48 seen as bgp_withdrawn within 1 s ($(($(now_ms) - t0)) ms)"
else bad "IPv6 withdrawal within 1 s"; fi
if wait_for "^route 2001:db8:1::1 - 2001:db8:100::/48" 1; then ok "IPv6 withdraw event stored"; else bad "IPv6 withdraw route event"; fi
s4=$(count "^restored lab .*198.51.100.0/24")
s6=$(count "^restored lab .*2001:db8:100::/48")
t0=$(now_ms)
frr_conf "address-family ipv4 unicast" "network 198.51.100.0/24" "exit-address-family" \
	"address-family ipv6 unicast" "network 2001:db8:100::/48"
if wait_count "^restored lab .*198.51.100.0/24" "$s4" 3 && wait_count "^restored lab .*2001:db8:100::/48" "$s6" 3; then
	ok "network re-added seen as bgp_restored ($(($(now_ms) - t0)) ms)"
else bad "restoration"; fi
# 5. ROUTE-REFRESH from FRR: accepted, the session stays
p4=$(count "^peer 192.0.2.1 ")
ka=$(vty -c "show bgp neighbors json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["192.0.2.2"]["messageStats"]["keepalivesRecv"])')
vty -c "clear bgp 192.0.2.2 soft in" >/dev/null
# two more KEEPALIVEs from us (3 s apart) once FRR has sent the refresh: the
# second left after we had read the ROUTE-REFRESH
wait_until 15 frr_check "show bgp neighbors" "$n4['messageStats']['routeRefreshSent'] >= 1 \
	and $n4['messageStats']['keepalivesRecv'] >= ${ka:-0} + 2"
if frr_check "show bgp neighbors" "$n4['messageStats']['routeRefreshSent'] >= 1 and $n4['bgpState'] == 'Established'" &&
	[ "$(count "^peer 192.0.2.1 ")" = "$p4" ]; then
	ok "ROUTE-REFRESH from FRR accepted, session stays up"
else bad "route refresh"; fi
# 6. session reset by FRR (Cease): we reconnect, no prefix withdrawal
before=$(count "^withdrawn")
e4=$(count "^peer 192.0.2.1 OpenConfirm Established")
r4=$(count "^route 192.0.2.1 \+ 198.51.100.0/24")
t0=$(now_ms)
vty -c "clear bgp 192.0.2.2" >/dev/null
if wait_for "^peer 192.0.2.1 Established Idle NOTIFICATION 6/4 from peer" 3; then
	ok "clear bgp: Cease/Administrative Reset (6/4) received"
else bad "Cease from FRR: $(grep '^peer 192.0.2.1 Established Idle' "$work/driver.log" | tail -1)"; fi
if wait_count "^peer 192.0.2.1 OpenConfirm Established" "$e4" 10 &&
	wait_count "^route 192.0.2.1 \+ 198.51.100.0/24" "$r4" 6; then
	ok "reconnected after the Cease and route learned again ($(($(now_ms) - t0)) ms)"
else bad "reconnect after Cease"; fi
if [ "$(count '^withdrawn')" = "$before" ]; then ok "a reset session is not a prefix withdrawal"; else bad "reset counted as withdrawal"; fi
# 7. frozen bgpd: hold timer expiry (hold 9 s), once both peers count again
wait_vis "visible=2/2 peers=2" 10 || bad "visibility after the reset: $(grep '^visibility' "$work/driver.log" | tail -1)"
before=$(count "^withdrawn")
e4=$(count "^peer 192.0.2.1 OpenConfirm Established")
e6=$(count "^peer 2001:db8:1::1 OpenConfirm Established")
r4=$(count "^route 192.0.2.1 \+ 198.51.100.0/24")
r6=$(count "^route 2001:db8:1::1 \+ 2001:db8:100::/48")
h4=$(count "^peer 192.0.2.1 Established Idle hold timer expired")
h6=$(count "^peer 2001:db8:1::1 Established Idle hold timer expired")
t0=$(now_ms)
kill -STOP "$bgpd_pid"
if wait_count "^peer 192.0.2.1 Established Idle hold timer expired" "$h4" 15 &&
	wait_count "^peer 2001:db8:1::1 Established Idle hold timer expired" "$h6" 15; then
	ok "SIGSTOP'ed bgpd: hold timer expiry detected on both sessions ($(($(now_ms) - t0)) ms)"
else
	bad "hold timer expiry"
fi
if [ "$(count '^withdrawn')" = "$before" ]; then ok "a lost session is not a prefix withdrawal"; else bad "session loss counted as withdrawal"; fi
# 8. recovery
t0=$(now_ms)
kill -CONT "$bgpd_pid"
if wait_count "^peer 192.0.2.1 OpenConfirm Established" "$e4" 30 &&
	wait_count "^peer 2001:db8:1::1 OpenConfirm Established" "$e6" 30; then
	ok "sessions recover after SIGCONT ($(($(now_ms) - t0)) ms)"
else bad "recovery"; fi
if wait_count "^route 192.0.2.1 \+ 198.51.100.0/24" "$r4" 6 &&
	wait_count "^route 2001:db8:1::1 \+ 2001:db8:100::/48" "$r6" 6; then
	ok "routes learned again after the recovery ($(($(now_ms) - t0)) ms)"
else bad "routes after recovery"; fi
if frr_check "show bgp neighbors" "$n4['bgpState'] == 'Established' and $n6['bgpState'] == 'Established'"; then
	ok "FRR: both neighbors Established again"
else bad "FRR's view after recovery"; fi
if [ "$(count '^withdrawn')" = "$before" ]; then ok "no withdrawal through the freeze and recovery"; else bad "withdrawal after recovery"; fi
if kill -0 "$driver_pid" 2>/dev/null; then ok "collector still running"; else bad "collector died"; fi
if grep -q -E "runtime error|Sanitizer" "$work/driver-stderr.log"; then bad "sanitizer report: $(grep -m1 -E "runtime error|Sanitizer" "$work/driver-stderr.log")"
else ok "no sanitizer report from the collector"; fi

it_summary
