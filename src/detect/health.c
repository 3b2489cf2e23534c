/* Per-target health state machine; see health.h. */
#include "detect/health.h"

#include <math.h>
#include <string.h>

/* Defaults of the detect: section (docs/detection.md), used when a field
 * is zero so a hand-made struct detect_cfg works too. */
#define DEF_DOWN_AFTER          3u
#define DEF_UP_AFTER            2u
#define DEF_BASELINE_ROUNDS     20u
#define DEF_DEGRADED_LOSS       0.2
#define DEF_DEGRADED_RTT_FACTOR 4.0
#define DEF_DEGRADED_RTT_MIN_MS 20.0
#define DEF_STRESS_LEAD_ROUNDS  2u
#define DEF_ABRUPT_ROUNDS       2u
#define DEF_NETWORK_FRACTION    0.5

void health_params(const struct detect_cfg *d, struct detect_cfg *out)
{
	if (d)
		*out = *d;
	else
		memset(out, 0, sizeof(*out));
	if (out->down_after == 0)
		out->down_after = DEF_DOWN_AFTER;
	if (out->up_after == 0)
		out->up_after = DEF_UP_AFTER;
	if (out->baseline_rounds == 0)
		out->baseline_rounds = DEF_BASELINE_ROUNDS;
	if (!(out->degraded_loss > 0))
		out->degraded_loss = DEF_DEGRADED_LOSS;
	if (!(out->degraded_rtt_factor > 0))
		out->degraded_rtt_factor = DEF_DEGRADED_RTT_FACTOR;
	if (!(out->degraded_rtt_min_ms > 0))
		out->degraded_rtt_min_ms = DEF_DEGRADED_RTT_MIN_MS;
	if (out->stress_lead_rounds == 0)
		out->stress_lead_rounds = DEF_STRESS_LEAD_ROUNDS;
	if (out->abrupt_rounds == 0)
		out->abrupt_rounds = DEF_ABRUPT_ROUNDS;
	if (!(out->network_fraction > 0) || out->network_fraction > 1)
		out->network_fraction = DEF_NETWORK_FRACTION;
}

void health_init(struct target_health *h)
{
	memset(h, 0, sizeof(*h));
	h->state = STATE_UNKNOWN;
	h->last = HEALTH_ROUND_NONE;
}

bool health_has_baseline(const struct target_health *h)
{
	return h->baseline_n >= HEALTH_MIN_BASELINE;
}

static uint16_t inc16(uint16_t v)
{
	return v == UINT16_MAX ? v : (uint16_t)(v + 1);
}

/* EWMA with a warm-up: the first samples average cumulatively (alpha =
 * 1/n) so the baseline is meaningful after a few rounds, then settle to
 * alpha = 2/(N+1) over baseline_rounds N. */
static void baseline_add(struct target_health *h, unsigned rounds, double rtt, double loss)
{
	double alpha_ewma = 2.0 / ((double)rounds + 1.0);
	uint32_t n = h->baseline_n < UINT32_MAX ? h->baseline_n + 1 : h->baseline_n;
	double alpha = 1.0 / (double)n;

	if (alpha < alpha_ewma)
		alpha = alpha_ewma;
	h->baseline_n = n;
	h->loss_mean += alpha * (loss - h->loss_mean);
	if (rtt < 0)
		return;
	if (n == 1 || h->rtt_mean <= 0) {
		h->rtt_mean = rtt;
		h->rtt_var = 0;
		return;
	}
	double diff = rtt - h->rtt_mean;
	double incr = alpha * diff;
	h->rtt_mean += incr;
	h->rtt_var = (1.0 - alpha) * (h->rtt_var + diff * incr);
}

static unsigned judge(const struct target_health *h, const struct detect_cfg *p, double rtt_ms, double loss)
{
	unsigned why = 0;

	if (loss >= p->degraded_loss)
		why |= HEALTH_WHY_LOSS;
	if (rtt_ms >= 0 && health_has_baseline(h)) {
		double sd = sqrt(h->rtt_var > 0 ? h->rtt_var : 0);
		if (rtt_ms > h->rtt_mean + p->degraded_rtt_factor * sd && rtt_ms > h->rtt_mean + p->degraded_rtt_min_ms)
			why |= HEALTH_WHY_RTT;
	}
	return why;
}

bool health_update(struct target_health *h, const struct detect_cfg *d, const struct measurement *m,
		   enum target_state *from, enum target_state *to)
{
	struct detect_cfg p;

	health_params(d, &p);
	return health_step(h, &p, m->outcome, m->rtt_ms, (double)m->loss, from, to);
}

bool health_step(struct target_health *h, const struct detect_cfg *p, enum outcome outcome, double rtt_ms, double loss,
		 enum target_state *from, enum target_state *to)
{
	enum target_state old = h->state, next = h->state;

	if (outcome != OUTCOME_OK) {
		h->last = HEALTH_ROUND_FAILED;
		h->last_why = 0;
		h->fail_streak = inc16(h->fail_streak);
		h->bad_streak = inc16(h->bad_streak);
		h->ok_streak = 0;
		h->good_streak = 0;
		h->rtt_only_streak = 0;
		if (h->fail_streak >= p->down_after)
			next = STATE_DOWN;
		else if (old == STATE_UP && h->bad_streak >= HEALTH_DEGRADED_AFTER)
			next = STATE_DEGRADED;
	} else {
		unsigned why = judge(h, p, rtt_ms, loss);

		h->fail_streak = 0;
		h->ok_streak = inc16(h->ok_streak);
		h->last_why = (uint8_t)why;
		if (why == HEALTH_WHY_RTT)
			h->rtt_only_streak = inc16(h->rtt_only_streak);
		else
			h->rtt_only_streak = 0;
		/* A lasting shift of RTT alone (a new path) becomes the new
		 * normal rather than a degradation for ever. */
		if (why == HEALTH_WHY_RTT &&
		    h->rtt_only_streak >= (uint32_t)HEALTH_REBASE_FACTOR * p->baseline_rounds) {
			h->baseline_n = 0;
			h->rtt_mean = 0;
			h->rtt_var = 0;
			h->rtt_only_streak = 0;
			why = 0;
			h->last_why = 0;
		}
		if (why) {
			h->last = HEALTH_ROUND_DEGRADED;
			h->bad_streak = inc16(h->bad_streak);
			h->good_streak = 0;
		} else {
			h->last = HEALTH_ROUND_GOOD;
			h->bad_streak = 0;
			h->good_streak = inc16(h->good_streak);
			/* Only clean rounds teach the baseline, so an outage
			 * or a slow spell never becomes the new normal. */
			baseline_add(h, p->baseline_rounds, rtt_ms, loss);
		}
		switch (old) {
		case STATE_UNKNOWN:
			next = STATE_UP;
			break;
		case STATE_DOWN:
			if (h->ok_streak >= p->up_after)
				next = h->good_streak >= 1 ? STATE_UP : STATE_DEGRADED;
			break;
		case STATE_DEGRADED:
			if (h->good_streak >= p->up_after)
				next = STATE_UP;
			break;
		case STATE_UP:
			if (h->bad_streak >= HEALTH_DEGRADED_AFTER)
				next = STATE_DEGRADED;
			break;
		default:
			break;
		}
	}
	h->state = next;
	if (next == old)
		return false;
	if (from)
		*from = old;
	if (to)
		*to = next;
	return true;
}
