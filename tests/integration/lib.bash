# shellcheck shell=bash
# Shared helpers of the integration scripts (sourced; not a test itself,
# hence .bash).  Every wait is a poll with a deadline: a fixed sleep before a
# one-shot check is either too short on a loaded machine or wasted time.

# it_now_ms: wall clock in milliseconds (EPOCHREALTIME's separator follows
# the locale).
it_now_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	echo $((t / 1000))
}

# wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or
# SECONDS (decimals allowed) have passed (1).  CMD runs at least once, and
# once more at the deadline.
wait_until() {
	local s=$1 i f end
	shift
	i=${s%%.*}
	f=
	[[ $s == *.* ]] && f=${s#*.}
	f=${f}000
	end=$(($(it_now_ms) + 10#${i:-0} * 1000 + 10#${f:0:3}))
	while :; do
		"$@" && return 0
		[ "$(it_now_ms)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# ns_add NS...: fresh namespaces (any left by an interrupted run go first),
# loopback up, and a resolv.conf of their own: never the host's resolver,
# lookups fail at once (port unreachable on the namespace's loopback)
# instead of stalling daemons or leaving the lab.
ns_add() {
	local ns
	ns_teardown "$@"
	for ns in "$@"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		mkdir -p "/etc/netns/$ns"
		echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"
	done
}

# ns_empty NS...: no process runs in any of the namespaces.
ns_empty() {
	local ns
	for ns in "$@"; do
		[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] || return 1
	done
}

# ns_teardown NS...: ends every process in the namespaces (stopped ones are
# continued first so that they see the TERM; KILL for any still there after
# 3 s), then deletes the namespaces and their /etc/netns files.
ns_teardown() {
	local ns pid
	for ns in "$@"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -CONT "$pid" 2>/dev/null
			kill "$pid" 2>/dev/null
		done
	done
	if ! wait_until 3 ns_empty "$@"; then
		for ns in "$@"; do
			for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		done
	fi
	for ns in "$@"; do
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	return 0
}

# Counted checks: one line each, and the closing "N passed, N failed" that
# run.sh and people read.
pass=0
fail=0
ok() {
	echo "ok - $*"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL - $*"
	fail=$((fail + 1))
}
# check WHAT CMD...: ok when CMD succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
it_summary() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
# give_up WHY: the script cannot go on; counts as one more failure.
give_up() {
	echo "# $*"
	echo "$pass passed, $((fail + 1)) failed"
	exit 1
}
