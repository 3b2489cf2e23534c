#!/usr/bin/env bash
# Hostile HTTP clients against watch's server (issue: hardening):
#  - a series with an absurd step (100000000d, or one that overflows int64
#    milliseconds) is answered at once with a bounded number of points,
#    while /healthz and /metrics keep answering and probing goes on;
#  - slowloris: 70 connections from one address trickling a header line
#    every 2 s take at most the per-address limit, and /healthz from
#    another address answers throughout; 60 connections from 60 addresses
#    doing the same are cut at the request-head deadline;
#  - a second watch on the same store is refused.
# Everything runs inside one namespace of our own, on its loopback.
set -u
. "$(dirname "$0")/lib.bash"
: "${LIGHTSOUT:?LIGHTSOUT must name the binary}"
NS=lohostile
work=$(mktemp -d /tmp/lightsout-hostile.XXXXXX)

cleanup() {
	ns_teardown "$NS"
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
nx() { ip netns exec "$NS" "$@"; }
base=http://127.0.0.1:9470

[ "$(id -u)" = 0 ] || give_up "needs root (network namespaces)"
ns_add "$NS"

cat >"$work/watch.yaml" <<YAML
vantage: hostile
store: $work/store.db
listen: 127.0.0.1:9470
interval: 1s
timeout: 500ms
networks:
  - name: loop
    targets:
      - {name: self, role: router, kind: icmp, host: 127.0.0.1, count: 1}
YAML
ip netns exec "$NS" "$LIGHTSOUT" watch -c "$work/watch.yaml" --for 300s >"$work/watch.log" 2>&1 &
watch_pid=$!
healthy() { nx curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$base/healthz" | grep -q 200; }
wait_until 20 healthy || give_up "watch does not serve /healthz: $(tail -5 "$work/watch.log")"
measured() { sqlite3 "$work/store.db" 'SELECT count(*) FROM measurements' 2>/dev/null || echo 0; }
wait_until 10 bash -c "[ \$(sqlite3 '$work/store.db' 'SELECT count(*) FROM measurements' 2>/dev/null || echo 0) -ge 2 ]"

# ---- absurd steps: each answered within curl's bound, a handful of points
for step in 100000000d 9223372036854000000ms 1ms; do
	code=$(nx curl -s --max-time 10 -o "$work/series.json" -w '%{http_code}' "$base/api/v1/networks/loop/series?step=$step&since=30d")
	check "series step=$step is answered (HTTP $code)" test "$code" = 200
	check "series step=$step has at most 5000 points" bash -c "[ \$(jq '[.series[].points | length] | max' '$work/series.json') -le 5000 ]"
done
check "a step wider than the window is one bucket" bash -c "nx() { ip netns exec $NS \"\$@\"; }; [ \$(nx curl -s --max-time 10 '$base/api/v1/networks/loop/series?step=100000000d&since=1h' | jq '.series[0].points | length') -le 2 ]"
before=$(measured)
# ten hostile series requests at once, /healthz and /metrics meanwhile
hostile=()
for _ in $(seq 10); do
	nx curl -s --max-time 20 -o /dev/null "$base/api/v1/networks/loop/series?step=100000000d&since=400d" &
	hostile+=($!)
done
check "/healthz answers during hostile series requests" healthy
check "/metrics answers during hostile series requests" bash -c "ip netns exec $NS curl -s --max-time 5 $base/metrics | grep -q '^lightsout_'"
wait "${hostile[@]}"
check "probing went on (measurements stored: $before, then more)" wait_until 10 bash -c "[ \$(sqlite3 '$work/store.db' 'SELECT count(*) FROM measurements') -gt $before ]"

# ---- slowloris
cat >"$work/slow.py" <<'PY'
import socket, sys, time
# slow.py N SOURCES SECONDS: N connections (source addresses cycled from
# SOURCES, comma-separated), each sending a request line and then one
# header line every 2 s for SECONDS; prints how many were cut by the server
# at the first trickle (refused over a limit) and in all.
n, sources, seconds = int(sys.argv[1]), sys.argv[2].split(","), float(sys.argv[3])
socks = []
for i in range(n):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.bind((sources[i % len(sources)], 0))
        s.connect(("127.0.0.1", 9470))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    except OSError:
        s.close()
print("open", len(socks), flush=True)
cut = set()
end = time.monotonic() + seconds
k = 0
cut_first = set()
while time.monotonic() < end:
    time.sleep(2)
    k += 1
    for i, s in enumerate(socks):
        if i in cut:
            continue
        try:
            s.sendall(b"X-Slow-%d: %d\r\n" % (k, k))
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    cut.add(i)
            except BlockingIOError:
                pass
            s.setblocking(True)
            s.settimeout(2)
        except OSError:
            cut.add(i)
    if k == 1:
        cut_first = set(cut)
print("cut_first", len(cut_first), flush=True)
print("cut", len(cut), flush=True)
PY
nx timeout 60 python3 "$work/slow.py" 70 127.0.0.1 24 >"$work/slow1.out" 2>&1 &
slow=$!
wait_until 10 grep -q '^open' "$work/slow1.out" # its connections are held
from_other() { nx curl -s --max-time 3 --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$base/healthz" | grep -q 200; }
okn=0
# samples through the trickle (the scenario: answers all along, not once)
for _ in $(seq 8); do from_other && okn=$((okn + 1)); sleep 2; done
check "/healthz from another address answers while one address trickles (8 of $okn)" test "$okn" -eq 8
wait $slow
check "one address holds at most 16 connections ($(tr '\n' ' ' <"$work/slow1.out"))" bash -c "[ \$((\$(awk '/^open/{print \$2}' '$work/slow1.out') - \$(awk '/^cut_first/{print \$2}' '$work/slow1.out'))) -le 16 ]"
check "its trickling connections were cut at the head deadline ($(tail -1 "$work/slow1.out"))" bash -c "[ \$(awk '\$1~/^cut$/{print \$2}' '$work/slow1.out') -eq \$(awk '/^open/{print \$2}' '$work/slow1.out') ]"

srcs=$(seq -s, -f '127.0.1.%g' 1 60)
nx timeout 60 python3 "$work/slow.py" 60 "$srcs" 24 >"$work/slow2.out" 2>&1 &
slow=$!
check "60 trickling addresses: /healthz answers again within the head deadline" wait_until 16 from_other
wait $slow
check "every one of the 60 was cut ($(tail -1 "$work/slow2.out"))" bash -c "[ \$(awk '\$1~/^cut$/{print \$2}' '$work/slow2.out') -eq \$(awk '/^open/{print \$2}' '$work/slow2.out') ]"

# ---- one watch per store (not hostile, but this watch is running)
ip netns exec "$NS" "$LIGHTSOUT" watch -c "$work/watch.yaml" --for 5s >"$work/watch2.log" 2>&1
rc=$?
check "a second watch on the same store exits 1 (exit $rc)" test "$rc" -eq 1
check "and says the store is in use" grep -q "store $work/store.db is in use by another lightsout watch" "$work/watch2.log"

kill -TERM $watch_pid
wait $watch_pid
rc=$?
check "watch exits 0 on TERM (exit $rc)" test $rc -eq 0
check "no sanitizer report from watch" bash -c "! grep -E 'Sanitizer|runtime error:' '$work/watch.log'"
[ "$fail" -eq 0 ] || { echo "# watch.log:"; tail -20 "$work/watch.log" | sed 's/^/#   /'; }
it_summary
