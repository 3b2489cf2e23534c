#!/usr/bin/env bash
# A configured BGP peer that floods UPDATEs must not cost the probes: for
# 20 s it announces and withdraws thousands of host routes inside the
# watched prefix as fast as watch reads them, while watch probes three
# ICMP targets every second.  Then it announces more routes than its
# max_prefixes.  Asserted:
#  - no round is late by more than one interval (stored at_ms per target),
#  - no measurement or state change is dropped (every round of every
#    target is stored; /metrics counts no such drop),
#  - /metrics counts dropped records by kind, bgp_event among them,
#  - the peer past max_prefixes gets a Cease NOTIFICATION, subcode 1
#    (RFC 4486), and while it backs off a new connection is refused (Cease 5).
# Everything on the loopback of a namespace of our own.
set -u
. "$(dirname "$0")/lib.bash"
: "${LIGHTSOUT:?LIGHTSOUT must name the binary}"
NS=lobgpflood
work=$(mktemp -d /tmp/lightsout-bgpflood.XXXXXX)
cleanup() {
	ns_teardown "$NS"
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
nx() { ip netns exec "$NS" "$@"; }

[ "$(id -u)" = 0 ] || give_up "needs root (network namespaces)"
ns_add "$NS"

cat >"$work/watch.yaml" <<YAML
vantage: flood
store: $work/store.db
listen: 127.0.0.1:9479
interval: 1s
timeout: 500ms
networks:
  - name: loop
    asn: [64510]
    prefixes: [198.18.0.0/16]
    targets:
      - {name: a, role: router, kind: icmp, host: 127.0.0.1, count: 1}
      - {name: b, role: router, kind: icmp, host: 127.0.0.2, count: 1}
      - {name: c, role: router, kind: icmp, host: 127.0.0.3, count: 1}
bgp:
  listen: 127.0.0.1:1179
  peers:
    - {address: 127.0.0.1, remote_as: 64500, local_as: 64501, passive: true, max_prefixes: 20000}
YAML
"$LIGHTSOUT" check-config -c "$work/watch.yaml" >/dev/null || give_up "config refused: $("$LIGHTSOUT" check-config -c "$work/watch.yaml" 2>&1)"
ip netns exec "$NS" "$LIGHTSOUT" watch -c "$work/watch.yaml" --for 180s >"$work/watch.log" 2>&1 &
watch_pid=$!
listening() { nx bash -c 'exec 3<>/dev/tcp/127.0.0.1/1179' 2>/dev/null; }
wait_until 20 listening || give_up "watch does not listen for BGP: $(tail -5 "$work/watch.log")"
sleep 3 # a few quiet rounds first

cat >"$work/flood.py" <<'PY'
import socket, struct, sys, threading, time
# flood.py SECONDS MAX_UPDATES: the hostile peer (AS 64500) of 127.0.0.1:1179.
seconds, max_updates = float(sys.argv[1]), int(sys.argv[2])
PER = 800  # host routes per UPDATE: about 4 KiB

def msg(t, body):
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), t) + body

def routes(first, n):
    # 198.18.0.0/16 holds 65536 host routes
    return b"".join(bytes([32, 198, 18, (i >> 8) & 255, i & 255]) for i in range(first, first + n))

# ORIGIN IGP, AS_PATH 64500 64510 (the origin is the network's own AS), NEXT_HOP
ATTRS = bytes([0x40, 1, 1, 0, 0x40, 2, 6, 2, 2, 0xfb, 0xf4, 0xfb, 0xfe, 0x40, 3, 4, 127, 0, 0, 2])

def announce(first, n):
    return msg(2, struct.pack("!H", 0) + struct.pack("!H", len(ATTRS)) + ATTRS + routes(first, n))

def withdraw(first, n):
    w = routes(first, n)
    return msg(2, struct.pack("!H", len(w)) + w + struct.pack("!H", 0))

def read_msgs(s, seen):
    buf = b""
    while True:
        try:
            d = s.recv(65536)
        except OSError:
            d = b""
        if not d:
            seen.setdefault("eof", True)
            return
        buf += d
        while len(buf) >= 19:
            n = struct.unpack("!H", buf[16:18])[0]
            if len(buf) < n:
                break
            t, body, buf = buf[18], buf[19:n], buf[n:]
            seen.setdefault("types", []).append(t)
            if t == 3 and "notification" not in seen:
                seen["notification"] = (body[0], body[1])

def session():
    s = socket.create_connection(("127.0.0.1", 1179), timeout=5)
    s.settimeout(None)  # the reader waits as long as watch is silent
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(msg(1, bytes([4]) + struct.pack("!HHI", 64500, 90, 0x7f000002) + b"\x00"))
    seen = {}
    t = threading.Thread(target=read_msgs, args=(s, seen), daemon=True)
    t.start()
    return s, seen, t

def wait_for(seen, what, secs):
    end = time.monotonic() + secs
    while what not in seen and time.monotonic() < end:
        time.sleep(0.05)

s, seen, t = session()
wait_for(seen, "types", 5)
if seen.get("types", [None])[0] != 1:
    sys.exit("no OPEN from watch: %r" % seen)
s.sendall(msg(4, b""))  # KEEPALIVE: Established
# the whole /16 stays announced: the network stays visible, only the
# host routes inside it come and go
s.sendall(msg(2, struct.pack("!HH", 0, len(ATTRS)) + ATTRS + bytes([16, 198, 18])))
updates, k, end = 0, 0, time.monotonic() + seconds
while time.monotonic() < end and updates < max_updates:
    first = (k * PER) % (65536 - PER)
    s.sendall(announce(first, PER) + withdraw(first, PER))
    updates, k = updates + 2, k + 1
print("updates", updates)
# past max_prefixes (20000): 30 x 800 routes held at once
try:
    for k in range(30):
        s.sendall(announce(k * PER, PER))
except OSError:
    pass
wait_for(seen, "notification", 10)
n = seen.get("notification")
print("notification %d %d" % n if n else "notification none")
s.close()
# at once again: watch backs off, the connection is refused with Cease 5
s2, seen2, t2 = session()
wait_for(seen2, "notification", 5)
n = seen2.get("notification")
print("reconnect %d %d" % n if n else "reconnect none")
s2.close()
PY
nx timeout 90 python3 "$work/flood.py" 20 2000000 >"$work/flood.out" 2>&1
check "the flood ran ($(head -1 "$work/flood.out"))" grep -q '^updates [1-9]' "$work/flood.out"
check "past max_prefixes the peer gets Cease, subcode 1 ($(grep '^notification' "$work/flood.out"))" \
	grep -qx 'notification 6 1' "$work/flood.out"
check "during the back-off a new connection is refused with Cease 5 ($(grep '^reconnect' "$work/flood.out"))" \
	grep -qx 'reconnect 6 5' "$work/flood.out"
sleep 2
nx curl -s --max-time 5 http://127.0.0.1:9479/metrics >"$work/metrics" || true
metric() { awk -v k="$1" '$1 == k {print $2}' "$work/metrics"; }
for kind in measurement state_change incident bgp_event; do
	check "/metrics counts dropped ${kind}s ($(metric "lightsout_store_dropped_total{kind=\"$kind\"}"))" \
		test -n "$(metric "lightsout_store_dropped_total{kind=\"$kind\"}")"
done
check "no measurement dropped" test "$(metric 'lightsout_store_dropped_total{kind="measurement"}')" = 0
check "no state change dropped" test "$(metric 'lightsout_store_dropped_total{kind="state_change"}')" = 0
echo "# RSS high-water mark of watch: $(awk '/VmHWM/ {print $2, $3}' "/proc/$watch_pid/status" 2>/dev/null)"
kill -TERM "$watch_pid"
wait "$watch_pid"
rc=$?
check "watch exits 0 on TERM (exit $rc)" test "$rc" -eq 0

q() { sqlite3 "$work/store.db" "$1"; }
# every round of every target, from its first to its last, is stored
missing=$(q "SELECT sum(n) FROM (SELECT max(round) - min(round) + 1 - count(DISTINCT round) AS n FROM measurements GROUP BY target)")
rounds=$(q "SELECT count(*) FROM measurements")
check "every round stored ($rounds measurements, $missing missing)" test "${missing:-1}" -eq 0 -a "$rounds" -ge 75
gap=$(q "SELECT max(d) FROM (SELECT at_ms - lag(at_ms) OVER (PARTITION BY target ORDER BY at_ms) AS d FROM measurements)")
check "no round late by more than one interval (largest gap $gap ms)" test "${gap:-99999}" -le 2000
check "targets stayed up: not down, not even degraded" test "$(q "SELECT count(*) FROM state_changes WHERE to_state <> 'up'")" -eq 0
check "no incident opened" test "$(q "SELECT count(*) FROM incidents")" -eq 0
echo "# stored bgp_events: $(q 'SELECT count(*) FROM bgp_events'); dropped: $(metric 'lightsout_store_dropped_total{kind="bgp_event"}')"
check "the Cease is logged" grep -q 'more than max_prefixes (20000) routes' "$work/watch.log"
check "no sanitizer report from watch" bash -c "! grep -E 'Sanitizer|runtime error:' '$work/watch.log'"
[ "$fail" -eq 0 ] || { echo "# watch.log:"; tail -20 "$work/watch.log" | sed 's/^/#   /'; }
it_summary
