#!/bin/bash
# MRT parse speed and peak memory: ours (mrt-count: read, decompress, parse
# every record and count like `bgpdump -m`) against `bgpdump -m` on the same
# files, one after the other in one run.  Needs bgpdump and /usr/bin/time
# (apt-get install -y bgpdump time).
# Usage: bench/mrt_bench.sh [BUILD_DIR] [DATA_DIR]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
data=${2:-$here/../shared/data}
count=$build/tests/unit/bgp/mrt-count
[ -x "$count" ] || { echo "no $count: build first (buildtype release or debugoptimized)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/lightsout-mrt-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The largest archives, and a full-table-sized plain file made by
# concatenating complete real dumps (MRT streams concatenate cleanly).
files="bgpdump/test_data/updates.et-header.2015.gz
bgpdump/test_data/bview.20020722.2337.gz
pyasn/data/rib.20140523.0600_firstMB.bz2
bgpkit-parser/tests/fixtures/ripe/rrc00/1999.09/updates.19990903.1041.gz"
for f in bgpdump/test_data/updates.et-header.2015.gz bgpdump/test_data/bview.20020722.2337.gz \
	bgpdump/test_data/updates.20160811.1600.gz \
	bgpkit-parser/tests/fixtures/ripe/rrc15/2010.02/updates.20100227.1600.gz; do
	zcat "$data/$f"
done > "$tmp/one.mrt"
# eight times over (~1.8 M records, ~4.6 M prefixes), plain and gzip'd
for _ in 1 2 3 4 5 6 7 8; do cat "$tmp/one.mrt"; done > "$tmp/full-table-concat.mrt"
gzip -1 -c "$tmp/full-table-concat.mrt" > "$tmp/full-table-concat.mrt.gz"
rm -f "$tmp/one.mrt"

# run CMD...: prints "seconds peak_kb" (wall time in ns precision)
run() {
	local t0 t1
	t0=$(date +%s%N)
	/usr/bin/time -f "%M" -o "$tmp/t" "$@" > /dev/null 2>&1 || true
	t1=$(date +%s%N)
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') $(tail -n 1 "$tmp/t")"
}

printf "%-48s %9s %9s %8s %8s %9s %9s %6s\n" file records "ours r/s" "ours s" "ours MB" "bgpdump s" "bd MB" ratio
for f in $files "$tmp/full-table-concat.mrt" "$tmp/full-table-concat.mrt.gz"; do
	path=$f
	[ -e "$path" ] || path=$data/$f
	recs=$("$count" "$path" 2>/dev/null | awk '{print $6}')
	read -r ours_s ours_kb < <(run "$count" "$path")
	read -r bd_s bd_kb < <(run bgpdump -m "$path")
	awk -v f="$(basename "$path")" -v r="$recs" -v os="$ours_s" -v ok="$ours_kb" -v bs="$bd_s" -v bk="$bd_kb" 'BEGIN {
		o = os > 0 ? os : 0.005; b = bs > 0 ? bs : 0.005
		printf "%-48s %9d %9.0f %8.3f %8.1f %9.3f %9.1f %5.1fx\n", f, r, r / o, os, ok / 1024, bs, bk / 1024, b / o }'
done
