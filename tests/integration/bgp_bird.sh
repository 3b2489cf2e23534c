#!/bin/bash
# Live BGP test against a real BIRD 2 in network namespaces (root needed).
#
#   ns lobgp-col  (our collector, bgp-peer-driver)  192.0.2.2  2001:db8:1::2
#        | veth
#   ns lobgp-r1   (BIRD, AS 64500)                  192.0.2.1  2001:db8:1::1
#                 (fake peer for the malformed UPDATE) 192.0.2.3
#
# We connect out to BIRD over IPv4 (BIRD passive) and accept BIRD's IPv6
# session on port 1179.  Checks: sessions establish; IPv4 and IPv6 (MP-BGP)
# routes learned; `birdc disable` of the announcing static protocol is a
# withdrawal within 1 s and `enable` a restoration; a SIGSTOP'ed BIRD is
# caught by our hold timer; after SIGCONT the sessions recover; a malformed
# UPDATE gets a NOTIFICATION and the peer can reconnect.
# Usage: tests/integration/bgp_bird.sh [BUILD_DIR]
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/integration/lib.bash"
build=${1:-${BUILD_DIR:-$here/build}}
driver=$build/tests/unit/bgp/bgp-peer-driver
[ -x "$driver" ] || { echo "no $driver: build first" >&2; exit 2; }
command -v bird >/dev/null || { echo "bird2 not installed (apt-get install -y bird2)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }

C=lobgp-col
R=lobgp-r1
work=$(mktemp -d /tmp/lightsout-bgp-bird.XXXXXX)
driver_pid=
bird_pid=

cleanup() {
	ns_teardown $C $R # the driver and BIRD run there
	# keep the logs of the last run for diagnosis
	mkdir -p /tmp/lightsout-bgp-bird-last && cp "$work"/*.log /tmp/lightsout-bgp-bird-last/ 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# wait_for PATTERN SECONDS: waits (bounded) for a line in the driver log.
wait_for() { wait_until "$2" grep -q -E "$1" "$work/driver.log"; }
count() { grep -c -E "$1" "$work/driver.log"; }

ns_add $C $R
ip link add lobgp-c netns $C type veth peer name lobgp-r netns $R
ip -n $C addr add 192.0.2.2/24 dev lobgp-c
ip -n $C addr add 2001:db8:1::2/64 dev lobgp-c nodad
ip -n $R addr add 192.0.2.1/24 dev lobgp-r
ip -n $R addr add 192.0.2.3/24 dev lobgp-r
ip -n $R addr add 2001:db8:1::1/64 dev lobgp-r nodad
ip -n $C link set lobgp-c up
ip -n $R link set lobgp-r up

cat > "$work/bird.conf" <<CONF
router id 192.0.2.1;
log "$work/bird.log" all;
protocol device {}
protocol static s4 { ipv4; route 198.51.100.0/24 blackhole; route 203.0.113.0/25 blackhole; }
protocol static s6 { ipv6; route 2001:db8:100::/48 blackhole; }
protocol bgp col4 {
	local 192.0.2.1 as 64500;
	neighbor 192.0.2.2 as 64501;
	passive on;
	hold time 9; keepalive time 3;
	error wait time 1, 4;
	ipv4 { import none; export all; };
}
protocol bgp col6 {
	local 2001:db8:1::1 as 64500;
	neighbor 2001:db8:1::2 port 1179 as 64501;
	hold time 9; keepalive time 3;
	connect retry time 2;
	error wait time 1, 4;
	ipv6 { import none; export all; };
}
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
    - {address: 192.0.2.1, remote_as: 64500, local_as: 64501, hold_time: 9s}
    - {address: "2001:db8:1::1", remote_as: 64500, local_as: 64501, hold_time: 9s, passive: true}
    - {address: 192.0.2.3, remote_as: 64502, local_as: 64501, hold_time: 9s, passive: true}
CONF

ip netns exec $R bird -c "$work/bird.conf" -s "$work/bird.ctl" -P "$work/bird.pid" || { echo "bird failed"; exit 1; }
wait_until 5 test -s "$work/bird.pid" || { echo "bird wrote no pid file"; exit 1; }
bird_pid=$(cat "$work/bird.pid")
: > "$work/driver.log"
ip netns exec $C "$driver" "$work/lightsout.yaml" 150 > "$work/driver.log" 2> "$work/driver-stderr.log" &
driver_pid=$!

# 1. sessions
if wait_for "^peer 192.0.2.1 OpenConfirm Established" 15; then ok "IPv4 session established (we connect out)"; else bad "IPv4 session"; fi
if wait_for "^peer 2001:db8:1::1 OpenConfirm Established" 15; then ok "IPv6 session established (BIRD connects in)"; else bad "IPv6 session"; fi
# 2. routes
if wait_for "^route 192.0.2.1 \+ 198.51.100.0/24 64500" 5; then ok "IPv4 route learned with its AS path"; else bad "IPv4 route"; fi
if wait_for "^route 2001:db8:1::1 \+ 2001:db8:100::/48 64500" 5; then ok "IPv6 route learned over MP-BGP"; else bad "IPv6 route"; fi
if grep -q "203.0.113.0/25" "$work/driver.log"; then bad "unwatched route stored"; else ok "unwatched 203.0.113.0/25 not reported"; fi
# 3. both peers counted (End-of-RIB or 5 s grace): the prefixes are visible
if wait_for "^visibility 0 visible=2/2" 10; then ok "both prefixes visible"; else bad "visibility"; fi
# 4. withdrawal within 1 s of birdc disable
birdc -s "$work/bird.ctl" disable s4 >/dev/null
if wait_for "^withdrawn lab 198.51.100.0/24" 1; then ok "birdc disable seen as bgp_withdrawn within 1 s"; else bad "withdrawal within 1 s"; fi
if wait_for "^route 192.0.2.1 - 198.51.100.0/24" 1; then ok "withdrawal event stored"; else bad "withdraw route event"; fi
birdc -s "$work/bird.ctl" enable s4 >/dev/null
if wait_for "^restored lab 198.51.100.0/24" 2; then ok "birdc enable seen as bgp_restored"; else bad "restoration"; fi
# 5. frozen peer: hold timer expiry (hold 9 s)
before=$(count "^withdrawn")
kill -STOP "$bird_pid"
if wait_for "^peer 192.0.2.1 Established Idle hold timer expired" 15 &&
	wait_for "^peer 2001:db8:1::1 Established Idle hold timer expired" 15; then
	ok "SIGSTOP'ed BIRD: hold timer expiry detected on both sessions"
else
	bad "hold timer expiry"
fi
if [ "$(count '^withdrawn')" = "$before" ]; then ok "a lost session is not a prefix withdrawal"; else bad "session loss counted as withdrawal"; fi
# 6. recovery
kill -CONT "$bird_pid"
n4=$(count "^peer 192.0.2.1 OpenConfirm Established")
n6=$(count "^peer 2001:db8:1::1 OpenConfirm Established")
recovered() {
	[ "$(count '^peer 192.0.2.1 OpenConfirm Established')" -gt "$n4" ] &&
		[ "$(count '^peer 2001:db8:1::1 OpenConfirm Established')" -gt "$n6" ]
}
if wait_until 30 recovered; then ok "sessions recover after the reset"; else bad "recovery"; fi
# 7. malformed UPDATE from a peer: NOTIFICATION back, then it may reconnect
cat > "$work/fake.py" <<'PY'
import socket, struct, sys, time
def msg(t, body): return b"\xff" * 16 + struct.pack(">HB", 19 + len(body), t) + body
def recv_msg(s):
    h = b""
    while len(h) < 19:
        c = s.recv(19 - len(h))
        if not c: return None, None
        h += c
    n = struct.unpack(">H", h[16:18])[0]
    b = b""
    while len(b) < n - 19:
        c = s.recv(n - 19 - len(b))
        if not c: return None, None
        b += c
    return h[18], b
def session(bad):
    s = socket.create_connection(("192.0.2.2", 1179), timeout=5, source_address=("192.0.2.3", 0))
    s.sendall(msg(1, struct.pack(">BHHIB", 4, 64502, 9, 0xc0000203, 0)))
    t, _ = recv_msg(s); assert t == 1, t          # their OPEN
    t, _ = recv_msg(s); assert t == 4, t          # their KEEPALIVE
    s.sendall(msg(4, b""))
    if not bad:
        s.close(); return "established"
    # attribute length 50 in a 4-byte attribute block: RFC 7606 session reset
    upd = struct.pack(">HH", 0, 4) + bytes([0x40, 1, 50, 0]) + bytes([24, 192, 0, 2])
    s.sendall(msg(2, upd))
    while True:
        t, b = recv_msg(s)
        if t is None: return "closed without NOTIFICATION"
        if t == 3: return "notification %d/%d" % (b[0], b[1])
print(session(True)); sys.stdout.flush()
# reconnect until the collector takes the session again (bounded)
deadline = time.time() + 10
while True:
    try:
        r = session(False)
    except (OSError, AssertionError) as e:
        r = "reconnect failed: %r" % e
    if r == "established" or time.time() > deadline:
        break
    time.sleep(0.2)
print(r)
PY
res=$(ip netns exec $R timeout 20 python3 "$work/fake.py" 2>&1)
if echo "$res" | head -1 | grep -q "^notification 3/"; then ok "malformed UPDATE answered with NOTIFICATION ($(echo "$res" | head -1))"; else bad "malformed UPDATE: $res"; fi
if echo "$res" | tail -1 | grep -q "^established"; then ok "peer reconnects after the NOTIFICATION"; else bad "reconnect after NOTIFICATION: $res"; fi
if kill -0 "$driver_pid" 2>/dev/null; then ok "collector still running"; else bad "collector died"; fi

it_summary
