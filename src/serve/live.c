/* Live state; see live.h. */
#include "serve/live.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "store/store.h"

/* Two aggregation tiers per network: rounds (a day and more at 60 s), and
 * 16 rounds per bucket (a month and more at 60 s).  80 bytes a bucket. */
#define TIERS 2
static const size_t tier_slots[TIERS] = {2048, 3072};
static const int64_t tier_factor[TIERS] = {1, 16};

#define MAX_OPEN_INCIDENTS 4096
/* backfill reads about this many rows per store call, then lets others in */
#define BACKFILL_SLICE_ROWS 200000
#define BACKFILL_MAX_ROWS   (UINT64_C(200000000))

struct bucket {
	int64_t t; /* bucket start; 0 = empty */
	uint32_t seen[ROLE_COUNT], ok[ROLE_COUNT];
	uint32_t answered, rtt_n, bgp_n;
	float loss_sum, rtt_sum, bgp_sum;
};

struct tier {
	int64_t step;
	size_t slots;
	struct bucket *b; /* [nnetworks * slots] */
};

struct open_incident {
	int64_t id;
	char network[64];
	char cause[16];
	char *json;
};

struct serve_live {
	const struct config *cfg;
	pthread_mutex_t mu;
	bool running;
	int64_t last_measurement_ms;
	struct serve_target_snap *targets;
	uint64_t probes[KIND_COUNT][OUTCOME_COUNT];
	uint64_t rounds_missed;
	int *bgp_expected, *bgp_visible;
	char (*peer_state)[16];
	struct open_incident *inc;
	size_t ninc;
	struct alert *alert;
	struct tier tiers[TIERS];

	pthread_t backfill;
	bool backfill_started;
	atomic_bool backfill_stop, backfill_running;
	struct store *backfill_store;
	int64_t backfill_until;
};

void serve_live_carry(struct serve_live *to, struct serve_live *from, const uint32_t *target_from)
{
	pthread_mutex_lock(&from->mu);
	pthread_mutex_lock(&to->mu);
	memcpy(to->probes, from->probes, sizeof(to->probes));
	to->last_measurement_ms = from->last_measurement_ms;
	for (size_t i = 0; i < to->cfg->ntargets; i++)
		if (target_from[i] < from->cfg->ntargets)
			to->targets[i] = from->targets[target_from[i]];
	pthread_mutex_unlock(&to->mu);
	pthread_mutex_unlock(&from->mu);
}

const struct config *serve_live_config(const struct serve_live *l)
{
	return l->cfg;
}

struct serve_live *serve_live_new(const struct config *cfg)
{
	struct serve_live *l = calloc(1, sizeof(*l));
	size_t nn = cfg->nnetworks ? cfg->nnetworks : 1;
	int64_t base = cfg->interval_ms >= 1000 ? cfg->interval_ms : 1000;

	if (!l)
		return NULL;
	l->cfg = cfg;
	pthread_mutex_init(&l->mu, NULL);
	atomic_init(&l->backfill_stop, false);
	atomic_init(&l->backfill_running, false);
	l->targets = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*l->targets));
	l->bgp_expected = calloc(nn, sizeof(int));
	l->bgp_visible = calloc(nn, sizeof(int));
	l->peer_state = calloc(cfg->bgp.npeers ? cfg->bgp.npeers : 1, sizeof(*l->peer_state));
	l->inc = calloc(MAX_OPEN_INCIDENTS, sizeof(*l->inc));
	if (!l->targets || !l->bgp_expected || !l->bgp_visible || !l->peer_state || !l->inc)
		goto fail;
	for (size_t i = 0; i < cfg->ntargets; i++)
		l->targets[i].last_rtt_ms = -1;
	for (size_t i = 0; i < nn; i++)
		l->bgp_expected[i] = l->bgp_visible[i] = -1;
	for (int k = 0; k < TIERS; k++) {
		l->tiers[k].step = base * tier_factor[k];
		l->tiers[k].slots = tier_slots[k];
		l->tiers[k].b = calloc(nn * tier_slots[k], sizeof(struct bucket));
		if (!l->tiers[k].b)
			goto fail;
	}
	return l;
fail:
	serve_live_free(l);
	return NULL;
}

void serve_live_free(struct serve_live *l)
{
	if (!l)
		return;
	if (l->backfill_started) {
		atomic_store(&l->backfill_stop, true);
		pthread_join(l->backfill, NULL);
	}
	for (size_t i = 0; i < l->ninc; i++)
		free(l->inc[i].json);
	for (int k = 0; k < TIERS; k++)
		free(l->tiers[k].b);
	free(l->targets);
	free(l->bgp_expected);
	free(l->bgp_visible);
	free(l->peer_state);
	free(l->inc);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* Adds one round to the buckets of its network (mutex held). */
static void aggregate(struct serve_live *l, const struct measurement *m, const struct target_cfg *t)
{
	size_t net = t->network;
	float bgp = -1;

	if (net >= l->cfg->nnetworks || (unsigned)t->role >= ROLE_COUNT || m->at_ms <= 0)
		return;
	if (l->bgp_expected[net] > 0 && l->bgp_visible[net] >= 0)
		bgp = (float)l->bgp_visible[net] / (float)l->bgp_expected[net];
	for (int k = 0; k < TIERS; k++) {
		struct tier *tr = &l->tiers[k];
		int64_t start = m->at_ms - m->at_ms % tr->step;
		struct bucket *b = &tr->b[net * tr->slots + (size_t)(m->at_ms / tr->step) % tr->slots];

		if (b->t != start) {
			if (b->t > start)
				continue; /* older than the ring holds */
			memset(b, 0, sizeof(*b));
			b->t = start;
		}
		b->seen[t->role]++;
		if (m->outcome == OUTCOME_OK) {
			b->ok[t->role]++;
			b->answered++;
			b->loss_sum += m->loss;
			if (m->rtt_ms >= 0) {
				b->rtt_sum += (float)m->rtt_ms;
				b->rtt_n++;
			}
		}
		if (bgp >= 0) {
			b->bgp_sum += bgp;
			b->bgp_n++;
		}
	}
}

void serve_live_measurement(struct serve_live *l, const struct measurement *m, enum target_state state)
{
	const struct target_cfg *t;
	struct serve_target_snap *s;

	if (!l || m->target >= l->cfg->ntargets)
		return;
	t = &l->cfg->targets[m->target];
	pthread_mutex_lock(&l->mu);
	s = &l->targets[m->target];
	if (s->state != state) {
		s->state = state;
		s->since_ms = m->at_ms;
	}
	if (m->at_ms >= s->last_at_ms) {
		s->last_at_ms = m->at_ms;
		s->last_outcome = m->outcome;
		s->last_rtt_ms = m->outcome == OUTCOME_OK ? m->rtt_ms : -1;
		s->last_loss = m->loss;
		memcpy(s->last_detail, m->detail, sizeof(s->last_detail));
		s->last_detail[sizeof(s->last_detail) - 1] = 0;
	}
	if ((unsigned)t->kind < KIND_COUNT && (unsigned)m->outcome < OUTCOME_COUNT)
		l->probes[t->kind][m->outcome]++;
	if (m->at_ms > l->last_measurement_ms)
		l->last_measurement_ms = m->at_ms;
	aggregate(l, m, t);
	pthread_mutex_unlock(&l->mu);
}

void serve_live_state(struct serve_live *l, uint32_t target, int64_t at_ms, enum target_state state)
{
	if (!l || target >= l->cfg->ntargets || (unsigned)state >= STATE_COUNT)
		return;
	pthread_mutex_lock(&l->mu);
	if (l->targets[target].state != state) {
		l->targets[target].state = state;
		l->targets[target].since_ms = at_ms;
	}
	pthread_mutex_unlock(&l->mu);
}

void serve_live_incident(struct serve_live *l, int64_t id, const char *network, bool open, const char *cause,
			 const char *json)
{
	size_t i;
	char *copy = NULL;

	if (!l)
		return;
	if (open && json) {
		copy = strdup(json);
		if (!copy)
			return;
	}
	pthread_mutex_lock(&l->mu);
	for (i = 0; i < l->ninc; i++)
		if (l->inc[i].id == id)
			break;
	if (!open) {
		if (i < l->ninc) {
			free(l->inc[i].json);
			memmove(&l->inc[i], &l->inc[i + 1], (l->ninc - i - 1) * sizeof(l->inc[0]));
			l->ninc--;
		}
		goto out;
	}
	if (i == l->ninc) {
		if (l->ninc == MAX_OPEN_INCIDENTS)
			goto out; /* copy freed below */
		/* kept in id order: ids only grow, so append */
		l->ninc++;
		memset(&l->inc[i], 0, sizeof(l->inc[i]));
		l->inc[i].id = id;
	}
	snprintf(l->inc[i].network, sizeof(l->inc[i].network), "%s", network ? network : "");
	snprintf(l->inc[i].cause, sizeof(l->inc[i].cause), "%s", cause ? cause : "unknown");
	free(l->inc[i].json);
	l->inc[i].json = copy;
	copy = NULL;
out:
	pthread_mutex_unlock(&l->mu);
	free(copy);
}

void serve_live_rounds_missed(struct serve_live *l, uint64_t missed)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->rounds_missed = missed;
	pthread_mutex_unlock(&l->mu);
}

void serve_live_bgp(struct serve_live *l, size_t network, unsigned expected, unsigned visible)
{
	if (!l || network >= l->cfg->nnetworks)
		return;
	pthread_mutex_lock(&l->mu);
	l->bgp_expected[network] = expected > INT32_MAX ? INT32_MAX : (int)expected;
	l->bgp_visible[network] = visible > INT32_MAX ? INT32_MAX : (int)visible;
	pthread_mutex_unlock(&l->mu);
}

void serve_live_bgp_peer(struct serve_live *l, size_t peer, const char *state)
{
	if (!l || peer >= l->cfg->bgp.npeers)
		return;
	pthread_mutex_lock(&l->mu);
	snprintf(l->peer_state[peer], sizeof(l->peer_state[peer]), "%s", state ? state : "");
	pthread_mutex_unlock(&l->mu);
}

void serve_live_running(struct serve_live *l, bool running)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->running = running;
	pthread_mutex_unlock(&l->mu);
}

void serve_live_set_alert(struct serve_live *l, struct alert *a)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->alert = a;
	pthread_mutex_unlock(&l->mu);
}

/* ---- snapshots ---- */

int serve_live_snapshot(struct serve_live *l, struct serve_snapshot *s, bool with_targets)
{
	const struct config *cfg = l->cfg;
	size_t nn = cfg->nnetworks ? cfg->nnetworks : 1;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	s->nnetworks = cfg->nnetworks;
	s->npeers = cfg->bgp.npeers;
	s->nalerts = cfg->nalerts;
	s->bgp_expected = malloc(nn * sizeof(int));
	s->bgp_visible = malloc(nn * sizeof(int));
	s->peer_state = malloc((s->npeers ? s->npeers : 1) * sizeof(*s->peer_state));
	s->alerts = malloc((s->nalerts ? s->nalerts : 1) * sizeof(*s->alerts));
	if (with_targets) {
		s->ntargets = cfg->ntargets;
		s->targets = malloc((s->ntargets ? s->ntargets : 1) * sizeof(*s->targets));
	}
	if (!s->bgp_expected || !s->bgp_visible || !s->peer_state || !s->alerts || (with_targets && !s->targets))
		goto fail;
	pthread_mutex_lock(&l->mu);
	s->running = l->running;
	s->last_measurement_ms = l->last_measurement_ms;
	if (with_targets)
		memcpy(s->targets, l->targets, s->ntargets * sizeof(*s->targets));
	memcpy(s->probes, l->probes, sizeof(s->probes));
	s->rounds_missed = l->rounds_missed;
	memcpy(s->bgp_expected, l->bgp_expected, nn * sizeof(int));
	memcpy(s->bgp_visible, l->bgp_visible, nn * sizeof(int));
	memcpy(s->peer_state, l->peer_state, s->npeers * sizeof(*s->peer_state));
	for (size_t i = 0; i < s->nalerts; i++)
		alert_stats(l->alert, i, &s->alerts[i]); /* pulled: alert knows nothing of serve */
	s->incidents = calloc(l->ninc ? l->ninc : 1, sizeof(*s->incidents));
	if (s->incidents) {
		rc = 0;
		for (size_t i = 0; i < l->ninc; i++) {
			struct serve_incident_snap *d = &s->incidents[i];
			d->id = l->inc[i].id;
			memcpy(d->network, l->inc[i].network, sizeof(d->network));
			memcpy(d->cause, l->inc[i].cause, sizeof(d->cause));
			d->json = l->inc[i].json ? strdup(l->inc[i].json) : NULL;
			s->nincidents = i + 1;
			if (l->inc[i].json && !d->json) {
				rc = -1;
				break;
			}
		}
	}
	pthread_mutex_unlock(&l->mu);
	if (rc == 0)
		return 0;
fail:
	serve_snapshot_free(s);
	return -1;
}

void serve_snapshot_free(struct serve_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nincidents; i++)
		free(s->incidents[i].json);
	free(s->incidents);
	free(s->targets);
	free(s->bgp_expected);
	free(s->bgp_visible);
	free(s->peer_state);
	free(s->alerts);
	memset(s, 0, sizeof(*s));
}

/* ---- timelines ---- */

int serve_live_series(struct serve_live *l, size_t network, int64_t since_ms, int64_t until_ms, int64_t step_ms,
		      size_t max_points, struct serve_point **out, size_t *n, int64_t *step_out)
{
	const struct tier *tr = NULL;
	int64_t ostep, first, oldest;
	size_t npts;
	struct serve_point *p;

	*out = NULL;
	*n = 0;
	if (network >= l->cfg->nnetworks || until_ms <= since_ms || since_ms < 0 || max_points == 0)
		return -1;
	/* A step wider than the window answers one point: the cap keeps the
	 * arithmetic below in range and the copy under the lock bounded by
	 * the window's buckets, whatever a client asks. */
	if (step_ms > until_ms - since_ms)
		step_ms = until_ms - since_ms;
	/* With a step asked: the coarsest tier that reaches back to since and
	 * whose step divides it (exact steps, fewest buckets to merge);
	 * otherwise the finest tier that reaches back; else the coarsest. */
	for (int k = TIERS - 1; k >= 0 && step_ms > 0 && !tr; k--) {
		const struct tier *c = &l->tiers[k];
		if (since_ms >= until_ms - (int64_t)c->slots * c->step && step_ms % c->step == 0)
			tr = c;
	}
	for (int k = 0; k < TIERS && !tr; k++) {
		const struct tier *c = &l->tiers[k];
		if (since_ms >= until_ms - (int64_t)c->slots * c->step)
			tr = c;
	}
	if (!tr)
		tr = &l->tiers[TIERS - 1];
	ostep = step_ms > tr->step ? step_ms : tr->step;
	{
		int64_t window = until_ms - since_ms;
		int64_t fit = max_points > 1 ? window / (int64_t)(max_points - 1) + 1 : window + 1;
		if (ostep < fit)
			ostep = fit;
	}
	ostep = (ostep + tr->step - 1) / tr->step * tr->step;
	first = since_ms - since_ms % ostep;
	npts = (size_t)((until_ms - first + ostep - 1) / ostep);
	p = calloc(npts ? npts : 1, sizeof(*p));
	if (!p)
		return -1;
	/* Buckets older than the ring's reach hold nothing of this window:
	 * skipping them bounds the work under the lock by the ring's size. */
	oldest = until_ms - (int64_t)tr->slots * tr->step;
	if (oldest < 0)
		oldest = 0;
	oldest -= oldest % tr->step;
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < npts; i++) {
		int64_t t0 = first + (int64_t)i * ostep;
		p[i].t_ms = t0;
		for (int64_t t = t0 > oldest ? t0 : oldest; t < t0 + ostep; t += tr->step) {
			const struct bucket *b = &tr->b[network * tr->slots + (size_t)(t / tr->step) % tr->slots];
			if (b->t != t)
				continue;
			for (int r = 0; r < ROLE_COUNT; r++) {
				p[i].seen[r] += b->seen[r];
				p[i].ok[r] += b->ok[r];
			}
			p[i].answered += b->answered;
			p[i].loss_sum += b->loss_sum;
			p[i].rtt_sum += b->rtt_sum;
			p[i].rtt_n += b->rtt_n;
			p[i].bgp_sum += b->bgp_sum;
			p[i].bgp_n += b->bgp_n;
		}
	}
	pthread_mutex_unlock(&l->mu);
	*out = p;
	*n = npts;
	*step_out = ostep;
	return 0;
}

/* ---- loading from the store ---- */

struct load_ctx {
	struct serve_live *l;
	uint64_t rows;
};

static int load_target(const struct store_target_row *r, void *arg)
{
	struct serve_live *l = arg;
	struct serve_target_snap *s;
	int st, oc;

	if (r->index >= l->cfg->ntargets)
		return 0;
	s = &l->targets[r->index];
	st = state_from_name(r->state);
	oc = outcome_from_name(r->last_outcome);
	s->state = st >= 0 ? (enum target_state)st : STATE_UNKNOWN;
	s->since_ms = r->since_ms;
	if (r->last_at_ms > 0) {
		s->last_at_ms = r->last_at_ms;
		s->last_outcome = oc >= 0 ? (enum outcome)oc : OUTCOME_ERROR;
		s->last_rtt_ms = r->last_rtt_ms;
		snprintf(s->last_detail, sizeof(s->last_detail), "%s", r->last_detail);
	}
	return 0;
}

static int backfill_one(const struct measurement *m, void *arg)
{
	struct load_ctx *c = arg;

	if (atomic_load(&c->l->backfill_stop))
		return 1;
	if (m->target < c->l->cfg->ntargets) {
		pthread_mutex_lock(&c->l->mu);
		aggregate(c->l, m, &c->l->cfg->targets[m->target]);
		pthread_mutex_unlock(&c->l->mu);
	}
	c->rows++;
	return 0;
}

static void *backfill_main(void *arg)
{
	struct serve_live *l = arg;
	const struct tier *top = &l->tiers[TIERS - 1];
	struct load_ctx c = {.l = l};
	int64_t interval = l->cfg->interval_ms > 0 ? l->cfg->interval_ms : 60000;
	int64_t oldest = l->backfill_until - (int64_t)top->slots * top->step;
	size_t nt = l->cfg->ntargets ? l->cfg->ntargets : 1;
	int64_t slice = (int64_t)(BACKFILL_SLICE_ROWS / nt) * interval;
	char err[256];

	if (slice < interval)
		slice = interval;
	if (slice > 6 * 3600 * INT64_C(1000))
		slice = 6 * 3600 * INT64_C(1000);
	/* newest first, so the recent timelines fill before the old ones */
	for (int64_t until = l->backfill_until; until > oldest && c.rows < BACKFILL_MAX_ROWS; until -= slice) {
		if (atomic_load(&l->backfill_stop))
			break;
		if (store_each_measurement(l->backfill_store, l->cfg, until - slice, until, backfill_one, &c, err,
					   sizeof(err)) < 0)
			break;
	}
	atomic_store(&l->backfill_running, false);
	return NULL;
}

int serve_live_load(struct serve_live *l, struct store *st, int64_t now_ms, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	pthread_mutex_lock(&l->mu);
	rc = store_each_target(st, l->cfg, load_target, l, err, errlen);
	pthread_mutex_unlock(&l->mu);
	if (rc < 0)
		return -1;
	if (l->backfill_started)
		return 0;
	l->backfill_store = st;
	l->backfill_until = now_ms;
	atomic_store(&l->backfill_running, true);
	/* The backfill takes no signals: they belong to the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&l->backfill, NULL, backfill_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		atomic_store(&l->backfill_running, false);
		snprintf(err, errlen, "cannot start the timeline backfill thread");
		return -1;
	}
	l->backfill_started = true;
	return 0;
}

bool serve_live_backfilling(struct serve_live *l)
{
	return atomic_load(&l->backfill_running);
}
