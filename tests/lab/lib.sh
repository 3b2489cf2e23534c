# shellcheck shell=bash
# The outage lab: a small country behind an upstream ISP, watched from a
# vantage point outside it, built from network namespaces, veth links and
# real software (BIRD 2, nginx, OpenSMTPD, NSD).  Sourced by the scenario
# scripts; see README.md for the picture.
#
# Everything the lab starts lives in namespaces named lolab-*; lab_down (run
# from the EXIT trap) ends their processes and deletes them, and lab_up first
# removes whatever a crashed earlier run left.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO=$(cd "$LAB_DIR/../.." && pwd)
LAB_PREFIX=lolab-
LAB_LOCK=/run/lock/lolab.lock
LIGHTSOUT=${LIGHTSOUT:-$LAB_REPO/build/lightsout}
case $LIGHTSOUT in /*) ;; *) LIGHTSOUT=$LAB_REPO/$LIGHTSOUT ;; esac

# Namespaces (short names; the real name is lolab-NAME).
LAB_ROUTERS="upstream border"
LAB_HOSTS="vantage control attacker"
LAB_SERVERS="web1 web2 mail ns1 ns2"
LAB_ALL="$LAB_HOSTS $LAB_ROUTERS $LAB_SERVERS"

# Addresses: only documentation and benchmarking ranges.
# Outside the country (the upstream ISP's own space):
LAB_UP_VANTAGE=192.0.2.1     # upstream, link to the vantage
LAB_VANTAGE=192.0.2.2
LAB_UP_CONTROL=192.0.2.9
LAB_CONTROL=192.0.2.10
LAB_UP_ATTACKER=192.0.2.17
LAB_ATTACKER=192.0.2.18
LAB_UP_BORDER=198.51.100.1   # upstream, link to the border
LAB_BORDER=198.51.100.2      # border router's own address, outside the country
# The country: two prefixes, both announced by the border router.
LAB_PREFIX_A=203.0.113.0/24
LAB_PREFIX_B=198.18.200.0/24
LAB_GW_A=203.0.113.1         # border router on the LAN, inside the country
LAB_GW_B=198.18.200.1
LAB_WEB1=203.0.113.10
LAB_WEB2=198.18.200.10
LAB_MAIL=203.0.113.25
LAB_NS1=203.0.113.53
LAB_NS2=198.18.200.53
LAB_ZONE=country.test
LAB_AS_UPSTREAM=64500
LAB_AS_VANTAGE=64501
LAB_AS_BORDER=64510
# Shaping on the upstream's link to the border, so a flood builds a queue.
# 100 ms of queue at most: probes that need a few round trips (SMTP: connect,
# greeting, EHLO, QUIT) still fit their 800 ms timeout under the delay
# alone, so the servers fail from loss and from the faults, not at once.
LAB_TBF_RATE=${LAB_TBF_RATE:-4mbit}
LAB_TBF_LATENCY=${LAB_TBF_LATENCY:-100ms}

LAB_RUN=
LAB_STATE=
LAB_SCENARIO=
LAB_T0=
LAB_WATCH_PID=
LAB_PASS=0
LAB_FAIL=0
LAB_IS_UP=0
LAB_SLEEP_PID=
LAB_LOCK_FD=

lab_ns() { printf '%s%s' "$LAB_PREFIX" "$1"; }
# Runs a command in namespace NS; the lab's lock stays with this shell (a
# daemon that inherited it would block the next run).
lab_exec() {
	local ns=$1
	shift
	if [ -n "${LAB_LOCK_FD:-}" ]; then
		ip netns exec "$(lab_ns "$ns")" "$@" {LAB_LOCK_FD}>&-
	else
		ip netns exec "$(lab_ns "$ns")" "$@"
	fi
}

lab_msg() { printf '[%s %s] %s\n' "$(date -u +%H:%M:%S.%3N)" "${LAB_SCENARIO:-lab}" "$*" >&2; }
lab_die() {
	lab_msg "FATAL: $*"
	exit 1
}

lab_now_ms() { date -u +%s%3N; }
lab_utc() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# Polls "$@" every 0.2 s until it succeeds or SECONDS pass; returns its status.
lab_wait_for() {
	local secs=$1
	shift
	local deadline=$(($(lab_now_ms) + secs * 1000))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(lab_now_ms)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# ---- injection log -------------------------------------------------------

# lab_log fault|heal|mark NAME: one line per event, UTC with milliseconds.
lab_log() {
	local line
	line="$(lab_utc) $1 $2"
	echo "$line" >>"$LAB_RUN/injections.log"
	lab_msg "$1 $2"
}

# Sleeps until SECONDS after the timeline's start (lab_timeline_start), so
# the checks run between steps do not shift the schedule.
lab_timeline_start() { LAB_T0=$(lab_now_ms); }
lab_at() {
	local target=$((LAB_T0 + $(printf '%.0f' "$(echo "$1 * 1000" | bc)")))
	local now
	now=$(lab_now_ms)
	if [ "$now" -lt "$target" ]; then
		lab_sleep "$(echo "scale=3; ($target - $now) / 1000" | bc)"
	fi
}
# A sleep that a trapped INT/TERM interrupts at once (bash runs traps only
# when its foreground command ends; "wait" ends on the signal).
lab_sleep() {
	sleep "$1" &
	LAB_SLEEP_PID=$!
	wait "$LAB_SLEEP_PID"
	LAB_SLEEP_PID=
}

# ---- teardown --------------------------------------------------------------

lab_kill_ns() {
	local ns=$1 pids i
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null
	for i in $(seq 1 25); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] || return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	for i in $(seq 1 20); do
		[ -n "$(ip netns pids "$ns" 2>/dev/null)" ] || return 0
		sleep 0.1
	done
}

lab_cleanup_leftovers() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_PREFIX"); do
		lab_kill_ns "$ns"
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf /etc/netns/"$LAB_PREFIX"*
}

lab_down() {
	[ "$LAB_IS_UP" = 1 ] || return 0
	lab_watch_stop
	lab_cleanup_leftovers
	LAB_IS_UP=0
	lab_msg "lab down"
}

lab_on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	[ -z "${LAB_SLEEP_PID:-}" ] || kill "$LAB_SLEEP_PID" 2>/dev/null
	lab_flood_stop
	lab_down
	exit "$rc"
}

# ---- bring up ----------------------------------------------------------------

# veth between two namespaces: lab_link NS1 IF1 NS2 IF2
lab_link() {
	ip -n "$(lab_ns "$1")" link add "$2" type veth peer name "$4" netns "$(lab_ns "$3")" || return 1
	ip -n "$(lab_ns "$1")" link set "$2" up && ip -n "$(lab_ns "$3")" link set "$4" up
}
lab_addr() { ip -n "$(lab_ns "$1")" addr add "$3" dev "$2"; }
lab_route() {
	local ns=$1
	shift
	ip -n "$(lab_ns "$ns")" route replace "$@"
}

lab_write_bird() {
	cat >"$LAB_STATE/upstream.bird.conf" <<EOF
# Upstream ISP, AS $LAB_AS_UPSTREAM.  No default route: a withdrawn prefix
# gets a real "net unreachable".
log "$LAB_STATE/upstream.bird.log" all;
router id $LAB_UP_BORDER;
protocol device { scan time 2; }
protocol kernel {
	ipv4 { import none; export all; };
}
protocol bgp border {
	local $LAB_UP_BORDER as $LAB_AS_UPSTREAM;
	neighbor $LAB_BORDER as $LAB_AS_BORDER;
	hold time 9; keepalive time 3;
	connect delay time 1; connect retry time 2; error wait time 1, 4;
	ipv4 { import all; export none; };
}
# Collector session for lightsout on the vantage point: passive, we
# only offer what we learned from the country.
protocol bgp vantage {
	local $LAB_UP_VANTAGE as $LAB_AS_UPSTREAM;
	neighbor $LAB_VANTAGE as $LAB_AS_VANTAGE;
	passive on;
	hold time 9; keepalive time 3;
	error wait time 1, 4;
	ipv4 { import none; export where source = RTS_BGP; };
}
EOF
	# No "protocol direct": its connected routes (preference 240) would
	# beat the static ones and BGP exports only the best route.
	cat >"$LAB_STATE/border.bird.conf" <<EOF
# Border router of the country, AS $LAB_AS_BORDER.
log "$LAB_STATE/border.bird.log" all;
router id $LAB_BORDER;
protocol device { scan time 2; }
protocol static country {
	ipv4;
	route $LAB_PREFIX_A blackhole;
	route $LAB_PREFIX_B blackhole;
}
protocol bgp upstream {
	local $LAB_BORDER as $LAB_AS_BORDER;
	neighbor $LAB_UP_BORDER as $LAB_AS_UPSTREAM;
	hold time 9; keepalive time 3;
	connect delay time 1; connect retry time 2; error wait time 1, 4;
	ipv4 { import none; export where proto = "country"; };
}
EOF
}

lab_birdc() {
	local r=$1
	shift
	birdc -s "$LAB_STATE/$r.bird.ctl" "$@"
}

lab_start_bird() {
	lab_exec "$1" bird -c "$LAB_STATE/$1.bird.conf" -s "$LAB_STATE/$1.bird.ctl" -P "$LAB_STATE/$1.bird.pid"
}

lab_start_nginx() {
	local name=$1 addr=$2
	mkdir -p "$LAB_STATE/$name.nginx"
	cat >"$LAB_STATE/$name.nginx.conf" <<EOF
daemon on;
worker_processes 1;
pid $LAB_STATE/$name.nginx.pid;
error_log $LAB_STATE/$name.nginx.err;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $LAB_STATE/$name.nginx/body;
	proxy_temp_path $LAB_STATE/$name.nginx/proxy;
	fastcgi_temp_path $LAB_STATE/$name.nginx/fastcgi;
	uwsgi_temp_path $LAB_STATE/$name.nginx/uwsgi;
	scgi_temp_path $LAB_STATE/$name.nginx/scgi;
	server {
		listen $addr:80;
		default_type text/plain;
		location / { return 200 "$name.$LAB_ZONE ok\n"; }
	}
}
EOF
	lab_exec "$name" nginx -e "$LAB_STATE/$name.nginx.err" -p "$LAB_STATE/$name.nginx" -c "$LAB_STATE/$name.nginx.conf"
}

lab_write_zone() {
	cat >"$LAB_STATE/$LAB_ZONE.zone" <<EOF
\$ORIGIN $LAB_ZONE.
\$TTL 60
@	IN SOA ns1 hostmaster 2026112601 60 30 600 60
@	IN NS ns1
@	IN NS ns2
@	IN MX 10 mail
ns1	IN A $LAB_NS1
ns2	IN A $LAB_NS2
www1	IN A $LAB_WEB1
www2	IN A $LAB_WEB2
mail	IN A $LAB_MAIL
gw	IN A $LAB_GW_A
EOF
}

lab_start_nsd() {
	local name=$1 addr=$2
	cat >"$LAB_STATE/$name.nsd.conf" <<EOF
server:
	ip-address: $addr
	port: 53
	username: ""
	chroot: ""
	database: ""
	zonesdir: "$LAB_STATE"
	pidfile: "$LAB_STATE/$name.nsd.pid"
	xfrdfile: "$LAB_STATE/$name.xfrd.state"
	zonelistfile: "$LAB_STATE/$name.zone.list"
	logfile: "$LAB_STATE/$name.nsd.log"
	server-count: 1
	hide-version: yes
	verbosity: 1
remote-control:
	control-enable: no
zone:
	name: "$LAB_ZONE"
	zonefile: "$LAB_STATE/$LAB_ZONE.zone"
EOF
	lab_exec "$name" nsd -c "$LAB_STATE/$name.nsd.conf"
}

lab_start_smtpd() {
	cat >"$LAB_STATE/mail.smtpd.conf" <<EOF
listen on $LAB_MAIL port 25 hostname mail.$LAB_ZONE
action "discard" mda "cat >/dev/null"
match from any for domain "$LAB_ZONE" action "discard"
EOF
	chmod 600 "$LAB_STATE/mail.smtpd.conf"
	# OpenSMTPD's control socket (/run/smtpd.sock) and queue
	# (/var/spool/smtpd) are fixed paths: give this instance its own, in a
	# private mount namespace, so it coexists with any other smtpd.
	lab_exec mail unshare -m --propagation private sh -c '
		mount -t tmpfs -o mode=755 lolab-run /run &&
		mkdir -p /var/spool/smtpd &&
		mount -t tmpfs -o mode=711 lolab-spool /var/spool/smtpd &&
		exec smtpd -f "$1"' smtpd "$LAB_STATE/mail.smtpd.conf"
}

lab_smtp_greets() {
	# Reads the greeting only (OpenSMTPD rejects pipelined commands).
	lab_exec "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/25 && head -c 3 <&3" 2>/dev/null | grep -q '^220'
}

lab_bgp_established() { lab_birdc "$1" show protocols "$2" 2>/dev/null | grep -q Established; }

# lab_up SCENARIO: builds the whole lab; run directory tests/lab/run/SCENARIO.
lab_up() {
	LAB_SCENARIO=$1
	[ "$(id -u)" = 0 ] || lab_die "the lab needs root (network namespaces)"
	local tool
	for tool in ip tc nft bird birdc nginx nsd smtpd hping3 ping dig curl bc; do
		command -v "$tool" >/dev/null || lab_die "missing $tool (see tests/lab/README.md: packages)"
	done
	LAB_RUN=$LAB_DIR/run/$LAB_SCENARIO
	LAB_STATE=$LAB_RUN/lab
	mkdir -p "$(dirname "$LAB_LOCK")"
	# One lab at a time: the namespace names are fixed.
	exec {LAB_LOCK_FD}>"$LAB_LOCK"
	flock -w 120 "$LAB_LOCK_FD" || lab_die "another lab run holds $LAB_LOCK"
	trap lab_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	LAB_IS_UP=1
	lab_cleanup_leftovers
	rm -rf "$LAB_RUN"
	mkdir -p "$LAB_STATE"
	: >"$LAB_RUN/injections.log"
	lab_msg "lab up in $LAB_RUN"

	local n
	for n in $LAB_ALL; do
		ip netns add "$(lab_ns "$n")" || lab_die "ip netns add $n"
		ip -n "$(lab_ns "$n")" link set lo up
		mkdir -p "/etc/netns/$(lab_ns "$n")"
		# Daemons resolve (OpenSMTPD looks up every client): point them at
		# the lab's own name servers, with short timeouts.
		printf 'nameserver %s\nnameserver %s\noptions timeout:1 attempts:1\n' "$LAB_NS1" "$LAB_NS2" \
			>"/etc/netns/$(lab_ns "$n")/resolv.conf"
		printf '127.0.0.1 localhost\n%s %s.lab\n' "127.0.1.1" "$n" >"/etc/netns/$(lab_ns "$n")/hosts"
	done
	for n in $LAB_ROUTERS; do
		lab_exec "$n" sysctl -qw net.ipv4.ip_forward=1
	done
	# ICMP errors are rate-limited per destination by default (about one a
	# second to the vantage): every probe must get its unreachable.
	for n in $LAB_ALL; do
		lab_exec "$n" sysctl -qw net.ipv4.icmp_ratelimit=0
	done

	# Outside the country.
	lab_link upstream vantage vantage upstream
	lab_addr upstream vantage "$LAB_UP_VANTAGE/29"
	lab_addr vantage upstream "$LAB_VANTAGE/29"
	lab_route vantage default via "$LAB_UP_VANTAGE"
	lab_link upstream control control upstream
	lab_addr upstream control "$LAB_UP_CONTROL/29"
	lab_addr control upstream "$LAB_CONTROL/29"
	lab_route control default via "$LAB_UP_CONTROL"
	lab_link upstream attacker attacker upstream
	lab_addr upstream attacker "$LAB_UP_ATTACKER/29"
	lab_addr attacker upstream "$LAB_ATTACKER/29"
	lab_route attacker default via "$LAB_UP_ATTACKER"
	lab_link upstream border border upstream
	lab_addr upstream border "$LAB_UP_BORDER/30"
	lab_addr border upstream "$LAB_BORDER/30"
	lab_route border default via "$LAB_UP_BORDER"
	tc -n "$(lab_ns upstream)" qdisc replace dev border root tbf rate "$LAB_TBF_RATE" burst 16kb latency "$LAB_TBF_LATENCY" ||
		lab_die "tc tbf"

	# The country's LAN: one bridge on the border router, both prefixes on it.
	ip -n "$(lab_ns border)" link add br0 type bridge
	ip -n "$(lab_ns border)" link set br0 up
	lab_addr border br0 "$LAB_GW_A/24"
	lab_addr border br0 "$LAB_GW_B/24"
	local spec name addr gw
	for spec in "web1 $LAB_WEB1 $LAB_GW_A" "web2 $LAB_WEB2 $LAB_GW_B" "mail $LAB_MAIL $LAB_GW_A" \
		"ns1 $LAB_NS1 $LAB_GW_A" "ns2 $LAB_NS2 $LAB_GW_B"; do
		read -r name addr gw <<<"$spec"
		lab_link border "$name" "$name" lan
		ip -n "$(lab_ns border)" link set "$name" master br0
		lab_addr "$name" lan "$addr/24"
		lab_route "$name" default via "$gw"
	done

	# Software.
	# web1 discards the flood (UDP port 9) silently, so the flood only
	# fills the link and is not reflected as port unreachables.
	lab_exec web1 nft -f - <<'EOF' || lab_die "nft web1"
table inet lolab_base {
	chain input_discard {
		type filter hook input priority 0; policy accept;
		udp dport 9 drop
	}
}
EOF
	# The upstream has no default route, so the kernel answers "net
	# unreachable" for a withdrawn prefix; but its ip_error() path is
	# rate-limited by the host-wide net.ipv4.route.error_cost (about one a
	# second), which would turn most probes' unreachables into silence.
	# The same answer from nftables goes through icmp_send(), limited only
	# by this namespace's icmp_ratelimit and icmp_msgs_per_sec.
	lab_exec upstream sysctl -qw net.ipv4.icmp_msgs_per_sec=100000 net.ipv4.icmp_msgs_burst=10000
	lab_exec upstream nft -f - <<'EOF' || lab_die "nft upstream"
table ip lolab_noroute {
	chain prerouting_noroute {
		type filter hook prerouting priority 0; policy accept;
		fib daddr type != { local, broadcast, multicast } fib daddr oif missing reject with icmp type net-unreachable
	}
}
EOF
	lab_write_bird
	lab_start_bird upstream || lab_die "bird upstream"
	lab_start_bird border || lab_die "bird border"
	lab_write_zone
	lab_start_nsd ns1 "$LAB_NS1" || lab_die "nsd ns1"
	lab_start_nsd ns2 "$LAB_NS2" || lab_die "nsd ns2"
	lab_start_nginx web1 "$LAB_WEB1" || lab_die "nginx web1"
	lab_start_nginx web2 "$LAB_WEB2" || lab_die "nginx web2"
	lab_start_smtpd || lab_die "smtpd"

	lab_wait_for 20 lab_bgp_established upstream border || lab_die "BGP border-upstream not established"
	lab_wait_for 10 lab_exec vantage ping -c1 -W1 "$LAB_WEB1" || lab_die "no route from vantage to $LAB_WEB1"
	lab_wait_for 10 lab_exec vantage curl -sf -m 2 "http://$LAB_WEB2/" || lab_die "web2 not serving"
	lab_wait_for 10 lab_exec vantage dig +time=1 +tries=1 +short "@$LAB_NS2" "$LAB_ZONE" SOA ||
		lab_die "ns2 not answering"
	lab_wait_for 15 lab_smtp_greets vantage "$LAB_MAIL" || lab_die "mail not greeting"
	lab_msg "lab ready"
}

# ---- faults and heals ----------------------------------------------------------

# A host that goes silent with its links up: drops everything in and out,
# BGP included (so a router's peer notices only by hold timer).
lab_silence() {
	lab_exec "$1" nft -f - <<'EOF'
table inet lolab_silence {
	chain input_drop {
		type filter hook input priority -10; policy drop;
	}
	chain forward_drop {
		type filter hook forward priority -10; policy drop;
	}
	chain output_drop {
		type filter hook output priority -10; policy drop;
	}
}
EOF
}
lab_unsilence() { lab_exec "$1" nft delete table inet lolab_silence; }

# The border router drops all traffic of the country's data plane: every
# forwarded packet, and those for its own addresses inside the country's
# prefixes.  Its BGP session (on 198.51.100.2, outside) stays up, and that
# address still answers.
lab_filter_forward() {
	lab_exec border nft -f - <<EOF
table inet lolab_filter {
	chain forward_drop {
		type filter hook forward priority -10; policy drop;
	}
	chain input_country_drop {
		type filter hook input priority -10; policy accept;
		ip daddr { $LAB_PREFIX_A, $LAB_PREFIX_B } drop
	}
}
EOF
}
lab_unfilter_forward() { lab_exec border nft delete table inet lolab_filter; }

# Drops exactly one ICMP echo request arriving at NS for its address ADDR,
# then lets all pass: the first echo's source goes into a set (a one-shot
# quota that, unlike nftables' byte quotas, does not depend on the echo's
# size).
lab_drop_one_echo() {
	local ns=$1 addr=$2
	lab_exec "$ns" nft delete table inet lolab_drop1 2>/dev/null
	lab_exec "$ns" nft -f - <<EOF
table inet lolab_drop1 {
	set seen {
		type ipv4_addr
		flags dynamic
	}
	chain input_drop1 {
		type filter hook input priority -10; policy accept;
		ip daddr $addr icmp type echo-request ip saddr @seen accept
		ip daddr $addr icmp type echo-request add @seen { ip saddr } counter drop
	}
}
EOF
}
# How many echoes the one-shot rule dropped so far.
lab_dropped_echoes() {
	lab_exec "$1" nft list table inet lolab_drop1 2>/dev/null | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

lab_bgp_disable() { lab_birdc border disable upstream >/dev/null; }
lab_bgp_enable() { lab_birdc border enable upstream >/dev/null; }

lab_nsd_stop() {
	local pid
	pid=$(cat "$LAB_STATE/$1.nsd.pid" 2>/dev/null) || return 1
	kill "$pid" && lab_wait_for 5 sh -c "! kill -0 $pid"
}
lab_nsd_start() {
	local addr=$LAB_NS1
	[ "$1" = ns2 ] && addr=$LAB_NS2
	lab_start_nsd "$1" "$addr"
}

lab_link_down() { ip -n "$(lab_ns "$1")" link set "$2" down; }
lab_link_up() { ip -n "$(lab_ns "$1")" link set "$2" up; }

# Flood from the attacker into the country: UDP to web1's discard port, at
# PPS packets per second of SIZE bytes of payload, for at most SECS seconds.
lab_flood_start() {
	local pps=$1 secs=$2 size=${3:-1000}
	local us=$((1000000 / pps))
	local count=$((pps * secs))
	ip netns exec "$(lab_ns attacker)" timeout "$((secs + 1))" hping3 --udp -p 9 -d "$size" -i "u$us" -c "$count" -q "$LAB_WEB1" \
		>>"$LAB_RUN/flood.log" 2>&1 {LAB_LOCK_FD}>&- &
	echo $! >"$LAB_STATE/flood.pid"
}
lab_flood_stop() {
	local pid
	pid=$(cat "$LAB_STATE/flood.pid" 2>/dev/null) || return 0
	rm -f "$LAB_STATE/flood.pid"
	kill "$pid" 2>/dev/null # timeout(1) passes the signal on to hping3
	wait "$pid" 2>/dev/null
	return 0
}

# ---- lightsout ---------------------------------------------------------------

# lab_config FILE: the watch configuration of the lab; EXTRA (optional,
# stdin) is appended.
lab_write_config() {
	local conf=$LAB_RUN/lightsout.yaml
	cat >"$conf" <<EOF
# Written by tests/lab/lib.sh for scenario $LAB_SCENARIO.
vantage: lab-vantage
store: $LAB_RUN/lightsout.db
listen: "off"
interval: ${LAB_INTERVAL:-1s}
timeout: ${LAB_TIMEOUT:-800ms}
detect:
  down_after: 3
  up_after: 2
networks:
  - name: country
    asn: [$LAB_AS_BORDER]
    prefixes: [$LAB_PREFIX_A, $LAB_PREFIX_B]
    targets:
      - {name: web1, role: web, kind: http, url: "http://$LAB_WEB1/"}
      - {name: web2, role: web, kind: tcp, host: $LAB_WEB2, port: 80}
      - {name: web1-icmp, role: web, kind: icmp, host: $LAB_WEB1}
      - {name: mail, role: mail, kind: smtp, host: $LAB_MAIL, port: 25}
      - {name: ns1, role: dns, kind: dns, server: $LAB_NS1, query: "$LAB_ZONE. SOA"}
      - {name: ns2, role: dns, kind: dns, server: $LAB_NS2, query: "$LAB_ZONE. SOA"}
      - {name: border, role: router, kind: icmp, host: $LAB_BORDER}
      - {name: gw, role: router, kind: icmp, host: $LAB_GW_A}
      - {name: edge, role: router, kind: trace, host: $LAB_GW_B}
controls:
  - {name: ctl-1, kind: icmp, host: $LAB_CONTROL}
bgp:
  peers:
    - {address: $LAB_UP_VANTAGE, remote_as: $LAB_AS_UPSTREAM, local_as: $LAB_AS_VANTAGE, hold_time: 9s}
EOF
	echo "$conf"
}

lab_have_lightsout() { [ -x "$LIGHTSOUT" ]; }

lab_watch_start() {
	local conf=$LAB_RUN/lightsout.yaml
	if ! lab_have_lightsout; then
		if [ "${LAB_WIRE_ONLY:-0}" = 1 ]; then
			lab_msg "LAB_WIRE_ONLY=1: not running lightsout"
			return 0
		fi
		lab_die "no lightsout at $LIGHTSOUT (build it, set LIGHTSOUT=, or LAB_WIRE_ONLY=1 to test the lab alone)"
	fi
	"$LIGHTSOUT" check-config -c "$conf" >"$LAB_RUN/check-config.out" 2>&1 ||
		lab_die "lightsout check-config failed: $(head -c 400 "$LAB_RUN/check-config.out")"
	ip netns exec "$(lab_ns vantage)" "$LIGHTSOUT" watch -c "$conf" >"$LAB_RUN/watch.out" 2>"$LAB_RUN/watch.err" {LAB_LOCK_FD}>&- &
	LAB_WATCH_PID=$!
	sleep 0.5
	if ! kill -0 "$LAB_WATCH_PID" 2>/dev/null && grep -q 'bgp: is not yet supported' "$LAB_RUN/watch.err"; then
		# A build without the BGP speaker: watch without the collector
		# session rather than not at all.
		LAB_WATCH_PID=
		lab_msg "this lightsout has no BGP yet: watching without the collector session"
		sed -i '/^bgp:/,$d' "$conf"
		mv "$LAB_RUN/watch.err" "$LAB_RUN/watch-nobgp.err"
		ip netns exec "$(lab_ns vantage)" "$LIGHTSOUT" watch -c "$conf" >"$LAB_RUN/watch.out" 2>"$LAB_RUN/watch.err" {LAB_LOCK_FD}>&- &
		LAB_WATCH_PID=$!
		sleep 0.5
	fi
	kill -0 "$LAB_WATCH_PID" 2>/dev/null || lab_die "watch exited at once: $(tail -c 400 "$LAB_RUN/watch.err")"
	lab_log mark watch-start
}

lab_watch_stop() {
	[ -n "$LAB_WATCH_PID" ] || return 0
	local pid=$LAB_WATCH_PID rc
	LAB_WATCH_PID=
	lab_log mark watch-stopping
	kill -TERM "$pid" 2>/dev/null
	local i
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		lab_msg "watch ignored SIGTERM for 10 s, killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	lab_log mark watch-stop
	echo "$rc" >"$LAB_RUN/watch.rc"
	return 0
}

lab_watch_running() { [ -n "$LAB_WATCH_PID" ] || [ -s "$LAB_RUN/watch.rc" ]; }
