#!/usr/bin/env bash
# SMTP probe against OpenSMTPD on port 25, and against servers that greet
# badly: a 1 MB greeting, one byte per second, 554, silence, a multi-line
# 220; plus refused.
set -u
PL=loprs
. "$(dirname "$0")/probes_lib.bash"
trap pl_down EXIT
pl_up

cat >"$PL_RUN/smtpd.conf" <<CONF
listen on 203.0.113.25 port 25 hostname mail.lab.test
action "local" mbox
match from any for domain "lab.test" action "local"
CONF
chmod 600 "$PL_RUN/smtpd.conf"
# OpenSMTPD drops to its users (Debian names them opensmtpd and opensmtpq;
# the package makes them): made here if missing.
for u in opensmtpd opensmtpq; do
	id "$u" >/dev/null 2>&1 ||
		useradd --system --home-dir /var/lib/opensmtpd/empty --no-create-home --shell /usr/sbin/nologin "$u"
done
mkdir -p /var/lib/opensmtpd/empty # their chroot, from the package too
# Its queue (/var/spool/smtpd: root, mode 711, or it refuses to start) and
# control socket (/run/smtpd.sock, owned by any smtpd already running) are
# compiled-in paths.  A fresh Debian leaves the spool 755, or absent, until
# the service first starts: this smtpd gets its own spool and /run, on tmpfs
# in a private mount namespace, and never looks at the host's.
pl_bg s unshare -m --propagation private sh -c '
	mount -t tmpfs -o mode=755 loprs-run /run &&
	mount -t tmpfs -o mode=755 loprs-spool /var/spool &&
	mkdir -m 711 /var/spool/smtpd &&
	exec smtpd -d -f "$1"' smtpd "$PL_RUN/smtpd.conf"
pl_bg s python3 "$PL_DIR/probes_evil.py" smtp-big 203.0.113.26 25
pl_bg s python3 "$PL_DIR/probes_evil.py" smtp-slow 203.0.113.27 25
pl_bg s python3 "$PL_DIR/probes_evil.py" smtp-reply 203.0.113.28 25 '554 5.3.2 no service here\r\n'
pl_bg s python3 "$PL_DIR/probes_evil.py" silent 203.0.113.29 25
pl_bg s python3 "$PL_DIR/probes_evil.py" smtp-reply 203.0.113.30 25 '220-mx.lab.test ESMTP\r\n220-second line\r\n220 ready\r\n'
pl_bg s python3 "$PL_DIR/probes_evil.py" smtp-reply 203.0.113.30 2525 '421 4.3.2 too busy, try later\r\n'
for a in 25 26 27 28 29 30; do pl_wait_tcp "203.0.113.$a" 25; done
pl_wait_tcp 203.0.113.30 2525

pl_expect "OpenSMTPD greets, EHLO, QUIT" ok '^220 mail\.lab\.test ESMTP OpenSMTPD' --timeout 5s smtp://203.0.113.25
pl_expect "multi-line 220 greeting" ok '^220 mx\.lab\.test ESMTP second line ready$' smtp://203.0.113.30
pl_expect "1 MB greeting is cut" error '^bad greeting: reply line longer than 1000 bytes' smtp://203.0.113.26
pl_expect "greeting one byte per second" timeout '^greeting incomplete \([0-9]+ bytes by the deadline\)' --timeout 2s \
	smtp://203.0.113.27
pl_expect "554 greeting" error '^greeting 554 5\.3\.2 no service here$' smtp://203.0.113.28
pl_expect "421 greeting" error '^greeting 421 ' smtp://203.0.113.30:2525
pl_expect "no greeting" timeout '^no greeting$' --timeout 1s smtp://203.0.113.29
pl_expect "connect refused" refused '^connect refused$' smtp://203.0.113.25:26
pl_expect "no host behind the router" unreachable '^connect: No route to host from 198.51.100.2$' --timeout 5s smtp://203.0.113.200

# the slow and the silent servers do not hold up a good check run with them
out=$(pl_probe --timeout 2s smtp://203.0.113.27 smtp://203.0.113.29 smtp://203.0.113.30)
check "good check completes beside the bad ones" grep -q '"target":"smtp://203.0.113.30","kind":"smtp","outcome":"ok"' <<<"$out"
pl_summary
