#!/usr/bin/env bash
# watch as a Type=notify service, with systemd's protocols played by the
# test (no systemd runs here):
#  - sd_notify: READY=1 once started, WATCHDOG=1 at half of WATCHDOG_USEC,
#    STOPPING=1 on SIGTERM, to the datagram socket NOTIFY_SOCKET names;
#  - when JOURNAL_STREAM names watch's stderr, lines carry syslog priority
#    prefixes ("<6>") instead of timestamps; otherwise every line is stamped.
set -u
. "$(dirname "$0")/lib.bash"
: "${LIGHTSOUT:?LIGHTSOUT must name the binary}"
NS=lonotify
work=$(mktemp -d /tmp/lightsout-notify.XXXXXX)
cleanup() {
	ns_teardown "$NS"
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || give_up "needs root (network namespaces)"
ns_add "$NS"
cat >"$work/watch.yaml" <<YAML
store: $work/store.db
listen: "off"
interval: 1s
timeout: 500ms
networks:
  - name: loop
    targets:
      - {name: self, role: router, kind: icmp, host: 127.0.0.1, count: 1}
YAML

# the notify socket: every datagram, one line each, until told to stop
cat >"$work/notify.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.monotonic() + float(sys.argv[2])
with open(sys.argv[3], "w") as out:
    while time.monotonic() < end:
        try:
            out.write(s.recv(4096).decode().replace("\n", " ") + "\n")
            out.flush()
        except socket.timeout:
            pass
PY
python3 "$work/notify.py" "$work/notify.sock" 60 "$work/notify.log" &
listener=$!
wait_until 10 test -S "$work/notify.sock" || give_up "notify socket not made"

# stderr is a file; JOURNAL_STREAM names it, as journald would
touch "$work/watch.log"
js=$(stat -c '%d:%i' "$work/watch.log")
NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=2000000 JOURNAL_STREAM=$js \
	ip netns exec "$NS" "$LIGHTSOUT" watch -c "$work/watch.yaml" --for 60s 2>>"$work/watch.log" &
watch_pid=$!
check "READY=1 once watch runs" wait_until 20 grep -q 'READY=1' "$work/notify.log"
check "WATCHDOG=1 at least twice within 4 s (every 1 s)" wait_until 4 bash -c "[ \$(grep -c 'WATCHDOG=1' '$work/notify.log') -ge 2 ]"
check "the journal gets priority prefixes, no timestamps" grep -q '^<6>watching 1 networks' "$work/watch.log"
kill -TERM "$watch_pid"
wait "$watch_pid"
rc=$?
check "watch exits 0 on TERM (exit $rc)" test "$rc" -eq 0
check "STOPPING=1 on the way out" grep -q 'STOPPING=1' "$work/notify.log"
check "READY came before STOPPING" bash -c "[ \$(grep -n 'READY=1' '$work/notify.log' | head -1 | cut -d: -f1) -lt \$(grep -n 'STOPPING=1' '$work/notify.log' | head -1 | cut -d: -f1) ]"
kill "$listener" 2>/dev/null

# without the journal: stamped lines
ip netns exec "$NS" "$LIGHTSOUT" watch -c "$work/watch.yaml" --for 2s 2>"$work/plain.log"
check "a plain stderr gets RFC 3339 stamps" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z lightsout: watching 1 networks' "$work/plain.log"
check "no sanitizer report from watch" bash -c "! grep -E 'Sanitizer|runtime error:' '$work/watch.log' '$work/plain.log'"
[ "$fail" -eq 0 ] || { echo "# notify.log:"; sed 's/^/#   /' "$work/notify.log"; echo "# watch.log:"; tail -5 "$work/watch.log" | sed 's/^/#   /'; }
it_summary
