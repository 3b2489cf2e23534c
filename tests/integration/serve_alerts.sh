#!/usr/bin/env bash
# Alert delivery against real receivers on 127.0.0.1:
#  - a real prometheus-alertmanager receives the alert of an outage
#    (firing, with the labels and the explanation), then its resolution;
#  - a webhook receiver (python3 http.server) that is down for the first
#    10 s of the incident still gets the "open" notification once it is
#    back (retries with back-off), then the "close";
#  - /metrics counts the deliveries and the failed attempts.
# The outage is driven in serve-driver (synthetic probes, real detector,
# store, alert delivery and HTTP server): SIGUSR1 starts it, SIGUSR2 ends it.
set -u
: "${LIGHTSOUT:?LIGHTSOUT must name the binary}"
: "${SERVE_DRIVER:=$(dirname "$LIGHTSOUT")/tests/unit/serve/serve-driver}"
work=$(mktemp -d /tmp/lightsout-serve-alerts.XXXXXX)
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
# wait_until SECONDS CMD...: polls every 0.5 s
wait_until() { local n=$(($1 * 2)); shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.5; done; return 1; }

amport=$(free_port)
whport=$(free_port)
cat >"$work/am.yml" <<YAML
route: {receiver: "null", group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
receivers: [{name: "null"}]
YAML
prometheus-alertmanager --config.file="$work/am.yml" --storage.path="$work/am-data" \
	--web.listen-address="127.0.0.1:$amport" --cluster.listen-address= --log.level=warn >"$work/am.log" 2>&1 &
pids+=($!)
wait_until 20 curl -sf "http://127.0.0.1:$amport/-/ready" -o /dev/null || echo "# alertmanager not ready"

cat >"$work/hook.py" <<'PY'
import http.server, sys
out = open(sys.argv[2], "a")
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 1 << 20))
        out.write(body.decode() + "\n"); out.flush()
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY

cat >"$work/al.yaml" <<YAML
vantage: lab-1
store: $work/al.db
listen: 127.0.0.1:0
interval: 1s
timeout: 500ms
detect: {down_after: 2, up_after: 2}
networks:
  - name: north-korea
    targets:
      - {name: kcna, role: web, kind: tcp, host: 198.18.10.71, port: 80}
      - {name: silibank, role: mail, kind: smtp, host: 198.18.10.70}
      - {name: gw, role: router, kind: icmp, host: 198.18.10.1}
  - name: other
    targets:
      - {name: www, role: web, kind: tcp, host: 198.18.20.1, port: 80}
controls:
  - {name: ctl-1, kind: icmp, host: 192.0.2.1}
alerts:
  - {kind: webhook, url: "http://127.0.0.1:$amport/api/v2/alerts", format: alertmanager}
  - {kind: webhook, url: "http://127.0.0.1:$whport/hook", max_age: 10m}
YAML

"$SERVE_DRIVER" "$work/al.yaml" --history 40 --history-outage 0 --port-file "$work/port" >"$work/driver.log" 2>&1 &
driver=$!
pids+=($driver)
wait_until 10 test -s "$work/port"
base=http://127.0.0.1:$(cat "$work/port")

am_alerts() { curl -s "http://127.0.0.1:$amport/api/v2/alerts?filter=network%3D%22north-korea%22"; }
am_firing() { am_alerts | python3 -c '
import json,sys
a=json.load(sys.stdin)
assert len(a)==1 and a[0]["status"]["state"]=="active", a
l=a[0]["labels"]
assert l["alertname"]=="LightsoutIncident" and l["network"]=="north-korea" and l["vantage"]=="lab-1" and l["cause"], l
assert "north-korea" in a[0]["annotations"]["description"], a[0]["annotations"]' 2>/dev/null; }
am_gone() { [ "$(am_alerts | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ]; }
am_resolved_count() { curl -s "http://127.0.0.1:$amport/metrics" | awk '/^alertmanager_alerts_received_total\{status="resolved"/ {s+=$2} END {print s+0}'; }
hook_has() { [ -s "$work/hook.log" ] && python3 - "$work/hook.log" "$1" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert any(e["event"] == sys.argv[2] and e["incident"]["network"] == "north-korea" and e["vantage"] == "lab-1"
           and e["text"] for e in evs), evs
PY
}

check "no alert before the outage" am_gone
sleep 2
kill -USR1 "$driver"
echo "# outage started"
check "Alertmanager receives the firing alert" wait_until 30 am_firing
check "webhook receiver is down: failures are counted" wait_until 15 bash -c "curl -s $base/metrics | grep -Eq '^lightsout_alert_failures_total\\{receiver=\"1\",format=\"json\"\\} [1-9]'"
sleep 10  # the receiver stays down at least 10 s after the alert is due
python3 "$work/hook.py" "$whport" "$work/hook.log" &
pids+=($!)
echo "# webhook receiver up"
check "webhook gets the open notification after coming back" wait_until 40 hook_has open
resolved_before=$(am_resolved_count)
kill -USR2 "$driver"
echo "# outage ended"
check "Alertmanager gets the resolution (alert no longer active)" wait_until 30 am_gone
check "Alertmanager counted a resolved alert" bash -c "[ \$(curl -s http://127.0.0.1:$amport/metrics | awk '/^alertmanager_alerts_received_total\\{status=\"resolved\"/ {s+=\$2} END {print s+0}') -gt $resolved_before ]"
check "webhook gets the close notification" wait_until 30 hook_has close
check "webhook notifications arrive in order" python3 - "$work/hook.log" <<'PY'
import json, sys
evs = [json.loads(l)["event"] for l in open(sys.argv[1]) if l.strip()]
assert evs.index("open") < evs.index("close"), evs
PY
curl -s "$base/metrics" >"$work/metrics.txt"
check "/metrics counts delivered alerts" grep -Eq '^lightsout_alerts_sent_total\{receiver="1",format="json"\} [2-9]' "$work/metrics.txt"
check "/metrics: nothing dropped, nothing queued" bash -c "grep -Eq '^lightsout_alerts_dropped_total\\{receiver=\"1\",format=\"json\"\\} 0$' '$work/metrics.txt' && grep -Eq '^lightsout_alert_queue_depth\\{receiver=\"1\",format=\"json\"\\} 0$' '$work/metrics.txt'"
check "promtool accepts /metrics with alert counters" bash -c "promtool check metrics <'$work/metrics.txt'"

kill -TERM "$driver" 2>/dev/null
wait "$driver" 2>/dev/null
check "serve-driver stops cleanly" test $? -eq 0
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
