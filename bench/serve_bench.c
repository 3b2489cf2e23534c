/* HTTP side benchmark: 10,000 targets (10 networks), 30 days of history.
 *   serve-bench [--targets N] [--days D] [--raw-hours H] [--port-file FILE]
 * Builds the state a month-long watch would hold: the live timelines fed
 * with every round of D days (60 s rounds), ~100 incidents a day in the
 * store, and the last H hours of raw measurements in the store.  Prints
 * in-process render times, then serves on 127.0.0.1 (port in FILE) until
 * SIGINT/SIGTERM so bench/serve_bench.sh can measure over HTTP with wrk.
 * Works in a temporary directory under /tmp, removed at the end. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/timeutil.h"
#include "lightsout_version.h"
#include "serve/http.h"
#include "serve/live.h"
#include "serve/render.h"
#include "store/store.h"

#define NNETS       10
#define INTERVAL_MS 60000

static volatile sig_atomic_t stop_flag;

static void on_sig(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* An incident document in SPEC.md's shape. */
static char *incident_doc(int64_t id, const char *net, int64_t start, int64_t end, const struct config *cfg,
			  size_t first_target)
{
	char s[RFC3339_LEN], e[RFC3339_LEN];
	json_t *targets = json_array(), *names = json_array(), *doc;
	char *text;

	rfc3339_format(start, s, sizeof(s));
	rfc3339_format(end, e, sizeof(e));
	for (size_t k = 0; k < 5; k++) {
		const struct target_cfg *t = &cfg->targets[first_target + k * NNETS];
		json_array_append_new(names, json_string(t->name));
		json_array_append_new(targets, json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", t->name, "role",
							 role_name(t->role), "kind", kind_name(t->kind), "down_at", s,
							 "up_at", e));
	}
	doc = json_pack("{s:I, s:s, s:s, s:s, s:f, s:s, s:f, s:f, s:f, s:[s, s], s:[{s:s, s:s, s:O}, {s:s, s:s}], "
			"s:o}",
			"id", (json_int_t)id, "network", net, "start", s, "end", e, "duration_s",
			(double)(end - start) / 1000.0, "cause", id % 3 ? "host" : "stress", "confidence", 0.8,
			"max_down_fraction", 0.005, "severity", 0.3, "evidence",
			"loss rose from 0% to 62% over 5 rounds before the first server went down",
			"5 of 1000 targets went down", "phases", "at", s, "event", "first_down", "targets", names, "at",
			e, "event", "all_up", "targets", targets);
	json_decref(names);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

int main(int argc, char **argv)
{
	size_t ntargets = 10000;
	long days = 30, raw_hours = 6;
	const char *port_file = NULL;
	char dir[] = "/tmp/serve-bench.XXXXXX", path[128], wal[160], shm[160], err[512];
	struct network_cfg nets[NNETS];
	char netnames[NNETS][16];
	struct target_cfg *targets = NULL;
	char(*names)[24] = NULL;
	struct config cfg;
	struct store *st = NULL;
	struct serve_live *live = NULL;
	struct serve_http *http = NULL;
	int rc = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--targets") == 0)
			ntargets = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--days") == 0)
			days = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--raw-hours") == 0)
			raw_hours = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--port-file") == 0)
			port_file = argv[i + 1];
	}
	if (ntargets < 5 * NNETS || days < 1 || raw_hours < 0) {
		fprintf(stderr, "usage: serve-bench [--targets N>=50] [--days D] [--raw-hours H] [--port-file FILE]\n");
		return 2;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/bench.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	targets = calloc(ntargets, sizeof(*targets));
	names = calloc(ntargets, sizeof(*names));
	if (!targets || !names)
		goto out;
	memset(&cfg, 0, sizeof(cfg));
	for (int i = 0; i < NNETS; i++) {
		memset(&nets[i], 0, sizeof(nets[i]));
		snprintf(netnames[i], sizeof(netnames[i]), "net-%d", i);
		nets[i].name = netnames[i];
	}
	for (size_t i = 0; i < ntargets; i++) {
		snprintf(names[i], sizeof(names[i]), "t%06zu", i);
		targets[i].name = names[i];
		targets[i].network = i % NNETS;
		targets[i].role = (enum role)(i % ROLE_CONTROL);
		targets[i].kind = (enum probe_kind)(i % KIND_COUNT);
		targets[i].interval_ms = INTERVAL_MS;
	}
	cfg.store = path;
	cfg.vantage = (char *)"bench";
	cfg.listen = (char *)"127.0.0.1:0";
	cfg.interval_ms = INTERVAL_MS;
	cfg.timeout_ms = 5000;
	cfg.networks = nets;
	cfg.nnetworks = NNETS;
	cfg.targets = targets;
	cfg.ntargets = ntargets;

	st = store_open(&cfg, true, 0, err, sizeof(err));
	live = serve_live_new(&cfg);
	if (!st || !live || store_sync_targets(st, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "serve-bench: %s\n", st ? err : "cannot open the store");
		goto out;
	}

	/* 30 days of rounds into the live timelines, raw rows for the last H
	 * hours into the store; targets fail 1% of rounds */
	int64_t now = wall_now_ms() / INTERVAL_MS * INTERVAL_MS;
	int64_t first = now - (int64_t)days * 86400000;
	int64_t raw_from = now - (int64_t)raw_hours * 3600000;
	uint64_t fed = 0, stored = 0, retries = 0;
	double t0 = now_s();
	struct measurement m;
	memset(&m, 0, sizeof(m));
	m.sent = 3;
	for (int64_t at = first; at < now; at += INTERVAL_MS) {
		for (size_t i = 0; i < ntargets; i++) {
			uint64_t r = next_rand();
			m.target = (uint32_t)i;
			m.round = (uint32_t)(at / INTERVAL_MS);
			m.at_ms = at + (int64_t)(i * INTERVAL_MS / ntargets);
			if (r % 100 == 0) {
				m.outcome = OUTCOME_TIMEOUT;
				m.rtt_ms = -1;
				m.loss = 1;
				m.received = 0;
				snprintf(m.detail, sizeof(m.detail), "timeout after 5000 ms");
			} else {
				m.outcome = OUTCOME_OK;
				m.rtt_ms = 20.0 + (double)(r % 100000) / 1000.0;
				m.loss = 0;
				m.received = 3;
				m.detail[0] = 0;
			}
			serve_live_measurement(live, &m, m.outcome == OUTCOME_OK ? STATE_UP : STATE_DEGRADED);
			fed++;
			if (at >= raw_from) {
				while (!store_put_measurement(st, &m)) {
					retries++;
					usleep(50);
				}
				stored++;
			}
		}
	}
	/* ~100 incidents a day over the networks */
	int64_t nincidents = days * 100;
	for (int64_t id = 1; id <= nincidents; id++) {
		int64_t start = first + (id - 1) * ((now - first) / nincidents) + (int64_t)(next_rand() % 60000);
		int64_t end = start + 600000 + (int64_t)(next_rand() % 3600000);
		size_t net = (size_t)(id % NNETS);
		char *doc = incident_doc(id, netnames[net], start, end, &cfg, net);
		while (!store_put_incident(st, id, netnames[net], start, end, false, id % 3 ? "host" : "stress", doc))
			usleep(50);
		free(doc);
	}
	if (store_flush(st, err, sizeof(err)) < 0) {
		fprintf(stderr, "serve-bench: %s\n", err);
		goto out;
	}
	printf("setup: %zu targets, %ld days: %llu rounds into the live timelines, %llu raw rows and %lld incidents "
	       "stored in %.1f s\n",
	       ntargets, days, (unsigned long long)fed, (unsigned long long)stored, (long long)nincidents,
	       now_s() - t0);

	/* in-process render times (best of 5) */
	{
		double best = 1e9;
		size_t size = 0;
		for (int k = 0; k < 5; k++) {
			struct serve_snapshot s;
			char *buf = NULL;
			size_t len = 0;
			double a = now_s();
			if (serve_live_snapshot(live, &s, true) < 0)
				goto out;
			struct store_stats ss;
			store_get_stats(st, &ss);
			FILE *f = open_memstream(&buf, &len);
			serve_metrics_render(f, &cfg, &s, &ss, LIGHTSOUT_VERSION);
			fclose(f);
			serve_snapshot_free(&s);
			double b = now_s() - a;
			if (b < best)
				best = b;
			size = len;
			free(buf);
		}
		printf("metrics render (in process): %.1f ms, %zu bytes\n", best * 1000, size);
	}
	if (serve_http_start(&cfg, live, st, &http, err, sizeof(err)) < 0) {
		fprintf(stderr, "serve-bench: %s\n", err);
		goto out;
	}
	serve_live_running(live, true);
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (f) {
			fprintf(f, "%u\n", serve_http_port(http));
			fclose(f);
		}
	}
	printf("serving on 127.0.0.1:%u\n", serve_http_port(http));
	fflush(stdout);
	struct sigaction sa = {.sa_handler = on_sig};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop_flag)
		pause();
	rc = 0;
out:
	serve_http_stop(http);
	serve_live_free(live);
	if (st && store_close(st, err, sizeof(err)) < 0)
		fprintf(stderr, "serve-bench: %s\n", err);
	unlink(path);
	unlink(wal);
	unlink(shm);
	rmdir(dir);
	free(targets);
	free(names);
	return rc;
}
