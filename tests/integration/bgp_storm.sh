#!/usr/bin/env bash
# A configured BGP peer that reconnects in a loop (3,000 connections, each
# closed at once or after a bad OPEN) must not flood the log: each state
# change is logged once (never twice), a storm is summed up in a count.
# Everything on the loopback of a namespace of our own.
set -u
. "$(dirname "$0")/lib.bash"
: "${LIGHTSOUT:?LIGHTSOUT must name the binary}"
NS=lobgpstorm
work=$(mktemp -d /tmp/lightsout-bgpstorm.XXXXXX)
cleanup() {
	ns_teardown "$NS"
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || give_up "needs root (network namespaces)"
ns_add "$NS"

cat >"$work/watch.yaml" <<YAML
vantage: storm
store: $work/store.db
listen: "off"
interval: 1s
timeout: 500ms
networks:
  - name: loop
    asn: [64510]
    prefixes: [198.18.0.0/24]
    targets:
      - {name: self, role: router, kind: icmp, host: 127.0.0.1, count: 1}
bgp:
  listen: 127.0.0.1:1179
  peers:
    - {address: 127.0.0.1, remote_as: 64500, local_as: 64501, passive: true}
YAML
"$LIGHTSOUT" check-config -c "$work/watch.yaml" >/dev/null || give_up "config refused: $("$LIGHTSOUT" check-config -c "$work/watch.yaml" 2>&1)"
ip netns exec "$NS" "$LIGHTSOUT" watch -c "$work/watch.yaml" --for 120s >"$work/watch.log" 2>&1 &
watch_pid=$!
listening() { ip netns exec "$NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/1179' 2>/dev/null; }
wait_until 20 listening || give_up "watch does not listen for BGP: $(tail -5 "$work/watch.log")"

cat >"$work/storm.py" <<'PY'
import socket, struct, sys, time
# storm.py N SECONDS: up to N connections within SECONDS; every other one
# sends an OPEN with a bad version before closing.
n, seconds = int(sys.argv[1]), float(sys.argv[2])
bad_open = b"\xff" * 16 + struct.pack("!HB", 29, 1) + bytes([9]) + struct.pack("!HHI", 64500, 90, 0x7f000001) + b"\x00"
end = time.monotonic() + seconds
done = 0
while done < n and time.monotonic() < end:
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", 1179))
        if done % 2:
            s.sendall(bad_open)
            try:
                s.recv(64)
            except OSError:
                pass
    except OSError:
        pass
    s.close()
    done += 1
print("connections", done)
PY
ip netns exec "$NS" timeout 60 python3 "$work/storm.py" 3000 40 >"$work/storm.out" 2>&1
check "the storm ran ($(cat "$work/storm.out"))" grep -q '^connections [1-9]' "$work/storm.out"
# the storm's summary is logged with the first change after its window
sleep 1 # scenario: the storm is over; what follows is logged at once
kill -TERM "$watch_pid"
wait "$watch_pid"
rc=$?
check "watch exits 0 on TERM (exit $rc)" test "$rc" -eq 0
lines=$(grep -c 'bgp' "$work/watch.log")
check "BGP lines in the log stay few ($lines for $(awk '{print $2}' "$work/storm.out") connections)" test "$lines" -le 60
check "no state change is logged twice (no 'bgp peer' duplicate lines)" bash -c "! grep -q 'bgp peer 127.0.0.1:' '$work/watch.log'"
check "no sanitizer report from watch" bash -c "! grep -E 'Sanitizer|runtime error:' '$work/watch.log'"
[ "$fail" -eq 0 ] || { echo "# watch.log:"; tail -20 "$work/watch.log" | sed 's/^/#   /'; }
it_summary
