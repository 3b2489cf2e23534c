/* Test driver for the HTTP side: a stand-in for `watch` whose probes are
 * synthetic, so the integration tests (tests/integration/serve_*.sh) can
 * run the real server, detector, store and alert delivery without a lab.
 *
 *   serve-driver CONFIG [--history ROUNDS] [--history-outage 0|1] [--port-file FILE]
 *
 * It stores ROUNDS past rounds (with one outage of the first network in
 * the middle unless --history-outage 0, so there is a closed incident), then produces a round every
 * interval in real time.  SIGUSR1 starts an outage of the first network
 * (every target silent), SIGUSR2 ends it; SIGINT/SIGTERM stop.  A target
 * whose name contains "evil" reports a hostile detail (HTML and quotes). */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/alert.h"
#include "config/config.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "detect/detect.h"
#include "serve/http.h"
#include "serve/live.h"
#include "store/store.h"

static volatile sig_atomic_t stop_flag, outage_flag;

static void on_sig(int sig)
{
	if (sig == SIGUSR1)
		outage_flag = 1;
	else if (sig == SIGUSR2)
		outage_flag = 0;
	else
		stop_flag = 1;
}

struct drv {
	struct config *cfg;
	struct store *st;
	struct serve_live *live;
	struct detector *det;
	struct alert *alert;
};

static void on_state(void *arg, uint32_t target, int64_t at_ms, uint32_t round, enum target_state from,
		     enum target_state to, const char *detail)
{
	struct drv *d = arg;

	store_put_state_change(d->st, target, at_ms, from, to, round, detail);
	serve_live_state(d->live, target, at_ms, to);
}

static void on_incident(void *arg, int64_t id, const char *network, int64_t start_ms, int64_t end_ms, bool open,
			const char *cause, const json_t *doc)
{
	struct drv *d = arg;
	char *json = detect_incident_text(doc);

	log_info("incident %lld %s %s %s", (long long)id, network ? network : "(vantage)", open ? "open" : "closed",
		 cause);
	store_put_incident(d->st, id, network, start_ms, end_ms, open, cause, json);
	serve_live_incident(d->live, id, network, open, cause, json);
	alert_incident(d->alert, id, network, open, cause, doc);
	free(json);
}

static void round_at(struct drv *d, int64_t at_ms, bool outage)
{
	const struct config *cfg = d->cfg;
	int64_t iv = cfg->interval_ms;

	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target_cfg *t = &cfg->targets[i];
		struct measurement m;
		memset(&m, 0, sizeof(m));
		m.target = (uint32_t)i;
		m.round = (uint32_t)(at_ms / iv);
		m.at_ms = at_ms + (int64_t)(i * 7 % 100);
		m.sent = 3;
		if (outage && t->network == 0) {
			m.outcome = OUTCOME_TIMEOUT;
			m.rtt_ms = -1;
			m.loss = 1;
			snprintf(m.detail, sizeof(m.detail), "timeout after %lld ms", (long long)cfg->timeout_ms);
		} else {
			m.outcome = OUTCOME_OK;
			m.received = 3;
			m.rtt_ms = 20.0 + (double)((at_ms / iv + i) % 7);
			if (strstr(t->name, "evil"))
				snprintf(m.detail, sizeof(m.detail),
					 "HTTP 200 title <script>alert(\"x\")</script> & co");
			else
				snprintf(m.detail, sizeof(m.detail), "echo reply");
		}
		store_put_measurement(d->st, &m);
		detect_feed(d->det, &m);
		serve_live_measurement(d->live, &m, detect_target_health(d->det, (uint32_t)i)->state);
	}
}

int main(int argc, char **argv)
{
	struct drv d = {0};
	struct serve_http *http = NULL;
	const char *port_file = NULL;
	long history = 120, history_outage = 1;
	char err[1024];
	int rc = 1;

	curl_global_init(CURL_GLOBAL_DEFAULT); /* as main does, before the alert thread */
	if (argc < 2) {
		fprintf(stderr,
			"usage: serve-driver CONFIG [--history ROUNDS] [--history-outage 0|1] [--port-file FILE]\n");
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--history") == 0)
			history = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--history-outage") == 0)
			history_outage = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--port-file") == 0)
			port_file = argv[i + 1];
	}
	log_init(LOG_LEVEL_INFO, 0);
	d.cfg = config_load(argv[1], err, sizeof(err));
	if (!d.cfg) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	d.st = store_open(d.cfg, true, 0, err, sizeof(err));
	if (!d.st || store_sync_targets(d.st, d.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "serve-driver: %s\n", err);
		goto out;
	}
	d.live = serve_live_new(d.cfg);
	static const struct detect_hooks hooks = {.on_state_change = on_state, .on_incident = on_incident};
	d.det = detect_new(d.cfg, &hooks, &d);
	if (!d.live || !d.det || alert_new(d.cfg, NULL, &d.alert, err, sizeof(err)) < 0) {
		fprintf(stderr, "serve-driver: %s\n", err[0] ? err : "out of memory");
		goto out;
	}
	serve_live_set_alert(d.live, d.alert);
	detect_set_next_id(d.det, store_max_incident_id(d.st) + 1);

	int64_t iv = d.cfg->interval_ms, now = wall_now_ms();
	int64_t first = (now / iv - history) * iv;
	for (long r = 0; r < history; r++)
		round_at(&d, first + r * iv, history_outage && r >= history / 2 && r < history / 2 + 8);
	if (store_flush(d.st, err, sizeof(err)) < 0 || serve_live_load(d.live, d.st, first, err, sizeof(err)) < 0) {
		fprintf(stderr, "serve-driver: %s\n", err);
		goto out;
	}
	if (serve_http_start(d.cfg, d.live, d.st, &http, err, sizeof(err)) < 0) {
		fprintf(stderr, "serve-driver: %s\n", err);
		goto out;
	}
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (f) {
			fprintf(f, "%u\n", serve_http_port(http));
			fclose(f);
		}
	}
	struct sigaction sa = {.sa_handler = on_sig};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	serve_live_running(d.live, true);
	log_info("serving on port %u", serve_http_port(http));
	for (int64_t next = (wall_now_ms() / iv + 1) * iv; !stop_flag;) {
		int64_t w = next - wall_now_ms();
		if (w > 0) {
			struct timespec ts = {.tv_sec = w / 1000, .tv_nsec = (w % 1000) * 1000000};
			if (nanosleep(&ts, NULL) < 0 && errno == EINTR)
				continue;
		}
		round_at(&d, next, outage_flag);
		next += iv;
	}
	serve_live_running(d.live, false);
	rc = 0;
out:
	serve_http_stop(http);
	if (d.det)
		detect_finish(d.det);
	serve_live_set_alert(d.live, NULL);
	alert_stop(d.alert, 3000);
	serve_live_free(d.live); /* joins the backfill before the store closes */
	detect_free(d.det);
	if (d.st && store_close(d.st, err, sizeof(err)) < 0)
		fprintf(stderr, "serve-driver: %s\n", err);
	config_free(d.cfg);
	return rc;
}
