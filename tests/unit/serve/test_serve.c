/* Unit tests of src/serve: escaping, routes, listen addresses, live state
 * and its timelines, /metrics rendering, the status document, pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "render/render.h"
#include "bgp/bgp.h"
#include "config/config.h"
#include "core/ev.h"
#include "core/jfield.h"
#include "serve/http.h"
#include "serve/live.h"
#include "serve/render.h"
#include "serve/status_doc.h"
#include "store/store.h"

static const char cfg_yaml[] = "vantage: lab-1\n"
			       "store: /nonexistent/never-opened.db\n"
			       "listen: 127.0.0.1:0\n"
			       "interval: 60s\n"
			       "networks:\n"
			       "  - name: north-korea\n"
			       "    prefixes: [198.18.10.0/24, 198.18.11.0/24]\n"
			       "    targets:\n"
			       "      - {name: kcna, role: web, kind: tcp, host: 198.18.10.71, port: 80}\n"
			       "      - {name: gw, role: router, kind: icmp, host: 198.18.10.1}\n"
			       "  - name: net_2\n"
			       "    targets:\n"
			       "      - {name: www, role: web, kind: http, url: \"http://198.18.20.1/\"}\n"
			       "controls:\n"
			       "  - {name: ctl-1, kind: icmp, host: 192.0.2.1}\n"
			       "alerts:\n"
			       "  - {kind: webhook, url: \"http://127.0.0.1:1/\", format: alertmanager}\n";

static struct config *load_cfg(void)
{
	char err[512] = "";
	struct config *cfg = config_parse("test.yaml", cfg_yaml, strlen(cfg_yaml), err, sizeof(err));

	if (!cfg)
		fprintf(stderr, "%s\n", err);
	assert_non_null(cfg);
	return cfg;
}

/* Runs fn(out, arg) into a string. */
static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, arg);
	fclose(f);
	return buf;
}

static void html_fn(FILE *f, const void *s)
{
	render_html_escape(f, s);
}
static void prom_fn(FILE *f, const void *s)
{
	serve_prom_escape(f, s);
}
static void url_fn(FILE *f, const void *s)
{
	serve_url_escape(f, s);
}

static void t_escape(void **state)
{
	(void)state;
	char *s = capture(html_fn, "<script>alert(\"x&y\")</script>'\x01");
	assert_string_equal(s, "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;");
	free(s);
	s = capture(prom_fn, "a\"b\\c\nd<script>&");
	assert_string_equal(s, "a\\\"b\\\\c\\nd<script>&");
	free(s);
	s = capture(url_fn, "net/2 \"<&>\"");
	assert_string_equal(s, "net%2F2%20%22%3C%26%3E%22");
	free(s);
}

static void t_routes(void **state)
{
	(void)state;
	struct config *cfg = load_cfg();
	struct serve_request r;

	serve_route_parse(cfg, "/", &r);
	assert_int_equal(r.route, SERVE_ROUTE_INDEX);
	serve_route_parse(cfg, "/metrics", &r);
	assert_int_equal(r.route, SERVE_ROUTE_METRICS);
	serve_route_parse(cfg, "/healthz", &r);
	assert_int_equal(r.route, SERVE_ROUTE_HEALTHZ);
	serve_route_parse(cfg, "/api/v1/status", &r);
	assert_int_equal(r.route, SERVE_ROUTE_API_STATUS);
	serve_route_parse(cfg, "/api/v1/incidents", &r);
	assert_int_equal(r.route, SERVE_ROUTE_API_INCIDENTS);
	serve_route_parse(cfg, "/api/v1/incidents/42", &r);
	assert_int_equal(r.route, SERVE_ROUTE_API_INCIDENT);
	assert_int_equal(r.id, 42);
	serve_route_parse(cfg, "/api/v1/incidents/4x", &r);
	assert_int_equal(r.route, SERVE_ROUTE_NOT_FOUND);
	serve_route_parse(cfg, "/api/v1/incidents/0", &r);
	assert_int_equal(r.route, SERVE_ROUTE_NOT_FOUND);
	serve_route_parse(cfg, "/api/v1/incidents/1234567890123456789", &r);
	assert_int_equal(r.route, SERVE_ROUTE_NOT_FOUND);
	serve_route_parse(cfg, "/api/v1/networks/north-korea/series", &r);
	assert_int_equal(r.route, SERVE_ROUTE_API_SERIES);
	assert_int_equal(r.network, 0);
	serve_route_parse(cfg, "/api/v1/networks/net_2/series", &r);
	assert_int_equal(r.route, SERVE_ROUTE_API_SERIES);
	assert_int_equal(r.network, 1);
	serve_route_parse(cfg, "/network/net_2", &r);
	assert_int_equal(r.route, SERVE_ROUTE_NETWORK_PAGE);
	assert_int_equal(r.network, 1);
	serve_route_parse(cfg, "/api/v1/networks/nowhere/series", &r);
	assert_int_equal(r.route, SERVE_ROUTE_NOT_FOUND);
	serve_route_parse(cfg, "/api/v1/networks//series", &r);
	assert_int_equal(r.route, SERVE_ROUTE_NOT_FOUND);
	serve_route_parse(cfg, "/incident/7", &r);
	assert_int_equal(r.route, SERVE_ROUTE_INCIDENT_PAGE);
	assert_int_equal(r.id, 7);
	serve_route_parse(cfg, "/../etc/passwd", &r);
	assert_int_equal(r.route, SERVE_ROUTE_NOT_FOUND);
	serve_route_parse(cfg, NULL, &r);
	assert_int_equal(r.route, SERVE_ROUTE_NOT_FOUND);

	assert_int_equal(serve_window_ms("6h"), 6 * 3600000LL);
	assert_int_equal(serve_window_ms("30d"), 30 * 86400000LL);
	assert_int_equal(serve_window_ms("5h"), -1);
	assert_int_equal(serve_window_ms(NULL), -1);
	config_free(cfg);
}

static struct measurement meas(uint32_t target, int64_t at, enum outcome o, double rtt, const char *detail)
{
	struct measurement m;

	memset(&m, 0, sizeof(m));
	m.target = target;
	m.round = (uint32_t)(at / 60000);
	m.at_ms = at;
	m.outcome = o;
	m.rtt_ms = rtt;
	m.loss = o == OUTCOME_OK ? 0.0f : 1.0f;
	snprintf(m.detail, sizeof(m.detail), "%s", detail);
	return m;
}

#define T0 INT64_C(1769418000000) /* 2026-01-26T09:00:00Z, a round boundary */

static void t_live_series(void **state)
{
	(void)state;
	struct config *cfg = load_cfg();
	struct serve_live *l = serve_live_new(cfg);
	struct serve_point *p = NULL;
	size_t n = 0;
	int64_t step = 0;

	assert_non_null(l);
	/* 10 rounds: web up always; router down in rounds 5..9 */
	for (int r = 0; r < 10; r++) {
		struct measurement a = meas(0, T0 + r * 60000, OUTCOME_OK, 10 + r, "ok");
		struct measurement b = meas(1, T0 + r * 60000 + 5, r >= 5 ? OUTCOME_TIMEOUT : OUTCOME_OK, 30, "x");
		serve_live_measurement(l, &a, STATE_UP);
		serve_live_measurement(l, &b, r >= 7 ? STATE_DOWN : STATE_UP);
	}
	assert_int_equal(serve_live_series(l, 0, T0, T0 + 10 * 60000, 0, 100, &p, &n, &step), 0);
	assert_int_equal(step, 60000);
	assert_int_equal(n, 10);
	assert_int_equal(p[0].t_ms, T0);
	assert_int_equal(p[0].seen[ROLE_WEB], 1);
	assert_int_equal(p[0].ok[ROLE_ROUTER], 1);
	assert_int_equal(p[6].ok[ROLE_ROUTER], 0);
	assert_int_equal(p[6].seen[ROLE_ROUTER], 1);
	assert_int_equal(p[3].rtt_n, 2);
	assert_true(p[3].rtt_sum > 42.9 && p[3].rtt_sum < 43.1); /* 13 + 30 */
	free(p);
	/* coarser step merges rounds: 5 min buckets */
	assert_int_equal(serve_live_series(l, 0, T0, T0 + 10 * 60000, 5 * 60000, 100, &p, &n, &step), 0);
	assert_int_equal(step, 5 * 60000);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].seen[ROLE_ROUTER], 5);
	assert_int_equal(p[0].ok[ROLE_ROUTER], 5);
	assert_int_equal(p[1].ok[ROLE_ROUTER], 0);
	free(p);
	/* max_points bounds the answer */
	assert_int_equal(serve_live_series(l, 0, T0, T0 + 10 * 60000, 0, 3, &p, &n, &step), 0);
	assert_true(n <= 3);
	free(p);
	/* a month back is answered from the coarse tier */
	assert_int_equal(serve_live_series(l, 0, T0 - 30 * 86400000LL, T0 + 10 * 60000, 0, 1000, &p, &n, &step), 0);
	assert_true(n <= 1000);
	assert_true(step >= 16 * 60000);
	uint32_t seen = 0;
	for (size_t i = 0; i < n; i++)
		seen += p[i].seen[ROLE_WEB];
	assert_int_equal(seen, 10);
	free(p);
	assert_int_equal(serve_live_series(l, 5, T0, T0 + 1, 0, 10, &p, &n, &step), -1);
	assert_int_equal(serve_live_series(l, 0, T0, T0, 0, 10, &p, &n, &step), -1);

	/* snapshot: states, last round, incidents */
	struct serve_snapshot s;
	serve_live_incident(l, 3, "north-korea", true, "power", "{\"id\":3}");
	serve_live_incident(l, 4, NULL, true, "vantage", "{\"id\":4}");
	serve_live_incident(l, 3, "north-korea", true, "stress", "{\"id\":3,\"x\":1}");
	assert_int_equal(serve_live_snapshot(l, &s, true), 0);
	assert_int_equal(s.ntargets, cfg->ntargets);
	assert_int_equal(s.targets[1].state, STATE_DOWN);
	assert_int_equal(s.targets[1].since_ms, T0 + 7 * 60000 + 5);
	assert_int_equal(s.targets[1].last_outcome, OUTCOME_TIMEOUT);
	assert_true(s.targets[1].last_rtt_ms < 0);
	assert_int_equal(s.probes[KIND_ICMP][OUTCOME_TIMEOUT], 5);
	assert_int_equal(s.probes[KIND_TCP][OUTCOME_OK], 10);
	assert_int_equal(s.nincidents, 2);
	assert_string_equal(s.incidents[0].cause, "stress");
	assert_string_equal(s.incidents[0].json, "{\"id\":3,\"x\":1}");
	assert_string_equal(s.incidents[1].network, "");
	serve_snapshot_free(&s);
	serve_live_incident(l, 3, "north-korea", false, "stress", "{}");
	assert_int_equal(serve_live_snapshot(l, &s, false), 0);
	assert_int_equal(s.nincidents, 1);
	assert_int_equal(s.incidents[0].id, 4);
	assert_null(s.targets);
	serve_snapshot_free(&s);
	serve_live_free(l);
	config_free(cfg);
}

struct metrics_arg {
	const struct config *cfg;
	const struct serve_snapshot *s;
	const struct store_stats *ss;
};

static void metrics_fn(FILE *f, const void *a)
{
	const struct metrics_arg *m = a;
	serve_metrics_render(f, m->cfg, m->s, m->ss, "0.1.0");
}

/* Every non-comment line is NAME{labels} VALUE or NAME VALUE; every
 * metric has HELP and TYPE before its samples. */
static void check_exposition(const char *text)
{
	char *copy = strdup(text), *save = NULL, typed[128] = "";

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			sscanf(line + 7, "%127s", typed);
			continue;
		}
		assert_true(strncmp(line, typed, strlen(typed)) == 0);
		char c = line[strlen(typed)];
		assert_true(c == '{' || c == ' ');
		char *sp = strrchr(line, ' ');
		assert_non_null(sp);
		char *end;
		strtod(sp + 1, &end);
		assert_true(*end == 0);
	}
	free(copy);
}

static void t_metrics(void **state)
{
	(void)state;
	struct config *cfg = load_cfg();
	struct serve_live *l = serve_live_new(cfg);
	struct serve_snapshot s;
	struct measurement a = meas(0, T0, OUTCOME_OK, 12.5, "ok"), b = meas(1, T0, OUTCOME_TIMEOUT, -1, "t");

	serve_live_measurement(l, &a, STATE_UP);
	serve_live_measurement(l, &b, STATE_DOWN);
	serve_live_incident(l, 9, "north-korea", true, "power", "{}");
	serve_live_rounds_missed(l, 15);
	serve_live_bgp(l, 0, 2, 1);
	serve_live_running(l, true);
	assert_int_equal(serve_live_snapshot(l, &s, true), 0);
	assert_int_equal(s.nalerts, 1);
	assert_int_equal(s.alerts[0].sent, 0); /* no alert attached: zeros */
	s.alerts[0] = (struct alert_stats){5, 2, 1, 4};
	struct store_stats ss = {.queue_depth = 17, .dropped[STORE_BGP_EVENT] = 3, .write_errors = 2};
	struct metrics_arg ma = {cfg, &s, &ss};
	char *text = capture(metrics_fn, &ma);
	check_exposition(text);
	assert_non_null(strstr(text, "# TYPE lightsout_target_up gauge\n"));
	assert_non_null(
	    strstr(text, "lightsout_target_up{network=\"north-korea\",target=\"kcna\",role=\"web\",kind=\"tcp\"} 1\n"));
	assert_non_null(strstr(
	    text, "lightsout_target_up{network=\"north-korea\",target=\"gw\",role=\"router\",kind=\"icmp\"} 0\n"));
	/* never probed: no sample */
	assert_null(strstr(text, "target=\"www\""));
	assert_non_null(strstr(text,
			       "lightsout_target_rtt_seconds{network=\"north-korea\",target=\"kcna\",role=\"web\","
			       "kind=\"tcp\"} 0.0125\n"));
	assert_null(strstr(text, "lightsout_target_rtt_seconds{network=\"north-korea\",target=\"gw\""));
	assert_non_null(strstr(text,
			       "lightsout_target_loss_ratio{network=\"north-korea\",target=\"gw\",role=\"router\","
			       "kind=\"icmp\"} 1\n"));
	assert_non_null(
	    strstr(text, "lightsout_network_targets{network=\"north-korea\",role=\"router\",state=\"down\"} 1\n"));
	assert_non_null(
	    strstr(text, "lightsout_network_targets{network=\"north-korea\",role=\"web\",state=\"up\"} 1\n"));
	assert_non_null(
	    strstr(text, "lightsout_network_targets{network=\"net_2\",role=\"web\",state=\"unknown\"} 1\n"));
	assert_non_null(strstr(text, "lightsout_network_prefixes{network=\"north-korea\"} 2\n"));
	assert_non_null(strstr(text, "lightsout_network_prefixes_visible{network=\"north-korea\"} 1\n"));
	assert_null(strstr(text, "lightsout_network_prefixes_visible{network=\"net_2\"}"));
	assert_non_null(strstr(text, "lightsout_incident_open{network=\"north-korea\",cause=\"power\"} 1\n"));
	assert_non_null(strstr(text, "lightsout_incident_open{network=\"north-korea\",cause=\"stress\"} 0\n"));
	assert_non_null(strstr(text, "lightsout_incident_open{network=\"\",cause=\"vantage\"} 0\n"));
	assert_non_null(strstr(text, "# TYPE lightsout_probes_total counter\n"));
	assert_non_null(strstr(text, "lightsout_probes_total{kind=\"icmp\",outcome=\"timeout\"} 1\n"));
	assert_non_null(strstr(text, "lightsout_store_queue_depth 17\n"));
	assert_non_null(strstr(text, "lightsout_store_dropped_total{kind=\"bgp_event\"} 3\n"));
	assert_non_null(strstr(text, "lightsout_store_dropped_total{kind=\"measurement\"} 0\n"));
	assert_non_null(strstr(text, "lightsout_store_dropped_total{kind=\"state_change\"} 0\n"));
	assert_non_null(strstr(text, "lightsout_store_write_errors_total 2\n"));
	assert_non_null(
	    strstr(text, "# TYPE lightsout_rounds_missed_total counter\nlightsout_rounds_missed_total 15\n"));
	assert_non_null(strstr(text, "lightsout_build_info{version=\"0.1.0\"} 1\n"));
	assert_non_null(strstr(text, "lightsout_alerts_sent_total{receiver=\"0\",format=\"alertmanager\"} 5\n"));
	assert_non_null(strstr(text, "lightsout_alert_failures_total{receiver=\"0\",format=\"alertmanager\"} 2\n"));
	assert_non_null(strstr(text, "lightsout_alert_queue_depth{receiver=\"0\",format=\"alertmanager\"} 4\n"));
	free(text);
	serve_snapshot_free(&s);
	serve_live_free(l);
	config_free(cfg);
}

static void t_status_doc(void **state)
{
	(void)state;
	struct config *cfg = load_cfg();
	struct serve_live *l = serve_live_new(cfg);
	struct measurement a = meas(0, T0, OUTCOME_OK, 12.5, "HTTP 200 <script>\"&");
	char err[256];

	serve_live_measurement(l, &a, STATE_UP);
	json_t *doc = serve_status_document(cfg, NULL, l, T0, err, sizeof(err));
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "vantage")), "lab-1");
	assert_string_equal(json_string_value(json_object_get(doc, "generated")), "2026-01-26T09:00:00.000Z");
	json_t *nk = json_array_get(json_object_get(doc, "networks"), 0);
	assert_string_equal(json_string_value(json_object_get(nk, "name")), "north-korea");
	json_t *kcna = json_array_get(json_object_get(nk, "targets"), 0);
	assert_string_equal(json_string_value(json_object_get(kcna, "state")), "up");
	assert_string_equal(json_string_value(json_object_get(kcna, "since")), "2026-01-26T09:00:00.000Z");
	json_t *last = json_object_get(kcna, "last");
	assert_string_equal(json_string_value(json_object_get(last, "outcome")), "ok");
	assert_true(json_real_value(json_object_get(last, "rtt_ms")) == 12.5);
	assert_string_equal(json_string_value(json_object_get(last, "detail")), "HTTP 200 <script>\"&");
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(nk, "targets"), 1), "last")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(nk, "states"), "up")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(nk, "states"), "unknown")), 1);
	assert_int_equal(json_array_size(json_object_get(doc, "controls")), 1);
	json_decref(doc);
	serve_live_free(l);
	config_free(cfg);
}

struct page_arg {
	const struct config *cfg;
	const struct serve_snapshot *s;
	json_t *incidents;
	const struct serve_point *pts;
	size_t n;
};

static void index_fn(FILE *f, const void *a)
{
	const struct page_arg *p = a;
	serve_page_index(f, p->cfg, p->s, p->incidents, T0);
}

static void network_fn(FILE *f, const void *a)
{
	const struct page_arg *p = a;
	serve_page_network(f, p->cfg, p->s, 0, "6h", T0 - 6 * 3600000LL, T0 + 60000, p->pts, p->n, 60000, p->incidents);
}

static void t_pages_escape(void **state)
{
	(void)state;
	struct config *cfg = load_cfg();
	struct serve_live *l = serve_live_new(cfg);
	struct serve_snapshot s;
	struct serve_point *pts;
	size_t n;
	int64_t step;
	static const char evil[] = "<script>alert(\"x\")</script> & co";
	struct measurement a = meas(0, T0, OUTCOME_OK, 12.5, evil);
	json_t *inc = json_pack("{s:I, s:s, s:s, s:n, s:f, s:s, s:f, s:f, s:f, s:[s], s:[{s:s, s:s, s:[s]}], s:[]}",
				"id", (json_int_t)5, "network", "north-korea", "start", "2026-01-26T08:00:00.000Z",
				"end", "duration_s", 60.0, "cause", "power", "confidence", 0.7, "max_down_fraction",
				1.0, "severity", 1.0, "evidence", evil, "phases", "at", "2026-01-26T08:00:00.000Z",
				"event", "first_down", "targets", evil, "targets");

	assert_non_null(inc);
	serve_live_measurement(l, &a, STATE_UP);
	char *doc = json_dumps(inc, 0);
	serve_live_incident(l, 5, "north-korea", true, "power", doc);
	free(doc);
	assert_int_equal(serve_live_snapshot(l, &s, true), 0);
	assert_int_equal(serve_live_series(l, 0, T0 - 6 * 3600000LL, T0 + 60000, 0, 720, &pts, &n, &step), 0);
	json_t *arr = json_pack("[O]", inc);
	struct page_arg pa = {cfg, &s, arr, pts, n};
	char *html = capture(index_fn, &pa);
	assert_null(strstr(html, "<script>"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"));
	assert_non_null(strstr(html, "href=\"/network/net_2?window=24h\""));
	assert_non_null(strstr(html, "href=\"/incident/5\""));
	free(html);
	html = capture(network_fn, &pa);
	assert_null(strstr(html, "<script>"));
	assert_non_null(strstr(html, "<svg"));
	assert_non_null(strstr(html, "<polyline"));
	assert_non_null(strstr(html, "incident #5 power"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"));
	assert_non_null(strstr(html, "first_down"));
	free(html);
	free(pts);
	json_decref(arr);
	json_decref(inc);
	serve_snapshot_free(&s);
	serve_live_free(l);
	config_free(cfg);
}

/* watch's "bgp" member: peers before any session, each network's prefixes */
static void t_bgp_status_doc(void **state)
{
	(void)state;
	static const char yaml[] = "store: /nonexistent/never-opened.db\nlisten: \"off\"\n"
				   "networks:\n  - name: nk\n    prefixes: [198.18.10.0/24, 198.18.11.0/24]\n"
				   "    targets:\n      - {name: gw, role: router, kind: icmp, host: 198.18.10.1}\n"
				   "bgp:\n  peers:\n    - {address: 198.18.0.9, remote_as: 64500, local_as: 64501}\n";
	char err[512] = "";
	struct config *cfg = config_parse("t.yaml", yaml, strlen(yaml), err, sizeof(err));
	assert_non_null(cfg);
	struct ev_loop *loop = ev_new();
	struct bgp *b = bgp_new(loop, cfg, NULL, NULL, err, sizeof(err));
	assert_non_null(b);
	json_t *doc = serve_bgp_status_document(cfg, b, INT64_C(1769418000000));
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "updated")), "2026-01-26T09:00:00.000Z");
	json_t *p = json_array_get(json_object_get(doc, "peers"), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "peers")), 1);
	assert_string_equal(json_string_value(json_object_get(p, "address")), "198.18.0.9");
	assert_int_equal(json_integer_value(json_object_get(p, "remote_as")), 64500);
	assert_string_equal(json_string_value(json_object_get(p, "state")), "Idle");
	assert_int_equal(json_integer_value(json_object_get(p, "prefixes")), 0);
	json_t *n = json_array_get(json_object_get(doc, "networks"), 0);
	assert_string_equal(json_string_value(json_object_get(n, "name")), "nk");
	assert_int_equal(json_integer_value(json_object_get(n, "prefixes")), 2);
	assert_int_equal(json_integer_value(json_object_get(n, "visible")), 0);
	assert_int_equal(json_integer_value(json_object_get(n, "counted_peers")), 0);
	json_decref(doc);
	bgp_free(b);
	ev_free(loop);
	config_free(cfg);
}

/* The one reader of our documents that pages, alerts and status share:
 * missing or mistyped fields read as the default, never as NULL. */
static void t_jfield(void **state)
{
	(void)state;
	assert_null(jfield_parse(NULL));
	assert_null(jfield_parse("{\"id\": "));
	json_t *o = jfield_parse("{\"id\": 7, \"network\": null, \"duration_s\": 1.5, \"n\": 2, \"s\": \"x\"}");
	assert_non_null(o);
	assert_int_equal(jfield_int(o, "id", -1), 7);
	assert_int_equal(jfield_int(o, "s", -1), -1);
	assert_int_equal(jfield_int(o, "duration_s", -1), -1);
	assert_true(jfield_num(o, "duration_s", 0) == 1.5);
	assert_true(jfield_num(o, "n", 0) == 2.0);
	assert_true(jfield_num(o, "missing", -3) == -3.0);
	assert_string_equal(jfield_str(o, "network"), "");
	assert_string_equal(jfield_str(o, "s"), "x");
	json_decref(o);
}

/* The one place SVG points are placed (report timelines, dashboard
 * charts): clamped into the plot, no data at the bottom, never NaN. */
static void t_render_plot(void **state)
{
	(void)state;
	const struct render_plot p = {10, 20, 100, 50, 1000, 2000, 2};
	assert_true(render_plot_x(&p, 1000) == 10 && render_plot_x(&p, 1500) == 60 && render_plot_x(&p, 2000) == 110);
	assert_true(render_plot_x(&p, 0) == 10 && render_plot_x(&p, 9999) == 110);
	assert_true(render_plot_y(&p, 0) == 70 && render_plot_y(&p, 1) == 45 && render_plot_y(&p, 2) == 20);
	assert_true(render_plot_y(&p, 5) == 20 && render_plot_y(&p, -1) == 70 && render_plot_y(&p, NAN) == 70);
	const struct render_plot empty = {10, 20, 100, 50, 1000, 1000, 0};
	assert_true(render_plot_x(&empty, 1000) == 10 && render_plot_y(&empty, 1) == 70);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_escape),         cmocka_unit_test(t_routes),     cmocka_unit_test(t_live_series),
	    cmocka_unit_test(t_metrics),        cmocka_unit_test(t_status_doc), cmocka_unit_test(t_pages_escape),
	    cmocka_unit_test(t_bgp_status_doc), cmocka_unit_test(t_jfield),     cmocka_unit_test(t_render_plot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
