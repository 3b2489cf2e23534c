#!/bin/bash
# quiet: nothing happens, except that now and then one single ICMP echo
# is lost.  No incident may come out of it.
set -u
. "$(dirname "$0")/../lib.sh"
. "$LAB_DIR/checks.sh"
. "$LAB_DIR/measure.sh"

lab_up quiet
lab_write_config >/dev/null
lab_watch_start
lab_timeline_start
lab_check_all_healthy

# One lost echo on three different hosts, ten seconds apart.
t=10
for n in web1 border control; do
	lab_at "$t"
	lab_log fault "drop-one-echo-$n"
	addr=$LAB_WEB1
	[ "$n" = border ] && addr=$LAB_BORDER
	[ "$n" = control ] && addr=$LAB_CONTROL
	lab_drop_one_echo "$n" "$addr"
	# lightsout's next round takes the drop; without watch our own
	# echoes do.  Either way exactly one echo is lost.
	lab_at $((t + 3))
	lab_exec vantage ping -n -q -c3 -i0.2 -W1 "$addr" >/dev/null 2>&1
	lab_expect "echoes dropped on $n" 1 "$(lab_dropped_echoes "$n")"
	lab_exec "$n" nft delete table inet lolab_drop1
	t=$((t + 10))
done

lab_at 45
lab_check_all_healthy
lab_watch_stop
lab_measure_quiet
lab_finish
