#!/bin/sh
# Crash safety of the SQLite store (no network, root or not).
#  1. kill -TERM during heavy writes: the writer flushes and exits 0, and the
#     database holds exactly what it said it committed.
#     Meanwhile another process reads the store (WAL) without error.
#  2. kill -9 during heavy writes (several times): the database passes
#     PRAGMA integrity_check, reopens with store_open, and holds at least
#     every row reported committed before the kill.
# Usage: store_crash.sh [PATH/TO/store-crashwriter]
set -u
BIN=${1:-${STORE_CRASHWRITER:-build/tests/unit/store/store-crashwriter}}
pass=0
fail=0
tmp=$(mktemp -d /tmp/store-crash.XXXXXX) || exit 1
pid=
cleanup() {
	if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if [ ! -x "$BIN" ]; then
	echo "store_crash.sh: no helper at $BIN (pass its path as the first argument)" >&2
	exit 1
fi

# Starts the writer on $1, waits (bounded) for $2 commits to be reported.
start_writer() {
	"$BIN" write "$1" >"$1.out" 2>"$1.err" &
	pid=$!
	i=0
	while [ "$i" -lt 600 ]; do
		n=$(grep -c '^committed' "$1.out" 2>/dev/null)
		[ "${n:-0}" -ge "$2" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

last_committed() { grep '^committed' "$1.out" | tail -n 1 | cut -d' ' -f2; }

# 1. SIGTERM.
db=$tmp/term.db
if start_writer "$db" 5; then
	# Readers in another process work while the writer writes.
	for r in 1 2 3; do
		out=$("$BIN" read "$db" 2>"$db.rerr")
		rows=$(echo "$out" | sed -n 's/^read \([0-9]*\) targets \([0-9]*\)$/\1/p')
		tg=$(echo "$out" | sed -n 's/^read \([0-9]*\) targets \([0-9]*\)$/\2/p')
		if [ -n "$rows" ] && [ "$rows" -gt 0 ] && [ "$tg" = 100 ]; then ok "read $r during writes: $rows rows, $tg targets"; else bad "read $r during writes: '$out' $(cat "$db.rerr")"; fi
	done
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	pid=
	last=$(last_committed "$db")
	closed=$(grep '^closed' "$db.out" | cut -d' ' -f2)
	if [ "$rc" -eq 0 ] && [ -n "$closed" ]; then ok "TERM: writer exited 0 after flushing ($closed rows)"; else bad "TERM: exit $rc, closed='$closed' $(cat "$db.err")"; fi
	count=$("$BIN" check "$db" 2>"$db.cerr" | sed -n 's/^count //p')
	if [ -n "$count" ] && [ -n "$closed" ] && [ "$count" -eq "$closed" ] && [ "$count" -ge "$last" ]; then
		ok "TERM: database holds $count rows = closed count, >= last committed $last"
	else
		bad "TERM: count='$count' closed='$closed' last='$last' $(cat "$db.cerr")"
	fi
else
	bad "TERM: writer did not start ($(cat "$db.err"))"
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=
fi

# 2. SIGKILL, three times on the same database (each run continues it).
db=$tmp/kill.db
for round in 1 2 3; do
	if start_writer "$db" $((round * 10)); then
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		pid=
		last=$(last_committed "$db")
		out=$("$BIN" check "$db" 2>"$db.cerr")
		count=$(echo "$out" | sed -n 's/^count //p')
		if echo "$out" | grep -q '^integrity ok$'; then ok "KILL $round: integrity_check ok"; else bad "KILL $round: integrity_check: $(cat "$db.cerr")"; fi
		# Each run restarts its sequence at 0, so a later run's rows may
		# replace earlier ones: compare with the largest count seen.
		if [ -n "$count" ] && [ "$count" -ge "$last" ]; then
			ok "KILL $round: reopened with store_open, $count rows >= last committed $last"
		else
			bad "KILL $round: count='$count' last committed='$last' $(cat "$db.cerr")"
		fi
	else
		bad "KILL $round: writer did not start ($(cat "$db.err"))"
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
