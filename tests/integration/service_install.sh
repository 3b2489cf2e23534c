#!/usr/bin/env bash
# Installing lightsout the ways an operator would:
#  - `make install DESTDIR=... PREFIX=/usr` lays out the binary, both man
#    pages, the systemd unit and the example configurations;
#  - `man -l` renders both pages; `systemd-analyze verify` accepts the unit;
#  - the Debian package builds from the tree (dpkg-buildpackage), is lintian
#    clean at the default level, installs, answers `lightsout version` and
#    validates its own /etc configuration, and is purged again.
set -u
. "$(dirname "$0")/lib.bash"
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/lightsout-install.XXXXXX)
installed_pkg=

cleanup() {
	[ -n "$installed_pkg" ] && dpkg --purge lightsout >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM


# A package of that name from elsewhere would be removed by this test.
if dpkg-query -W -f='${Status}' lightsout 2>/dev/null | grep -q 'install ok installed'; then
	echo "FAIL - a lightsout package is already installed; this test installs and purges its own"
	exit 1
fi

# --- make install
dest=$work/dest
check "make install DESTDIR PREFIX=/usr" bash -c "make -s -C '$root' install DESTDIR='$dest' PREFIX=/usr >'$work/install.log' 2>&1 || { tail -20 '$work/install.log'; false; }"
for f in usr/bin/lightsout usr/share/man/man1/lightsout.1 usr/share/man/man5/lightsout.yaml.5 \
	usr/lib/systemd/system/lightsout.service usr/share/doc/lightsout/lightsout.yaml \
	usr/share/doc/lightsout/north-korea.yaml; do
	check "installed $f" test -s "$dest/$f"
done
check "the installed binary answers version" bash -c "'$dest/usr/bin/lightsout' version | grep -q '^lightsout [0-9]'"
check "lightsout(1) renders" bash -c "MANWIDTH=80 man -l '$dest/usr/share/man/man1/lightsout.1' 2>/dev/null | grep -q 'import mrt'"
check "lightsout.yaml(5) renders" bash -c "MANWIDTH=80 man -l '$dest/usr/share/man/man5/lightsout.yaml.5' 2>/dev/null | grep -q 'down_after'"
check "the unit runs the installed binary" grep -q '^ExecStart=/usr/bin/lightsout watch ' "$dest/usr/lib/systemd/system/lightsout.service"
# verify checks that ExecStart's binary and the Documentation pages exist:
# point both at the DESTDIR copy.
mkdir -p "$work/units"
sed "s#/usr/bin/lightsout#$dest/usr/bin/lightsout#g" "$dest/usr/lib/systemd/system/lightsout.service" >"$work/units/lightsout.service"
check "systemd-analyze verify accepts the unit" env MANPATH="$dest/usr/share/man" systemd-analyze verify "$work/units/lightsout.service"
check "the example for /etc passes check-config" "$dest/usr/bin/lightsout" check-config -c "$dest/usr/share/doc/lightsout/lightsout.yaml"

# --- the Debian package, from a copy of the tree (dpkg-buildpackage writes into ..)
src=$work/deb/lightsout
mkdir -p "$src"
(cd "$root" && git ls-files -co --exclude-standard | grep -v '^build' | tar -cf - -T -) | tar -xf - -C "$src"
if (cd "$src" && dpkg-buildpackage -us -uc -b >"$work/deb.log" 2>&1); then
	ok "dpkg-buildpackage builds the package"
else
	bad "dpkg-buildpackage builds the package"
	tail -20 "$work/deb.log"
fi
deb=$(ls "$work"/deb/lightsout_*.deb 2>/dev/null | head -1)
check "lintian is clean at the default level" bash -c "lintian --allow-root --fail-on error,warning '$work'/deb/lightsout_*.changes >'$work/lintian.log' 2>&1 || { cat '$work/lintian.log'; false; }"
if [ -n "$deb" ] && dpkg -i "$deb" >"$work/dpkg.log" 2>&1; then
	installed_pkg=1
	ok "dpkg -i installs the package"
	check "lightsout version from the package" bash -c "/usr/bin/lightsout version | grep -q '^lightsout [0-9]'"
	check "check-config on the package's /etc/lightsout/lightsout.yaml" /usr/bin/lightsout check-config -c /etc/lightsout/lightsout.yaml
	check "the package ships the unit and both man pages" test -f /lib/systemd/system/lightsout.service -a -f /usr/share/man/man1/lightsout.1.gz -a -f /usr/share/man/man5/lightsout.yaml.5.gz
	if dpkg --purge lightsout >/dev/null 2>&1; then
		installed_pkg=
		ok "dpkg --purge removes it"
	else
		bad "dpkg --purge removes it"
	fi
else
	bad "dpkg -i installs the package"
	cat "$work/dpkg.log" 2>/dev/null | tail -5
fi

it_summary
