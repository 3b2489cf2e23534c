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
# The wire checks take seconds each and race that randomized hold timer:
# run them together, and if the routes went meanwhile, the upstream's
# unreachables are the right answer too (the withdrawal follows the
# silence either way; the hold-timer check below pins that down).
lab_ping_result vantage "$LAB_BORDER" >"$LAB_RUN/wire.border" &
p1=$!
lab_ping_result vantage "$LAB_WEB1" >"$LAB_RUN/wire.web1" &
p2=$!
lab_smtp_result vantage "$LAB_MAIL" >"$LAB_RUN/wire.mail" &
p3=$!
wait $p1 $p2 $p3 # only these: watch runs in the background too
routes_gone=
[ "$(lab_route_state upstream "$LAB_PREFIX_A")" = present ] || routes_gone=1
for w in border web1 mail; do
	got=$(cat "$LAB_RUN/wire.$w")
	case $got in
	timeout) lab_pass "$w from vantage during the cut: $got" ;;
	unreachable*) if [ -n "$routes_gone" ]; then lab_pass "$w from vantage during the cut, routes already withdrawn: $got"; else lab_fail "$w from vantage during the cut: unreachable while the routes are still there ($got)"; fi ;;
	*) lab_fail "$w from vantage during the cut: expected silence, got '$got'" ;;
	esac
done
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
