/* lightsout watch: the observatory's main loop.  Every completed probe
 * round arrives at on_measurement(), the one place that feeds the target
 * state, the store and the counters. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "alert/alert.h"
#include "bgp/bgp.h"
#include "cli/cli.h"
#include "config/config.h"
#include "core/ev.h"
#include "core/jfield.h"
#include "core/log.h"
#include "core/privdrop.h"
#include "core/timeutil.h"
#include "detect/detect.h"
#include "render/render.h"
#include "probe/probe.h"
#include "serve/http.h"
#include "serve/live.h"
#include "serve/status_doc.h"
#include "store/store.h"

static const char watch_usage[] = "usage: lightsout watch [-c FILE] [--for DURATION] [--user NAME] [-v|-q]\n"
				  "\n"
				  "  Runs until SIGINT/SIGTERM (or --for), then flushes the store and exits 0.\n"
				  "  --user NAME  once raw sockets, listeners and the store are open, run as NAME\n";

struct watch {
	struct config *cfg;
	struct ev_loop *loop;
	struct store *store;
	struct probe_engine *engine;
	struct detector *detector;
	struct serve_live *live; /* what the HTTP threads read */
	struct serve_http *http; /* NULL with listen: off */
	struct alert *alert;     /* NULL without alerts: */
	struct bgp *bgp;         /* NULL without bgp peers or MRT files */
	uint64_t probes[KIND_COUNT][OUTCOME_COUNT];
	uint64_t dropped_reported;
	int sigfd;
	bool stopping;
	uint64_t watchdog_ns; /* half of systemd's WatchdogSec, 0 without one */
	/* open incidents as last logged: a growing one logs "updated" once
	 * per change, never "open" again */
	struct logged_incident {
		int64_t id;
		const char *cause; /* detect_cause_name's static words */
		size_t nphases;
	} * logged;
	size_t nlogged, logged_cap;
};

static void target_label(const struct config *cfg, const struct target_cfg *t, char *buf, size_t len)
{
	if (t->network == CONFIG_NO_NETWORK)
		snprintf(buf, len, "control %s", t->name);
	else
		snprintf(buf, len, "%s/%s", cfg->networks[t->network].name, t->name);
}

/* The one completion point of every probe. */
static void on_measurement(const struct measurement *m, void *arg)
{
	struct watch *w = arg;
	const struct target_cfg *t = &w->cfg->targets[m->target];

	w->probes[t->kind][m->outcome]++;
	store_put_measurement(w->store, m);
	detect_feed(w->detector, m);
	serve_live_measurement(w->live, m, detect_target_health(w->detector, m->target)->state);
}

static void on_state_change(void *arg, uint32_t target, int64_t at_ms, uint32_t round, enum target_state from,
			    enum target_state to, const char *detail)
{
	struct watch *w = arg;
	const struct target_cfg *t = &w->cfg->targets[target];
	char label[160];

	target_label(w->cfg, t, label, sizeof(label));
	/* state changes are logged once, when they happen */
	log_info("%s (%s %s): %s -> %s: %s", label, role_name(t->role), kind_name(t->kind), state_name(from),
		 state_name(to), detail);
	store_put_state_change(w->store, target, at_ms, from, to, round, detail);
	serve_live_state(w->live, target, at_ms, to);
}

/* The words of the log line for this emission of an incident: "open" the
 * first time, "updated" when its cause or phases changed since the last
 * line, "closed" at the end, NULL when nothing a reader would see changed
 * (a flush re-emits unchanged incidents). */
static const char *incident_log_word(struct watch *w, int64_t id, bool open, const char *cause, size_t nphases)
{
	size_t i;

	for (i = 0; i < w->nlogged && w->logged[i].id != id; i++)
		;
	if (!open) {
		if (i < w->nlogged)
			w->logged[i] = w->logged[--w->nlogged];
		return "closed";
	}
	if (i < w->nlogged) {
		struct logged_incident *li = &w->logged[i];
		if (li->cause == cause && li->nphases == nphases)
			return NULL;
		li->cause = cause;
		li->nphases = nphases;
		return "updated";
	}
	if (w->nlogged == w->logged_cap) {
		size_t cap = w->logged_cap ? 2 * w->logged_cap : 8;
		struct logged_incident *n = realloc(w->logged, cap * sizeof(*n));
		if (n == NULL)
			return "open"; /* logged again next time: better than never */
		w->logged = n;
		w->logged_cap = cap;
	}
	w->logged[w->nlogged++] = (struct logged_incident){.id = id, .cause = cause, .nphases = nphases};
	return "open";
}

static void on_incident(void *arg, int64_t id, const char *network, int64_t start_ms, int64_t end_ms, bool open,
			const char *cause, const json_t *doc)
{
	struct watch *w = arg;
	char start[RFC3339_LEN], end[RFC3339_LEN] = "", *json = detect_incident_text(doc);
	const char *word = incident_log_word(w, id, open, cause, json_array_size(json_object_get(doc, "phases")));

	rfc3339_format(start_ms, start, sizeof(start));
	if (!open)
		rfc3339_format(end_ms, end, sizeof(end));
	if (word != NULL)
		log_info("incident %lld %s %s: %s since %s%s%s", (long long)id, network ? network : "(vantage)", word,
			 cause, start, open ? "" : " until ", end);
	store_put_incident(w->store, id, network, start_ms, end_ms, open, cause, json);
	serve_live_incident(w->live, id, network, open, cause, json);
	alert_incident(w->alert, id, network, open, cause, doc);
	free(json);
}

/* Incidents left open by the previous run are continued, not reopened. */
static int resume_one(int64_t id, const char *json, void *arg)
{
	struct watch *w = arg;
	char err[256];
	json_t *doc = jfield_parse(json);
	bool open = doc != NULL && json_is_null(json_object_get(doc, "end"));
	if (!open) {
		json_decref(doc);
		return 0;
	}
	if (detect_resume(w->detector, json, err, sizeof(err)) < 0) {
		log_warnx("incident %lld cannot be continued: %s", (long long)id, err);
	} else {
		log_info("continuing open incident %lld", (long long)id);
		(void)incident_log_word(w, id, true, NULL, 0); /* its next change logs "updated" */
		/* shown as open on the dashboard; alerted already by the run that opened it */
		const char *net = jfield_str(doc, "network");
		serve_live_incident(w->live, id, *net ? net : NULL, true, jfield_str(doc, "cause"), json);
	}
	json_decref(doc);
	return 0;
}

static int resume_incidents(struct watch *w, char *err, size_t errlen)
{
	int64_t max_id = store_max_incident_id(w->store);
	if (max_id < 0) {
		snprintf(err, errlen, "cannot read incidents from store %s", w->cfg->store);
		return -1;
	}
	detect_set_next_id(w->detector, max_id + 1);
	return store_each_incident(w->store, NULL, 0, -1, resume_one, w, err, errlen);
}

static void on_signal(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)events;
	struct watch *w = arg;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		log_info("signal %u: stopping", si.ssi_signo);
	w->stopping = true;
	ev_stop(loop);
}

/* The systemd watchdog is fed from the loop itself: a loop that stalls
 * stops feeding it, and systemd restarts the service. */
static int64_t on_watchdog(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct watch *w = arg;
	sd_notify(0, "WATCHDOG=1");
	return (int64_t)w->watchdog_ns;
}

static int64_t on_for_elapsed(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)id;
	struct watch *w = arg;
	log_info("--for elapsed: stopping");
	w->stopping = true;
	ev_stop(loop);
	return EV_TIMER_DONE;
}

/* The collector's peers and the networks' visibility, for `status` and
 * the API (which may run in another process: it goes through the store). */
static void publish_bgp_status(struct watch *w)
{
	json_t *doc = w->bgp ? serve_bgp_status_document(w->cfg, w->bgp, wall_now_ms()) : NULL;
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	if (text != NULL)
		store_put_meta(w->store, "bgp", text);
	free(text);
	json_decref(doc);
}

/* The store's and the engine's counters for /metrics, every few seconds. */
static int64_t on_live_tick(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct watch *w = arg;

	serve_live_store(w->live, store_queue_depth(w->store), store_dropped(w->store));
	serve_live_rounds_missed(w->live, probe_engine_missed_rounds(w->engine));
	publish_bgp_status(w);
	return 5 * NS_PER_S;
}

/* Housekeeping once a minute: retention, dropped records, counters. */
static int64_t on_cron(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct watch *w = arg;
	char err[256];
	uint64_t dropped = store_dropped(w->store);

	if (dropped != w->dropped_reported) {
		log_warnx("store: %llu records dropped so far (queue full or batch failed)",
			  (unsigned long long)dropped);
		w->dropped_reported = dropped;
	}
	/* queued for the store's writer; an error is the previous prune's */
	if (store_prune(w->store, wall_now_ms() - w->cfg->retention_ms, err, sizeof(err)) < 0)
		log_warnx("retention: %s", err);
	for (int k = 0; k < KIND_COUNT; k++) {
		char line[512];
		if (log_get_level() >= LOG_LEVEL_DEBUG &&
		    probe_engine_stats(w->engine, (enum probe_kind)k, line, sizeof(line)))
			log_debug("%s", line);
	}
	return 60 * NS_PER_S;
}

static size_t peer_index(const struct config *cfg, const char *address)
{
	for (size_t i = 0; i < cfg->bgp.npeers; i++)
		if (strcmp(cfg->bgp.peers[i].address, address) == 0)
			return i;
	return SIZE_MAX;
}

/* Routes are stored as they come; a network's visibility (a majority of
 * synced peers) is what the detector judges, and it is stored too (peer
 * STORE_BGP_VISIBILITY) so `report --rejudge` replays the same input. */
static void on_bgp_event(const struct bgp_event *ev, void *arg)
{
	struct watch *w = arg;
	char pfx[64];

	switch (ev->kind) {
	case BGP_EV_ROUTE:
		prefix_format(&ev->prefix, pfx, sizeof(pfx));
		store_put_bgp_event(w->store, ev->at_ms, ev->peer, pfx, ev->announce, ev->as_path);
		break;
	case BGP_EV_WITHDRAWN:
	case BGP_EV_RESTORED: {
		bool withdrawn = ev->kind == BGP_EV_WITHDRAWN;
		struct bgp_vis_status vs;
		for (size_t i = 0; i < ev->nprefixes; i++) {
			prefix_format(&ev->prefixes[i], pfx, sizeof(pfx));
			store_put_bgp_event(w->store, ev->at_ms, STORE_BGP_VISIBILITY, pfx, !withdrawn, "");
		}
		detect_bgp(w->detector, ev->network, ev->at_ms, withdrawn, ev->prefixes, ev->nprefixes);
		bgp_vis_network_status(bgp_visibility(w->bgp), ev->network, &vs);
		serve_live_bgp(w->live, ev->network, (unsigned)vs.expected, (unsigned)vs.visible);
		log_info("%s: %zu prefix(es) %s in BGP (%zu of %zu visible)", ev->network_name, ev->nprefixes,
			 withdrawn ? "withdrawn" : "visible", vs.visible, vs.expected);
		break;
	}
	case BGP_EV_PEER: {
		size_t i = peer_index(w->cfg, ev->peer);
		if (i != SIZE_MAX)
			serve_live_bgp_peer(w->live, i, bgp_state_name(ev->new_state));
		/* the session logs its own changes, rate-limited */
		publish_bgp_status(w);
		break;
	}
	}
}

int cli_watch(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"for", required_argument, NULL, 'F'},
					     {"user", required_argument, NULL, 'u'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *path = DEFAULT_CONFIG, *user = NULL;
	int64_t for_ms = 0;
	int opt, rc = EXIT_RUNTIME;
	char err[1024];
	struct watch w = {.sigfd = -1};

	cli_options_start();
	while ((opt = getopt_long(argc, argv, "c:hvq", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'F':
			if (cli_duration_option("watch", "--for", optarg, &for_ms) != 0)
				return EXIT_USAGE;
			break;
		case 'u':
			user = optarg;
			break;
		default:
			if ((opt = cli_other_option("watch", opt, watch_usage)) >= 0)
				return opt;
		}
	}
	if ((opt = cli_no_arguments("watch", argc, argv)) >= 0)
		return opt;

	/* Blocked before any thread starts (store writer, HTTP, alerts), so
	 * every thread inherits the mask and SIGINT/SIGTERM reach only the
	 * loop's signalfd: watch always flushes before it exits. */
	/* a service's log: every line stamped, or prioritised for the journal */
	log_set_daemon(1);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	w.cfg = cli_load_config(path);
	if (w.cfg == NULL)
		return EXIT_USAGE;
	render_set_round(w.cfg->interval_ms, w.cfg->detect.abrupt_rounds);
	/* parsing a large configuration leaves freed heap behind: give it back */
	malloc_trim(0);
	static const struct detect_hooks hooks = {.on_state_change = on_state_change, .on_incident = on_incident};
	w.detector = detect_new(w.cfg, &hooks, &w);
	w.loop = ev_new();
	if (w.detector == NULL || w.loop == NULL) {
		fprintf(stderr, "lightsout: out of memory\n");
		goto out;
	}

	w.store = cli_open_store(w.cfg, true);
	if (w.store == NULL)
		goto out;
	if (store_lock_watch(w.store, err, sizeof(err)) < 0) {
		fprintf(stderr, "lightsout: %s\n", err);
		goto out;
	}
	w.live = serve_live_new(w.cfg);
	if (w.live == NULL) {
		fprintf(stderr, "lightsout: out of memory\n");
		goto out;
	}
	if (store_sync_targets(w.store, w.cfg, err, sizeof(err)) < 0 || resume_incidents(&w, err, sizeof(err)) < 0) {
		fprintf(stderr, "lightsout: %s\n", err);
		goto out;
	}
	/* current state from the store now, timelines backfilled in the background */
	if (serve_live_load(w.live, w.store, wall_now_ms(), err, sizeof(err)) < 0)
		log_warnx("dashboard: %s", err);
	if (alert_new(w.cfg, NULL, &w.alert, err, sizeof(err)) < 0 ||
	    serve_http_bind(w.cfg, w.live, w.store, &w.http, err, sizeof(err)) < 0) {
		fprintf(stderr, "lightsout: watch: %s\n", err);
		goto out;
	}
	serve_live_set_alert(w.live, w.alert); /* /metrics reads its counters */

	w.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w.sigfd < 0 || ev_add_fd(w.loop, w.sigfd, EV_READ, on_signal, &w) < 0) {
		fprintf(stderr, "lightsout: signalfd: %s\n", strerror(errno));
		goto out;
	}

	struct probe_engine_opts eo = {.max_pps = w.cfg->max_pps};
	w.engine = probe_engine_new(w.loop, w.cfg, &eo, on_measurement, &w, err, sizeof(err));
	if (w.engine == NULL || probe_engine_start(w.engine, err, sizeof(err)) < 0) {
		fprintf(stderr, "lightsout: watch: %s\n", err);
		goto out;
	}
	if (w.cfg->bgp.npeers > 0 || w.cfg->bgp.nmrt > 0 || w.cfg->bgp.listen != NULL) {
		w.bgp = bgp_new(w.loop, w.cfg, on_bgp_event, &w, err, sizeof(err));
		if (w.bgp == NULL) {
			fprintf(stderr, "lightsout: watch: bgp: %s\n", err);
			goto out;
		}
		/* a peer that cannot be reached is retried; only a listener
		 * that cannot be opened or an unreadable MRT file is reported */
		if (bgp_open(w.bgp, err, sizeof(err)) < 0)
			log_warnx("bgp: %s", err);
	}
	if (for_ms > 0)
		ev_add_timer(w.loop, for_ms * NS_PER_MS, on_for_elapsed, &w);
	ev_add_timer(w.loop, 60 * NS_PER_S, on_cron, &w);
	ev_add_timer(w.loop, 5 * NS_PER_S, on_live_tick, &w);
	/* everything that needs root is open now: what parses network input
	 * from here on runs as the given user */
	if (user != NULL) {
		if (priv_drop(user, err, sizeof(err)) < 0) {
			fprintf(stderr, "lightsout: watch: --user: %s\n", err);
			goto out;
		}
		log_info("running as %s", user);
	} else if (geteuid() == 0) {
		log_info("running as root; --user NAME drops privileges once sockets are open");
	}
	/* only now what answers clients or parses files: the dashboard on
	 * its bound socket, the MRT files opened above */
	if (serve_http_run(w.http, err, sizeof(err)) < 0) {
		fprintf(stderr, "lightsout: watch: %s\n", err);
		goto out;
	}
	if (w.http != NULL)
		log_info("dashboard, API and /metrics on http://%s/", w.cfg->listen);
	if (w.bgp != NULL && bgp_start(w.bgp, err, sizeof(err)) < 0)
		log_warnx("bgp: %s", err);
	serve_live_running(w.live, true);
	log_info("watching %zu networks, %zu targets every %lld ms from vantage %s", w.cfg->nnetworks, w.cfg->ntargets,
		 (long long)w.cfg->interval_ms, w.cfg->vantage);
	/* under systemd (Type=notify): ready now, and fed at half the watchdog period */
	{
		uint64_t wd_usec = 0;
		if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
			w.watchdog_ns = wd_usec * 1000 / 2;
			ev_add_timer(w.loop, w.watchdog_ns, on_watchdog, &w);
		}
		sd_notifyf(0, "READY=1\nSTATUS=watching %zu targets of %zu networks", w.cfg->ntargets,
			   w.cfg->nnetworks);
	}

	if (ev_run(w.loop) < 0) {
		log_warn("event loop");
		goto out;
	}
	rc = 0;
out:
	sd_notify(0, "STOPPING=1\nSTATUS=flushing the store");
	serve_live_running(w.live, false); /* /healthz says so while we flush */
	if (w.engine != NULL) {
		probe_engine_stop(w.engine); /* completes open rounds into the store */
		probe_engine_free(w.engine);
	}
	if (w.bgp != NULL) {
		bgp_stop(w.bgp); /* Cease to the peers */
		bgp_free(w.bgp);
	}
	if (w.detector != NULL && w.store != NULL)
		detect_finish(w.detector); /* open incidents stay open in the store */
	/* the HTTP threads and the timeline backfill read the store and the
	 * live state: both go before the store closes */
	serve_http_stop(w.http);
	serve_live_set_alert(w.live, NULL);
	alert_stop(w.alert, 5000); /* bounded flush of queued notifications */
	serve_live_free(w.live);
	if (w.store != NULL) {
		uint64_t dropped = store_dropped(w.store);
		if (store_close(w.store, err, sizeof(err)) < 0) {
			fprintf(stderr, "lightsout: %s\n", err);
			rc = EXIT_RUNTIME;
		} else if (dropped > 0) {
			log_warnx("%llu records were dropped: the store could not keep up or write them",
				  (unsigned long long)dropped);
		}
	}
	if (w.sigfd >= 0)
		close(w.sigfd);
	ev_free(w.loop);
	detect_free(w.detector);
	free(w.logged);
	config_free(w.cfg);
	return rc;
}
