#!/usr/bin/env bash
# The HTTP side of a real `lightsout watch` in a lab, against real clients:
#  - /healthz, 405 for POST, 404, 413, JSON API documents and error codes;
#  - `promtool check metrics` passes on /metrics;
#  - a real Prometheus (scrape interval 1 s) scrapes watch while a lab
#    outage happens; PromQL through its HTTP API returns lightsout_target_up
#    (1 now, 0 at some point during the outage);
#  - headless Chromium renders the dashboard (networks, an SVG timeline,
#    the incident), the network page and the incident page with no console
#    errors, and takes a screenshot (copied to /tmp/lightsout-dashboard.png);
#  - an SMTP banner holding <script>, " and & appears escaped in HTML and
#    JSON.
#
# Lab (namespaces $P-v, $P-r, $P-s; veths exist only inside them):
#
#   v 192.0.2.2 ── 192.0.2.1 r 198.51.100.1 ── 198.51.100.2 s
#   watch, Prometheus, Chromium,              198.18.10.1, .15 (NSD), .70 (hostile SMTP),
#   curl: all on v's own 127.0.0.1             .71, .72 (web), 198.18.20.1 (web)
#
# The outage is made on the wire: nftables in s drops everything to
# 198.18.10.0/24 until the detector has opened the incident, then the
# table is deleted and the incident closes.  The router r is the control.
set -u
here=$(cd "$(dirname "$0")" && pwd)
P=lo7h
. "$here/serve_lib.bash"
sl_begin serve-http 140
pbase=http://127.0.0.1:9090
code() { vx curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }

# ---- the lab
sl_lab_up 198.18.10.1 198.18.10.15 198.18.10.70 198.18.10.71 198.18.10.72 198.18.20.1

# ---- the servers
cat >"$work/kp.zone" <<'ZONE'
$ORIGIN kp.
$TTL 300
@	IN SOA ns1.kp. hostmaster.kp. 2026012601 3600 600 86400 300
@	IN NS ns1.kp.
ns1	IN A 198.18.10.15
ZONE
cat >"$work/nsd.conf" <<CONF
server:
	ip-address: 198.18.10.15
	port: 53
	username: ""
	database: ""
	pidfile: "$work/nsd.pid"
	xfrdfile: "$work/xfrd.state"
	zonelistfile: "$work/zone.list"
	zonesdir: "$work"
	logfile: "$work/nsd.log"
	verbosity: 1
remote-control:
	control-enable: no
zone:
	name: "kp."
	zonefile: "kp.zone"
CONF
sx nsd -c "$work/nsd.conf" || echo "# nsd did not start: $(cat "$work/nsd.log" 2>/dev/null)"
hostile='<script>alert("x")</script> & co'
sx python3 "$here/serve_lab.py" smtp 198.18.10.70 25 "$hostile" >>"$work/servers.log" 2>&1 &
for a in 198.18.10.71 198.18.10.72 198.18.20.1; do
	sx python3 "$here/serve_lab.py" http $a 80 >>"$work/servers.log" 2>&1 &
done
up_from_v() { vx curl -s --max-time 1 -o /dev/null http://198.18.10.72/ && vx curl -s --max-time 1 -o /dev/null http://198.18.10.71/ &&
	vx curl -s --max-time 1 -o /dev/null http://198.18.20.1/ && vx bash -c 'exec 3<>/dev/tcp/198.18.10.70/25' 2>/dev/null &&
	vx dig +time=1 +tries=1 +norec @198.18.10.15 kp. SOA >/dev/null 2>&1; }
wait_until 20 up_from_v || give_up "the lab's servers do not answer from v: $(cat "$work/servers.log")"

# ---- watch, and a Prometheus scraping it from the start
cat >"$work/lo.yaml" <<YAML
vantage: lab-1
store: $work/lo.db
listen: 127.0.0.1:9470
interval: 500ms
timeout: 400ms
detect: {down_after: 2, up_after: 2}
networks:
  - name: north-korea
    prefixes: [198.18.10.0/24]
    targets:
      - {name: kcna, role: web, kind: tcp, host: 198.18.10.71, port: 80}
      - {name: naenara, role: web, kind: http, url: "http://198.18.10.72/", contains: "hello"}
      - {name: silibank, role: mail, kind: smtp, host: 198.18.10.70}
      - {name: ns1, role: dns, kind: dns, server: 198.18.10.15, query: "kp. SOA"}
      - {name: gw, role: router, kind: icmp, host: 198.18.10.1, count: 1}
  - name: other
    prefixes: [198.18.20.0/24]
    targets:
      - {name: www, role: web, kind: tcp, host: 198.18.20.1, port: 80}
controls:
  - {name: ctl-1, kind: icmp, host: 192.0.2.1, count: 1}
YAML
check "check-config accepts the lab configuration" "$LIGHTSOUT" check-config -c "$work/lo.yaml"
# not through vx: $! must be watch itself (ip netns exec execs it)
ip netns exec $V "$LIGHTSOUT" watch -c "$work/lo.yaml" >"$work/watch.log" 2>&1 &
watch_pid=$!
cat >"$work/prom.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: lightsout
    static_configs: [{targets: ["127.0.0.1:9470"]}]
YAML
vx prometheus --config.file="$work/prom.yml" --storage.tsdb.path="$work/prom-data" \
	--web.listen-address=127.0.0.1:9090 --log.level=warn >"$work/prom.log" 2>&1 &

wait_until 20 healthy || give_up "watch does not serve /healthz: $(tail -5 "$work/watch.log")"
echo "# watch serving on $base in $V ($(($(date +%s) - t0)) s)"
all_up() { [ "$(states)" = "north-korea:up=5 other:up=1" ]; }
check "every lab target comes up" wait_until 20 all_up
# promql_is QUERY VALUE: the query has one series, of that value now
promql_is() { vx curl -s --max-time 5 -G "$pbase/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d["data"]["result"]
assert d["status"] == "success" and len(r) == 1 and r[0]["value"][1] == sys.argv[1], d' "$2" 2>/dev/null; }
# Prometheus scrapes before the outage starts, so it sees it
prom_scraping() { vx curl -s --max-time 5 -G "$pbase/api/v1/query" --data-urlencode 'query=lightsout_up' | grep -q '"1"\]'; }
check "Prometheus scrapes watch" wait_until 30 prom_scraping
echo "# states: $(states)"

# ---- the outage, on the wire
incident_state() { get $base/api/v1/incidents | python3 -c '
import json, sys
inc = json.load(sys.stdin)["incidents"]
print(" ".join("%s:%s" % (i["network"], "open" if i["end"] is None else "closed") for i in inc))' 2>/dev/null; }
metric_is() { get $base/metrics | grep -qxF "$1"; }
sx nft -f - <<'NFT'
table inet lo7drop {
	chain input_drop {
		type filter hook input priority 0; policy accept;
		ip daddr 198.18.10.0/24 drop
	}
}
NFT
echo "# outage started ($(($(date +%s) - t0)) s)"
opened() { [ "$(incident_state)" = "north-korea:open" ]; }
check "outage: the incident opens" wait_until 30 opened
check "outage: /metrics shows kcna down" wait_until 10 metric_is 'lightsout_target_up{network="north-korea",target="kcna",role="web",kind="tcp"} 0'
check "outage: /metrics shows the open incident" bash -c "ip netns exec $V curl -s --max-time 10 $base/metrics | grep -Eq '^lightsout_incident_open\\{network=\"north-korea\",cause=\"[a-z]+\"\\} 1$'"
check "outage: the other network stays up" metric_is 'lightsout_target_up{network="other",target="www",role="web",kind="tcp"} 1'
# Prometheus has scraped the dark target before the heal (checked below)
wait_until 15 promql_is 'min_over_time(lightsout_target_up{network="north-korea",target="kcna"}[10m])' 0 ||
	echo "# Prometheus has not scraped kcna down"
sx nft delete table inet lo7drop
echo "# outage healed ($(($(date +%s) - t0)) s)"
closed() { [ "$(incident_state)" = "north-korea:closed" ]; }
check "heal: the incident closes" wait_until 30 closed
check "heal: every target is up again" wait_until 20 all_up
echo "# incident: $(get $base/api/v1/incidents/1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["cause"], d["start"], d["end"], " ".join("%s@%s" % (p["event"], p["at"][17:23]) for p in d["phases"]))' 2>&1)"

# ---- plain HTTP behaviour
check "/healthz is 200 ok" test "$(get -w ' %{http_code}' $base/healthz)" = $'ok\n 200'
check "POST is 405 with Allow" bash -c "ip netns exec $V curl -s --max-time 10 -D - -o /dev/null -X POST $base/ | tr -d '\\r' >'$work/405.txt'; grep -q '^HTTP/1.1 405' '$work/405.txt' && grep -qi '^Allow: GET, HEAD$' '$work/405.txt'"
check "unknown path is 404" test "$(code $base/nope)" = 404
check "HEAD / is 200 without body" test "$(vx curl -s --max-time 10 -I -o /dev/null -w '%{http_code} %{size_download}' $base/)" = "200 0"
check "request with a body is refused (413)" test "$(code -X GET --data x $base/)" = 413

# ---- /metrics
get $base/metrics >"$work/metrics.txt"
check "promtool check metrics passes" bash -c "promtool check metrics <'$work/metrics.txt' >'$work/promtool.txt' 2>&1"
[ -s "$work/promtool.txt" ] && sed 's/^/# promtool: /' "$work/promtool.txt"
check "/metrics has lightsout_target_up with the SPEC labels" \
	grep -qxF 'lightsout_target_up{network="north-korea",target="kcna",role="web",kind="tcp"} 1' "$work/metrics.txt"
check "/metrics: the incident is closed" bash -c "! grep -Eq '^lightsout_incident_open\\{network=\"north-korea\".*\\} 1$' '$work/metrics.txt'"
check "/metrics counts timeouts of the outage" grep -Eq '^lightsout_probes_total\{kind="tcp",outcome="timeout"\} [1-9]' "$work/metrics.txt"
for m in lightsout_target_rtt_seconds lightsout_target_loss_ratio lightsout_network_targets lightsout_network_prefixes \
	lightsout_incident_open lightsout_probes_total lightsout_store_queue_depth lightsout_store_dropped_total \
	lightsout_build_info lightsout_up; do
	check "/metrics has $m" grep -q "^${m}[{ ]" "$work/metrics.txt"
done

# ---- JSON API
get $base/api/v1/incidents >"$work/incidents.json"
check "/api/v1/incidents holds the lab incident" python3 - "$work/incidents.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
inc = d["incidents"]
assert d["vantage"] == "lab-1" and len(inc) == 1, d
i = inc[0]
assert i["id"] == 1 and i["network"] == "north-korea" and i["end"] is not None and i["duration_s"] > 0, i
ev = [p["event"] for p in i["phases"]]
assert "first_down" in ev and ev[-1] == "all_up", ev
assert {t["name"] for t in i["targets"]} >= {"kcna", "gw"}, i["targets"]
PY
check "/api/v1/incidents?network=other is empty" bash -c "ip netns exec $V curl -s --max-time 10 '$base/api/v1/incidents?network=other' | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"incidents\"] == []'"
check "/api/v1/incidents?since=bad is 400 with a JSON error" bash -c "[ \$(ip netns exec $V curl -s --max-time 10 -o '$work/e400.json' -w '%{http_code}' '$base/api/v1/incidents?since=bad') = 400 ] && python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))[\"error\"]' '$work/e400.json'"
check "/api/v1/incidents/1 is the incident" bash -c "ip netns exec $V curl -s --max-time 10 $base/api/v1/incidents/1 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"id\"] == 1 and d[\"cause\"] and d[\"network\"] == \"north-korea\", d'"
check "/api/v1/incidents/99 is 404 with a JSON error" bash -c "[ \$(ip netns exec $V curl -s --max-time 10 -o '$work/e404.json' -w '%{http_code}' $base/api/v1/incidents/99) = 404 ] && python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))[\"error\"]' '$work/e404.json'"
check "/api/v1/incidents/abc is 400 or 404" bash -c "c=\$(ip netns exec $V curl -s --max-time 10 -o /dev/null -w '%{http_code}' $base/api/v1/incidents/abc); [ \$c = 400 ] || [ \$c = 404 ]"
check "series of up per role has values and the outage" bash -c "ip netns exec $V curl -s --max-time 10 '$base/api/v1/networks/north-korea/series?signal=up&since=10m' | python3 -c '
import json,sys
d=json.load(sys.stdin)
roles={s[\"role\"]: [p[1] for p in s[\"points\"] if p[1] is not None] for s in d[\"series\"]}
assert set(roles) == {\"web\",\"mail\",\"dns\",\"router\"}, roles
assert 1.0 in roles[\"router\"] and 0.0 in roles[\"router\"], roles[\"router\"]'"
check "series of rtt is in seconds" bash -c "ip netns exec $V curl -s --max-time 10 '$base/api/v1/networks/north-korea/series?signal=rtt&since=5m&step=1m' | python3 -c '
import json,sys
d=json.load(sys.stdin)
v=[p[1] for s in d[\"series\"] for p in s[\"points\"] if p[1] is not None]
assert d[\"unit\"] == \"seconds\" and d[\"step_s\"] == 60 and v and all(0 < x < 0.4 for x in v), d'"
check "series with a bad signal is 400" test "$(code "$base/api/v1/networks/north-korea/series?signal=x")" = 400
check "series of an unknown network is 404" test "$(code "$base/api/v1/networks/nowhere/series?signal=up")" = 404

# ---- escaping: the hostile SMTP banner in HTML and JSON
get "$base/network/north-korea?window=6h" >"$work/network.html"
get $base/api/v1/status >"$work/status.json"
get $base/ >"$work/index.html"
get $base/incident/1 >"$work/incident.html"
check "hostile banner escaped in HTML" grep -qF '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co' "$work/network.html"
check "no raw <script> in any page" bash -c "! grep -qi '<script' '$work/network.html' '$work/index.html' '$work/incident.html'"
check "hostile banner escaped in JSON (and round-trips)" bash -c "grep -qF '\\u003cscript\\u003ealert(\\\"x\\\")\\u003c/script\\u003e \\u0026 co' '$work/status.json' && python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
t=[t for t in d[\"networks\"][0][\"targets\"] if t[\"name\"]==\"silibank\"][0]
assert sys.argv[2] in t[\"last\"][\"detail\"], t' '$work/status.json' '$hostile'"
check "no raw < or & in any JSON answer" bash -c "! grep -qE '[<>&]' '$work/status.json' '$work/incidents.json'"
check "/api/v1/status has the status document's shape" python3 - "$work/status.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) >= {"vantage", "generated", "networks", "controls"}, d.keys()
n = d["networks"][0]
assert n["name"] == "north-korea" and n["states"]["up"] == 5, n["states"]
assert set(n["targets"][0]) >= {"name", "role", "kind", "state", "since", "last"}
assert d["controls"][0]["name"] == "ctl-1" and d["controls"][0]["state"] == "up", d["controls"]
PY
check "/api/v1/status is the document of status --format json" bash -c "'$LIGHTSOUT' status -c '$work/lo.yaml' --format json | python3 -c '
import json,sys
a=json.load(sys.stdin); b=json.load(open(sys.argv[1]))
strip=lambda d: [(n[\"name\"], [(t[\"name\"], t[\"state\"]) for t in n[\"targets\"]]) for n in d[\"networks\"]]
assert strip(a) == strip(b), (strip(a), strip(b))' '$work/status.json'"

# ---- a real Prometheus scraped it all along
check "Prometheus scraped lightsout_target_up (PromQL via its API)" \
	wait_until 10 promql_is 'lightsout_target_up{network="north-korea",target="kcna",role="web",kind="tcp"}' 1
check "Prometheus sees the target healthy" promql_is 'up{job="lightsout"}' 1
check "PromQL: kcna was down during the outage" \
	promql_is 'min_over_time(lightsout_target_up{network="north-korea",target="kcna"}[10m])' 0
check "PromQL: the other network never went down" promql_is 'min_over_time(lightsout_target_up{network="other"}[10m])' 1
check "PromQL: every lab target counted up" \
	wait_until 10 promql_is 'sum(lightsout_network_targets{state="up",role!="control"})' 6

# ---- headless Chromium
chrome() {
	vx timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$work/chrome.XXXXXX")" --enable-logging=stderr --v=0 "$@"
}
chrome --dump-dom "$base/" >"$work/index.dom" 2>"$work/chrome-index.log"
chrome --dump-dom "$base/network/north-korea?window=6h" >"$work/network.dom" 2>"$work/chrome-network.log"
chrome --dump-dom "$base/incident/1" >"$work/incident.dom" 2>"$work/chrome-incident.log"
(cd "$work" && chrome --screenshot="$work/dashboard.png" --window-size=1000,1400 "$base/network/north-korea?window=6h" \
	2>"$work/chrome-shot.log" >/dev/null)
(cd "$work" && chrome --screenshot="$work/incident.png" --window-size=1000,1400 "$base/incident/1" \
	2>"$work/chrome-shot-incident.log" >/dev/null)
# copies for people to look at
cp "$work/dashboard.png" /tmp/lightsout-dashboard.png 2>/dev/null
cp "$work/incident.png" /tmp/lightsout-incident.png 2>/dev/null
check "Chromium: index lists the networks" bash -c "grep -q 'north-korea</a>' '$work/index.dom' && grep -q '>other</a>' '$work/index.dom'"
check "Chromium: index shows the incident" grep -q 'href="/incident/1"' "$work/index.dom"
check "Chromium: network page has SVG timelines with lines" bash -c "[ \$(grep -o '<svg' '$work/network.dom' | wc -l) -ge 3 ] && grep -q '<polyline' '$work/network.dom'"
check "Chromium: network page shows the incident band" grep -q 'incident #1' "$work/network.dom"
check "Chromium: network page lists the lab targets" bash -c "for t in kcna naenara silibank ns1 gw; do grep -q \">\$t<\" '$work/network.dom' || exit 1; done"
check "Chromium: incident page has the report" bash -c "grep -q 'went dark' '$work/incident.dom' && grep -q '<svg' '$work/incident.dom'"
check "Chromium: hostile banner rendered as text" grep -qF '&lt;script&gt;alert("x")&lt;/script&gt; &amp; co' "$work/network.dom"
check "Chromium: screenshots taken" bash -c "[ \$(stat -c %s '$work/dashboard.png' 2>/dev/null || echo 0) -gt 10000 ] && [ \$(stat -c %s '$work/incident.png' 2>/dev/null || echo 0) -gt 10000 ]"
check "Chromium: no console errors" bash -c "! cat '$work'/chrome-*.log | grep -E 'Uncaught|ERROR:CONSOLE|Refused to'"

# ---- watch stops cleanly
kill -TERM "$watch_pid" 2>/dev/null
wait "$watch_pid"
rc=$?
check "watch stops cleanly on SIGTERM (exit $rc)" test $rc -eq 0
# one line per event: an incident that grows says "updated", never "open" again
check "each incident is logged open once" bash -c "! grep -oE 'incident [0-9]+ [^ ]+ open' '$work/watch.log' | sort | uniq -d | grep -q ."
check "the outage's incident was logged open and closed" bash -c "grep -qE 'incident [0-9]+ north-korea open' '$work/watch.log' && grep -qE 'incident [0-9]+ north-korea closed' '$work/watch.log'"
check "no sanitizer report from watch" bash -c "! grep -E 'Sanitizer|runtime error:' '$work/watch.log'"
[ "$fail" -eq 0 ] || { echo "# watch.log:"; tail -20 "$work/watch.log" | sed 's/^/#   /'; }
echo "# $(($(date +%s) - t0)) s"
it_summary
