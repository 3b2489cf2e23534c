#!/bin/bash
# power: every server and the border router go silent at once, their
# links up.  Nothing answers, BGP included, so the upstream withdraws the
# prefixes only when its hold timer (9 s) expires: the withdrawal follows
# the silence.  Then everything returns.
set -u
. "$(dirname "$0")/../lib.sh"
. "$LAB_DIR/checks.sh"
. "$LAB_DIR/measure.sh"

LAB_DARK="border $LAB_SERVERS"

lab_up power
lab_write_config >/dev/null
lab_watch_start
lab_timeline_start
lab_check_all_healthy

lab_at 12
lab_log fault power-cut
for n in $LAB_DARK; do lab_silence "$n"; done
# Within the hold time the upstream still has the session and the routes
# (BIRD's hold timer is 9 s less up to a quarter at random, counted from
# the last keepalive, at most 3 s before the silence: >= 3.75 s).
lab_at 13.5
lab_check_bgp upstream border Established
lab_check_route upstream "$LAB_PREFIX_A" present
lab_check_ping vantage "$LAB_BORDER" timeout
lab_check_ping vantage "$LAB_WEB1" timeout
lab_check_smtp vantage "$LAB_MAIL" timeout
lab_check_ping vantage "$LAB_CONTROL" ok

# The hold timer expires at most 9 s after the last keepalive.
if lab_wait_for 12 sh -c "! birdc -s '$LAB_STATE/upstream.bird.ctl' show protocols border | grep -q Established"; then
	lab_log mark bgp-hold-expired
	lab_pass "upstream dropped the session by hold timer after the silence"
else
	lab_fail "upstream still has the session 14 s after the silence"
fi
lab_check_route upstream "$LAB_PREFIX_A" absent
lab_check_ping vantage "$LAB_WEB1" "unreachable $LAB_UP_VANTAGE"

lab_at 32
lab_log heal power-cut
for n in $LAB_DARK; do lab_unsilence "$n"; done
lab_check_recovered

lab_at 45
lab_watch_stop
lab_measure_power
lab_finish
