#!/bin/bash
# Runs every lab scenario (or those named as arguments) one after the other
# and prints a final line "N passed, N failed".  Each scenario's output goes
# to tests/lab/run/SCENARIO.log.  Exit status 0 only if all passed.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
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
	secs=$(($(date +%s) - start))
	result=$(grep '^RESULT ' "$dir/run/$s.log" | tail -1)
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
