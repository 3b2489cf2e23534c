#!/usr/bin/env bash
# watch on ICMP and TCP targets across a router namespace:
#  - targets that answer are up; a target that stops answering (nftables
#    drop) goes down after down_after rounds and comes back after up_after;
#  - a refused port (RST) and an unreachable network (ICMP error from the
#    router) are told apart, with the router named;
#  - the store holds the state changes at the right rounds;
#  - with --user nobody, every thread runs as nobody by the time the
#    dashboard first answers, and an MRT file only root may read is read.
# Addresses: 198.18.1.0/30 vantage-router, 198.18.2.0/30 router-target.
set -u
: "${LIGHTSOUT:?LIGHTSOUT must name the binary}"
. "$(dirname "$0")/lib.bash"
P=lo2w
V=$P-v R=$P-r T=$P-t
work=$(mktemp -d /tmp/lightsout-core-watch.XXXXXX)

cleanup() {
	ns_teardown $V $R $T
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
mkdir -p "$work"


ns_add $V $R $T
ip link add $P-vr netns $V type veth peer name $P-rv netns $R
ip link add $P-rt netns $R type veth peer name $P-tr netns $T
ip -n $V addr add 198.18.1.1/30 dev $P-vr; ip -n $V link set $P-vr up
ip -n $R addr add 198.18.1.2/30 dev $P-rv; ip -n $R link set $P-rv up
ip -n $R addr add 198.18.2.1/30 dev $P-rt; ip -n $R link set $P-rt up
ip -n $T addr add 198.18.2.2/30 dev $P-tr; ip -n $T link set $P-tr up
ip -n $V route add default via 198.18.1.2
ip -n $T route add default via 198.18.2.1
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
# The router refuses to forward to 198.18.9.0/24 with host-unreachable.
# (Unreachables for a missing route are rate-limited by the host-wide
# net.ipv4.route.error_cost, which a test must not change; nftables'
# reject obeys the per-namespace icmp_ratelimit, set to 0 here.)
ip netns exec $R sysctl -qw net.ipv4.icmp_ratelimit=0
ip -n $R route add 198.18.9.0/24 via 198.18.2.2
ip netns exec $R nft -f - <<'NFT'
table inet lo2router {
	chain forward_reject {
		type filter hook forward priority 0; policy accept;
		ip daddr 198.18.9.0/24 reject with icmp type host-unreachable
	}
}
NFT
(ip netns exec $T nc -lk 198.18.2.2 80 >/dev/null 2>&1 &)
web_listens() { [ -n "$(ip netns exec $T ss -Htln 'sport = :80')" ]; }

# an MRT archive only root may read: $work is root's, mode 0700
data=${DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/data}
install -m 600 "$data/bgpdump/test_data/updates.20070211.0141.gz" "$work/rib.gz"
cat >"$work/watch.yaml" <<YAML
vantage: itest
store: $work/store.db
listen: "198.18.1.1:8080"
bgp: {mrt: ["$work/rib.gz"]}
interval: 500ms
timeout: 300ms
detect: {down_after: 2, up_after: 2}
networks:
  - name: lab
    prefixes: [198.18.2.0/24, 198.18.9.0/24]
    targets:
      - {name: t-icmp, role: host, kind: icmp, host: 198.18.2.2, count: 1}
      - {name: t-web, role: web, kind: tcp, host: 198.18.2.2, port: 80}
      - {name: t-closed, role: web, kind: tcp, host: 198.18.2.2, port: 81}
      - {name: nowhere-icmp, role: host, kind: icmp, host: 198.18.9.9, count: 1}
      - {name: nowhere-tcp, role: web, kind: tcp, host: 198.18.9.9, port: 80}
  - name: archive
    prefixes: [85.0.0.0/8, 203.0.0.0/8]
    asn: [11500]
    targets:
      - {name: a-web, role: web, kind: tcp, host: 198.18.2.2, port: 80}
controls:
  - {name: router, kind: icmp, host: 198.18.1.2, count: 1}
YAML
check "check-config accepts the test configuration" $LIGHTSOUT check-config -c "$work/watch.yaml"

check "the web target listens" wait_until 10 web_listens
# root opens the raw ICMP socket and the store, then runs as nobody
ip netns exec $V $LIGHTSOUT watch -c "$work/watch.yaml" --for 14s --user nobody 2>"$work/watch.log" &
watch_pid=$! # ip netns exec execs watch
dashboard_answers() {
	code=$(ip netns exec $V curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://198.18.1.1:8080/healthz)
	[ "$code" != 000 ]
}
wait_until 10 dashboard_answers
uids=$(awk '/^Uid:/{print $2; print $3}' /proc/$watch_pid/task/*/status | sort -u | tr '\n' ' ')
check "the dashboard answers (got $code)" test "$code" != 000
check "every thread runs as nobody when the dashboard first answers (uids: $uids)" test "$uids" = "$(id -u nobody) "
runs_as_nobody() {
	local wpid
	wpid=$(pgrep -n -f "lightsout watch -c $work/watch.yaml") &&
		[ "$(awk '/^Uid:/{print $2}' "/proc/$wpid/status" 2>/dev/null)" = "$(id -u nobody)" ]
}
check "watch runs as nobody after start-up" wait_until 10 runs_as_nobody
# the drop starts once t-icmp is up (up_after rounds into the store)
icmp_up() {
	[ "$(sqlite3 -batch -noheader -cmd '.timeout 2000' "$work/store.db" \
		"SELECT count(*) FROM state_changes s JOIN targets t ON t.id=s.target WHERE t.name='t-icmp' AND s.to_state='up'" 2>/dev/null)" = 1 ]
}
check "t-icmp is up before the drop" wait_until 10 icmp_up
drop_ms=$(date +%s%3N)
ip netns exec $T nft -f - <<'NFT'
table inet lo2drop {
	chain input_drop {
		type filter hook input priority 0; policy accept;
		icmp type echo-request drop
	}
}
NFT
sleep 4 # the outage itself: 8 rounds of 500 ms, checked below as 5 to 11 failed rounds
heal_ms=$(date +%s%3N)
ip netns exec $T nft delete table inet lo2drop
wait $watch_pid
rc=$?
check "watch --for exits 0" test $rc -eq 0

db="$work/store.db"
q() { sqlite3 -batch -noheader "$db" "$1"; }
tid() { q "SELECT id FROM targets WHERE name='$1'"; }

changes=$(q "SELECT group_concat(from_state||'>'||to_state, ' ') FROM (SELECT * FROM state_changes WHERE target=$(tid t-icmp) ORDER BY at_ms)")
check "t-icmp went unknown>up, up>down, down>up (got: $changes)" test "$changes" = "unknown>up up>down down>up"

# the down change is on the down_after-th failed round after the drop
first_fail=$(q "SELECT min(round) FROM measurements WHERE target=$(tid t-icmp) AND outcome<>0")
first_fail_at=$(q "SELECT min(at_ms) FROM measurements WHERE target=$(tid t-icmp) AND outcome<>0")
down_round=$(q "SELECT round FROM state_changes WHERE target=$(tid t-icmp) AND to_state='down'")
check "first failed round comes after the drop ($first_fail_at >= $drop_ms - 500)" test "$first_fail_at" -ge $((drop_ms - 500))
check "down declared on round first_fail+1 (down_after 2): $down_round vs $first_fail" test "$down_round" -eq $((first_fail + 1))
first_ok_again=$(q "SELECT min(round) FROM measurements WHERE target=$(tid t-icmp) AND outcome=0 AND round>$first_fail")
up_round=$(q "SELECT round FROM state_changes WHERE target=$(tid t-icmp) AND to_state='up' AND from_state='down'")
check "up declared on round first_ok+1 (up_after 2): $up_round vs $first_ok_again" test "$up_round" -eq $((first_ok_again + 1))
fails=$(q "SELECT count(*) FROM measurements WHERE target=$(tid t-icmp) AND outcome<>0")
check "failed rounds match the outage (~4 s at 500 ms): $fails" test "$fails" -ge 5 -a "$fails" -le 11

check "t-web stays up, every round ok" test "$(q "SELECT count(*) FROM measurements WHERE target=$(tid t-web) AND outcome<>0")" -eq 0
check "t-web has measurements" test "$(q "SELECT count(*) FROM measurements WHERE target=$(tid t-web)")" -ge 20
closed=$(q "SELECT group_concat(DISTINCT o.name) FROM measurements m JOIN outcomes o ON o.code=m.outcome WHERE target=$(tid t-closed)")
check "closed port is refused (got: $closed)" test "$closed" = refused
for t in nowhere-icmp nowhere-tcp; do
	unreach=$(q "SELECT count(*) FROM measurements WHERE target=$(tid $t) AND outcome=3")
	other=$(q "SELECT count(*) FROM measurements WHERE target=$(tid $t) AND outcome NOT IN (1, 3)")
	total=$(q "SELECT count(*) FROM measurements WHERE target=$(tid $t)")
	check "$t: every round unreachable ($unreach of $total)" test "$unreach" -ge 20 -a "$unreach" -eq "$total"
	from=$(q "SELECT group_concat(DISTINCT from_addr) FROM measurements WHERE target=$(tid $t) AND outcome=3")
	check "$t names the router 198.18.1.2 (got: $from)" test "$from" = 198.18.1.2
	det=$(q "SELECT detail FROM measurements WHERE target=$(tid $t) AND outcome=3 LIMIT 1")
	check "$t says what the router said (got: $det)" grep -qi "unreachable" <<<"$det"
done
check "the control stayed up" test "$(q "SELECT count(*) FROM measurements WHERE target=$(tid router) AND outcome<>0")" -eq 0
routes=$(q "SELECT count(*) FROM bgp_events WHERE peer <> '*'")
check "the root-only MRT file was read ($routes routes stored)" test "$routes" -gt 0
check "state changes logged once each" test "$(grep -c 't-icmp.*-> down' "$work/watch.log")" -eq 1
$LIGHTSOUT status -c "$work/watch.yaml" --format json >"$work/status.json"
check "status --format json shows t-closed down" test "$(jq -r '.networks[0].targets[] | select(.name=="t-closed") | .state' "$work/status.json")" = down

it_summary
