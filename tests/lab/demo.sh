#!/bin/bash
# make demo: runs the stress scenario of the outage lab (a flood builds
# delay and loss, then web, mail and the border router go dark, then come
# back) with lightsout watching, then prints what lightsout saw and where
# the HTML report was written.
set -u
set -o pipefail
dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$dir/../.." && pwd)

if [ "$(id -u)" != 0 ]; then
	echo "lightsout demo: needs root (it builds network namespaces, runs routers and servers in them):" >&2
	echo "    sudo make demo" >&2
	exit 1
fi
LIGHTSOUT=${LIGHTSOUT:-$repo/build/lightsout}
case $LIGHTSOUT in /*) ;; *) LIGHTSOUT=$repo/$LIGHTSOUT ;; esac
if [ ! -x "$LIGHTSOUT" ]; then
	echo "lightsout demo: building $LIGHTSOUT" >&2
	make -C "$repo" build >&2 || exit 1
fi
export LIGHTSOUT

echo "== the stress scenario (about 75 s): a flood, then servers, then the border router go dark"
bash "$dir/scenarios/stress.sh" 2>&1 | grep -v '^PASS '
rc=$?

run=$dir/run/stress
conf=$run/lightsout.yaml
if [ ! -s "$run/lightsout.db" ]; then
	echo "lightsout demo: the scenario left no store ($run/lightsout.db); see above" >&2
	exit 1
fi
echo
echo "== faults injected (UTC)"
cat "$run/injections.log"
echo
echo "== per-target state changes seen by lightsout watch"
grep -- ' -> ' "$run/watch.err" | sed -E 's/^[0-9T:.-]+Z //' | grep -v '^lightsout: bgp ' | sed 's/^lightsout: /  /'
echo
echo "== lightsout status -c $conf"
"$LIGHTSOUT" status -c "$conf"
echo
echo "== lightsout report -c $conf"
"$LIGHTSOUT" report -c "$conf" --format text
html=$run/report.html
if "$LIGHTSOUT" report -c "$conf" --format html -o "$html"; then
	echo
	echo "HTML report written to $html"
fi
exit $rc
