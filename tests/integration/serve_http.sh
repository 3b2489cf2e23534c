#!/usr/bin/env bash
# The HTTP side against real clients, all on 127.0.0.1:
#  - /healthz, 405 for POST, 404, JSON API documents;
#  - `promtool check metrics` passes on /metrics;
#  - a real Prometheus (scrape interval 1 s) scrapes it and a PromQL query
#    through its HTTP API returns lightsout_target_up;
#  - headless Chromium renders the dashboard (networks, an SVG timeline,
#    an incident), the network page and the incident page with no console
#    errors, and takes a screenshot;
#  - a target whose HTTP title holds <script>, " and & appears escaped in
#    HTML and JSON.
# The server runs in serve-driver (tests/unit/serve/serve_driver.c): the
# real server, detector, store and live state with synthetic probes.
set -u
: "${LIGHTSOUT:?LIGHTSOUT must name the binary}"
: "${SERVE_DRIVER:=$(dirname "$LIGHTSOUT")/tests/unit/serve/serve-driver}"
work=$(mktemp -d /tmp/lightsout-serve-http.XXXXXX)
pass=0 fail=0
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cat >"$work/lo.yaml" <<YAML
vantage: lab-1
store: $work/lo.db
listen: 127.0.0.1:0
interval: 1s
timeout: 500ms
networks:
  - name: north-korea
    prefixes: [198.18.10.0/24]
    targets:
      - {name: kcna, role: web, kind: tcp, host: 198.18.10.71, port: 80}
      - {name: evil-web, role: web, kind: http, url: "http://198.18.10.72/"}
      - {name: silibank, role: mail, kind: smtp, host: 198.18.10.70}
      - {name: ns1, role: dns, kind: dns, server: 198.18.10.15, query: "kp. SOA"}
      - {name: gw, role: router, kind: icmp, host: 198.18.10.1}
  - name: other
    targets:
      - {name: www, role: web, kind: tcp, host: 198.18.20.1, port: 80}
controls:
  - {name: ctl-1, kind: icmp, host: 192.0.2.1}
YAML

"$SERVE_DRIVER" "$work/lo.yaml" --history 120 --port-file "$work/port" >"$work/driver.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port" 2>/dev/null)
[ -n "$port" ] || { echo "serve-driver did not start"; cat "$work/driver.log"; echo "0 passed, 1 failed"; exit 1; }
base=http://127.0.0.1:$port
echo "# serving on $base"

check "/healthz is 200 ok" bash -c "[ \"\$(curl -s -w ' %{http_code}' $base/healthz)\" = 'ok
 200' ]"
check "POST is 405 with Allow" bash -c "curl -s -D - -o /dev/null -X POST $base/ | grep -qi '^HTTP/1.1 405' && curl -s -D - -o /dev/null -X POST $base/ | grep -qi '^Allow: GET, HEAD'"
check "unknown path is 404" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $base/nope) = 404 ]"
check "HEAD / is 200 without body" bash -c "[ \"\$(curl -s -I -o /dev/null -w '%{http_code} %{size_download}' $base/)\" = '200 0' ]"
check "request with a body is refused (413)" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -X GET --data x $base/) = 413 ]"

# /metrics
curl -s "$base/metrics" >"$work/metrics.txt"
check "promtool check metrics passes" bash -c "promtool check metrics <'$work/metrics.txt' >'$work/promtool.txt' 2>&1"
[ -s "$work/promtool.txt" ] && sed 's/^/# promtool: /' "$work/promtool.txt"
check "/metrics has lightsout_target_up with the SPEC labels" \
	grep -q '^lightsout_target_up{network="north-korea",target="kcna",role="web",kind="tcp"} 1$' "$work/metrics.txt"
for m in lightsout_target_rtt_seconds lightsout_target_loss_ratio lightsout_network_targets lightsout_network_prefixes \
	lightsout_incident_open lightsout_probes_total lightsout_store_queue_depth lightsout_store_dropped_total lightsout_build_info; do
	check "/metrics has $m" grep -q "^$m[{ ]" "$work/metrics.txt"
done

# JSON API
curl -s "$base/api/v1/incidents" >"$work/incidents.json"
check "/api/v1/incidents holds the stored incident" python3 - "$work/incidents.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
inc = d["incidents"]
assert d["vantage"] == "lab-1" and len(inc) == 1, d
assert inc[0]["network"] == "north-korea" and inc[0]["end"] is not None and inc[0]["phases"], inc[0]
PY
check "/api/v1/incidents?network=other is empty" bash -c "curl -s '$base/api/v1/incidents?network=other' | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"incidents\"] == []'"
check "/api/v1/incidents?since=bad is 400" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$base/api/v1/incidents?since=bad') = 400 ]"
check "/api/v1/incidents/1 is the incident" bash -c "curl -s $base/api/v1/incidents/1 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"id\"] == 1 and d[\"cause\"], d'"
check "/api/v1/incidents/99 is 404" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $base/api/v1/incidents/99) = 404 ]"
check "series of up per role has values and the outage" bash -c "curl -s '$base/api/v1/networks/north-korea/series?signal=up&since=10m' | python3 -c '
import json,sys
d=json.load(sys.stdin)
roles={s[\"role\"]: [p[1] for p in s[\"points\"] if p[1] is not None] for s in d[\"series\"]}
assert set(roles) == {\"web\",\"mail\",\"dns\",\"router\"}, roles
assert 1.0 in roles[\"router\"] and 0.0 in roles[\"router\"], roles[\"router\"]'"
check "series of rtt is in seconds" bash -c "curl -s '$base/api/v1/networks/north-korea/series?signal=rtt&since=5m&step=1m' | python3 -c '
import json,sys
d=json.load(sys.stdin)
v=[p[1] for p in d[\"series\"][0][\"points\"] if p[1] is not None]
assert d[\"unit\"] == \"seconds\" and d[\"step_s\"] == 60 and v and all(0.019 < x < 0.03 for x in v), d'"
check "series with a bad signal is 400" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$base/api/v1/networks/north-korea/series?signal=x') = 400 ]"

# escaping: the hostile HTTP title in HTML and JSON
curl -s "$base/network/north-korea?window=6h" >"$work/network.html"
curl -s "$base/api/v1/status" >"$work/status.json"
check "hostile detail escaped in HTML" grep -qF '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co' "$work/network.html"
check "no raw <script> in any page" bash -c "! grep -qi '<script' '$work/network.html' && ! curl -s $base/ | grep -qi '<script' && ! curl -s $base/incident/1 | grep -qi '<script'"
check "hostile detail escaped in JSON (and round-trips)" bash -c "grep -qF '\\u003cscript\\u003ealert(\\\"x\\\")\\u003c/script\\u003e \\u0026 co' '$work/status.json' && python3 -c '
import json,sys
d=json.load(open(\"$work/status.json\"))
t=[t for t in d[\"networks\"][0][\"targets\"] if t[\"name\"]==\"evil-web\"][0]
assert t[\"last\"][\"detail\"] == \"HTTP 200 title <script>alert(\\\"x\\\")</script> & co\", t'"
check "/api/v1/status has the status document's shape" python3 - "$work/status.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"vantage", "generated", "networks", "controls"}, d.keys()
n = d["networks"][0]
assert set(n) == {"name", "targets", "states"} and n["states"]["up"] == 5, n["states"]
assert set(n["targets"][0]) == {"name", "role", "kind", "state", "since", "last"}
assert d["controls"][0]["name"] == "ctl-1"
PY

# a real Prometheus scrapes it
pport=$(free_port)
cat >"$work/prom.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: lightsout
    static_configs: [{targets: ["127.0.0.1:$port"]}]
YAML
prometheus --config.file="$work/prom.yml" --storage.tsdb.path="$work/prom-data" \
	--web.listen-address="127.0.0.1:$pport" --log.level=warn >"$work/prom.log" 2>&1 &
pids+=($!)
got=""
for _ in $(seq 60); do
	got=$(curl -s "http://127.0.0.1:$pport/api/v1/query?query=lightsout_target_up%7Btarget%3D%22kcna%22%7D" 2>/dev/null)
	echo "$got" | grep -q '"value"' && break
	sleep 0.5
done
check "Prometheus scraped lightsout_target_up (PromQL via its API)" python3 -c "
import json,sys
d=json.loads(sys.argv[1])
r=d['data']['result']
assert d['status']=='success' and len(r)==1 and r[0]['metric']['network']=='north-korea' and r[0]['value'][1]=='1', d" "$got"
check "Prometheus sees the target healthy" bash -c "curl -s 'http://127.0.0.1:$pport/api/v1/query?query=up%7Bjob%3D%22lightsout%22%7D' | grep -q '\"1\"\\]'"

# headless Chromium
chrome() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$work/chrome.XXXXXX")" --enable-logging=stderr --v=0 "$@"
}
chrome --dump-dom "$base/" >"$work/index.dom" 2>"$work/chrome-index.log"
chrome --dump-dom "$base/network/north-korea?window=6h" >"$work/network.dom" 2>"$work/chrome-network.log"
chrome --dump-dom "$base/incident/1" >"$work/incident.dom" 2>"$work/chrome-incident.log"
(cd "$work" && chrome --screenshot="$work/dashboard.png" --window-size=1000,1400 "$base/network/north-korea?window=6h" 2>"$work/chrome-shot.log" >/dev/null)
check "Chromium: index lists the networks" bash -c "grep -q 'north-korea</a>' '$work/index.dom' && grep -q '>other</a>' '$work/index.dom'"
check "Chromium: index shows the incident" grep -q 'href="/incident/1"' "$work/index.dom"
check "Chromium: network page has SVG timelines with lines" bash -c "[ \$(grep -o '<svg' '$work/network.dom' | wc -l) -ge 3 ] && grep -q '<polyline' '$work/network.dom'"
check "Chromium: network page shows the incident band" grep -q 'incident #1' "$work/network.dom"
check "Chromium: incident page has the report" bash -c "grep -q 'went dark' '$work/incident.dom' && grep -q '<svg' '$work/incident.dom'"
check "Chromium: hostile title rendered as text" grep -qF '&lt;script&gt;alert("x")&lt;/script&gt; &amp; co' "$work/network.dom"
check "Chromium: screenshot taken" bash -c "[ \$(stat -c %s '$work/dashboard.png' 2>/dev/null || echo 0) -gt 10000 ]"
check "Chromium: no console errors" bash -c "! cat '$work'/chrome-*.log | grep -E 'Uncaught|ERROR:CONSOLE|Refused to'"

kill -TERM "${pids[0]}" 2>/dev/null
wait "${pids[0]}" 2>/dev/null
check "serve-driver stops cleanly" test $? -eq 0
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
