#!/bin/bash
# stress (the story of January 2022): a real flood from the attacker into
# the country over the shaped link (tbf on the upstream's link to the
# border) builds queueing delay, then loss; then the web servers go
# offline, then the mail server, then the border router stops answering
# (BGP included, so the prefixes are withdrawn by hold timer).  Recovery:
# routers, then mail, then web.
set -u
. "$(dirname "$0")/../lib.sh"
. "$LAB_DIR/checks.sh"
. "$LAB_DIR/measure.sh"

# Flood stages: packets per second and UDP payload bytes.  Against the
# 4 Mbit/s tbf, big packets at 600/s fill the queue (about 100 ms of
# delay, no loss for small probes); 500-byte packets at 3000/s also overflow
# it for everyone (loss) even where hping3 reaches only ~1,800 packets a
# second (usleep overhead on a 2-core machine: 200-byte packets then stayed
# under the rate and nothing was lost).
LAB_FLOOD_DELAY="600 1000"
LAB_FLOOD_LOSS="3000 500"

lab_up stress
lab_write_config >/dev/null
lab_watch_start
lab_timeline_start
lab_check_all_healthy
read -r rcv base <<<"$(lab_ping_stats vantage "$LAB_MAIL" 3 0.2)"
lab_expect "baseline echoes to mail" 3 "$rcv"

lab_at 8
lab_log fault flood-delay
read -r pps size <<<"$LAB_FLOOD_DELAY"
lab_flood_start "$pps" 10 "$size"
lab_at 11
read -r rcv avg <<<"$(lab_ping_stats vantage "$LAB_MAIL" 3 0.2)"
# the delay stage queues, it does not drop: most echoes come back (one
# may be lost on a loaded machine; the loss stage below loses many)
if [ "${rcv:-0}" -ge 2 ]; then lab_pass "echoes to mail under the delay flood: $rcv of 3"; else lab_fail "echoes to mail under the delay flood: $rcv of 3, expected at least 2"; fi
if [ "$avg" != - ] && [ "$(echo "$avg > 50" | bc)" = 1 ]; then
	lab_pass "queueing delay: mail RTT $avg ms (baseline $base ms)"
else
	lab_fail "queueing delay: mail RTT $avg ms, expected > 50 (baseline $base ms)"
fi
lab_check_ping vantage "$LAB_CONTROL" ok

lab_at 16
lab_flood_stop
lab_log fault flood-loss
read -r pps size <<<"$LAB_FLOOD_LOSS"
lab_flood_start "$pps" 40 "$size"
lab_at 18
read -r rcv avg <<<"$(lab_ping_stats vantage "$LAB_MAIL" 20 0.05)"
if [ "$rcv" -gt 0 ] && [ "$rcv" -lt 20 ]; then
	lab_pass "loss under the flood: $rcv of 20 echoes to mail came back"
else
	lab_fail "loss under the flood: $rcv of 20 echoes to mail came back, expected some but not all"
fi

lab_at 24
lab_log fault web-offline
lab_silence web1
lab_silence web2
lab_at 25
lab_check_http vantage "http://$LAB_WEB1/" timeout
lab_check_tcp vantage "$LAB_WEB2" 80 timeout

lab_at 30
lab_log fault mail-offline
lab_silence mail
lab_at 31
lab_check_smtp vantage "$LAB_MAIL" timeout

lab_at 36
lab_log fault router-offline
lab_silence border
lab_at 37
lab_check_ping vantage "$LAB_BORDER" timeout
lab_check_ping vantage "$LAB_GW_A" timeout
if lab_wait_for 12 sh -c "! birdc -s '$LAB_STATE/upstream.bird.ctl' show protocols border | grep -q Established"; then
	lab_log mark bgp-hold-expired
	lab_pass "upstream dropped the border's session by hold timer"
else
	lab_fail "upstream still has the border's session 13 s after it went silent"
fi
lab_check_route upstream "$LAB_PREFIX_A" absent

lab_at 50
lab_log heal flood
lab_flood_stop
lab_log heal router-offline
lab_unsilence border
lab_wait_for 15 lab_bgp_established upstream border
lab_check_ping vantage "$LAB_BORDER" ok

lab_at 56
lab_log heal mail-offline
lab_unsilence mail
lab_at 57
lab_check_http vantage "http://$LAB_WEB1/" timeout
lab_check_smtp vantage "$LAB_MAIL" ok

lab_at 62
lab_log heal web-offline
lab_unsilence web1
lab_unsilence web2
lab_check_recovered

lab_at 70
lab_watch_stop
lab_measure_stress
lab_finish
