#!/bin/bash
# Runs every lab scenario (or those named as arguments) one after the other
# and prints a final line "N passed, N failed".  Each scenario's output goes
# to tests/lab/run/SCENARIO.log.  Exit status 0 only if all passed.  A
# scenario passes when its wire and store checks pass and, when lightsout
# ran, the detection acceptance (detect_checks.sh) of its run passes too.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$dir/../.." && pwd)
# Absolute, for the scenarios and detect_checks.sh alike.
LIGHTSOUT=${LIGHTSOUT:-$repo/build/lightsout}
case $LIGHTSOUT in /*) ;; *) LIGHTSOUT=$repo/$LIGHTSOUT ;; esac
export LIGHTSOUT
all="stress power routing filtering dns host vantage quiet"
list=${*:-$all}
passed=0
failed=0
failed_names=
mkdir -p "$dir/run"
for s in $list; do
	script=$dir/scenarios/$s.sh
	if [ ! -f "$script" ]; then
		echo "lab: no scenario $s" >&2
		failed=$((failed + 1))
		failed_names="$failed_names $s"
		continue
	fi
	start=$(date +%s)
	# A scenario must finish in 90 s; the margin covers lab set-up and
	# teardown on a slow machine.
	timeout -s TERM -k 10 150 bash "$script" >"$dir/run/$s.log" 2>&1
	rc=$?
	result=$(grep '^RESULT ' "$dir/run/$s.log" | tail -1)
	# The detection acceptance (detect_checks.sh, issue 5) of the finished
	# run, when lightsout ran; LAB_DETECT=0 skips it.
	if [ "$rc" -eq 0 ] && [ "${LAB_DETECT:-1}" != 0 ] && [ "${LAB_WIRE_ONLY:-0}" != 1 ] &&
		[ -f "$dir/detect_checks.sh" ]; then
		timeout 60 bash "$dir/detect_checks.sh" "$dir/run/$s" "$s" >>"$dir/run/$s.log" 2>&1
		rc=$?
		result="$result; $(grep '^RESULT detect ' "$dir/run/$s.log" | tail -1 | sed 's/^RESULT //')"
	fi
	secs=$(($(date +%s) - start))
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $s (${secs}s) ${result#RESULT }"
	else
		failed=$((failed + 1))
		failed_names="$failed_names $s"
		echo "FAIL $s (${secs}s, exit $rc) ${result#RESULT }"
		grep -E '^FAIL |FATAL' "$dir/run/$s.log" | sed 's/^/    /' | head -20
	fi
done
[ -z "$failed_names" ] || echo "failed:$failed_names (logs in $dir/run/)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
