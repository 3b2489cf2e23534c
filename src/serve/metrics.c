/* /metrics: Prometheus text exposition format 0.0.4 with SPEC.md's names.
 * Base units (seconds, ratios); counters end in _total; label values come
 * only from the configuration and the model's fixed words, so the number
 * of series is bounded by the configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "detect/detect.h"
#include "serve/render.h"
#include "store/store.h"

void serve_prom_escape(FILE *out, const char *s)
{
	while (s && *s) {
		size_t run = strcspn(s, "\\\"\n");
		fwrite(s, 1, run, out);
		s += run;
		if (!*s)
			return;
		fputs(*s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : "\\n", out);
		s++;
	}
}

static void header(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *net_name(const struct config *cfg, const struct target_cfg *t)
{
	return t->network < cfg->nnetworks ? cfg->networks[t->network].name : "";
}

/* name{network="..",target="..",role="..",kind=".."} */
static void target_labels(FILE *out, const char *name, const struct config *cfg, const struct target_cfg *t)
{
	fputs(name, out);
	fputs("{network=\"", out);
	serve_prom_escape(out, net_name(cfg, t));
	fputs("\",target=\"", out);
	serve_prom_escape(out, t->name);
	fprintf(out, "\",role=\"%s\",kind=\"%s\"} ", role_name(t->role), kind_name(t->kind));
}

static void target_metrics(FILE *out, const struct config *cfg, const struct serve_snapshot *s)
{
	header(out, "lightsout_target_up", "gauge",
	       "1 if the target answered its last round (state up or degraded), 0 if not");
	for (size_t i = 0; i < s->ntargets; i++) {
		const struct serve_target_snap *t = &s->targets[i];
		int up;
		if (t->state == STATE_UP || t->state == STATE_DEGRADED)
			up = 1;
		else if (t->state == STATE_DOWN)
			up = 0;
		else if (t->last_at_ms > 0)
			up = t->last_outcome == OUTCOME_OK;
		else
			continue; /* never probed: no sample rather than a guess */
		target_labels(out, "lightsout_target_up", cfg, &cfg->targets[i]);
		fprintf(out, "%d\n", up);
	}
	header(out, "lightsout_target_rtt_seconds", "gauge", "Round-trip time of the target's last answered round");
	for (size_t i = 0; i < s->ntargets; i++) {
		const struct serve_target_snap *t = &s->targets[i];
		if (t->last_at_ms <= 0 || t->last_rtt_ms < 0)
			continue;
		target_labels(out, "lightsout_target_rtt_seconds", cfg, &cfg->targets[i]);
		fprintf(out, "%.9g\n", t->last_rtt_ms / 1000.0);
	}
	header(out, "lightsout_target_loss_ratio", "gauge", "Share of probes lost in the target's last round");
	for (size_t i = 0; i < s->ntargets; i++) {
		const struct serve_target_snap *t = &s->targets[i];
		if (t->last_at_ms <= 0)
			continue;
		target_labels(out, "lightsout_target_loss_ratio", cfg, &cfg->targets[i]);
		fprintf(out, "%.6g\n", (double)t->last_loss);
	}
}

static void network_metrics(FILE *out, const struct config *cfg, const struct serve_snapshot *s)
{
	size_t nn = cfg->nnetworks;

	header(out, "lightsout_network_targets", "gauge", "Targets of the network by role and current state");
	/* one pass over the targets, whatever the number of networks */
	size_t(*counts)[ROLE_COUNT][STATE_COUNT] = calloc(nn ? nn : 1, sizeof(*counts));
	bool(*present)[ROLE_COUNT] = calloc(nn ? nn : 1, sizeof(*present));
	if (counts && present) {
		for (size_t i = 0; i < s->ntargets; i++) {
			const struct target_cfg *t = &cfg->targets[i];
			if (t->network >= nn || (unsigned)t->role >= ROLE_COUNT)
				continue;
			present[t->network][t->role] = true;
			if ((unsigned)s->targets[i].state < STATE_COUNT)
				counts[t->network][t->role][s->targets[i].state]++;
		}
		for (size_t n = 0; n < nn; n++) {
			for (int r = 0; r < ROLE_COUNT; r++) {
				if (!present[n][r])
					continue;
				for (int st = 0; st < STATE_COUNT; st++) {
					fputs("lightsout_network_targets{network=\"", out);
					serve_prom_escape(out, cfg->networks[n].name);
					fprintf(out, "\",role=\"%s\",state=\"%s\"} %zu\n", role_name((enum role)r),
						state_name((enum target_state)st), counts[n][r][st]);
				}
			}
		}
	}
	free(counts);
	free(present);
	header(out, "lightsout_network_prefixes", "gauge", "Prefixes of the network expected in BGP");
	for (size_t n = 0; n < nn; n++) {
		long v = s->bgp_expected[n] >= 0 ? s->bgp_expected[n] : (long)cfg->networks[n].nprefixes;
		fputs("lightsout_network_prefixes{network=\"", out);
		serve_prom_escape(out, cfg->networks[n].name);
		fprintf(out, "\"} %ld\n", v);
	}
	header(out, "lightsout_network_prefixes_visible", "gauge",
	       "Prefixes of the network visible in BGP now (absent without BGP data)");
	for (size_t n = 0; n < nn; n++) {
		if (s->bgp_visible[n] < 0)
			continue;
		fputs("lightsout_network_prefixes_visible{network=\"", out);
		serve_prom_escape(out, cfg->networks[n].name);
		fprintf(out, "\"} %d\n", s->bgp_visible[n]);
	}
	header(out, "lightsout_incident_open", "gauge",
	       "Open incidents by network and cause (network \"\" is the vantage point)");
	for (size_t n = 0; n <= nn; n++) {
		const char *name = n < nn ? cfg->networks[n].name : "";
		for (int c = 0; c < CAUSE_COUNT; c++) {
			const char *cause = detect_cause_name((enum detect_cause)c);
			size_t k = 0;
			for (size_t i = 0; i < s->nincidents; i++)
				if (strcmp(s->incidents[i].network, name) == 0 &&
				    strcmp(s->incidents[i].cause, cause) == 0)
					k++;
			/* the vantage pseudo-network only has vantage incidents */
			if (n == nn && c != CAUSE_VANTAGE && k == 0)
				continue;
			if (n < nn && c == CAUSE_VANTAGE && k == 0)
				continue;
			fputs("lightsout_incident_open{network=\"", out);
			serve_prom_escape(out, name);
			fprintf(out, "\",cause=\"%s\"} %zu\n", cause, k);
		}
	}
}

/* Read from the store itself, not the loop's snapshot: a loop that
 * starves (a flooding BGP peer) must not hide the drops it causes. */
static void store_metrics(FILE *out, const struct store_stats *ss)
{
	header(out, "lightsout_store_queue_depth", "gauge", "Records waiting for the store writer");
	fprintf(out, "lightsout_store_queue_depth %zu\n", ss->queue_depth);
	header(out, "lightsout_store_dropped_total", "counter",
	       "Records dropped by kind: the store queue had no room for them, or their batch failed");
	for (int k = 0; k < STORE_KIND_COUNT; k++)
		fprintf(out, "lightsout_store_dropped_total{kind=\"%s\"} %llu\n", store_kind_name((enum store_kind)k),
			(unsigned long long)ss->dropped[k]);
	header(out, "lightsout_store_write_errors_total", "counter", "Store batches whose transaction failed");
	fprintf(out, "lightsout_store_write_errors_total %llu\n", (unsigned long long)ss->write_errors);
}

void serve_metrics_render(FILE *out, const struct config *cfg, const struct serve_snapshot *s,
			  const struct store_stats *ss, const char *version)
{
	header(out, "lightsout_build_info", "gauge", "The running build of lightsout");
	fputs("lightsout_build_info{version=\"", out);
	serve_prom_escape(out, version);
	fputs("\"} 1\n", out);
	header(out, "lightsout_up", "gauge", "1 while probing runs");
	fprintf(out, "lightsout_up %d\n", s->running ? 1 : 0);
	target_metrics(out, cfg, s);
	network_metrics(out, cfg, s);
	header(out, "lightsout_probes_total", "counter", "Completed probe rounds by kind and outcome");
	for (int k = 0; k < KIND_COUNT; k++)
		for (int o = 0; o < OUTCOME_COUNT; o++)
			fprintf(out, "lightsout_probes_total{kind=\"%s\",outcome=\"%s\"} %llu\n",
				kind_name((enum probe_kind)k), outcome_name((enum outcome)o),
				(unsigned long long)s->probes[k][o]);
	header(out, "lightsout_rounds_missed_total", "counter",
	       "Probe rounds not run: past after the process stood still, or max_pps too low for the targets");
	fprintf(out, "lightsout_rounds_missed_total %llu\n", (unsigned long long)s->rounds_missed);
	store_metrics(out, ss);
	if (s->npeers > 0) {
		header(out, "lightsout_bgp_peer_established", "gauge",
		       "1 if the BGP session with the peer is established");
		for (size_t p = 0; p < s->npeers; p++) {
			fputs("lightsout_bgp_peer_established{peer=\"", out);
			serve_prom_escape(out, cfg->bgp.peers[p].address);
			fprintf(out, "\"} %d\n", strcmp(s->peer_state[p], "established") == 0);
		}
	}
	if (s->nalerts > 0) {
		static const struct {
			const char *name, *type, *help;
		} am[] = {
		    {"lightsout_alerts_sent_total", "counter", "Alert notifications delivered by receiver"},
		    {"lightsout_alert_failures_total", "counter", "Failed alert delivery attempts by receiver"},
		    {"lightsout_alerts_dropped_total", "counter",
		     "Alert notifications given up (older than max_age, or queue full) by receiver"},
		    {"lightsout_alert_queue_depth", "gauge", "Alert notifications waiting for delivery by receiver"},
		};
		for (size_t m = 0; m < sizeof(am) / sizeof(am[0]); m++) {
			header(out, am[m].name, am[m].type, am[m].help);
			for (size_t a = 0; a < s->nalerts; a++) {
				const struct alert_stats *x = &s->alerts[a];
				unsigned long long v = m == 0   ? x->sent
						       : m == 1 ? x->failures
						       : m == 2 ? x->dropped
								: (unsigned long long)x->queued;
				fprintf(out, "%s{receiver=\"%zu\",format=\"", am[m].name, a);
				serve_prom_escape(out, cfg->alerts[a].format ? cfg->alerts[a].format : "json");
				fprintf(out, "\"} %llu\n", v);
			}
		}
	}
}
