#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a bounded time each.
# Usage: smoke.sh BUILD_DIR SECONDS
set -u
build=$1
secs=${2:-15}
passed=0
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in $(find "$build/tests/fuzz" -type f -name 'fuzz-*' -perm -u+x | sort); do
	name=$(basename "$f")
	corpus="$work/$name"
	mkdir -p "$corpus"
	seeds=tests/fuzz/corpus/$name
	if "$f" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 "$corpus" $([ -d "$seeds" ] && echo "$seeds") \
		>"$work/$name.log" 2>&1; then
		echo "fuzz $name: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$name.log" | awk '{print $2}') runs; $(tail -1 "$work/$name.log" | cut -c1-80))"
		passed=$((passed + 1))
	else
		echo "fuzz $name: FAILED"
		tail -40 "$work/$name.log"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
