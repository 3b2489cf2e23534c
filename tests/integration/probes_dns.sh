#!/usr/bin/env bash
# DNS probe against NSD serving a lab zone on two addresses (NOERROR with
# AA and serial, NXDOMAIN, REFUSED for a zone it does not serve, port
# unreachable once stopped) and against crafted replies that must be
# rejected: compression loop, truncated record, wrong id, wrong question,
# wrong source address; TC=1 falls back to TCP.
set -u
PL=loprd
. "$(dirname "$0")/probes_lib.bash"
trap pl_down EXIT
pl_up

cat >"$PL_RUN/lab.test.zone" <<'ZONE'
$ORIGIN lab.test.
$TTL 300
@	IN SOA ns1.lab.test. hostmaster.lab.test. 2026012601 3600 600 86400 300
@	IN NS ns1.lab.test.
@	IN NS ns2.lab.test.
@	IN MX 10 mail.lab.test.
ns1	IN A 203.0.113.53
ns2	IN A 203.0.113.54
www	IN A 203.0.113.10
mail	IN A 203.0.113.25
ZONE
cat >"$PL_RUN/nsd.conf" <<CONF
server:
	ip-address: 203.0.113.53
	ip-address: 203.0.113.54
	port: 53
	username: ""
	database: ""
	pidfile: "$PL_RUN/nsd.pid"
	xfrdfile: "$PL_RUN/xfrd.state"
	zonelistfile: "$PL_RUN/zone.list"
	zonesdir: "$PL_RUN"
	logfile: "$PL_RUN/nsd.log"
	verbosity: 1
	hide-version: yes
remote-control:
	control-enable: no
zone:
	name: "lab.test"
	zonefile: "lab.test.zone"
CONF
pl_exec s nsd -c "$PL_RUN/nsd.conf" || pl_msg "nsd did not start: $(cat "$PL_RUN/nsd.log")"
pl_bg s python3 "$PL_DIR/probes_evil.py" dns 203.0.113.60 203.0.113.61
pl_wait_udp53 203.0.113.53
pl_wait_udp53 203.0.113.54
pl_wait_udp53 203.0.113.60 good.evil.test

pl_expect "SOA: NOERROR, AA, serial" ok '^NOERROR aa, 1 answer, serial 2026012601$' dns://203.0.113.53/lab.test/SOA
pl_expect "second address" ok '^NOERROR aa, 1 answer, serial 2026012601$' dns://203.0.113.54/lab.test/SOA
pl_expect "A record" ok '^NOERROR aa, 1 answer' dns://203.0.113.53/www.lab.test/A
pl_expect "MX record" ok '^NOERROR aa, 1 answer' dns://203.0.113.53/lab.test/MX
pl_expect "NS records" ok '^NOERROR aa, 2 answers' dns://203.0.113.53/lab.test/NS
pl_expect "NXDOMAIN is not the expected rcode" error '^NXDOMAIN \(expected NOERROR\)' dns://203.0.113.53/nope.lab.test/A
pl_expect "zone it does not serve: REFUSED" refused '^REFUSED$' dns://203.0.113.53/other.test/SOA
pl_expect "address where nothing listens: port unreachable" unreachable '^port unreachable from 203.0.113.12$' \
	dns://203.0.113.12/lab.test/SOA

# crafted replies: never trusted, the round ends by its deadline
pl_expect "compression loop rejected" timeout 'rejected: compression loop' --timeout 1s dns://203.0.113.60/loop.evil.test/A
pl_expect "truncated record rejected" timeout 'rejected: truncated record' --timeout 1s dns://203.0.113.60/trunc.evil.test/A
pl_expect "mismatched question rejected" timeout 'rejected: mismatched question' --timeout 1s dns://203.0.113.60/wrongq.evil.test/A
pl_expect "mismatched id ignored" timeout '^no reply \(3 sent\)$' --timeout 1s dns://203.0.113.60/wrongid.evil.test/A
pl_expect "reply from the wrong address rejected" timeout 'rejected: reply from wrong address 203.0.113.61' --timeout 1s \
	dns://203.0.113.60/wrongsrc.evil.test/A
pl_expect "forged reply first, real one counts" ok '^NOERROR aa, 1 answer' dns://203.0.113.60/forgedfirst.evil.test/A
pl_expect "good crafted reply" ok '^NOERROR aa, 1 answer$' dns://203.0.113.60/good.evil.test/A
pl_expect "TC=1 retried over TCP" ok '^NOERROR aa, 1 answer, tcp$' dns://203.0.113.60/tc.evil.test/A

# NSD stopped: the host answers port unreachable
kill "$(cat "$PL_RUN/nsd.pid")"
nsd_gone() { ! pl_exec s ss -uln | grep -q '203.0.113.53:53'; }
wait_until 5 nsd_gone || pl_msg "NSD still listens on 203.0.113.53:53"
pl_expect "NSD stopped: port unreachable" unreachable '^port unreachable from 203.0.113.53$' dns://203.0.113.53/lab.test/SOA
pl_summary
