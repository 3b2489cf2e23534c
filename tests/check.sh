#!/usr/bin/env bash
# make check: every test suite in turn, each counted; the closing line is
# "N passed, N failed" over the suites.  Suites that need root say so and
# fail when not root: nothing is skipped silently.
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
failures=()

suite() {
	local name=$1
	shift
	echo "=== $name"
	local t0=$SECONDS
	if "$@"; then
		passed=$((passed + 1))
		echo "=== $name: ok ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "=== $name: FAILED ($((SECONDS - t0)) s)"
	fi
}

suite "build (-Werror)" make -s build
suite "format" make -s format-check
suite "unit tests (ASan+UBSan)" make -s unit
suite "fuzz smoke" make -s fuzz-smoke
if [ "$(id -u)" = 0 ]; then
	# the integration tests must not lean on what earlier runs or services
	# left behind
	suite "fresh-machine system state" tests/fresh-state.sh
	suite "integration (namespaces, ASan)" make -s integration
	suite "lab scenarios" make -s lab
else
	echo "integration and lab suites need root (network namespaces)" >&2
	failed=$((failed + 1))
	failures+=("root needed")
fi

[ ${#failures[@]} -eq 0 ] || echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
