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
	# seeds and dictionary beside the target: tests/fuzz/*/corpus_SUFFIX, SUFFIX.dict
	suffix=${name##*-}
	seeds=$(ls -d tests/fuzz/*/corpus_"$suffix" 2>/dev/null | head -1)
	dict=$(ls tests/fuzz/*/"$suffix".dict 2>/dev/null | head -1)
	# real archives are the best seeds for the MRT reader
	[ "$suffix" = mrt ] && [ -d ../shared/data/mrtparse/samples ] && seeds="$seeds ../shared/data/mrtparse/samples"
	if "$f" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 ${dict:+-dict=$dict} "$corpus" $seeds \
		>"$work/$name.log" 2>&1; then
		echo "fuzz $name: ok ($(grep -o "Done [0-9]* runs" "$work/$name.log" | tail -1))"
		passed=$((passed + 1))
	else
		echo "fuzz $name: FAILED"
		tail -40 "$work/$name.log"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
