/* Classification: the cause of an incident and its evidence, by the rules
 * of docs/detection.md. */
#include <stdarg.h>
#include <stdio.h>

#include "detect/detect_int.h"

void incident_evidence(struct incident *inc, const char *fmt, ...)
{
	va_list ap;

	if (inc->nev >= MAX_EVIDENCE)
		return;
	va_start(ap, fmt);
	vsnprintf(inc->ev[inc->nev++], EVIDENCE_LEN, fmt, ap);
	va_end(ap);
}

static void fmt_minutes(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if (s < 0)
		s = -s;
	if (s < 120)
		snprintf(buf, len, "%lld s", (long long)s);
	else if (s < 7200)
		snprintf(buf, len, "%lld min", (long long)(s / 60));
	else
		snprintf(buf, len, "%lld h %lld min", (long long)(s / 3600), (long long)(s / 60 % 60));
}

struct facts {
	size_t n;          /* targets of the network */
	uint32_t eligible; /* of which have answered at least once */
	uint32_t down;     /* went down in this incident (any failure) */
	uint32_t dark;     /* went down dark from healthy */
	uint32_t abrupt;   /* ... with a first failure within abrupt_rounds of the onset */
	uint32_t fail_span;
	uint32_t role_n[ROLE_COUNT], role_abrupt[ROLE_COUNT];
	uint32_t roles_present, roles_hit;
	uint32_t first_router_fail, first_other_fail;
	uint32_t out_routers, out_down;
	uint32_t dns_down, other_down, dns_n, other_n;
	char down_names[160];
};

static void gather(const struct detector *d, const struct dnet *net, const struct incident *inc, struct facts *f)
{
	memset(f, 0, sizeof(*f));
	f->n = net->n;
	f->first_router_fail = f->first_other_fail = NO_SLOT;
	f->out_routers = net->n_outside_routers;
	for (size_t i = 0; i < net->n; i++) {
		const struct dtarget *t = &d->t[net->targets[i]];
		if (t->tainted)
			continue;
		if (t->ever_ok && judged_target(net, t)) {
			f->eligible++;
			f->role_n[t->role]++;
		}
		if (t->role == ROLE_DNS)
			f->dns_n++;
		else if (t->ever_ok && judged_target(net, t))
			f->other_n++; /* the network's other servers, not the neighbour's routers */
	}
	for (int r = 0; r < ROLE_COUNT; r++)
		if (f->role_n[r])
			f->roles_present++;
	for (size_t i = 0; i < inc->ninv; i++) {
		const struct inv *v = &inc->inv[i];
		const struct dtarget *t = &d->t[v->target];
		bool dark = v->went_dark && v->healthy_before;
		if (!v->was_down || t->tainted)
			continue;
		f->down++;
		if (t->role == ROLE_DNS)
			f->dns_down++;
		else if (v->healthy_before && judged_target(net, t))
			f->other_down++;
		size_t l = strlen(f->down_names);
		if (l + 2 < sizeof(f->down_names))
			snprintf(f->down_names + l, sizeof(f->down_names) - l, "%s%s", l ? ", " : "",
				 tname(d, v->target));
		if (dark && t->role == ROLE_ROUTER && t->outside)
			f->out_down++;
		if (!dark || !judged_target(net, t))
			continue;
		f->dark++;
		/* failures starting within abrupt_rounds, seen within one more:
		 * a probe sees a silence only at its next round */
		if (inc->have_onset && v->first_fail_slot <= inc->onset_slot + d->p.abrupt_rounds + 1) {
			f->abrupt++;
			f->role_abrupt[t->role]++;
		}
		if (inc->have_onset && v->first_fail_slot != NO_SLOT && v->first_fail_slot >= inc->onset_slot &&
		    v->first_fail_slot - inc->onset_slot > f->fail_span)
			f->fail_span = v->first_fail_slot - inc->onset_slot;
		if (t->role == ROLE_ROUTER) {
			if (v->first_fail_slot < f->first_router_fail)
				f->first_router_fail = v->first_fail_slot;
		} else if (v->first_fail_slot < f->first_other_fail) {
			f->first_other_fail = v->first_fail_slot;
		}
	}
	for (int r = 0; r < ROLE_COUNT; r++)
		if (f->role_abrupt[r])
			f->roles_hit++;
}

/* "most targets of every role" went down within the abrupt window. */
static bool every_role_abrupt(const struct facts *f)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!f->role_n[r])
			continue;
		if ((double)f->role_abrupt[r] < MOST_FRACTION * (double)f->role_n[r])
			return false;
	}
	return true;
}

static void lead_sentence(struct incident *inc, size_t n)
{
	char extra[96] = "";

	if (inc->lead_rtt_peak >= 2.0)
		snprintf(extra, sizeof(extra), ", RTT up to %.1fx baseline", inc->lead_rtt_peak);
	if (inc->lead_max_fail)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ", timeouts on up to %u target(s)",
			 inc->lead_max_fail);
	/* name loss only when it rose: a queueing-only lead is told by its RTT */
	if (lround(pct(inc->lead_loss_peak)) > lround(pct(inc->lead_loss_from)))
		incident_evidence(
		    inc,
		    "loss rose from %.0f%% to %.0f%% with degradation on up to %u of %zu targets over %u rounds "
		    "before the first target went down%s",
		    pct(inc->lead_loss_from), pct(inc->lead_loss_peak), inc->lead_max_bad, n, inc->lead_rounds, extra);
	else
		incident_evidence(
		    inc, "degradation on up to %u of %zu targets over %u rounds before the first target went down%s",
		    inc->lead_max_bad, n, inc->lead_rounds, extra);
}

static void classify_vantage(const struct detector *d, struct incident *inc)
{
	uint32_t ctl_down = 0, tgt_down = 0;

	inc->nev = 0;
	for (size_t i = 0; i < inc->ninv; i++) {
		if (!inc->inv[i].was_down)
			continue;
		if (d->t[inc->inv[i].target].net == NET_NONE)
			ctl_down++;
		else
			tgt_down++;
	}
	inc->cause = CAUSE_VANTAGE;
	inc->confidence = d->ncontrols >= 2 && ctl_down >= 2 ? 0.9 : 0.75;
	incident_evidence(inc,
			  "%u of %zu controls (outside every watched network) failed together with %u watched targets",
			  ctl_down, d->ncontrols, tgt_down);
	incident_evidence(inc, "the trouble is on our side: no network incident was opened");
}

/* stress: degradation on many targets for stress_lead_rounds first */
static void judge_stress(const struct detector *d, struct incident *inc, const struct facts *f, bool network_wide,
			 bool abrupt)
{
	inc->cause = CAUSE_STRESS;
	if (!network_wide) {
		inc->confidence = f->down ? 0.6 : 0.5;
		lead_sentence(inc, f->n);
		if (f->down)
			incident_evidence(inc, "only %u of %zu targets went down (%s); at most %.0f%% down at once",
					  f->down, f->n, f->down_names, pct(inc->max_down_fraction));
		else
			incident_evidence(inc, "no target went down: the network stayed reachable but degraded");
		return;
	}
	inc->confidence = 0.65;
	lead_sentence(inc, f->n);
	if (f->fail_span > d->p.abrupt_rounds + 1) {
		inc->confidence += 0.1;
		incident_evidence(inc, "targets fell progressively: %u went down over %u rounds, not at once", f->dark,
				  f->fail_span + 1);
	}
	if (f->first_router_fail != NO_SLOT && f->first_other_fail != NO_SLOT &&
	    f->first_router_fail > f->first_other_fail) {
		inc->confidence += 0.1;
		incident_evidence(inc, "routers fell last: the first router went dark %u rounds after the first server",
				  f->first_router_fail - f->first_other_fail);
	}
	if (!abrupt)
		incident_evidence(inc, "no abrupt silence across every role, so not a power cut");
}

void incident_classify(const struct detector *d, const struct dnet *net, struct incident *inc)
{
	struct facts f;
	bool network_wide, lead, abrupt, bgp_before, bgp_long_before, out_alive, out_dead, unreach_route,
	    announced_past;
	int64_t announced_for = -1;
	char buf[64], quiet[96];

	if (inc->net == NET_NONE) {
		classify_vantage(d, inc);
		return;
	}
	if (inc->resumed)
		return; /* judged before the restart; facts are gone */
	gather(d, net, inc, &f);
	inc->nev = 0;
	network_wide = inc->wide_rounds > 0;
	lead = inc->lead_rounds >= d->p.stress_lead_rounds && inc->lead_max_bad >= many_of(f.n);
	abrupt = f.dark > 0 && net_dark(d, f.abrupt, f.eligible) && every_role_abrupt(&f);
	out_alive = f.out_routers > 0 && inc->out_alive_rounds > 0 && inc->out_alive_rounds >= inc->out_dead_rounds;
	out_dead = f.out_routers > 0 && f.out_down == f.out_routers;
	unreach_route = inc->dark_onset && inc->early_unreach_out > 0 &&
			(double)inc->on_unreach_out >= ROUTING_UNREACH_SHARE * (double)inc->on_fail;
	bgp_before = inc->withdraw_at >= 0 && inc->dark_onset && inc->withdraw_at <= inc->onset_at + d->tol_ms;
	/* withdrawn a whole round before the first failure: the data plane
	 * kept answering after the routes went, so the equipment was alive */
	bgp_long_before = bgp_before && inc->withdraw_at + d->interval_ms + d->tol_ms <= inc->onset_at;
	if (net->bgp_seen && inc->dark_onset && inc->dark_last_at >= 0) {
		/* how long the prefixes stayed announced while the network was dark */
		int64_t until = inc->dark_last_at;
		if (inc->withdraw_at >= 0 && inc->withdraw_at < until)
			until = inc->withdraw_at;
		announced_for = until - inc->onset_at;
	}
	announced_past = announced_for >= d->filter_wait_ms;
	snprintf(quiet, sizeof(quiet), "no degradation in the %u rounds before", inc->quiet_window);

	/* degradation on many targets first explains whatever fell after it,
	 * name servers included */
	if (lead) {
		judge_stress(d, inc, &f, network_wide, abrupt);
		return;
	}
	/* dns: (most of) the name servers fail while the other servers stay reachable */
	if (f.dns_down > 0 && f.other_down == 0 && f.other_n > 0 &&
	    (f.dns_down == f.dns_n || (double)f.dns_down > MOST_FRACTION * (double)f.dns_n)) {
		inc->cause = CAUSE_DNS;
		inc->confidence = f.dns_down == f.dns_n ? 0.85 : 0.7;
		incident_evidence(inc, "%u of %u name servers failed (%s) while all %u other targets stayed reachable",
				  f.dns_down, f.dns_n, f.down_names, f.other_n);
		return;
	}
	if (!network_wide) {
		inc->cause = CAUSE_HOST;
		inc->confidence = f.n > 2 ? 0.8 : 0.55;
		incident_evidence(
		    inc,
		    "%u of %zu targets went down (%s); the network stayed reachable (at most %u of %u dark at once)",
		    f.down, f.n, f.down_names, inc->max_dark, f.eligible);
		if (f.down > f.dark)
			incident_evidence(inc, "%u of them answered with refusals or errors: the hosts are alive",
					  f.down - f.dark);
		return;
	}
	if (unreach_route) {
		inc->cause = CAUSE_ROUTING;
		inc->confidence = inc->on_unreach_out * 2 >= inc->on_fail ? 0.8 : 0.7;
		incident_evidence(
		    inc,
		    "%u of %u failed probes got explicit unreachables from routers outside the network (e.g. %s), "
		    "from the start, instead of silence",
		    inc->on_unreach_out, inc->on_fail, inc->unreach_from[0] ? inc->unreach_from : "?");
		if (inc->withdraw_at >= 0) {
			inc->confidence += 0.1;
			fmt_minutes(inc->onset_at - inc->withdraw_at, buf, sizeof(buf));
			incident_evidence(inc, "BGP withdrew the network's prefixes %s %s the first probe failed", buf,
					  inc->withdraw_at <= inc->onset_at ? "before" : "after");
		}
		if (out_alive)
			incident_evidence(inc, "routers numbered outside the prefixes kept answering");
		return;
	}
	if (bgp_before && (out_alive || bgp_long_before) && !out_dead) {
		inc->cause = CAUSE_ROUTING;
		inc->confidence = out_alive ? 0.9 : 0.75;
		fmt_minutes(inc->onset_at - inc->withdraw_at, buf, sizeof(buf));
		incident_evidence(inc, "BGP withdrew the network's prefixes %s %s the first probe failed", buf,
				  inc->withdraw_at <= inc->onset_at ? "before" : "after (within a probe timeout of)");
		if (out_alive)
			incident_evidence(
			    inc,
			    "%u router(s) numbered outside the prefixes kept answering: the equipment stayed alive",
			    f.out_routers - f.out_down);
		else
			incident_evidence(inc,
					  "the targets kept answering for a round after the withdrawal: the equipment "
					  "was alive when the routes went");
		return;
	}
	if (abrupt && announced_past) {
		inc->cause = CAUSE_FILTERING;
		inc->confidence = out_alive ? 0.85 : 0.75;
		fmt_minutes(announced_for, buf, sizeof(buf));
		incident_evidence(inc, "%u of %u targets went silent within %u round(s); %s", f.abrupt, f.eligible,
				  d->p.abrupt_rounds + 1, quiet);
		incident_evidence(inc,
				  "the network's prefixes stayed announced in BGP for %s after the silence began, "
				  "well past a hold time: traffic blocked, routes kept",
				  buf);
		if (out_alive)
			incident_evidence(inc, "routers numbered outside the prefixes kept answering");
		return;
	}
	if (abrupt && out_alive) {
		incident_evidence(inc,
				  "%u of %u targets went silent within %u round(s), but routers numbered outside the "
				  "prefixes kept answering: the equipment stayed alive",
				  f.abrupt, f.eligible, d->p.abrupt_rounds + 1);
		inc->confidence = 0.5;
		if (net->bgp_seen && inc->withdraw_at < 0) {
			inc->cause = CAUSE_FILTERING;
			incident_evidence(inc, "prefixes still announced in BGP, but not yet past a hold time");
		} else {
			inc->cause = CAUSE_ROUTING;
			incident_evidence(inc, net->bgp_seen ? "BGP withdrew the prefixes after the silence began"
							     : "no BGP data to tell a withdrawal from filtering");
		}
		return;
	}
	if (abrupt) {
		inc->cause = CAUSE_POWER;
		inc->confidence = 0.7;
		incident_evidence(inc, "%u of %u targets of every role went silent within %u round(s)%s; %s", f.abrupt,
				  f.eligible, d->p.abrupt_rounds + 1, f.role_n[ROLE_ROUTER] ? ", routers included" : "",
				  quiet);
		if (out_dead) {
			inc->confidence += 0.15;
			incident_evidence(inc, "routers numbered outside the network's prefixes went silent too");
		}
		if (inc->withdraw_at >= 0) {
			fmt_minutes(inc->withdraw_at - inc->onset_at, buf, sizeof(buf));
			inc->confidence += 0.05;
			incident_evidence(
			    inc, "BGP withdrawal came %s %s the silence (dead routers drop their sessions)", buf,
			    inc->withdraw_at >= inc->onset_at ? "after" : "before the first failed probe, with");
		} else if (net->bgp_seen) {
			incident_evidence(inc, "prefixes still announced in BGP, but not yet past a hold time");
			inc->confidence -= 0.15;
		}
		if (inc->on_timeout && inc->on_fail)
			incident_evidence(
			    inc, "%u of %u failed probes met silence (timeouts, or hosts gone from their link)",
			    inc->on_timeout, inc->on_fail);
		return;
	}
	inc->cause = CAUSE_UNKNOWN;
	inc->confidence = 0.3;
	incident_evidence(inc, "%u of %u targets went dark over %u rounds with no degradation before and no BGP signal",
			  f.dark, f.eligible, f.fail_span + 1);
	if (!every_role_abrupt(&f))
		incident_evidence(inc, "%u of %u roles fell at once", f.roles_hit, f.roles_present);
}
