#!/usr/bin/env bash
# Benchmark: N HTTP checks (default 10,000) in one round against nginx in a
# lab namespace, lightsout vs prometheus-blackbox-exporter's http module
# driven at its best (parallel requests to /probe over keep-alive); then N
# DNS SOA queries against NSD.  Prints checks/s and CPU seconds per 1,000
# checks for each, and the ratio.  Root only; everything lives in the
# namespaces lobench-v (prober) and lobench-s (servers), deleted on exit.
#
#   bench/http_bench.sh [N]          LIGHTSOUT=path/to/lightsout to pick the binary
set -u
N=${1:-10000}
PAR=${PAR:-256}          # blackbox: parallel /probe requests in flight
ADDRS=${ADDRS:-10}       # nginx listens on this many addresses, targets spread over them
HERE=$(cd "$(dirname "$0")" && pwd)
: "${LIGHTSOUT:=$HERE/../build/lightsout}"
BB=/usr/bin/prometheus-blackbox-exporter
V=lobench-v
S=lobench-s
RUN=

down() {
	local ns pid
	for ns in $V $S; do
		for pid in $(ip netns pids $ns 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del $ns 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	[ -n "$RUN" ] && rm -rf "$RUN"
}
trap down EXIT
[ "$(id -u)" = 0 ] || { echo "bench needs root" >&2; exit 1; }
[ -x "$LIGHTSOUT" ] || { echo "no binary at $LIGHTSOUT" >&2; exit 1; }
[ -x "$BB" ] || { echo "apt-get install prometheus-blackbox-exporter" >&2; exit 1; }
down
RUN=$(mktemp -d /tmp/lobench.XXXXXX)
chmod 755 "$RUN"
ulimit -n "$(ulimit -Hn)"

for ns in $V $S; do
	ip netns add $ns
	ip -n $ns link set lo up
	mkdir -p "/etc/netns/$ns"
	echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"
done
ip link add bv netns $V type veth peer name bs netns $S
ip -n $V link set bv up
ip -n $S link set bs up
ip -n $V addr add 192.0.2.2/24 dev bv
ip -n $V route add default via 192.0.2.1 2>/dev/null
ip -n $S addr add 192.0.2.1/24 dev bs
ip -n $V route add 203.0.113.0/24 dev bv
for i in $(seq 1 "$ADDRS"); do ip -n $S addr add "203.0.113.$((9 + i))/24" dev bs; done
ip -n $S addr add 203.0.113.53/24 dev bs
ip -n $S route add 192.0.2.0/24 dev bs 2>/dev/null
for ns in $V $S; do
	ip netns exec $ns sysctl -qw net.ipv4.ip_local_port_range="10000 65000" net.ipv4.tcp_tw_reuse=1 \
		net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
done

# nginx: two workers, a small static page
mkdir -p "$RUN/www" "$RUN/tmp"
echo "lightsout bench page" >"$RUN/www/index.html"
{
	echo "daemon on; pid $RUN/nginx.pid; error_log $RUN/nginx.err; worker_processes 2; worker_rlimit_nofile 65536;"
	echo "events { worker_connections 32768; }"
	echo "http { access_log off; client_body_temp_path $RUN/tmp; proxy_temp_path $RUN/tmp;"
	echo " fastcgi_temp_path $RUN/tmp; uwsgi_temp_path $RUN/tmp; scgi_temp_path $RUN/tmp;"
	echo " server {"
	for i in $(seq 1 "$ADDRS"); do echo "  listen 203.0.113.$((9 + i)):80 backlog=32768;"; done
	echo "  root $RUN/www; } }"
} >"$RUN/nginx.conf"
ip netns exec $S nginx -c "$RUN/nginx.conf"

# NSD for the DNS part
cat >"$RUN/bench.test.zone" <<'ZONE'
$ORIGIN bench.test.
$TTL 300
@	IN SOA ns1.bench.test. hostmaster.bench.test. 2026012601 3600 600 86400 300
@	IN NS ns1.bench.test.
ns1	IN A 203.0.113.53
ZONE
cat >"$RUN/nsd.conf" <<CONF
server:
	ip-address: 203.0.113.53
	username: ""
	database: ""
	pidfile: "$RUN/nsd.pid"
	xfrdfile: "$RUN/xfrd.state"
	zonelistfile: "$RUN/zone.list"
	zonesdir: "$RUN"
	server-count: 2
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "bench.test"
	zonefile: "bench.test.zone"
CONF
ip netns exec $S nsd -c "$RUN/nsd.conf"

cat >"$RUN/blackbox.yml" <<'YML'
modules:
  http_2xx:
    prober: http
    timeout: 10s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
YML
ip netns exec $V "$BB" --config.file="$RUN/blackbox.yml" --web.listen-address=127.0.0.1:9115 \
	--log.level=error >"$RUN/bb.log" 2>&1 &
disown
for _ in $(seq 1 100); do
	ip netns exec $V curl -s -o /dev/null http://127.0.0.1:9115/metrics && break
	sleep 0.1
done
BB_PID=$(ip netns pids $V | head -n 1)

# targets spread over the nginx addresses
: >"$RUN/targets"
: >"$RUN/bb.curl"
for i in $(seq 0 $((N - 1))); do
	a="203.0.113.$((10 + i % ADDRS))"
	echo "http://$a/" >>"$RUN/targets"
	printf 'url = "http://127.0.0.1:9115/probe?module=http_2xx&target=http://%s/"\n' "$a" >>"$RUN/bb.curl"
done
ip netns exec $V curl -s -o /dev/null http://203.0.113.10/ || { echo "nginx does not answer" >&2; exit 1; }

cpu_of() { # utime+stime of a pid in seconds
	awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}
now() { date +%s.%N; }

echo "== HTTP: $N checks in one round against nginx ($ADDRS addresses)"
# lightsout: every check in one round, all started at once
t0=$(now)
mapfile -t targets <"$RUN/targets"
ip netns exec $V /usr/bin/time -f "%U %S" -o "$RUN/lo.time" \
	"$LIGHTSOUT" probe --format json --timeout 10s --pps 0 "${targets[@]}" >"$RUN/lo.out" 2>"$RUN/lo.err"
t1=$(now)
lo_ok=$(grep -c '"outcome":"ok"' "$RUN/lo.out")
lo_n=$(grep -c '"target"' "$RUN/lo.out")
lo_cpu=$(tail -n 1 "$RUN/lo.time" | awk '{print $1 + $2}')
lo_wall=$(echo "$t1 - $t0" | bc -l)

# blackbox exporter: the same checks through /probe, PAR in flight
c0=$(cpu_of "$BB_PID")
t0=$(now)
ip netns exec $V curl -s -Z --parallel-max "$PAR" -K "$RUN/bb.curl" >"$RUN/bb.out" 2>/dev/null
t1=$(now)
c1=$(cpu_of "$BB_PID")
bb_n=$(grep -c '^probe_success ' "$RUN/bb.out")
bb_ok=$(grep -c '^probe_success 1' "$RUN/bb.out")
bb_cpu=$(echo "$c1 - $c0" | bc -l)
bb_wall=$(echo "$t1 - $t0" | bc -l)

printf '%-22s %8s %8s %10s %12s %14s\n' prober results ok "wall s" "checks/s" "CPU s/1000"
printf '%-22s %8d %8d %10.2f %12.0f %14.3f\n' lightsout "$lo_n" "$lo_ok" "$lo_wall" \
	"$(echo "$lo_n / $lo_wall" | bc -l)" "$(echo "$lo_cpu * 1000 / $lo_n" | bc -l)"
printf '%-22s %8d %8d %10.2f %12.0f %14.3f\n' blackbox_exporter "$bb_n" "$bb_ok" "$bb_wall" \
	"$(echo "$bb_n / $bb_wall" | bc -l)" "$(echo "$bb_cpu * 1000 / $bb_n" | bc -l)"
printf 'ratio (blackbox CPU per check / lightsout CPU per check): %.1fx; throughput ratio %.1fx\n' \
	"$(echo "($bb_cpu / $bb_n) / ($lo_cpu / $lo_n)" | bc -l)" \
	"$(echo "($lo_n / $lo_wall) / ($bb_n / $bb_wall)" | bc -l)"
grep -v '"outcome":"ok"' "$RUN/lo.out" | head -n 3

echo "== DNS: $N SOA queries in one round against NSD"
: >"$RUN/dns.targets"
for _ in $(seq 1 "$N"); do echo "dns://203.0.113.53/bench.test/SOA"; done >"$RUN/dns.targets"
t0=$(now)
mapfile -t targets <"$RUN/dns.targets"
ip netns exec $V /usr/bin/time -f "%U %S" -o "$RUN/dns.time" \
	"$LIGHTSOUT" probe --format json --timeout 5s --pps 0 "${targets[@]}" >"$RUN/dns.out" 2>"$RUN/dns.err"
t1=$(now)
d_ok=$(grep -c '"outcome":"ok"' "$RUN/dns.out")
d_n=$(grep -c '"target"' "$RUN/dns.out")
d_cpu=$(tail -n 1 "$RUN/dns.time" | awk '{print $1 + $2}')
d_wall=$(echo "$t1 - $t0" | bc -l)
printf '%-22s %8s %8s %10s %12s %14s\n' prober results ok "wall s" "queries/s" "CPU s/1000"
printf '%-22s %8d %8d %10.2f %12.0f %14.3f\n' lightsout-dns "$d_n" "$d_ok" "$d_wall" \
	"$(echo "$d_n / $d_wall" | bc -l)" "$(echo "$d_cpu * 1000 / $d_n" | bc -l)"
grep -v '"outcome":"ok"' "$RUN/dns.out" | head -n 3
