#!/usr/bin/env bash
# Puts the system state the integration tests could lean on back to what a
# fresh Debian 12 has right after `apt-get install` (before any packaged
# service has run), so that every `make check` proves the tests set up what
# they need themselves.  Root only; run by tests/check.sh before the
# integration suite.
set -u
[ "$(id -u)" = 0 ] || { echo "fresh-state: needs root" >&2; exit 1; }

# OpenSMTPD: until its service first starts, its queue is missing or, as
# issue 13 found on a fresh machine, 755 (smtpd wants 711 and refuses to
# start on 755).  The harder of the two is set here.  An smtpd running in
# this mount namespace (a system one) is left alone, its queue is in use;
# the tests' own run in private mount namespaces with their own queue.
host_smtpd=
for pid in $(pgrep -x smtpd); do
	[ "$(readlink "/proc/$pid/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ] && host_smtpd=$pid
done
if [ -n "$host_smtpd" ]; then
	echo "fresh-state: smtpd $host_smtpd runs on the host, /var/spool/smtpd left as it is"
else
	mkdir -p /var/spool/smtpd
	chown root:root /var/spool/smtpd
	chmod 755 /var/spool/smtpd
	echo "fresh-state: /var/spool/smtpd is root 755, as a fresh machine may have it"
fi
