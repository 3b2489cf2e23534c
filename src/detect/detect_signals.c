/* Signals: each network's statistics of a round, the degradation that
 * led to an onset, the failures after it, the onset itself, and whether
 * the trouble is on our side. */
#include "detect/detect_int.h"

void net_stats(struct detector *d, struct dnet *n, uint32_t slot)
{
	struct rstat *r = &n->ring[slot % RING_ROUNDS];

	memset(r, 0, sizeof(*r));
	r->slot = slot;
	for (size_t i = 0; i < n->n; i++) {
		const struct dtarget *t = &d->t[n->targets[i]];
		bool judged = t->ever_ok && judged_target(n, t);
		if (judged)
			r->n_eligible++;
		if (t->h.state == STATE_DOWN) {
			r->n_down++;
			if (judged && !t->tainted && (t->fclass == FC_SILENT || t->fclass == FC_NOROUTE))
				r->n_dark++;
		} else if (t->h.state == STATE_DEGRADED)
			r->n_degr_state++;
		if (!t->measured)
			continue;
		if (t->h.last == HEALTH_ROUND_FAILED) {
			r->n_fail++;
			/* silence, or a last-hop router that cannot find the host */
			if (t->fclass == FC_SILENT)
				r->n_timeout++;
			else if (t->fclass == FC_NOROUTE) {
				r->n_unreach++;
				if (t->from_outside)
					r->n_unreach_out++;
			}
		} else {
			r->n_answer++;
			r->loss_sum += t->last_loss;
			if (health_has_baseline(&t->h) && t->h.rtt_mean > 0 && t->last_rtt >= 0) {
				double ratio = t->last_rtt / t->h.rtt_mean;
				if (ratio > r->rtt_ratio_max)
					r->rtt_ratio_max = ratio;
			}
		}
		if (t->h.last != HEALTH_ROUND_GOOD) {
			r->n_badany++;
			if (t->h.state != STATE_DOWN)
				r->n_bad++;
		}
	}
}

/* Lead: the degradation right before the onset (the first failure
 * streak that led to a dark target), walking back from the onset while
 * many targets were bad, a single calmer round not ending it; then the
 * quiet window before the lead, for "no degradation before". */
void compute_lead(struct detector *d, struct dnet *n, struct incident *inc, uint32_t slot)
{
	uint32_t many = many_of(n->n), window = d->p.baseline_rounds, lb = lookback_rounds(d), gap = 0;
	uint32_t fall = inc->onset_slot, from;

	/* the fall: every target that went down with the onset (its failures
	 * began within the abrupt window before it), whatever its failure */
	for (size_t i = 0; i < inc->ninv; i++) {
		const struct inv *v = &inc->inv[i];
		if (v->was_down && !d->t[v->target].tainted && v->first_fail_slot < fall &&
		    inc->onset_slot - v->first_fail_slot <= d->p.abrupt_rounds + 1)
			fall = v->first_fail_slot;
	}
	from = fall;

	if (window > RING_ROUNDS / 4)
		window = RING_ROUNDS / 4;
	if (lb > RING_ROUNDS / 2)
		lb = RING_ROUNDS / 2;
	/* frozen once the ring no longer holds the rounds it was built from */
	if (slot >= inc->onset_slot && slot - inc->onset_slot + lb + window + 1 >= RING_ROUNDS)
		return;
	inc->lead_rounds = inc->lead_max_bad = inc->lead_max_fail = 0;
	inc->lead_loss_peak = inc->lead_rtt_peak = 0;
	for (uint32_t k = 1; k <= lb && k <= fall; k++) {
		const struct rstat *r = ring_at(n, fall - k);
		if (!r || r->n_bad < many) {
			if (++gap > LEAD_GAP_ROUNDS)
				break;
			continue;
		}
		gap = 0;
		from = fall - k;
		inc->lead_rounds++;
		if (r->n_bad > inc->lead_max_bad)
			inc->lead_max_bad = r->n_bad;
		if (r->n_fail > inc->lead_max_fail)
			inc->lead_max_fail = r->n_fail;
		if (r->n_answer && r->loss_sum / r->n_answer > inc->lead_loss_peak)
			inc->lead_loss_peak = r->loss_sum / r->n_answer;
		if (r->rtt_ratio_max > inc->lead_rtt_peak)
			inc->lead_rtt_peak = r->rtt_ratio_max;
	}
	inc->quiet_window = 0;
	for (uint32_t k = 1; k <= window && k <= from; k++)
		if (ring_at(n, from - k))
			inc->quiet_window++;
}

/* Failures of the network's targets from the onset on: silence vs
 * explicit unreachables, and those from routers outside the network (the
 * routing signal), over the whole outage (rate-limited ICMP errors come
 * in a minority of rounds) and in its first rounds ("from the start"). */
void count_failures(struct detector *d, struct dnet *n, struct incident *inc, uint32_t slot)
{
	uint32_t early = inc->onset_slot + d->p.down_after + d->p.abrupt_rounds;

	if (inc->acc_onset != inc->onset_slot || !inc->acc_started) {
		inc->acc_started = true;
		inc->acc_onset = inc->onset_slot;
		inc->acc_next = inc->onset_slot;
		inc->on_fail = inc->on_timeout = inc->on_unreach_out = inc->early_unreach_out = 0;
	}
	/* the rounds of [acc_next, slot] the ring holds, walked by the ring:
	 * the slots in between may be billions apart */
	for (size_t k = 0; k < RING_ROUNDS; k++) {
		const struct rstat *r = &n->ring[k];
		if (r->slot == NO_SLOT || r->slot < inc->acc_next || r->slot > slot)
			continue;
		inc->on_fail += r->n_timeout + r->n_unreach;
		inc->on_timeout += r->n_timeout;
		inc->on_unreach_out += r->n_unreach_out;
		if (r->slot < early)
			inc->early_unreach_out += r->n_unreach_out;
		if (r->n_unreach_out && !inc->unreach_from[0])
			memcpy(inc->unreach_from, n->unreach_from, sizeof(inc->unreach_from));
	}
	inc->acc_next = slot + 1;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The onset the cause is judged from: the first failure of the first
 * group of targets that fell dark from healthy within the abrupt window
 * and made the network dark by themselves (a host that was down before
 * does not move it); else the first failure of any target that fell dark
 * from healthy; else (only refusals, or targets never seen up) the first
 * failure of any target that went down. */
void dark_onset(const struct detector *d, const struct dnet *n, struct incident *inc, uint32_t eligible)
{
	uint32_t *fs, nfs = 0, best = NO_SLOT;

	if (inc->onset_changes == inc->changes && inc->dark_onset)
		return;
	inc->onset_changes = inc->changes;
	fs = xrealloc(NULL, inc->ninv ? inc->ninv : 1, sizeof(*fs));
	for (size_t i = 0; i < inc->ninv; i++) {
		const struct inv *v = &inc->inv[i];
		if (!v->was_down || !v->went_dark || !v->healthy_before || d->t[v->target].tainted ||
		    v->first_fail_slot == NO_SLOT || !judged_target(n, &d->t[v->target]))
			continue;
		fs[nfs++] = v->first_fail_slot;
	}
	qsort(fs, nfs, sizeof(*fs), u32_cmp);
	for (uint32_t i = 0, j = 0; i < nfs && best == NO_SLOT; i++) {
		while (j < nfs && fs[j] <= fs[i] + d->p.abrupt_rounds + 1)
			j++;
		if (net_dark(d, j - i, eligible))
			best = fs[i];
	}
	if (best == NO_SLOT && nfs > 0)
		best = fs[0];
	free(fs);
	if (best == NO_SLOT)
		return;
	for (size_t i = 0; i < inc->ninv; i++) {
		const struct inv *v = &inc->inv[i];
		if (v->first_fail_slot != best || !v->was_down || !v->went_dark || !v->healthy_before ||
		    d->t[v->target].tainted)
			continue;
		if (!inc->dark_onset || inc->onset_slot != best || v->first_down_at < inc->onset_at) {
			inc->dark_onset = true;
			inc->onset_slot = best;
			inc->onset_at = v->first_down_at;
		}
	}
}

/* Where the trouble began: the oldest current bad streak of the network
 * (within the lookback), else the slot's own time. */
int64_t trouble_start(const struct detector *d, const struct dnet *n, uint32_t slot)
{
	uint32_t lb = lookback_rounds(d);
	int64_t at = -1;

	for (size_t i = 0; i < n->n; i++) {
		const struct dtarget *t = &d->t[n->targets[i]];
		if (t->tainted || t->bad_slot == NO_SLOT || t->bad_at < 0)
			continue;
		if (slot - t->bad_slot > lb)
			continue;
		if (at < 0 || t->bad_at < at)
			at = t->bad_at;
	}
	return at < 0 ? d->cur_at : at;
}

/* Controls failing together with the watched targets: our side, once
 * they are down (a lost control probe is not an outage of ours). */
enum vantage_level vantage_trouble(const struct detector *d)
{
	uint32_t ctl_fail = 0, ctl_down = 0, together = 0, ntg = 0, min_slot = NO_SLOT;

	if (d->ncontrols == 0)
		return VANTAGE_NONE;
	for (size_t i = 0; i < d->ncontrols; i++) {
		const struct dtarget *t = &d->t[d->controls[i]];
		if (t->h.state == STATE_DOWN)
			ctl_down++;
		if (t->h.fail_streak > 0 || t->h.state == STATE_DOWN) {
			ctl_fail++;
			if (t->fail_slot < min_slot)
				min_slot = t->fail_slot;
		}
	}
	if ((double)ctl_fail < CONTROL_FRACTION * (double)d->ncontrols || ctl_fail == 0)
		return VANTAGE_NONE;
	for (size_t i = 0; i < d->ntargets; i++) {
		const struct dtarget *t = &d->t[i];
		if (t->net == NET_NONE)
			continue;
		ntg++;
		if (t->h.fail_streak == 0 || t->fail_slot == NO_SLOT)
			continue;
		uint32_t a = t->fail_slot > min_slot ? t->fail_slot - min_slot : min_slot - t->fail_slot;
		if (a <= d->p.abrupt_rounds)
			together++;
	}
	if (ntg > 0 && (double)together < d->p.network_fraction * (double)ntg)
		return VANTAGE_NONE;
	return (double)ctl_down >= CONTROL_FRACTION * (double)d->ncontrols ? VANTAGE_CONFIRMED : VANTAGE_SUSPECT;
}
