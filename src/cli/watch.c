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
#include "config/diff.h"
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
				  "  Runs until SIGINT/SIGTERM (or --for), then flushes the store and exits 0;\n"
				  "  SIGHUP re-reads FILE (one that fails check-config is refused, logged).\n"
				  "  --user NAME  once raw sockets, listeners and the store are open, run as NAME\n";

/* The engine a reload replaced, finishing the rounds it had open. */
struct retiring {
	struct probe_engine *engine; /* NULL: none */
	struct config *cfg;          /* its configuration */
	uint32_t *to_new;            /* its target index -> the new one (UINT32_MAX: gone or changed) */
	size_t n;
	int64_t deadline_ns; /* then it is stopped, open rounds or not */
};

struct watch {
	const char *path;
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
	/* reload: the configurations bgp and alert were built with (they
	 * keep them while their sections are unchanged), the old engine, and
	 * the open incidents the old detector reported last */
	struct config *bgp_cfg, *alert_cfg;
	struct retiring old;
	bool capturing;
	char **captured;
	int64_t *captured_id;
	size_t ncaptured;
	unsigned reloads_refused;
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

/* While the old detector finishes (reload): the open incidents as it
 * reports them last, for the new one to continue. */
static void capture_incident(struct watch *w, int64_t id, bool open, const char *json)
{
	size_t i = 0;

	while (i < w->ncaptured && w->captured_id[i] != id)
		i++;
	if (i < w->ncaptured) {
		free(w->captured[i]);
		if (!open) { /* it closed after all */
			w->ncaptured--;
			w->captured[i] = w->captured[w->ncaptured];
			w->captured_id[i] = w->captured_id[w->ncaptured];
			return;
		}
	} else if (open) {
		char **c = realloc(w->captured, (i + 1) * sizeof(*c));
		if (c != NULL)
			w->captured = c;
		int64_t *ids = c ? realloc(w->captured_id, (i + 1) * sizeof(*ids)) : NULL;
		if (ids == NULL) {
			log_warnx("incident %lld cannot be continued: out of memory", (long long)id);
			return;
		}
		w->captured_id = ids;
		w->ncaptured++;
	} else {
		return;
	}
	w->captured_id[i] = id;
	if ((w->captured[i] = strdup(json)) == NULL) {
		log_warnx("incident %lld cannot be continued: out of memory", (long long)id);
		w->ncaptured--;
		w->captured[i] = w->captured[w->ncaptured];
		w->captured_id[i] = w->captured_id[w->ncaptured];
	}
}

static bool incident_logged(const struct watch *w, int64_t id)
{
	for (size_t i = 0; i < w->nlogged; i++)
		if (w->logged[i].id == id)
			return true;
	return false;
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
	if (w->capturing && json != NULL)
		capture_incident(w, id, open, json);
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
		if (!incident_logged(w, id))                           /* (a reload continues one this run logged) */
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

static void reload(struct watch *w);

static void on_signal(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)events;
	struct watch *w = arg;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		log_info("signal %u: reloading %s", si.ssi_signo, w->path);
		reload(w);
		return;
	}
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

/* The engine's counters for /metrics and the BGP status, every few seconds
 * (the store's are read from the store itself). */
static int64_t on_live_tick(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct watch *w = arg;

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

/* ---------- reload (SIGHUP) ---------- */

static const struct detect_hooks watch_hooks = {.on_state_change = on_state_change, .on_incident = on_incident};

/* A configuration nothing uses any more is freed. */
static void cfg_release(struct watch *w, struct config *c)
{
	if (c != NULL && c != w->cfg && c != w->bgp_cfg && c != w->alert_cfg && c != w->old.cfg)
		config_free(c);
}

/* A round the old engine finishes after the reload, under its new index. */
static void on_old_measurement(const struct measurement *m, void *arg)
{
	struct watch *w = arg;

	if (m->target >= w->old.n || w->old.to_new[m->target] == UINT32_MAX)
		return; /* removed or changed: its new definition starts afresh */
	struct measurement copy = *m;
	copy.target = w->old.to_new[m->target];
	on_measurement(&copy, w);
}

static void finish_retiring(struct watch *w)
{
	struct config *c = w->old.cfg;

	if (w->old.engine == NULL)
		return;
	probe_engine_forget_predecessor(w->engine);
	probe_engine_stop(w->old.engine); /* what is still open is cut short */
	probe_engine_free(w->old.engine);
	free(w->old.to_new);
	w->old = (struct retiring){0};
	cfg_release(w, c);
}

static int64_t on_retiring(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)id;
	struct watch *w = arg;

	if (w->old.engine == NULL)
		return EV_TIMER_DONE;
	if (!probe_engine_idle(w->old.engine) && ev_now(loop) < w->old.deadline_ns)
		return 20 * NS_PER_MS;
	finish_retiring(w);
	return EV_TIMER_DONE;
}

/* Every line of a refused configuration's errors, then the verdict. */
static void reload_refused(struct watch *w, const char *why)
{
	const char *p = why;

	w->reloads_refused++;
	while (*p) {
		size_t n = strcspn(p, "\n");
		if (n > 0)
			log_warnx("reload: %.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
	log_warnx("reload refused: still running the configuration loaded before (%u refused so far)",
		  w->reloads_refused);
	sd_notifyf(0, "READY=1\nSTATUS=watching %zu targets of %zu networks (reload refused)", w->cfg->ntargets,
		   w->cfg->nnetworks);
}

static void free_captured(struct watch *w)
{
	for (size_t i = 0; i < w->ncaptured; i++)
		free(w->captured[i]);
	free(w->captured);
	free(w->captured_id);
	w->captured = NULL;
	w->captured_id = NULL;
	w->ncaptured = 0;
}

/* The BGP view of a collector that kept running, on a new dashboard. */
static void live_bgp_seed(struct watch *w)
{
	struct bgp_peer_status ps;
	struct bgp_vis_status vs;

	if (w->bgp == NULL)
		return;
	for (size_t i = 0; i < bgp_npeers(w->bgp); i++)
		if (bgp_peer_status(w->bgp, i, &ps) == 0)
			serve_live_bgp_peer(w->live, i, ps.state_name);
	for (size_t i = 0; i < w->cfg->nnetworks; i++) {
		bgp_vis_network_status(bgp_visibility(w->bgp), i, &vs);
		serve_live_bgp(w->live, i, (unsigned)vs.expected, (unsigned)vs.visible);
	}
}

/* The collector of w->cfg, if it has one, opened (what may need root)
 * but not started: bgp_start parses input. */
static int open_bgp(struct watch *w, char *err, size_t errlen)
{
	const struct config *c = w->cfg;

	w->bgp_cfg = w->cfg;
	if (c->bgp.npeers == 0 && c->bgp.nmrt == 0 && c->bgp.listen == NULL)
		return 0;
	w->bgp = bgp_new(w->loop, c, on_bgp_event, w, err, errlen);
	if (w->bgp == NULL)
		return -1;
	/* a peer that cannot be reached is retried; only a listener
	 * that cannot be opened or an unreadable MRT file is reported */
	if (bgp_open(w->bgp, err, errlen) < 0)
		log_warnx("bgp: %s", err);
	return 0;
}

/* SIGHUP: the new configuration takes over at each target's next round;
 * unchanged targets keep their state, baselines and round numbers, open
 * incidents continue.  Everything new is built before anything old is
 * let go, so a reload that fails half way leaves the old one running. */
static void reload(struct watch *w)
{
	char err[1024];
	struct config_diff df;
	struct probe_engine *ne = NULL;
	struct detector *nd = NULL;
	struct serve_live *nl = NULL;

	/* systemd's notify-reload wants the moment too; READY=1 ends it either way */
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
		   (unsigned long long)(mono_now_ns() / 1000), w->path);
	struct config *oc = w->cfg, *nc = config_load(w->path, err, sizeof(err));
	if (nc == NULL) {
		reload_refused(w, err);
		return;
	}
	finish_retiring(w); /* a reload on the heels of another */
	if (config_diff(oc, nc, &df) < 0) {
		config_free(nc);
		reload_refused(w, "out of memory");
		return;
	}
	/* opened once, before privileges were dropped */
	if (!config_str_same(oc->store, nc->store))
		log_warnx("reload: store %s: takes effect at the next start (still %s)", nc->store, oc->store);
	if (!config_str_same(oc->listen, nc->listen))
		log_warnx("reload: listen %s: takes effect at the next start (still %s)", nc->listen, oc->listen);

	struct probe_engine_opts eo = {.max_pps = nc->max_pps, .seed = probe_engine_seed(w->engine)};
	ne = probe_engine_new(w->loop, nc, &eo, on_measurement, w, err, sizeof(err));
	if (ne != NULL)
		for (size_t i = 0; i < nc->ntargets; i++)
			if (df.from[i] != UINT32_MAX)
				probe_engine_resume_round(ne, (uint32_t)i,
							  probe_engine_next_round(w->engine, df.from[i]));
	nd = detect_new(nc, &watch_hooks, w);
	nl = serve_live_new(nc);
	if (ne == NULL || nd == NULL || nl == NULL || probe_engine_start(ne, err, sizeof(err)) < 0)
		goto refuse;

	/* the old detector judges what it holds and reports its open
	 * incidents once more: the new one continues them */
	w->capturing = true;
	detect_finish(w->detector);
	w->capturing = false;
	/* the store's rows by (network, name) change only with the list */
	if (!config_same_rows(oc, nc) && store_sync_targets(w->store, nc, err, sizeof(err)) < 0)
		goto refuse;
	detect_carry(nd, w->detector, df.from, df.net_from);
	detect_set_next_id(nd, detect_next_id(w->detector));
	detect_free(w->detector);

	struct serve_live *ol = w->live;
	w->cfg = nc;
	w->detector = nd;
	w->live = nl;
	w->old = (struct retiring){
	    .engine = w->engine, .cfg = oc, .to_new = df.to, .n = oc->ntargets, .deadline_ns = ev_now(w->loop)};
	df.to = NULL;
	for (size_t i = 0; i < oc->ntargets; i++) {
		const struct target_cfg *t = &oc->targets[i];
		int64_t until = (t->interval_ms + t->timeout_ms + 1000) * NS_PER_MS;
		if (w->old.deadline_ns < ev_now(w->loop) + until)
			w->old.deadline_ns = ev_now(w->loop) + until;
	}
	probe_engine_retire(w->engine, ne, on_old_measurement, w);
	w->engine = ne;
	if (ev_add_timer(w->loop, 20 * NS_PER_MS, on_retiring, w) == 0)
		finish_retiring(w);
	render_set_round(nc->interval_ms, nc->detect.abrupt_rounds);

	if (serve_live_load(nl, w->store, wall_now_ms(), err, sizeof(err)) < 0)
		log_warnx("dashboard: %s", err);
	serve_live_carry(nl, ol, df.from);
	for (size_t i = 0; i < w->ncaptured; i++)
		resume_one(w->captured_id[i], w->captured[i], w);
	free_captured(w);

	if (!config_alerts_same(oc, nc)) {
		struct config *ac = w->alert_cfg;
		serve_live_set_alert(ol, NULL);
		alert_stop(w->alert, 1000);
		w->alert = NULL;
		w->alert_cfg = nc;
		cfg_release(w, ac);
		if (alert_new(nc, NULL, &w->alert, err, sizeof(err)) < 0)
			log_warnx("reload: alerts: %s", err);
	}
	serve_live_set_alert(nl, w->alert);
	serve_http_swap(w->http, nc, nl);
	serve_live_running(nl, true);
	serve_live_free(ol);

	if (!config_bgp_same(oc, nc)) {
		struct config *bc = w->bgp_cfg;
		if (w->bgp != NULL) {
			bgp_stop(w->bgp);
			bgp_free(w->bgp);
			w->bgp = NULL;
		}
		if (open_bgp(w, err, sizeof(err)) < 0 || (w->bgp != NULL && bgp_start(w->bgp, err, sizeof(err)) < 0))
			log_warnx("reload: bgp: %s", err);
		cfg_release(w, bc);
	}
	live_bgp_seed(w);

	log_info("reload: %zu targets added, %zu removed, %zu changed, %zu unchanged", df.added, df.removed, df.changed,
		 df.same);
	config_diff_free(&df);
	sd_notifyf(0, "READY=1\nSTATUS=watching %zu targets of %zu networks", nc->ntargets, nc->nnetworks);
	return;
refuse:
	probe_engine_free(ne);
	probe_engine_take_loop_hook(w->engine); /* ne may have had it */
	detect_free(nd);
	serve_live_free(nl);
	free_captured(w);
	config_free(nc);
	config_diff_free(&df);
	reload_refused(w, err);
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
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	w.cfg = cli_load_config(path);
	if (w.cfg == NULL)
		return EXIT_USAGE;
	render_set_round(w.cfg->interval_ms, w.cfg->detect.abrupt_rounds);
	/* parsing a large configuration leaves freed heap behind: give it back */
	malloc_trim(0);
	w.path = path;
	w.bgp_cfg = w.alert_cfg = w.cfg;
	w.detector = detect_new(w.cfg, &watch_hooks, &w);
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
	if (open_bgp(&w, err, sizeof(err)) < 0) {
		fprintf(stderr, "lightsout: watch: bgp: %s\n", err);
		goto out;
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
	finish_retiring(&w);
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
	free_captured(&w);
	if (w.bgp_cfg != w.cfg && w.bgp_cfg != w.alert_cfg)
		config_free(w.bgp_cfg);
	if (w.alert_cfg != w.cfg)
		config_free(w.alert_cfg);
	free(w.logged);
	config_free(w.cfg);
	return rc;
}
