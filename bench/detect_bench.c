/* Detector benchmark (run by hand): measurements per second through the
 * detector, and the time to build the report of 30 days of 100 targets at
 * a 60 s interval (replay through a fresh detector, then text, JSON and
 * HTML with per-incident series).  With DIR, also writes the stream into
 * a SQLite store there and times `report --rejudge` and `report` on it.
 * Usage: detect-bench [DAYS] [TARGETS] [DIR] */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/report.h"
#include "config/config.h"
#include "core/timeutil.h"
#include "detect/detect.h"
#include "render/render.h"
#include "store/store.h"

#define PER_NET 20
#define T0      INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct config *make_config(size_t ntargets, const char *store)
{
	static const char *const roles[] = {"web", "mail", "dns", "router", "host"};
	size_t cap = 256 + ntargets * 120, used = 0;
	char *y = malloc(cap), err[256];
	struct config *cfg;

	used += (size_t)snprintf(y + used, cap - used, "vantage: bench\ninterval: 60s\n");
	if (store)
		used += (size_t)snprintf(y + used, cap - used, "store: %s\n", store);
	used += (size_t)snprintf(y + used, cap - used, "networks:\n");
	for (size_t t = 0; t < ntargets; t++) {
		size_t net = t / PER_NET;
		if (t % PER_NET == 0)
			used += (size_t)snprintf(y + used, cap - used,
						 "  - name: net-%zu\n    prefixes: [198.18.%zu.0/24]\n    targets:\n",
						 net, net);
		used += (size_t)snprintf(y + used, cap - used,
					 "      - {name: t%zu, role: %s, kind: icmp, host: 198.18.%zu.%zu}\n", t,
					 roles[t % 5], net, t % PER_NET + 1);
	}
	cfg = config_parse("bench.yaml", y, used, err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "config: %s\n", err);
	free(y);
	return cfg;
}

/* Round r of target t: a quiet network with a power cut, a stress
 * episode and a host outage every few days. */
static void gen(struct measurement *m, uint32_t t, uint32_t r, size_t ntargets)
{
	uint32_t net = t / PER_NET, day = r / 1440, minute = r % 1440;
	uint64_t h = (uint64_t)t * 2654435761u ^ (uint64_t)r * 40503u;

	memset(m, 0, sizeof(*m));
	m->target = t;
	m->round = r;
	m->at_ms = T0 + (int64_t)r * 60000 + (int64_t)(t * 60000 / ntargets);
	m->failure = FAILURE_NONE;
	m->rtt_ms = 20.0 + (double)(h % 100) / 50.0;
	m->loss = 0;
	m->sent = 3;
	m->received = 3;
	if (day % 3 == 1 && net == day % (ntargets / PER_NET + 1) && minute >= 600 && minute < 690) {
		m->failure = FAILURE_TIMEOUT; /* power cut */
	} else if (day % 3 == 2 && net == day % (ntargets / PER_NET + 1) && minute >= 300 && minute < 400) {
		m->rtt_ms = 400; /* stress */
		m->loss = 0.34f;
		if (minute >= 320 + (t % PER_NET) && minute < 390)
			m->failure = FAILURE_TIMEOUT;
	} else if (t % 37 == 5 && day % 5 == 0 && minute >= 100 && minute < 160) {
		m->failure = FAILURE_REFUSED; /* one host */
	} else if (h % 997 == 0) {
		m->loss = 0.34f; /* a lost echo now and then */
	}
	m->outcome = failure_outcome(m->failure);
	if (m->outcome != OUTCOME_OK) {
		m->rtt_ms = -1;
		m->loss = 1;
		m->received = 0;
	}
}

struct sink {
	json_t *byid;
	size_t calls;
};

static void on_incident(void *arg, int64_t id, const char *network, int64_t start_ms, int64_t end_ms, bool open,
			const char *cause, const json_t *doc)
{
	struct sink *s = arg;
	char key[32];

	(void)network;
	(void)start_ms;
	(void)end_ms;
	(void)open;
	(void)cause;
	s->calls++;
	snprintf(key, sizeof(key), "%020lld", (long long)id);
	json_object_set_new(s->byid, key, json_deep_copy(doc));
}

int main(int argc, char **argv)
{
	uint32_t days = argc > 1 ? (uint32_t)atoi(argv[1]) : 30;
	size_t ntargets = argc > 2 ? (size_t)atoi(argv[2]) : 100;
	uint32_t rounds = days * 1440;
	const char *dir = argc > 3 ? argv[3] : NULL;
	char storepath[512], cfgpath[512];
	if (dir) {
		snprintf(storepath, sizeof(storepath), "%s/bench.db", dir);
		snprintf(cfgpath, sizeof(cfgpath), "%s/bench.yaml", dir);
	}
	struct config *cfg = make_config(ntargets, dir ? storepath : NULL);
	struct measurement m;
	struct sink sink = {.byid = json_object()};
	struct detect_hooks hooks = {.on_incident = on_incident};
	double t0, t1, c0, c1, gen_s;
	uint64_t n = (uint64_t)rounds * ntargets, sum = 0;

	if (!cfg)
		return 1;
	/* the generator alone, to subtract */
	t0 = now_s();
	for (uint32_t r = 0; r < rounds; r++)
		for (uint32_t t = 0; t < ntargets; t++) {
			gen(&m, t, r, ntargets);
			sum += (uint64_t)m.outcome;
		}
	gen_s = now_s() - t0;

	struct detector *d = detect_new(cfg, &hooks, &sink);
	t0 = now_s();
	c0 = cpu_s();
	for (uint32_t r = 0; r < rounds; r++)
		for (uint32_t t = 0; t < ntargets; t++) {
			gen(&m, t, r, ntargets);
			detect_feed(d, &m);
		}
	detect_finish(d);
	t1 = now_s();
	c1 = cpu_s();
	detect_free(d);
	double det_s = (t1 - t0) - gen_s;
	printf("measurements: %llu (%u days x %zu targets at 60 s), incidents: %zu, hook calls: %zu\n",
	       (unsigned long long)n, days, ntargets, json_object_size(sink.byid), sink.calls);
	printf("detector: %.3f s wall (%.3f s CPU, generator %.3f s subtracted): %.0f measurements/s\n", det_s,
	       c1 - c0 - gen_s, gen_s, (double)n / det_s);

	{
		const char *k;
		json_t *o;
		char causes[256] = "";
		json_t *count = json_object();
		json_object_foreach(sink.byid, k, o)
		{
			const char *c = json_string_value(json_object_get(o, "cause"));
			json_object_set_new(count, c, json_integer(json_integer_value(json_object_get(count, c)) + 1));
		}
		json_object_foreach(count, k, o)
		{
			size_t l = strlen(causes);
			snprintf(causes + l, sizeof(causes) - l, " %s=%lld", k, (long long)json_integer_value(o));
		}
		printf("causes:%s\n", causes);
		json_decref(count);
	}
	/* the report: rendering every incident (series from the stream) */
	double r0 = now_s();
	json_t *arr = json_array();
	const char *key;
	json_t *v;
	json_object_foreach(sink.byid, key, v)
	{
		(void)key;
		json_array_append(arr, v);
	}
	size_t ni = json_array_size(arr);
	struct render_series **series = calloc(ni + 1, sizeof(*series));
	size_t *net = calloc(ni + 1, sizeof(*net));
	for (size_t i = 0; i < ni; i++) {
		json_t *inc = json_array_get(arr, i);
		int64_t s = 0, e = 0;
		rfc3339_parse(json_string_value(json_object_get(inc, "start")), &s);
		e = s + (int64_t)(json_number_value(json_object_get(inc, "duration_s")) * 1000.0);
		const char *nn = json_string_value(json_object_get(inc, "network"));
		net[i] = nn ? (size_t)atoi(nn + 4) : 0;
		series[i] = render_series_new(cfg, net[i], s - 600000, e + 600000);
	}
	/* one pass over the stream feeds every incident's series */
	for (uint32_t r = 0; r < rounds; r++)
		for (uint32_t t = 0; t < ntargets; t++) {
			gen(&m, t, r, ntargets);
			for (size_t i = 0; i < ni; i++)
				render_series_add(series[i], cfg, net[i], &m);
		}
	FILE *devnull = fopen("/dev/null", "w");
	json_t *doc = render_report_json("bench", T0, arr);
	json_dumpf(doc, devnull, JSON_INDENT(2));
	for (size_t i = 0; i < ni; i++)
		render_incident_text(devnull, json_array_get(arr, i));
	render_html(devnull, "bench", T0, arr, series);
	fclose(devnull);
	double r1 = now_s();
	printf("report (replay %.3f s + series, text, JSON, HTML %.3f s): %.3f s\n", det_s + gen_s, r1 - r0,
	       det_s + gen_s + (r1 - r0));
	for (size_t i = 0; i < ni; i++)
		render_series_free(series[i]);
	free(series);
	free(net);
	json_decref(doc);
	json_decref(arr);
	json_decref(sink.byid);
	if (dir) {
		char err[256];
		struct store *st = store_open(cfg, true, 0, err, sizeof(err));
		if (!st || store_sync_targets(st, cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "store: %s\n", err);
			return 1;
		}
		double w0 = now_s();
		uint64_t dropped = 0;
		for (uint32_t r = 0; r < rounds; r++) {
			for (uint32_t t = 0; t < ntargets; t++) {
				gen(&m, t, r, ntargets);
				while (!store_put_measurement(st, &m)) {
					dropped++;
					store_flush(st, err, sizeof(err));
				}
			}
		}
		if (store_close(st, err, sizeof(err)) != 0) {
			fprintf(stderr, "store: %s\n", err);
			return 1;
		}
		printf("store: wrote %llu measurements in %.1f s (%llu retried)\n", (unsigned long long)n, now_s() - w0,
		       (unsigned long long)dropped);
		/* the same configuration as a file for the report verb */
		FILE *f = fopen(cfgpath, "w");
		config_print(cfg, f);
		fclose(f);
		char *av1[] = {"report", "-c", cfgpath, "--rejudge", "--format", "html", "-o", "/dev/null", NULL};
		char *av2[] = {"report", "-c", cfgpath, "--format", "html", "-o", "/dev/null", NULL};
		w0 = now_s();
		int rc = cli_report(8, av1);
		printf("report --rejudge --format html from the store: %.2f s (exit %d)\n", now_s() - w0, rc);
		w0 = now_s();
		rc = cli_report(7, av2);
		printf("report --format html from the store (stored incidents, none here): %.2f s (exit %d)\n",
		       now_s() - w0, rc);
	}
	config_free(cfg);
	return sum == 0 ? 0 : 0;
}
