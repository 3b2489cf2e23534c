#!/bin/sh
# Compares our MRT counts with Debian's `bgpdump -m` on every MRT file under
# shared/data: A (announced prefixes), W (withdrawn prefixes), B (RIB
# entries) and STATE lines must be equal.  Needs bgpdump (apt-get install
# bgpdump), a build directory with tests/unit/bgp/mrt-count and the data
# (shared/data beside the repository, or MRT_DATA_DIR): without any MRT
# file it fails, as it compared nothing.
# Usage: tests/integration/bgp_mrt_vs_bgpdump.sh [BUILD_DIR] [DATA_DIR]
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${BUILD_DIR:-$here/build}}
data=${2:-${MRT_DATA_DIR:-$here/../shared/data}}
count=$build/tests/unit/bgp/mrt-count
if [ ! -x "$count" ]; then
	echo "no $count: build first" >&2
	exit 2
fi
if ! command -v bgpdump >/dev/null 2>&1; then
	echo "bgpdump not installed (apt-get install -y bgpdump)" >&2
	exit 2
fi
pass=0
fail=0
# MRT files: everything in the MRT-bearing folders except docs, configs and expects.
files=$(cd "$data" && find bgpdump bgpkit-parser mrtparse pyasn libbgpstream -type f 2>/dev/null |
	grep -v -E '\.(md|conf|rst|jsonl|json|tsv|pcap|pcapng|bgp\.gz|txt)$' | sort)
if [ -z "$files" ]; then
	echo "no MRT files under $data (DATA_DIR or MRT_DATA_DIR names them)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
for f in $files; do
	want=$(bgpdump -m "$data/$f" 2>/dev/null | awk -F'|' '
		$3 == "A" { a++ } $3 == "W" { w++ } $3 == "B" { b++ } $3 == "STATE" { s++ }
		END { printf "%d %d %d %d", a, w, b, s }')
	got=$("$count" "$data/$f" 2>/dev/null | awk '{ printf "%d %d %d %d", $2, $3, $4, $5 }')
	if [ "$want" = "$got" ]; then
		pass=$((pass + 1))
		echo "ok   $f  A W B STATE = $got"
	else
		fail=$((fail + 1))
		echo "FAIL $f  bgpdump: $want  ours: $got"
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
