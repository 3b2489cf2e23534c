#!/usr/bin/env bash
# A store whose disk fills while watch runs must say so at once, not at
# exit: the store lives on a 2 MB tmpfs (in a mount namespace of our own,
# gone with the test), watch probes loopback targets every second, and a
# filler file takes the rest of the disk.  Asserted:
#  - /healthz answers 503 naming SQLite's error while batches fail,
#  - lightsout_store_write_errors_total rises,
#  - the log has SQLite's message while watch runs,
#  - once the filler is deleted, /healthz is 200 again and rounds are
#    stored again,
#  - nothing committed before the disk filled is lost.
set -u
: "${LIGHTSOUT:?LIGHTSOUT must name the binary}"
[ "$(id -u)" = 0 ] || { echo "# needs root (mount and network namespaces)"; echo "0 passed, 1 failed"; exit 1; }
# the tmpfs is mounted in a private mount namespace: it cannot outlive us
if [ -z "${STORE_FULL_IN_NS:-}" ]; then
	STORE_FULL_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.bash"
NS=lostorefull
work=$(mktemp -d /tmp/lightsout-storefull.XXXXXX)
cleanup() {
	ns_teardown "$NS"
	umount "$work/disk" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
nx() { ip netns exec "$NS" "$@"; }

mkdir "$work/disk"
mount -t tmpfs -o size=2m lightsout-test "$work/disk" || give_up "cannot mount a tmpfs"
ns_add "$NS"

cat >"$work/watch.yaml" <<YAML
vantage: full
store: $work/disk/store.db
listen: 127.0.0.1:9478
interval: 1s
timeout: 500ms
networks:
  - name: loop
    targets:
      - {name: a, role: router, kind: icmp, host: 127.0.0.1, count: 1}
      - {name: b, role: router, kind: icmp, host: 127.0.0.2, count: 1}
      - {name: c, role: router, kind: icmp, host: 127.0.0.3, count: 1}
YAML
"$LIGHTSOUT" check-config -c "$work/watch.yaml" >/dev/null || give_up "config refused: $("$LIGHTSOUT" check-config -c "$work/watch.yaml" 2>&1)"
ip netns exec "$NS" "$LIGHTSOUT" watch -c "$work/watch.yaml" --for 180s >"$work/watch.log" 2>&1 &
watch_pid=$!
healthz() { nx curl -s --max-time 3 -w ' %{http_code}' http://127.0.0.1:9478/healthz; }
healthy() { [ "$(healthz)" = $'ok\n 200' ]; }
wait_until 20 healthy || give_up "watch does not serve /healthz: $(tail -5 "$work/watch.log")"
q() { sqlite3 "$work/disk/store.db" "$1"; }
stored() { [ "$(q 'SELECT count(*) FROM measurements' 2>/dev/null)" -ge "$1" ]; }
wait_until 20 stored 9 || give_up "no rounds stored: $(tail -5 "$work/watch.log")"

# what is committed now must survive
upto=$(q 'SELECT max(at_ms) FROM measurements')
before=$(q "SELECT count(*) FROM measurements WHERE at_ms <= $upto")
# the rest of the disk: the WAL cannot grow, the checkpoint cannot extend the file
dd if=/dev/zero of="$work/disk/filler" bs=16k 2>/dev/null
echo "# disk: $(df -k "$work/disk" | awk 'NR == 2 {print $3 " kB used, " $4 " kB free"}')"
failing() { healthz | grep -q ' 503$'; }
wait_until 60 failing
body=$(healthz)
check "/healthz answers 503 while writes fail ($(echo $body))" bash -c "[[ \"\$1\" == *' 503' ]]" _ "$body"
check "/healthz names SQLite's error" bash -c "[[ \"\$1\" == *'database or disk is full'* ]]" _ "$body"
metric() { nx curl -s --max-time 3 http://127.0.0.1:9478/metrics | awk -v k="$1" '$1 == k {print $2}'; }
errs=$(metric lightsout_store_write_errors_total)
check "lightsout_store_write_errors_total rises (${errs:-none})" test "${errs:-0}" -ge 1
check "the log has SQLite's message while watch runs" grep -q 'store: cannot write store .*database or disk is full' "$work/watch.log"
sleep 3
errs2=$(metric lightsout_store_write_errors_total)
check "every failed batch is counted (${errs:-0} then ${errs2:-0})" test "${errs2:-0}" -gt "${errs:-0}"
dropped=$(nx curl -s --max-time 3 http://127.0.0.1:9478/metrics | grep '^lightsout_store_dropped_total{kind="measurement"}')
echo "# $dropped"

rm -f "$work/disk/filler"
recovered_at=$(($(date +%s) * 1000))
wait_until 30 healthy
check "/healthz is 200 again once there is room ($(echo $(healthz)))" healthy
later() { [ "$(q "SELECT count(*) FROM measurements WHERE at_ms > $recovered_at" 2>/dev/null)" -ge 3 ]; }
check "rounds are stored again" wait_until 20 later
lines=$(grep -c 'database or disk is full' "$work/watch.log")
check "the failures are logged a few lines a minute, not once a batch ($lines lines for $errs2 batches)" \
	test "$lines" -le 6
check "the recovery is logged" grep -q 'store: writing again' "$work/watch.log"
kill -TERM "$watch_pid"
wait "$watch_pid"
echo "# watch exit: $? ($(grep -c 'lightsout: cannot write store' "$work/watch.log") exit report of a lost batch)"
check "nothing committed before the disk filled is lost ($before rows)" \
	test "$(q "SELECT count(*) FROM measurements WHERE at_ms <= $upto")" -eq "$before"
check "the store is intact" test "$(q 'PRAGMA integrity_check')" = ok
check "no sanitizer report from watch" bash -c "! grep -E 'Sanitizer|runtime error:' '$work/watch.log'"
[ "$fail" -eq 0 ] || { echo "# watch.log:"; tail -20 "$work/watch.log" | sed 's/^/#   /'; }
it_summary
