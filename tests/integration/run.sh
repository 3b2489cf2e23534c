#!/usr/bin/env bash
# Runs every integration script (tests/integration/*.sh); each must clean
# up its own namespaces.  LIGHTSOUT names the binary under test.
set -u
cd "$(dirname "$0")"
: "${LIGHTSOUT:=$(cd ../.. && pwd)/build/lightsout}"
export LIGHTSOUT
# the build the binary comes from also holds the test drivers
BUILD_DIR=$(dirname "$LIGHTSOUT")
STORE_CRASHWRITER=$BUILD_DIR/tests/unit/store/store-crashwriter
export BUILD_DIR STORE_CRASHWRITER
passed=0
failed=0
for t in *.sh; do
	[ "$t" = run.sh ] && continue
	echo "--- $t"
	if timeout 600 bash "./$t"; then
		passed=$((passed + 1))
	else
		echo "--- $t FAILED"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
