#!/usr/bin/env bash
# How watch paces its rounds, in a namespace of its own (198.18.100.1 on
# its loopback, a python3 listener on 200 ports):
#  - max_pps holds for TCP connection attempts: 200 targets due every 2 s
#    under max_pps 20 never make more than max_pps + burst SYNs in a second
#    (the listener's accept times), and the rounds that cannot fit are
#    counted as missed;
#  - a stall (SIGSTOP for 5 s at a 1 s interval, then SIGCONT) does not
#    fire the missed rounds back to back: rounds are stamped with when
#    they ran, consecutive rounds of a target are stored at least half an
#    interval apart, /metrics counts them in
#    lightsout_rounds_missed_total, and the stall is logged once.
set -u
: "${LIGHTSOUT:?LIGHTSOUT must name the binary}"
N=lopace-v
A=198.18.100.1
work=$(mktemp -d /tmp/lightsout-pacing.XXXXXX)
pass=0 fail=0

cleanup() {
	ip netns pids $N 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del $N 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
ip netns del $N 2>/dev/null

ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

ip netns add $N
ip -n $N link set lo up
ip -n $N addr add $A/32 dev lo

# one listener on ports 20000-20199: the time of every accepted connection
ip netns exec $N python3 - "$A" "$work/accepts" <<'PY' &
import selectors, socket, sys, time
addr, out = sys.argv[1], open(sys.argv[2], "w", buffering=1)
sel = selectors.DefaultSelector()
for port in range(20000, 20200):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        try:
            c, _ = key.fileobj.accept()
        except OSError:
            continue
        out.write("%.3f\n" % time.time())
        c.close()
PY
disown $! # killed at the end: no job notice
sleep 1

targets() { # COUNT
	for i in $(seq 0 $(($1 - 1))); do
		echo "      - {name: t$i, role: web, kind: tcp, host: $A, port: $((20000 + i))}"
	done
}

# ---- max_pps for connection attempts ----
cat >"$work/rate.yaml" <<YAML
vantage: itest
store: $work/rate.db
listen: "off"
interval: 2s
timeout: 1s
max_pps: 20
networks:
  - name: lab
    prefixes: [198.18.100.0/24]
    targets:
$(targets 200)
YAML
: >"$work/accepts"
ip netns exec $N $LIGHTSOUT watch -c "$work/rate.yaml" --for 12s 2>"$work/rate.log"
check "watch --for exits 0 (max_pps)" test $? -eq 0
# burst: 64 tokens at most (schedule.c), which idle time alone can buy
peak=$(awk '{n[int($1)]++} END {m = 0; for (s in n) if (n[s] > m) m = n[s]; print m}' "$work/accepts")
total=$(wc -l <"$work/accepts")
check "never more than max_pps + burst (20 + 64) connections in a second (peak $peak)" test "$peak" -le 84
check "about max_pps a second over 12 s ($total connections)" test "$total" -ge 150 -a "$total" -le $((12 * 20 + 64 + 20))
stored=$(sqlite3 -batch -noheader "$work/rate.db" "SELECT count(*) FROM measurements")
notok=$(sqlite3 -batch -noheader "$work/rate.db" "SELECT count(*) FROM measurements WHERE outcome<>0")
check "the rounds that went out were answered ($stored stored, $notok not ok)" test "$stored" -ge 150 -a "$notok" -eq 0
check "rounds that could not fit are reported as missed" grep -q "max_pps 20 is too low" "$work/rate.log"

# ---- a stall ----
cat >"$work/stall.yaml" <<YAML
vantage: itest
store: $work/stall.db
listen: "$A:8080"
interval: 1s
timeout: 500ms
networks:
  - name: lab
    prefixes: [198.18.100.0/24]
    targets:
$(targets 5)
YAML
ip netns exec $N $LIGHTSOUT watch -c "$work/stall.yaml" --for 18s 2>"$work/stall.log" &
watch_pid=$!
sleep 4
wpid=$(pgrep -n -f "lightsout watch -c $work/stall.yaml")
stop_ms=$(date +%s%3N)
kill -STOP "$wpid"
sleep 5
cont_ms=$(date +%s%3N)
kill -CONT "$wpid"
sleep 7 # the /metrics counters are pushed every 5 s
missed=$(ip netns exec $N curl -s --max-time 5 "http://$A:8080/metrics" | awk '$1 == "lightsout_rounds_missed_total" {print $2}')
check "lightsout_rounds_missed_total counts the stall (got: ${missed:-none})" test "${missed:-0}" -gt 0
wait $watch_pid
check "watch --for exits 0 (stall)" test $? -eq 0
closest=$(sqlite3 -batch -noheader "$work/stall.db" "SELECT min(d) FROM (SELECT at_ms - lag(at_ms) OVER (PARTITION BY target ORDER BY round) AS d FROM measurements)")
check "consecutive rounds of a target at least half an interval apart (closest: $closest ms)" test "${closest:-0}" -ge 500
during=$(sqlite3 -batch -noheader "$work/stall.db" "SELECT count(*) FROM measurements WHERE at_ms > $stop_ms + 100 AND at_ms < $cont_ms")
check "no round is stamped inside the stall: each with when it ran ($during)" test "$during" -eq 0
rounds=$(sqlite3 -batch -noheader "$work/stall.db" "SELECT count(*) FROM measurements")
check "the rounds before and after the stall are stored ($rounds)" test "$rounds" -ge 40
stall=$(grep -cE "came up to [4-9]\.[0-9] s late" "$work/stall.log")
lines=$(grep -c "skipped, not run late" "$work/stall.log")
check "the stall is logged once, not per round ($stall of $lines lines)" test "$stall" -eq 1 -a "$lines" -eq 1

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
