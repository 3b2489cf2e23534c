/* Synthetic measurement streams; see synth.h. */
#include "synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"

uint64_t synth_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static bool seg_matches(const struct synth *s, const struct synth_seg *g, size_t t, double at_rounds)
{
	const struct target_cfg *tc = &s->cfg->targets[t];

	if (at_rounds < g->from || at_rounds >= g->to)
		return false;
	if (strcmp(g->target, "*") == 0)
		return tc->network != CONFIG_NO_NETWORK;
	if (strcmp(g->target, "ctl") == 0)
		return tc->network == CONFIG_NO_NETWORK;
	return tc->name && strcmp(g->target, tc->name) == 0;
}

size_t synth_generate(const struct synth *s, struct measurement **out)
{
	size_t nt = s->cfg->ntargets, n = 0;
	int64_t iv = s->cfg->interval_ms;
	struct measurement *m = calloc((size_t)s->rounds * nt + 1, sizeof(*m));
	uint64_t rng = s->seed ? s->seed : 1, order = rng ^ 0x5555;

	if (!m)
		abort();
	for (uint32_t r = 0; r < s->rounds; r++) {
		size_t first = n;
		for (size_t t = 0; t < nt; t++) {
			struct measurement *x = &m[n++];
			/* spread over the interval in a fixed per-target order */
			int64_t off = (int64_t)(((t * 7919) % nt) * (uint64_t)iv / nt);
			double base = 10.0 + (double)(t % 5) * 3.0;
			x->target = (uint32_t)t;
			x->round = r;
			x->at_ms = s->t0_ms + (int64_t)r * iv + off;
			x->outcome = OUTCOME_OK;
			x->failure = FAILURE_NONE;
			x->rtt_ms = base * (0.95 + (double)(synth_rand(&rng) % 1000) / 10000.0);
			x->loss = 0;
			x->sent = 3;
			x->received = 3;
			double at_rounds = (double)(x->at_ms - s->t0_ms) / (double)iv;
			for (size_t k = 0; k < s->nsegs; k++) {
				const struct synth_seg *g = &s->segs[k];
				if (!seg_matches(s, g, t, at_rounds))
					continue;
				if (g->share > 0 && g->share < 1 &&
				    (double)(synth_rand(&rng) % 10000) >= g->share * 10000.0) {
					x->failure = FAILURE_TIMEOUT;
					x->outcome = OUTCOME_TIMEOUT;
					x->rtt_ms = -1;
					x->loss = 1;
					x->received = 0;
					memset(&x->from_ip, 0, sizeof(x->from_ip));
					x->from[0] = 0;
					x->detail[0] = 0;
					continue;
				}
				x->failure = g->f;
				x->outcome = failure_outcome(g->f);
				memset(&x->from_ip, 0, sizeof(x->from_ip));
				x->from[0] = 0;
				if (g->f == FAILURE_NONE) {
					if (g->rtt > 0)
						x->rtt_ms =
						    g->rtt * (0.95 + (double)(synth_rand(&rng) % 1000) / 10000.0);
					else
						x->rtt_ms = base;
					x->loss = g->loss;
					x->received = (uint16_t)(3 - (int)(g->loss * 3.0f + 0.5f));
				} else {
					x->rtt_ms = -1;
					x->loss = 1;
					x->received = 0;
					if (g->via) {
						struct sockaddr_storage ss;
						if (addr_parse(g->via, &ss) != 0)
							abort();
						ip_addr_from_sockaddr(&x->from_ip, &ss);
						snprintf(x->from, sizeof(x->from), "%s", g->via);
					}
				}
				x->detail[0] = 0;
				if (g->detail) {
					snprintf(x->detail, sizeof(x->detail), "%s", g->detail);
				}
			}
			if (!x->detail[0])
				snprintf(x->detail, sizeof(x->detail), "%s", outcome_name(x->outcome));
		}
		if (s->shuffle) {
			for (size_t i = n - 1; i > first; i--) {
				size_t j = first + (size_t)(synth_rand(&order) % (i - first + 1));
				struct measurement tmp = m[i];
				m[i] = m[j];
				m[j] = tmp;
			}
		} else {
			/* time order within the round, as the store returns it */
			for (size_t i = first + 1; i < n; i++) {
				struct measurement tmp = m[i];
				size_t j = i;
				while (j > first && (m[j - 1].at_ms > tmp.at_ms ||
						     (m[j - 1].at_ms == tmp.at_ms && m[j - 1].target > tmp.target))) {
					m[j] = m[j - 1];
					j--;
				}
				m[j] = tmp;
			}
		}
	}
	*out = m;
	return n;
}
