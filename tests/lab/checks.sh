# shellcheck shell=bash
# Wire-level checks: what a fault must look like from the vantage point
# (or on a router), tested with ping, curl, dig, nc and birdc.  Each check
# prints one PASS/FAIL line and counts; lab_finish turns the counts into
# the scenario's exit status.  Every tool here runs with a timeout of at
# most a few seconds.

lab_pass() {
	LAB_PASS=$((LAB_PASS + 1))
	echo "PASS $LAB_SCENARIO: $*" | tee -a "$LAB_RUN/checks.log" >&2
}
lab_fail() {
	LAB_FAIL=$((LAB_FAIL + 1))
	echo "FAIL $LAB_SCENARIO: $*" | tee -a "$LAB_RUN/checks.log" >&2
}

# lab_expect WHAT EXPECTED ACTUAL
lab_expect() {
	if [ "$2" = "$3" ]; then
		lab_pass "$1: $3"
	else
		lab_fail "$1: expected '$2', got '$3'"
	fi
}

# ---- what one probe sees -------------------------------------------------------

# ICMP echo from NS to ADDR: ok | timeout | unreachable FROM | local-unreachable
lab_ping_result() {
	local out
	out=$(lab_exec "$1" ping -n -c1 -W1 "$2" 2>&1)
	case $out in
	*"bytes from"*) echo ok ;;
	*Unreachable*) echo "unreachable $(echo "$out" | sed -n 's/^From \([0-9.]*\) .*Unreachable.*/\1/p' | head -1)" ;;
	*"Network is unreachable"* | *"No route to host"*) echo local-unreachable ;;
	*) echo timeout ;;
	esac
}

# TCP connect from NS to ADDR PORT: ok | refused | timeout | unreachable
lab_tcp_result() {
	local out
	out=$(lab_exec "$1" timeout 3 nc -z -v -w 1 "$2" "$3" 2>&1)
	case $out in
	*succeeded* | *open*) echo ok ;;
	*refused*) echo refused ;;
	*"unreachable"* | *"No route"*) echo unreachable ;;
	*) echo timeout ;;
	esac
}

# HTTP GET from NS: ok (2xx) | timeout | refused | unreachable | error
lab_http_result() {
	local code rc
	code=$(lab_exec "$1" curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 -m 2 "$2" 2>/dev/null)
	rc=$?
	case $rc in
	0) case $code in 2*) echo ok ;; *) echo error ;; esac ;;
	7) echo refused ;; # curl cannot tell refused from unreachable; the ping checks do
	28) echo timeout ;;
	*) echo error ;;
	esac
}

# DNS SOA of the lab zone from NS at SERVER: ok | refused | timeout | error
lab_dns_result() {
	local out
	out=$(lab_exec "$1" dig +time=1 +tries=1 +norecurse "@$2" "$LAB_ZONE" SOA 2>&1)
	case $out in
	*"status: NOERROR"*) echo ok ;;
	*"connection refused"*) echo refused ;;
	*"timed out"* | *"no servers could be reached"*) echo timeout ;;
	*"unreachable"*) echo unreachable ;;
	*) echo error ;;
	esac
}

# SMTP greeting from NS at ADDR: ok (220) | timeout | refused
lab_smtp_result() {
	local out
	out=$(lab_exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/25 && head -c 3 <&3" 2>&1)
	case $out in
	220*) echo ok ;;
	*refused*) echo refused ;;
	*unreachable* | *"No route"*) echo unreachable ;;
	*) echo timeout ;;
	esac
}

# COUNT echoes from NS to ADDR, INTERVAL apart: prints "RECEIVED AVG_MS"
# (AVG_MS is - when nothing came back).
lab_ping_stats() {
	local out rcv avg
	out=$(lab_exec "$1" ping -n -q -c "$3" -i "$4" -W 1 "$2" 2>&1)
	rcv=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	avg=$(echo "$out" | sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
	echo "${rcv:-0} ${avg:--}"
}

# BGP session state on router R's protocol P: Established or the BIRD state.
lab_bgp_state() {
	local line
	line=$(lab_birdc "$1" show protocols "$2" 2>/dev/null | awk -v p="$2" '$1 == p')
	case $line in
	*Established*) echo Established ;;
	"") echo missing ;;
	*) echo "$line" | awk '{print $4}' ;;
	esac
}

# Does router R's BIRD have PREFIX in its table: present | absent
lab_route_state() {
	if lab_birdc "$1" show route for "$2" 2>/dev/null | grep -q "^${2%/*}/"; then
		echo present
	else
		echo absent
	fi
}

# ---- checks --------------------------------------------------------------------

lab_check_ping() { lab_expect "ping $2 from $1" "$3" "$(lab_ping_result "$1" "$2")"; }
lab_check_tcp() { lab_expect "tcp $2:$3 from $1" "$4" "$(lab_tcp_result "$1" "$2" "$3")"; }
lab_check_http() { lab_expect "http $2 from $1" "$3" "$(lab_http_result "$1" "$2")"; }
lab_check_dns() { lab_expect "dns @$2 from $1" "$3" "$(lab_dns_result "$1" "$2")"; }
lab_check_smtp() { lab_expect "smtp $2 from $1" "$3" "$(lab_smtp_result "$1" "$2")"; }
lab_check_bgp() { lab_expect "bgp session $2 on $1" "$3" "$(lab_bgp_state "$1" "$2")"; }
lab_check_bgp_down() {
	local st
	st=$(lab_bgp_state "$1" "$2")
	if [ "$st" != Established ]; then lab_pass "bgp session $2 on $1 down: $st"; else lab_fail "bgp session $2 on $1 still Established"; fi
}
lab_check_route() { lab_expect "route $2 on $1" "$3" "$(lab_route_state "$1" "$2")"; }

# The whole country and the control host answer normally from the vantage.
lab_check_all_healthy() {
	lab_check_ping vantage "$LAB_CONTROL" ok
	lab_check_ping vantage "$LAB_BORDER" ok
	lab_check_ping vantage "$LAB_GW_A" ok
	lab_check_http vantage "http://$LAB_WEB1/" ok
	lab_check_tcp vantage "$LAB_WEB2" 80 ok
	lab_check_smtp vantage "$LAB_MAIL" ok
	lab_check_dns vantage "$LAB_NS1" ok
	lab_check_dns vantage "$LAB_NS2" ok
	lab_check_route upstream "$LAB_PREFIX_A" present
	lab_check_route upstream "$LAB_PREFIX_B" present
}

# Waits (bounded) until the lab is healthy again after the heals, then checks.
lab_check_recovered() {
	lab_wait_for 20 lab_bgp_established upstream border
	lab_wait_for 10 lab_exec vantage ping -c1 -W1 "$LAB_WEB2"
	lab_wait_for 10 lab_smtp_greets vantage "$LAB_MAIL"
	lab_check_all_healthy
}

# Prints the scenario's result; its exit status is the scenario's.
lab_finish() {
	local rc=0
	[ "$LAB_FAIL" -eq 0 ] && [ "$LAB_PASS" -gt 0 ] || rc=1
	echo "RESULT $LAB_SCENARIO: $LAB_PASS checks passed, $LAB_FAIL failed" | tee -a "$LAB_RUN/checks.log" >&2
	return $rc
}
