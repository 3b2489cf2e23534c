#!/usr/bin/env bash
# SIGHUP re-reads watch's configuration (issue 13):
#  - a target added is probed, one removed is not any more, a changed
#    interval takes effect; the log says how many of each;
#  - unchanged targets keep their state (no new state change) and their
#    rounds: per target, the stored rounds are consecutive across every
#    reload, none lost and none twice, with 1,000 ICMP targets every second;
#  - an open incident keeps its id and start across the reload, and closes
#    under that id when its targets answer again;
#  - a broken file is refused with its error logged, and the running
#    configuration goes on probing;
#  - SIGTERM still stops cleanly (exit 0, ASan quiet).
# Everything runs inside one namespace of our own, on its loopback; the
# "dark" network's traffic is dropped with nftables inside it.
set -u
. "$(dirname "$0")/lib.bash"
: "${LIGHTSOUT:?LIGHTSOUT must name the binary}"
NS=loreload
work=$(mktemp -d /tmp/lightsout-reload.XXXXXX)

cleanup() {
	[ -n "${notify_pid:-}" ] && kill "$notify_pid" 2>/dev/null
	ns_teardown "$NS"
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
nx() { ip netns exec "$NS" "$@"; }
q() { sqlite3 -cmd '.timeout 5000' "$work/store.db" "$1" 2>/dev/null; }
logged() { grep -q -- "$1" "$work/watch.log"; }
# rounds stored for target NAME after ms
rounds_after() { q "SELECT count(*) FROM measurements m JOIN targets t ON t.id = m.target WHERE t.name = '$1' AND m.at_ms > $2"; }
# bulk targets whose stored rounds have a gap or a repeat
gaps() {
	q "SELECT count(*) FROM (SELECT count(*) c, count(DISTINCT round) d, max(round) - min(round) + 1 span
	   FROM measurements m JOIN targets t ON t.id = m.target WHERE t.network = 'bulk'
	   GROUP BY m.target HAVING c != span OR d != c)"
}
# bulk targets measured both before and after ms
spanning() {
	q "SELECT count(*) FROM (SELECT min(at_ms) lo, max(at_ms) hi FROM measurements m JOIN targets t
	   ON t.id = m.target WHERE t.network = 'bulk' GROUP BY m.target HAVING lo < $1 AND hi > $1 + 2000)"
}
bulk_changes() { q "SELECT count(*) FROM state_changes s JOIN targets t ON t.id = s.target WHERE t.network = 'bulk'"; }

[ "$(id -u)" = 0 ] || give_up "needs root (network namespaces)"
ns_add "$NS"

# a TCP listener for the tcp targets
ip netns exec "$NS" python3 -c '
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8081)); s.listen(512)
while True:
    c, _ = s.accept(); c.close()' &
disown

# config VARIANT: 1 = first, 2 = web2 added, self removed, web at 2s
config() {
	{
		cat <<YAML
vantage: reload
store: $work/store.db
listen: 127.0.0.1:9470
interval: 1s
timeout: 500ms
max_pps: 20000
# a loaded machine (ASan, readers below) delays the loop: not slowness of loopback
detect: {degraded_rtt_min_ms: 5000}
networks:
  - name: loop
    targets:
YAML
		[ "$1" = 1 ] && echo "      - {name: self, role: router, kind: icmp, host: 127.0.0.1, count: 1}"
		if [ "$1" = 1 ]; then
			echo "      - {name: web, role: web, kind: tcp, host: 127.0.0.1, port: 8081}"
		else
			echo "      - {name: web, role: web, kind: tcp, host: 127.0.0.1, port: 8081, interval: 2s}"
			echo "      - {name: web2, role: web, kind: tcp, host: 127.0.0.1, port: 8081}"
		fi
		cat <<YAML
  - name: dark
    targets:
      - {name: d1, role: router, kind: icmp, host: 127.0.9.1, count: 1}
      - {name: d2, role: host, kind: icmp, host: 127.0.9.2, count: 1}
      - {name: d3, role: host, kind: icmp, host: 127.0.9.3, count: 1}
  - name: bulk
    targets:
YAML
		for i in $(seq 0 999); do
			echo "      - {name: b$i, role: host, kind: icmp, host: 127.0.$((10 + i / 250)).$((1 + i % 250)), count: 1}"
		done
	} >"$work/watch.yaml"
}
config 1
"$LIGHTSOUT" check-config -c "$work/watch.yaml" >/dev/null || give_up "config 1 is not valid"

# systemd's notify socket, played: one line per datagram
cat >"$work/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w") as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", " ") + "\n")
        out.flush()
PY
python3 "$work/notify.py" "$work/notify.sock" "$work/notify.log" &
notify_pid=$!
wait_until 10 test -S "$work/notify.sock" || give_up "notify socket not made"

NOTIFY_SOCKET=$work/notify.sock ip netns exec "$NS" "$LIGHTSOUT" watch -c "$work/watch.yaml" --for 600s >"$work/watch.log" 2>&1 &
watch_pid=$!
wait_until 30 logged "watching 3 networks" || give_up "watch did not start: $(tail -5 "$work/watch.log")"
wait_until 30 bash -c "[ \$(sqlite3 '$work/store.db' \"SELECT count(*) FROM latest WHERE state = 'up'\" 2>/dev/null || echo 0) -ge 1005 ]" ||
	give_up "targets not up: $(tail -5 "$work/watch.log")"

# ---- an incident: the dark network's traffic is dropped
nx nft add table inet reload
nx nft add chain inet reload out '{ type filter hook output priority 0; }'
nx nft add rule inet reload out ip daddr 127.0.9.0/24 drop
wait_until 30 bash -c "[ \"\$(sqlite3 '$work/store.db' \"SELECT count(*) FROM incidents WHERE network = 'dark' AND open = 1\" 2>/dev/null)\" = 1 ]" ||
	give_up "no incident for the dark network: $(tail -5 "$work/watch.log")"
inc_before=$(q "SELECT id || ' ' || start_ms FROM incidents WHERE network = 'dark' AND open = 1")
changes_before=$(bulk_changes)
check "each bulk target came up once ($changes_before state changes)" test "$changes_before" = 1000

# completed icmp rounds that answered, as /metrics counts them
icmp_ok() { ip netns exec "$NS" curl -s --max-time 5 http://127.0.0.1:9470/metrics |
	awk '/^lightsout_probes_total\{kind="icmp",outcome="ok"\}/ { print $2 }'; }

# ---- add, remove, change
config 2
ok_before=$(icmp_ok)
t1=$(it_now_ms)
kill -HUP "$watch_pid"
check "the reload is logged with its counts" wait_until 10 logged "reload: 1 targets added, 1 removed, 1 changed, 1003 unchanged"
ok_after=$(icmp_ok)
check "/metrics counters go on from where they were ($ok_before, then $ok_after)" test "${ok_after:-0}" -ge "${ok_before:-0}"
check "systemd is told RELOADING=1, then READY=1" wait_until 5 bash -c "grep -A5 '^RELOADING=1' '$work/notify.log' | grep -q '^READY=1'"
check "the added target is probed" wait_until 10 bash -c "[ \$(sqlite3 -cmd '.timeout 5000' '$work/store.db' \"SELECT count(*) FROM measurements m JOIN targets t ON t.id = m.target WHERE t.name = 'web2'\") -ge 2 ]"
sleep 6
t2=$(it_now_ms)
# when the reload was done, by watch's own stamp
t1r=$(date -d "$(grep 'reload: 1 targets added' "$work/watch.log" | cut -d' ' -f1)" +%s%3N)
self_after=$(rounds_after self "$t1r")
check "the removed target is not probed any more ($self_after rounds after the reload)" test "$self_after" = 0
# a round number counts the target's own interval from the epoch
web_slot=$(q "SELECT m.round * 2000 <= m.at_ms AND m.at_ms < (m.round + 1) * 2000 FROM measurements m
	JOIN targets t ON t.id = m.target WHERE t.name = 'web' ORDER BY m.at_ms DESC LIMIT 1")
check "the changed interval is in effect (web's last round is on the 2 s schedule)" test "$web_slot" = 1
check "watch is alive after the reload" kill -0 "$watch_pid"
check "unchanged targets kept their state: no new state change" test "$(bulk_changes)" = "$changes_before"
check "every bulk target was measured across the reload" test "$(spanning "$t1")" = 1000
check "no bulk target lost or repeated a round across the reload" test "$(gaps)" = 0
inc_after=$(q "SELECT id || ' ' || start_ms FROM incidents WHERE network = 'dark' AND open = 1")
check "the open incident continues with its id and start ($inc_before / $inc_after)" test "$inc_after" = "$inc_before"
check "no second incident for the dark network" test "$(q "SELECT count(*) FROM incidents WHERE network = 'dark'")" = 1

# ---- a broken file is refused
cp "$work/watch.yaml" "$work/good.yaml"
printf 'interval: 1s\ninterval: [\n' >"$work/watch.yaml"
kill -HUP "$watch_pid"
check "a broken file is refused" wait_until 10 logged "reload refused"
check "its error is logged with the file's name" logged "reload: $work/watch.yaml:"
before=$(q "SELECT count(*) FROM measurements")
check "probing goes on with the running configuration" wait_until 10 bash -c "[ \$(sqlite3 -cmd '.timeout 5000' '$work/store.db' 'SELECT count(*) FROM measurements') -gt $((before + 1000)) ]"
check "web2 is still probed" wait_until 10 bash -c "[ \$(sqlite3 -cmd '.timeout 5000' '$work/store.db' \"SELECT count(*) FROM measurements m JOIN targets t ON t.id = m.target WHERE t.name = 'web2' AND m.at_ms > $t2\") -ge 2 ]"
check "watch is alive after the refusal" kill -0 "$watch_pid"

# ---- SIGHUP under load, twice in a row, with the same file
cp "$work/good.yaml" "$work/watch.yaml"
# the dashboard is read throughout: its threads switch to the new state under a lock
ip netns exec "$NS" bash -c 'while :; do for p in /api/v1/status / /metrics /network/bulk; do
	curl -s --max-time 5 -o /dev/null http://127.0.0.1:9470$p; done; done' &
readers=$!
t3=$(it_now_ms)
kill -HUP "$watch_pid"
sleep 0.3
kill -HUP "$watch_pid"
check "both reloads are logged" wait_until 10 bash -c "[ \$(grep -c 'reload: 0 targets added, 0 removed, 0 changed, 1005 unchanged' '$work/watch.log') = 2 ]"
sleep 4
kill "$readers"
wait "$readers" 2>/dev/null
check "every bulk target was measured across the quick reloads" test "$(spanning "$t3")" = 1000
check "still no bulk target lost or repeated a round" test "$(gaps)" = 0
check "still no new state change of a bulk target" test "$(bulk_changes)" = "$changes_before"
check "the incident still continues" test "$(q "SELECT id || ' ' || start_ms FROM incidents WHERE network = 'dark' AND open = 1")" = "$inc_before"
check "the dashboard answers after the reloads" bash -c "ip netns exec $NS curl -s --max-time 5 http://127.0.0.1:9470/api/v1/status | jq -e '[.networks[].targets[]] | length == 1005' >/dev/null"

# ---- the incident closes under its own id once the network answers
nx nft delete table inet reload
id=${inc_before%% *}
check "the continued incident closes under id $id" wait_until 20 bash -c "[ \"\$(sqlite3 -cmd '.timeout 5000' '$work/store.db' \"SELECT open FROM incidents WHERE id = $id\")\" = 0 ]"
check "still one incident for the dark network" test "$(q "SELECT count(*) FROM incidents WHERE network = 'dark'")" = 1

kill -TERM "$watch_pid"
wait "$watch_pid"
rc=$?
kill "$notify_pid" 2>/dev/null
check "SIGTERM still stops cleanly (exit $rc)" test "$rc" = 0
check "no sanitizer report" bash -c "! grep -E 'AddressSanitizer|LeakSanitizer|runtime error' '$work/watch.log'"
[ "$fail" = 0 ] || { echo "# log tail:"; tail -20 "$work/watch.log" | sed 's/^/# /'; }
it_summary
