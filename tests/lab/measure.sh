# shellcheck shell=bash
# Measurement assertions: what lightsout's store (SQLite, read with the
# sqlite3 CLI) must show after a scenario, in the windows that the
# injection log defines.  Schema: src/store/sqlite.c (targets,
# measurements, outcomes, state_changes, incidents, bgp_events).

# Network targets of the lab's configuration (lib.sh lab_write_config).
LAB_T_SERVERS="web1 web2 web1-icmp mail ns1 ns2"
LAB_T_ROUTERS="border gw edge"
LAB_T_ALL="$LAB_T_SERVERS $LAB_T_ROUTERS"

lab_measuring() { lab_have_lightsout && [ "${LAB_WIRE_ONLY:-0}" != 1 ]; }

lab_sql() { sqlite3 -batch -noheader -cmd '.timeout 5000' "$LAB_RUN/lightsout.db" "$1"; }

# Time (UTC ms) of the first injection-log line "KIND NAME".
lab_event_ms() {
	local ts
	ts=$(awk -v k="$1" -v n="$2" '$2 == k && $3 == n { print $1; exit }' "$LAB_RUN/injections.log")
	[ -n "$ts" ] || {
		echo 0
		return 1
	}
	date -u -d "$ts" +%s%3N
}

# SQL condition selecting target NAME's measurements in [FROM, TO).
lab_m_where() {
	printf "m.target = (SELECT id FROM targets WHERE name = '%s') AND m.at_ms >= %s AND m.at_ms < %s" "$1" "$2" "$3"
}

lab_m_count() {
	lab_sql "SELECT count(*) FROM measurements m JOIN outcomes o ON o.code = m.outcome WHERE $(lab_m_where "$1" "$2" "$3")${4:+ AND $4}"
}

# The outcomes seen, with counts, for messages: "ok:12 timeout:3".
lab_m_summary() {
	lab_sql "SELECT o.name || ':' || count(*) FROM measurements m JOIN outcomes o ON o.code = m.outcome
		 WHERE $(lab_m_where "$1" "$2" "$3") GROUP BY o.name ORDER BY o.name" | tr '\n' ' '
}

# lab_check_share TARGET FROM TO PERCENT CONDITION WHAT [MIN]: at least
# PERCENT % of TARGET's rounds in the window (and at least MIN of them,
# default 3) satisfy the SQL CONDITION (on m.* and o.name).
lab_check_share() {
	local t=$1 from=$2 to=$3 pct=$4 cond=$5 what=$6 min=${7:-3} total hit
	total=$(lab_m_count "$t" "$from" "$to")
	hit=$(lab_m_count "$t" "$from" "$to" "$cond")
	if [ "$total" -ge "$min" ] && [ $((hit * 100)) -ge $((pct * total)) ]; then
		lab_pass "measured $t: $what in $hit of $total rounds"
	else
		lab_fail "measured $t: $what in $hit of $total rounds, expected >= $pct% ($(lab_m_summary "$t" "$from" "$to"))"
	fi
}

# Each TARGET kept answering in the window: at most one round in ten
# failed and never two in a row (a lone lost probe on a loaded machine is
# noise, as the quiet scenario shows; two in a row is the start of "down").
lab_check_all_ok() {
	local from=$2 to=$3 t total bad pairs
	for t in $1; do
		total=$(lab_m_count "$t" "$from" "$to")
		bad=$(lab_m_count "$t" "$from" "$to" "o.name != 'ok'")
		pairs=$(lab_sql "SELECT count(*) FROM (SELECT m.outcome AS o, lag(m.outcome) OVER (ORDER BY m.at_ms) AS prev
			FROM measurements m WHERE $(lab_m_where "$t" "$from" "$to")) WHERE o != 0 AND prev != 0")
		if [ "$total" -ge 3 ] && [ $((bad * 10)) -le "$total" ] && [ "$pairs" -eq 0 ]; then
			lab_pass "measured $t: answered in $((total - bad)) of $total rounds, never two failures in a row"
		else
			lab_fail "measured $t: $bad of $total rounds not ok ($pairs back to back), expected it to keep answering ($(lab_m_summary "$t" "$from" "$to"))"
		fi
	done
}

# Network incidents (network = 'country'), as "cause" lines, by start.
lab_incident_causes() {
	lab_sql "SELECT coalesce(cause, 'null') FROM incidents WHERE network = 'country' ORDER BY start_ms"
}

# Exactly one incident of the network, with cause CAUSE.
lab_check_incident() {
	local causes n
	causes=$(lab_incident_causes | tr '\n' ' ')
	n=$(lab_sql "SELECT count(*) FROM incidents WHERE network = 'country'")
	if [ "$n" -eq 1 ] && [ "${causes% }" = "$1" ]; then
		lab_pass "one incident, cause $1"
	else
		lab_fail "incidents: expected one with cause $1, got $n: ${causes:-none}"
	fi
}

# Whether this watch had its BGP collector session (lib.sh drops the bgp
# section when the build has no BGP speaker yet).
lab_watch_had_bgp() { grep -q '^bgp:' "$LAB_RUN/lightsout.yaml"; }

# Withdrawals (announce = 0) of the country's prefixes that lightsout's
# collector session received from the upstream in [FROM, TO).
lab_bgp_withdrawals() {
	lab_sql "SELECT count(*) FROM bgp_events WHERE announce = 0 AND peer = '$LAB_UP_VANTAGE'
		 AND prefix IN ('$LAB_PREFIX_A', '$LAB_PREFIX_B') AND at_ms >= $1 AND at_ms < $2"
}
# First withdrawal time (ms) after FROM, or empty.
lab_bgp_first_withdrawal() {
	lab_sql "SELECT min(at_ms) FROM bgp_events WHERE announce = 0 AND peer = '$LAB_UP_VANTAGE'
		 AND prefix IN ('$LAB_PREFIX_A', '$LAB_PREFIX_B') AND at_ms >= $1"
}

# Common to every scenario: watch ended cleanly on SIGTERM and measured
# every target; nothing was wrong before the first fault.
lab_measure_common() {
	local first=$1 t n start
	lab_expect "watch exit status after SIGTERM" 0 "$(cat "$LAB_RUN/watch.rc" 2>/dev/null)"
	start=$(lab_event_ms mark watch-start)
	for t in $LAB_T_ALL ctl-1; do
		n=$(lab_m_count "$t" 0 9999999999999)
		[ "$n" -ge 10 ] || lab_fail "measured $t: only $n rounds stored"
	done
	lab_pass "every target measured"
	# Baseline: from the second second of watch to the first fault.
	lab_check_all_ok "$LAB_T_ALL ctl-1" $((start + 1500)) "$first"
}

# ---- per scenario ----------------------------------------------------------------

lab_measure_routing() {
	lab_measuring || return 0
	local f h t
	f=$(lab_event_ms fault bgp-withdraw)
	h=$(lab_event_ms heal bgp-withdraw)
	lab_measure_common "$f"
	# Everything numbered inside the withdrawn prefixes gets "unreachable"
	# from the upstream; the border (numbered outside) and the control
	# answer all along.
	for t in web1-icmp web2 mail ns1 ns2 gw edge; do
		lab_check_share "$t" $((f + 1500)) "$h" 90 \
			"o.name = 'unreachable' AND m.from_addr = '$LAB_UP_VANTAGE'" "unreachable from the upstream"
	done
	lab_check_share web1 $((f + 1500)) "$h" 90 "o.name = 'unreachable'" "unreachable"
	lab_check_all_ok "border ctl-1" "$f" "$h"
	if lab_watch_had_bgp; then
		lab_expect "BGP withdrawals of both prefixes seen by lightsout within 3 s" 2 \
			"$(lab_bgp_withdrawals "$f" $((f + 3000)))"
	fi
	lab_check_incident routing
}

lab_measure_filtering() {
	lab_measuring || return 0
	local f h t
	f=$(lab_event_ms fault forward-drop)
	h=$(lab_event_ms heal forward-drop)
	lab_measure_common "$f"
	for t in $LAB_T_SERVERS gw; do
		lab_check_share "$t" $((f + 1500)) "$h" 90 "o.name = 'timeout'" "timeout"
	done
	lab_check_share edge $((f + 1500)) "$h" 90 "o.name != 'ok'" "failing"
	# The border's address outside the country still answers.
	lab_check_all_ok "border ctl-1" "$f" "$h"
	if lab_watch_had_bgp; then
		lab_expect "BGP withdrawals seen by lightsout while filtered" 0 "$(lab_bgp_withdrawals "$f" "$h")"
		lab_check_incident filtering
	else
		lab_msg "no BGP in this build: cause of the filtering incident not judged ($(lab_incident_causes | tr '\n' ' '))"
	fi
}

lab_measure_power() {
	lab_measuring || return 0
	local f h w t
	f=$(lab_event_ms fault power-cut)
	h=$(lab_event_ms heal power-cut)
	w=$(lab_event_ms mark bgp-hold-expired)
	lab_measure_common "$f"
	# Silence first (timeouts), for every role, the border included.  BIRD
	# shortens its hold timer by up to a quarter at random, so the silence
	# may last only about 4 s before the withdrawal: one round is enough.
	for t in $LAB_T_ALL; do
		lab_check_share "$t" $((f + 1000)) $((w - 1000)) 100 "o.name = 'timeout'" "silent before the withdrawal" 1
	done
	# ...then, once the hold timer dropped the routes, the upstream answers
	# for the prefixes; the border itself (outside them) stays silent.
	lab_check_share web1-icmp $((w + 1500)) "$h" 80 \
		"o.name = 'unreachable' AND m.from_addr = '$LAB_UP_VANTAGE'" "unreachable from the upstream after the withdrawal"
	lab_check_share border $((w + 1500)) "$h" 90 "o.name = 'timeout'" "silent after the withdrawal"
	lab_check_all_ok ctl-1 "$f" "$h"
	if lab_watch_had_bgp; then
		# Dead routers drop their sessions: the withdrawal reaches the
		# collector only after the hold timer, seconds after the silence.
		local wd
		wd=$(lab_bgp_first_withdrawal "$f")
		if [ -n "$wd" ] && [ "$wd" -ge $((f + 3000)) ] && [ "$wd" -le $((w + 2000)) ]; then
			lab_pass "BGP withdrawal seen by lightsout $((wd - f)) ms after the silence"
		else
			lab_fail "BGP withdrawal seen by lightsout at ${wd:-never}, silence at $f, hold expiry at $w"
		fi
	fi
	lab_check_incident power
}

lab_measure_dns() {
	lab_measuring || return 0
	local f h t
	f=$(lab_event_ms fault dns-down)
	h=$(lab_event_ms heal dns-down)
	lab_measure_common "$f"
	for t in ns1 ns2; do
		lab_check_share "$t" $((f + 1500)) "$h" 90 "o.name != 'ok'" "failing"
	done
	lab_check_all_ok "web1 web2 web1-icmp mail $LAB_T_ROUTERS ctl-1" "$f" "$h"
	lab_check_incident dns
}

lab_measure_host() {
	lab_measuring || return 0
	local f h
	f=$(lab_event_ms fault web1-offline)
	h=$(lab_event_ms heal web1-offline)
	lab_measure_common "$f"
	lab_check_share web1 $((f + 1500)) "$h" 90 "o.name = 'timeout'" "timeout"
	lab_check_share web1-icmp $((f + 1500)) "$h" 90 "o.name = 'timeout'" "timeout"
	lab_check_all_ok "web2 mail ns1 ns2 $LAB_T_ROUTERS ctl-1" "$f" "$h"
	lab_check_incident host
}

lab_measure_vantage() {
	lab_measuring || return 0
	local f h t n
	f=$(lab_event_ms fault vantage-uplink-down)
	h=$(lab_event_ms heal vantage-uplink-down)
	lab_measure_common "$f"
	for t in $LAB_T_ALL ctl-1; do
		lab_check_share "$t" $((f + 1500)) "$h" 90 "o.name != 'ok'" "failing"
	done
	# Our own trouble: no incident for the network, one for the vantage.
	n=$(lab_sql "SELECT count(*) FROM incidents WHERE network = 'country'")
	lab_expect "network incidents while the vantage was cut off" 0 "$n"
	n=$(lab_sql "SELECT count(*) FROM incidents WHERE network IS NULL AND cause = 'vantage'")
	lab_expect "vantage incidents" 1 "$n"
}

lab_measure_quiet() {
	lab_measuring || return 0
	local start stop f n t host
	start=$(lab_event_ms mark watch-start)
	# The round under way at SIGTERM is cut short (its echoes in flight
	# count as lost): judge the rounds before it.
	stop=$(($(lab_event_ms mark watch-stopping) - 1000))
	lab_expect "watch exit status after SIGTERM" 0 "$(cat "$LAB_RUN/watch.rc" 2>/dev/null)"
	# Each dropped echo shows as one round with some loss, still ok.
	for host in web1:web1-icmp border:border control:ctl-1; do
		t=${host#*:}
		f=$(lab_event_ms fault "drop-one-echo-${host%%:*}")
		# at_ms is the start of the round, which may precede the fault.
		n=$(lab_m_count "$t" $((f - 1000)) $((f + 3000)) "m.loss > 0 AND o.name = 'ok'")
		lab_expect "rounds of $t with the lost echo" 1 "$n"
	done
	lab_check_all_ok "$LAB_T_ALL ctl-1" $((start + 1500)) "$stop"
	n=$(lab_sql "SELECT count(*) FROM incidents")
	lab_expect "incidents in a quiet run" 0 "$n"
	n=$(lab_sql "SELECT count(*) FROM state_changes WHERE to_state = 'down'")
	lab_expect "targets declared down in a quiet run" 0 "$n"
}

lab_measure_stress() {
	lab_measuring || return 0
	local fd fl web mail rtr hr hm hw t first_down lead base n
	fd=$(lab_event_ms fault flood-delay)
	fl=$(lab_event_ms fault flood-loss)
	web=$(lab_event_ms fault web-offline)
	mail=$(lab_event_ms fault mail-offline)
	rtr=$(lab_event_ms fault router-offline)
	hr=$(lab_event_ms heal router-offline)
	hm=$(lab_event_ms heal mail-offline)
	hw=$(lab_event_ms heal web-offline)
	lab_measure_common "$fd"

	# Degradation first: the ICMP targets behind the shaped link show
	# queueing delay (RTT > 20 ms, from < 1 ms) or loss in at least two
	# rounds before the first target goes down.
	first_down=$(lab_sql "SELECT coalesce(min(at_ms), $web) FROM state_changes WHERE to_state = 'down'")
	for t in web1-icmp gw border; do
		base=$(lab_sql "SELECT printf('%.2f', avg(rtt_ms)) FROM measurements m WHERE $(lab_m_where "$t" 0 "$fd") AND m.outcome = 0")
		lead=$(lab_sql "SELECT count(*) FROM measurements m WHERE $(lab_m_where "$t" "$fd" "$first_down") AND (m.rtt_ms > 20 OR m.loss > 0)")
		if [ "$lead" -ge 2 ]; then
			lab_pass "measured $t: degraded in $lead rounds before the first target went down (baseline RTT $base ms)"
		else
			lab_fail "measured $t: degraded in $lead rounds before the first target went down, expected >= 2"
		fi
	done
	# The loss stage shows loss on the echo targets.
	n=$(lab_sql "SELECT count(*) FROM measurements m WHERE m.at_ms >= $fl AND m.at_ms < $web AND m.loss > 0
		      AND m.target IN (SELECT id FROM targets WHERE name IN ('web1-icmp', 'gw', 'border'))")
	if [ "$n" -ge 2 ]; then lab_pass "rounds with loss under the flood: $n"; else lab_fail "rounds with loss under the flood: $n, expected >= 2"; fi
	# Then the servers fall in order, routers last...
	lab_check_share web1 $((web + 1500)) "$hw" 90 "o.name != 'ok'" "failing while offline"
	lab_check_share web2 $((web + 1500)) "$hw" 90 "o.name != 'ok'" "failing while offline"
	lab_check_share mail $((mail + 1500)) "$hm" 90 "o.name != 'ok'" "failing while offline"
	lab_check_share border $((rtr + 1500)) "$hr" 90 "o.name != 'ok'" "failing while offline"
	lab_check_share ctl-1 "$fd" "$hw" 100 "o.name = 'ok'" "ok"
	# ...and come back in order: routers, mail, web.
	local up_b up_m up_w
	up_b=$(lab_sql "SELECT min(at_ms) FROM measurements m WHERE $(lab_m_where border "$hr" 9999999999999) AND m.outcome = 0")
	up_m=$(lab_sql "SELECT min(at_ms) FROM measurements m WHERE $(lab_m_where mail "$hr" 9999999999999) AND m.outcome = 0")
	up_w=$(lab_sql "SELECT min(at_ms) FROM measurements m WHERE $(lab_m_where web1 "$hr" 9999999999999) AND m.outcome = 0")
	if [ -n "$up_b" ] && [ -n "$up_m" ] && [ -n "$up_w" ] && [ "$up_b" -lt "$up_m" ] && [ "$up_m" -lt "$up_w" ]; then
		lab_pass "recovery order measured: border, then mail, then web1"
	else
		lab_fail "recovery order: border ${up_b:-never}, mail ${up_m:-never}, web1 ${up_w:-never}"
	fi
	if lab_watch_had_bgp; then
		local wd
		wd=$(lab_bgp_first_withdrawal "$fd")
		if [ -n "$wd" ] && [ "$wd" -ge $((rtr + 3000)) ] && [ "$wd" -le "$hr" ]; then
			lab_pass "BGP withdrawal seen by lightsout $((wd - rtr)) ms after the border went silent"
		else
			lab_fail "BGP withdrawal seen by lightsout at ${wd:-never}, border silent at $rtr, back at $hr"
		fi
	fi
	lab_check_incident stress
}
