#!/usr/bin/env bash
# Alert delivery of a real `lightsout watch` in a lab, to real receivers:
#  - a real prometheus-alertmanager receives the alert of a lab outage
#    (firing, with the labels and the explanation), then its resolution;
#  - a webhook receiver (serve_lab.py hook) that is down from before the
#    incident opens until at least 10 s after its first failed delivery
#    still gets the "open" and the "close" notifications once it is back,
#    in that order (the outage is healed while it is still down);
#  - /metrics counts the deliveries, the failed attempts, nothing dropped.
#
# Lab (namespaces $P-v, $P-r, $P-s; veths exist only inside them):
#
#   v 192.0.2.2 ── 192.0.2.1 r 198.51.100.1 ── 198.51.100.2 s
#   watch, Alertmanager, the webhook            198.18.10.1, .70 (SMTP), .71 (web),
#   receiver: all on v's own 127.0.0.1          198.18.20.1 (web)
#
# The outage is made on the wire: nftables in s drops everything to
# 198.18.10.0/24; deleting the table heals it.  The router r is the control.
set -u
here=$(cd "$(dirname "$0")" && pwd)
P=lo7a
. "$here/serve_lib.bash"
sl_begin serve-alerts 140
ambase=http://127.0.0.1:9093

# ---- the lab
sl_lab_up 198.18.10.1 198.18.10.70 198.18.10.71 198.18.20.1

# ---- the servers
sx python3 "$here/serve_lab.py" smtp 198.18.10.70 25 "mail.north-korea.lab ESMTP" >>"$work/servers.log" 2>&1 &
for a in 198.18.10.71 198.18.20.1; do
	sx python3 "$here/serve_lab.py" http $a 80 >>"$work/servers.log" 2>&1 &
done
up_from_v() { vx curl -s --max-time 1 -o /dev/null http://198.18.10.71/ && vx curl -s --max-time 1 -o /dev/null http://198.18.20.1/ &&
	vx bash -c 'exec 3<>/dev/tcp/198.18.10.70/25' 2>/dev/null; }
wait_until 20 up_from_v || give_up "the lab's servers do not answer from v: $(cat "$work/servers.log")"

# ---- Alertmanager (in v, where watch posts to it)
cat >"$work/am.yml" <<YAML
route: {receiver: "null", group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
receivers: [{name: "null"}]
YAML
vx prometheus-alertmanager --config.file="$work/am.yml" --storage.path="$work/am-data" \
	--web.listen-address=127.0.0.1:9093 --cluster.listen-address= --log.level=warn >"$work/am.log" 2>&1 &
am_ready() { vx curl -sf --max-time 2 -o /dev/null $ambase/-/ready; }
wait_until 20 am_ready || give_up "alertmanager not ready: $(tail -5 "$work/am.log")"

# ---- watch
cat >"$work/al.yaml" <<YAML
vantage: lab-1
store: $work/al.db
listen: 127.0.0.1:9470
interval: 500ms
timeout: 400ms
detect: {down_after: 2, up_after: 2}
networks:
  - name: north-korea
    prefixes: [198.18.10.0/24]
    targets:
      - {name: kcna, role: web, kind: tcp, host: 198.18.10.71, port: 80}
      - {name: silibank, role: mail, kind: smtp, host: 198.18.10.70}
      - {name: gw, role: router, kind: icmp, host: 198.18.10.1, count: 1}
  - name: other
    prefixes: [198.18.20.0/24]
    targets:
      - {name: www, role: web, kind: tcp, host: 198.18.20.1, port: 80}
controls:
  - {name: ctl-1, kind: icmp, host: 192.0.2.1, count: 1}
alerts:
  - {kind: webhook, url: "http://127.0.0.1:9093/api/v2/alerts", format: alertmanager}
  - {kind: webhook, url: "http://127.0.0.1:9099/hook", max_age: 10m}
YAML
check "check-config accepts the lab configuration" "$LIGHTSOUT" check-config -c "$work/al.yaml"
# not through vx: $! must be watch itself (ip netns exec execs it)
ip netns exec $V "$LIGHTSOUT" watch -c "$work/al.yaml" >"$work/watch.log" 2>&1 &
watch_pid=$!
wait_until 20 healthy || give_up "watch does not serve /healthz: $(tail -5 "$work/watch.log")"
all_up() { [ "$(states)" = "north-korea:up=3 other:up=1" ]; }
check "every lab target comes up" wait_until 20 all_up
echo "# watch up, states: $(states) ($(elapsed))"

am_alerts() { get "$ambase/api/v2/alerts?filter=network%3D%22north-korea%22"; }
am_firing() { am_alerts | python3 -c '
import json, sys, datetime
a = json.load(sys.stdin)
assert len(a) == 1 and a[0]["status"]["state"] == "active", a
l = a[0]["labels"]
assert l["alertname"] == "LightsoutIncident" and l["network"] == "north-korea" and l["vantage"] == "lab-1", l
assert l["cause"] and l["incident"] == "1", l
an = a[0]["annotations"]
assert "north-korea" in an["summary"] and "north-korea went dark" in an["description"], an
assert a[0]["generatorURL"] == "http://127.0.0.1:9470/incident/1", a[0]
end = datetime.datetime.fromisoformat(a[0]["endsAt"].replace("Z", "+00:00"))
assert end > datetime.datetime.now(datetime.timezone.utc), a[0]["endsAt"]' 2>/dev/null; }
am_gone() { [ "$(am_alerts | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)" = 0 ]; }
am_received() { get $ambase/metrics | awk -v s="$1" '$0 ~ "^alertmanager_alerts_received_total\\{.*status=\"" s "\"" {n += $2} END {print n + 0}'; }
# metric NAME{LABELS}: its value in watch's /metrics (empty if absent)
metric() { get $base/metrics | awk -v k="$1" '$1 == k {print $2}'; }
hook_failures() { [ "$(metric 'lightsout_alert_failures_total{receiver="1",format="json"}')" -ge 1 ] 2>/dev/null; }
hook_events() { [ -s "$work/hook.log" ] && python3 -c '
import json, sys
print(" ".join(json.loads(l)["event"] for l in open(sys.argv[1]) if l.strip()))' "$work/hook.log" 2>/dev/null; }
hook_has() { hook_events | grep -qw "$1"; }

check "Alertmanager holds no alert before the outage" am_gone
check "no delivery failure before the outage" test "$(metric 'lightsout_alert_failures_total{receiver="1",format="json"}')" = 0

# ---- the outage, on the wire; the webhook receiver is down
sx nft -f - <<'NFT'
table inet lo7drop {
	chain input_drop {
		type filter hook input priority 0; policy accept;
		ip daddr 198.18.10.0/24 drop
	}
}
NFT
echo "# outage started ($(elapsed))"
check "Alertmanager receives the firing alert" wait_until 30 am_firing
echo "# Alertmanager firing ($(elapsed))"
check "/metrics shows the open incident" bash -c "ip netns exec $V curl -s --max-time 10 $base/metrics | grep -Eq '^lightsout_incident_open\\{network=\"north-korea\",cause=\"[a-z]+\"\\} 1$'"
check "webhook receiver is down: failures are counted" wait_until 15 hook_failures
down_since=$(date +%s)
check "the failure is logged" wait_until 5 grep -q 'alert receiver 1: POST failed' "$work/watch.log"
sleep 2 # the scenario: the alert stays firing a while before the heal
sx nft delete table inet lo7drop
echo "# outage healed, webhook receiver still down ($(elapsed))"
resolved_before=$(am_received resolved)
check "Alertmanager gets the resolution (alert no longer active)" wait_until 30 am_gone
echo "# Alertmanager resolved ($(elapsed))"
check "Alertmanager counted a resolved alert" test "$(am_received resolved)" -gt "$resolved_before"
check "Alertmanager counted the firing alert" test "$(am_received firing)" -ge 1
closed() { get $base/api/v1/incidents/1 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["end"] is not None' 2>/dev/null; }
check "the incident closes" wait_until 20 closed
check "webhook: nothing delivered while the receiver is down" test ! -s "$work/hook.log"
# the receiver stays down at least 10 s after its first failed delivery
left=$((down_since + 10 - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
vx python3 "$here/serve_lab.py" hook 127.0.0.1 9099 "$work/hook.log" >>"$work/servers.log" 2>&1 &
echo "# webhook receiver up after $(($(date +%s) - down_since)) s down ($(elapsed))"
check "webhook gets the open notification after coming back" wait_until 70 hook_has open
check "webhook gets the close notification" wait_until 20 hook_has close
echo "# webhook events: $(hook_events) ($(elapsed))"
check "webhook notifications arrive in order, once each" python3 - "$work/hook.log" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = [e["event"] for e in evs]
assert names[0] == "open" and names[-1] == "close" and names.count("open") == 1 and names.count("close") == 1, names
assert set(names) <= {"open", "cause_change", "close"}, names
for e in evs:
    assert e["version"] == 1 and e["vantage"] == "lab-1" and e["sent"].endswith("Z"), e
    i = e["incident"]
    assert i["id"] == 1 and i["network"] == "north-korea" and i["cause"], i
    assert "north-korea" in e["text"] and "incident 1" in e["text"], e["text"]
assert evs[0]["incident"]["end"] is None and evs[-1]["incident"]["end"] is not None, evs
PY

# ---- counters
get $base/metrics >"$work/metrics.txt"
m() { awk -v k="$1" '$1 == k {print $2}' "$work/metrics.txt"; }
check "/metrics counts delivered webhook alerts (open, close)" test "$(m 'lightsout_alerts_sent_total{receiver="1",format="json"}')" -ge 2
check "/metrics counts delivered Alertmanager alerts (firing, resolved)" \
	test "$(m 'lightsout_alerts_sent_total{receiver="0",format="alertmanager"}')" -ge 2
check "/metrics counts the failed attempts (several retries)" \
	test "$(m 'lightsout_alert_failures_total{receiver="1",format="json"}')" -ge 3
check "/metrics: Alertmanager never failed" test "$(m 'lightsout_alert_failures_total{receiver="0",format="alertmanager"}')" = 0
check "/metrics: nothing dropped, nothing queued" bash -c "
	for r in '{receiver=\"0\",format=\"alertmanager\"}' '{receiver=\"1\",format=\"json\"}'; do
		grep -qxF \"lightsout_alerts_dropped_total\$r 0\" '$work/metrics.txt' && grep -qxF \"lightsout_alert_queue_depth\$r 0\" '$work/metrics.txt' || exit 1
	done"
check "promtool accepts /metrics with alert counters" bash -c "promtool check metrics <'$work/metrics.txt'"

# ---- watch stops cleanly
kill -TERM "$watch_pid" 2>/dev/null
wait "$watch_pid"
rc=$?
check "watch stops cleanly on SIGTERM (exit $rc)" test $rc -eq 0
check "no sanitizer report from watch" bash -c "! grep -E 'Sanitizer|runtime error:' '$work/watch.log'"
[ "$fail" -eq 0 ] || { echo "# watch.log:"; tail -25 "$work/watch.log" | sed 's/^/#   /'; }
echo "# $(elapsed)"
it_summary
