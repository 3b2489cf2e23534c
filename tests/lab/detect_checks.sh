#!/bin/bash
# The detection acceptance of a finished lab run (issue 5): the report of
# RUN_DIR holds exactly one incident with SCENARIO's cause (none for
# quiet; only a vantage incident for vantage), starting and ending within
# 2 rounds of the first fault and the last heal in injections.log, with the
# story's phase order for stress, and `report --rejudge` gives the same
# incidents as the live run.  Prints PASS/FAIL lines and a RESULT line.
# Usage: detect_checks.sh RUN_DIR SCENARIO
set -u
run=$1
scenario=$2
LIGHTSOUT=${LIGHTSOUT:-$(cd "$(dirname "$0")/../.." && pwd)/build/lightsout}
conf=$run/lightsout.yaml
pass=0 fail=0
ok() { echo "PASS detect: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL detect: $*"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

"$LIGHTSOUT" report -c "$conf" --format json >"$run/report.json" 2>"$run/report.err" || bad "report exits 0"
"$LIGHTSOUT" report -c "$conf" --format json --rejudge >"$run/rejudge.json" 2>>"$run/report.err" || bad "report --rejudge exits 0"
"$LIGHTSOUT" report -c "$conf" --format text >"$run/report.txt" 2>>"$run/report.err"
"$LIGHTSOUT" report -c "$conf" --format html -o "$run/report.html" 2>>"$run/report.err"

ms() { date -d "$1" +%s%3N; }
interval_ms=$(awk '/^interval:/ {print $2}' "$conf" | sed 's/ms$//; t; s/s$/000/')
first_fault=$(awk '$2 == "fault" {print $1; exit}' "$run/injections.log")
last_heal=$(awk '$2 == "heal" {t = $1} END {print t}' "$run/injections.log")
inc() { jq -r "$1" "$run/report.json"; }

case $scenario in
quiet)
	check "quiet: no incident (got $(inc '.incidents | length'))" test "$(inc '.incidents | length')" -eq 0
	;;
*)
	want=$scenario
	check "exactly one incident (got $(inc '.incidents | length'))" test "$(inc '.incidents | length')" -eq 1
	got=$(inc '.incidents[0].cause')
	check "cause is $want (got $got)" test "$got" = "$want"
	net=$(inc '.incidents[0].network')
	if [ "$scenario" = vantage ]; then
		check "the vantage incident has no network (got $net)" test "$net" = null
	else
		check "the incident is the country's (got $net)" test "$net" = country
	fi
	start=$(inc '.incidents[0].start')
	if [ -n "$first_fault" ] && [ "$start" != null ]; then
		d=$(($(ms "$start") - $(ms "$first_fault")))
		check "start within 2 rounds of the first fault ($d ms)" test "${d#-}" -le $((2 * interval_ms))
	fi
	end=$(inc '.incidents[0].end')
	if [ -n "$last_heal" ] && [ "$end" != null ]; then
		d=$(($(ms "$end") - $(ms "$last_heal")))
		check "end within 2 rounds of the last heal ($d ms)" test "${d#-}" -le $((2 * interval_ms))
	else
		bad "the incident has ended (end: $end)"
	fi
	;;
esac

if [ "$scenario" = stress ]; then
	pos() { jq -r --arg e "$1" --arg r "${2:-}" \
		'[.incidents[0].phases | to_entries[] | select(.value.event == $e and ($r == "" or .value.role == $r)) | .key] | first // -1' \
		"$run/report.json"; }
	check "degradation_start before first_down" test "$(pos degradation_start)" -ge 0 -a "$(pos degradation_start)" -lt "$(pos first_down)"
	check "web role_down before router role_down" test "$(pos role_down web)" -ge 0 -a "$(pos role_down web)" -lt "$(pos role_down router)"
	check "mail role_up before web role_up" test "$(pos role_up mail)" -ge 0 -a "$(pos role_up mail)" -lt "$(pos role_up web)"
fi

norm='[.incidents[] | {network, cause, start, "end": .end, phases: [.phases[] | {at, event, role}]}]'
check "report --rejudge gives the live run's incidents" \
	test "$(jq -c "$norm" "$run/report.json")" = "$(jq -c "$norm" "$run/rejudge.json")"
check "text and HTML reports written" test -s "$run/report.txt" -a -s "$run/report.html"

echo "RESULT detect $scenario: $pass checks passed, $fail failed"
[ "$fail" -eq 0 ]
