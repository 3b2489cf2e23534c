#!/usr/bin/env bash
# Trace probe through two forwarding routers (IPv4 and IPv6, unprivileged
# IP_RECVERR), with a router that drops its own ICMP, a destination that
# does not exist (host unreachable from the last router), and a router that
# answers with quotes of packets we never sent (rejected).
set -u
PL=loprt
. "$(dirname "$0")/probes_lib.bash"
trap pl_down EXIT
pl_up

pl_expect "IPv4 path, 3 hops" ok '^reached 203\.0\.113\.10 in 3 hops; edge 198\.51\.100\.2; path 192\.0\.2\.1 198\.51\.100\.2$' \
	trace://203.0.113.10
pl_expect "IPv6 path, 3 hops" ok '^reached 2001:db8:3::10 in 3 hops; edge 2001:db8:2::2; path 2001:db8:1::1 2001:db8:2::2$' \
	trace://2001:db8:3::10
pl_expect "destination that does not exist" unreachable \
	'^unreachable \(type 3 code 1\) from 198\.51\.100\.2 at hop 3; edge 198\.51\.100\.2; path 192\.0\.2\.1 198\.51\.100\.2$' \
	--timeout 5s trace://203.0.113.200

# r2 stops sending its own ICMP: a silent hop, the path still reaches
cat >"$PL_RUN/r2.nft" <<'NFT'
table inet loprt {
	chain out_icmp {
		type filter hook output priority 0; policy accept;
		icmp type time-exceeded drop
		icmpv6 type time-exceeded drop
	}
}
NFT
pl_exec r2 nft -f "$PL_RUN/r2.nft"
pl_expect "router dropping its own ICMP" ok '^reached 203\.0\.113\.10 in 3 hops; edge 192\.0\.2\.1; path 192\.0\.2\.1 \*$' \
	trace://203.0.113.10
pl_expect "router dropping its own ICMP (IPv6)" ok '^reached 2001:db8:3::10 in 3 hops; edge 2001:db8:1::1; path 2001:db8:1::1 \*$' \
	trace://2001:db8:3::10
pl_exec r2 nft delete table inet loprt

# r1 forwards nothing and answers every probe with a forged quote
cat >"$PL_RUN/r1.nft" <<'NFT'
table inet loprt {
	chain out_icmp {
		type filter hook output priority 0; policy accept;
		meta mark 42 accept
		icmp type time-exceeded drop
	}
	chain forward_drop {
		type filter hook forward priority 0; policy accept;
		udp dport 33434 drop
	}
}
NFT
pl_exec r1 nft -f "$PL_RUN/r1.nft"
pl_bg r1 python3 "$PL_DIR/probes_evil.py" trace-forger r1v 192.0.2.1
wait_until 10 grep -q '^trace-forger ready' "$PL_RUN/bg.log" || pl_msg "trace-forger did not start: $(cat "$PL_RUN/bg.log")"
pl_expect "quotes of packets we never sent are rejected" timeout \
	'^no hop answered \([0-9]+ rejected: quote with a bad tag \(a packet we never sent\)\)$' --timeout 2s trace://203.0.113.10
pl_summary
