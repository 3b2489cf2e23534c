/* Intake: measurements into pending slots, BGP events in time order,
 * and the judging of each slot once it is complete or overtaken. */
#include <stddef.h>
#include <stdio.h>

#include "detect/detect_int.h"

/* Never NO_SLOT, which marks an empty ring entry. */
static uint32_t slot_of(const struct detector *d, const struct dtarget *t, uint32_t round)
{
	uint64_t s = round;

	if (t->it_ms != d->interval_ms)
		s = (uint64_t)round * (uint64_t)t->it_ms / (uint64_t)d->interval_ms;
	return s >= NO_SLOT ? NO_SLOT - 1 : (uint32_t)s;
}

/* Rounds of target t that fall in slot s (1 for the top-level interval). */
static size_t due_in(const struct detector *d, const struct dtarget *t, uint32_t s)
{
	if (t->it_ms == d->interval_ms)
		return 1;
	uint64_t I = (uint64_t)d->interval_ms, It = (uint64_t)t->it_ms;
	uint64_t a = ((uint64_t)s * I + It - 1) / It, b = (((uint64_t)s + 1) * I + It - 1) / It;
	return (size_t)(b - a);
}

/* fclass and from: the bytes compared last, in one memcmp */
#define ENTRY_TAIL (offsetof(struct entry, from) + sizeof(((struct entry *)0)->from) - offsetof(struct entry, fclass))
_Static_assert(ENTRY_TAIL == 18, "struct entry: fclass and from are adjacent, without padding");

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	if (x->round != y->round)
		return x->round < y->round ? -1 : 1;
	if (x->at_ms != y->at_ms)
		return x->at_ms < y->at_ms ? -1 : 1;
	if (x->outcome != y->outcome)
		return x->outcome < y->outcome ? -1 : 1;
	if (x->rtt_ms != y->rtt_ms)
		return x->rtt_ms < y->rtt_ms ? -1 : 1;
	if (x->loss != y->loss)
		return x->loss < y->loss ? -1 : 1;
	return memcmp(&x->fclass, &y->fclass, ENTRY_TAIL);
}

static void state_detail(const struct dtarget *t, const struct entry *e, char *buf, size_t len)
{
	char from[INET6_ADDRSTRLEN] = "";
	struct sockaddr_storage ss;

	if (ip_addr_to_sockaddr(&e->from, &ss))
		addr_format(&ss, from, sizeof(from));
	if (e->outcome != OUTCOME_OK) {
		snprintf(buf, len, "%u round(s) failed: %s%s%s", t->h.fail_streak,
			 outcome_name((enum outcome)e->outcome), from[0] ? " from " : "", from);
	} else if (t->h.last == HEALTH_ROUND_DEGRADED) {
		snprintf(buf, len, "degraded: loss %.0f%%, rtt %.1f ms (baseline %.1f ms)", pct(e->loss),
			 (double)e->rtt_ms, t->h.rtt_mean);
	} else {
		snprintf(buf, len, "answering: rtt %.1f ms, loss %.0f%%", (double)e->rtt_ms, pct(e->loss));
	}
}

static void feed_entry(struct detector *d, uint32_t slot, const struct entry *e)
{
	struct dtarget *t = &d->t[e->target];
	enum target_state from, to;
	bool changed;

	changed = health_step(&t->h, &d->p, (enum outcome)e->outcome, e->rtt_ms < 0 ? -1.0 : (double)e->rtt_ms,
			      (double)e->loss, &from, &to);
	t->measured = true;
	t->last_at = e->at_ms;
	t->last_rtt = e->rtt_ms;
	t->last_loss = e->loss;
	if (t->h.last == HEALTH_ROUND_FAILED) {
		if (t->h.fail_streak == 1) {
			t->fail_slot = slot;
			t->fail_at = e->at_ms;
		}
		t->from_outside = false;
		t->fclass = e->fclass;
		if (e->fclass == FC_NOROUTE && t->net != NET_NONE) {
			struct sockaddr_storage ss;
			const struct dnet *n = &d->nets[t->net];
			if (ip_addr_to_sockaddr(&e->from, &ss) && n->cfg->nprefixes > 0 && !net_contains(n->cfg, &ss)) {
				t->from_outside = true;
				addr_format(&ss, d->nets[t->net].unreach_from, sizeof(d->nets[t->net].unreach_from));
			}
		}
	} else {
		t->fclass = FC_NONE;
		t->ever_ok = true;
		if (t->h.ok_streak == 1)
			t->ok_at = e->at_ms;
	}
	if (t->h.last == HEALTH_ROUND_GOOD) {
		t->bad_slot = NO_SLOT;
		t->bad_at = -1;
	} else if (t->h.bad_streak == 1) {
		t->bad_slot = slot;
		t->bad_at = e->at_ms;
	}
	if (changed) {
		/* several rounds of one target in one slot: keep the first from */
		if (!t->changed)
			t->from_state = from;
		t->changed = true;
		if (d->hooks.on_state_change) {
			char detail[MEASUREMENT_DETAIL_LEN];
			state_detail(t, e, detail, sizeof(detail));
			d->hooks.on_state_change(d->arg, e->target, e->at_ms, e->round, from, to, detail);
		}
	}
}

static void apply_bgp(struct detector *d, const struct bgp_ev *e)
{
	struct dnet *n = &d->nets[e->net];
	struct prefix changed[MAX_WITHDRAWN];
	size_t nch = 0;
	bool was = n->nwithdrawn > 0;

	n->bgp_seen = true;
	for (size_t i = 0; i < e->n; i++) {
		size_t k;
		for (k = 0; k < n->nwithdrawn; k++)
			if (n->withdrawn[k].family == e->p[i].family && n->withdrawn[k].len == e->p[i].len &&
			    memcmp(n->withdrawn[k].addr, e->p[i].addr, 16) == 0)
				break;
		if (e->withdrawn && k == n->nwithdrawn && n->nwithdrawn < MAX_WITHDRAWN) {
			n->withdrawn[n->nwithdrawn++] = e->p[i];
			if (nch < MAX_WITHDRAWN)
				changed[nch++] = e->p[i];
		} else if (!e->withdrawn && k < n->nwithdrawn) {
			n->withdrawn[k] = n->withdrawn[--n->nwithdrawn];
			if (nch < MAX_WITHDRAWN)
				changed[nch++] = e->p[i];
		}
	}
	if (!was && n->nwithdrawn > 0)
		n->withdrawn_at = e->at_ms;
	if (nch && n->inc)
		bgp_phase(n->inc, e->withdrawn, e->at_ms, changed, nch);
}

static void apply_bgp_until(struct detector *d, int64_t until_ms, bool all)
{
	size_t k = 0;

	while (k < d->nbgp && (all || d->bgp[k].at_ms < until_ms)) {
		apply_bgp(d, &d->bgp[k]);
		free(d->bgp[k].p);
		k++;
	}
	if (k) {
		memmove(d->bgp, d->bgp + k, (d->nbgp - k) * sizeof(*d->bgp));
		d->nbgp -= k;
	}
}

static void judge_slot(struct detector *d, struct slot *sl)
{
	enum vantage_level level;
	int64_t min_at = INT64_MAX, max_at = INT64_MIN;

	qsort(sl->e, sl->n, sizeof(*sl->e), entry_cmp);
	for (size_t i = 0; i < sl->n; i++) {
		if (sl->e[i].at_ms < min_at)
			min_at = sl->e[i].at_ms;
		if (sl->e[i].at_ms > max_at)
			max_at = sl->e[i].at_ms;
	}
	d->cur_slot = sl->slot;
	d->cur_at = sl->n ? min_at : 0;
	d->cur_end = sl->n ? max_at : 0;
	/* BGP events up to the slot's last probe start: by then they have
	 * reached a live detector, and a replay in time order has fed them */
	apply_bgp_until(d, d->cur_end + 1, false);
	for (size_t i = 0; i < d->ntargets; i++) {
		d->t[i].changed = false;
		d->t[i].measured = false;
		d->t[i].released = false;
	}
	for (size_t i = 0; i < sl->n; i++) {
		if (i > 0 && sl->e[i].target == sl->e[i - 1].target && sl->e[i].round == sl->e[i - 1].round)
			continue; /* duplicate */
		feed_entry(d, sl->slot, &sl->e[i]);
	}
	level = vantage_trouble(d);
	for (size_t i = 0; i < d->nnets; i++)
		judge_network(d, &d->nets[i], sl->slot, level);
	judge_vantage(d, level == VANTAGE_CONFIRMED);
	d->any_done = true;
	d->next_slot = sl->slot + 1;
}

static size_t slot_expected(const struct detector *d, uint32_t s)
{
	size_t n = 0;

	if (!d->irregular)
		return d->ntargets;
	for (size_t i = 0; i < d->ntargets; i++)
		n += due_in(d, &d->t[i], s);
	return n;
}

/* Judges the lowest pending round while it is complete or overtaken. */
static void drain(struct detector *d, bool all)
{
	while (d->nslots > 0) {
		struct slot *sl = &d->slots[0];
		bool ready = all || sl->n >= sl->expected ||
			     (d->max_seen >= sl->slot && d->max_seen - sl->slot >= DETECT_LAG_ROUNDS);
		if (!ready)
			break;
		struct slot done = *sl;
		memmove(d->slots, d->slots + 1, (d->nslots - 1) * sizeof(*d->slots));
		d->nslots--;
		judge_slot(d, &done);
		free(done.e);
	}
}

/* How docs/detection.md classes each failure (the table of docs/probes.md). */
static const uint8_t fclass_of[FAILURE_COUNT] = {
    [FAILURE_NONE] = FC_NONE,           [FAILURE_TIMEOUT] = FC_SILENT,       [FAILURE_REFUSED] = FC_ALIVE,
    [FAILURE_NET_UNREACH] = FC_NOROUTE, [FAILURE_HOST_UNREACH] = FC_SILENT,  [FAILURE_PORT_UNREACH] = FC_ALIVE,
    [FAILURE_ADMIN] = FC_NOROUTE,       [FAILURE_TTL_EXCEEDED] = FC_NOROUTE, [FAILURE_UNREACH_OTHER] = FC_NOROUTE,
    [FAILURE_RESOLVE] = FC_ALIVE,       [FAILURE_PROTOCOL] = FC_ALIVE,       [FAILURE_CHECK] = FC_ALIVE,
    [FAILURE_TLS] = FC_ALIVE,           [FAILURE_LOCAL] = FC_ALIVE,
};

void detect_feed(struct detector *d, const struct measurement *m)
{
	struct dtarget *t;
	struct slot *sl = NULL;
	struct entry *e;
	uint32_t s;
	size_t i;

	if (m->target >= d->ntargets)
		return;
	t = &d->t[m->target];
	s = slot_of(d, t, m->round);
	if (d->any_done && s < d->next_slot) {
		d->late++;
		return;
	}
	for (i = 0; i < d->nslots; i++) {
		if (d->slots[i].slot == s) {
			sl = &d->slots[i];
			break;
		}
		if (d->slots[i].slot > s)
			break;
	}
	if (!sl) {
		d->slots = xgrow(d->slots, d->nslots, &d->capslots, 4, sizeof(*d->slots));
		memmove(d->slots + i + 1, d->slots + i, (d->nslots - i) * sizeof(*d->slots));
		d->nslots++;
		sl = &d->slots[i];
		memset(sl, 0, sizeof(*sl));
		sl->slot = s;
		sl->expected = slot_expected(d, s);
	}
	sl->e = xgrow(sl->e, sl->n, &sl->cap, d->ntargets < 16 ? 16 : d->ntargets, sizeof(*sl->e));
	e = &sl->e[sl->n++];
	memset(e, 0, sizeof(*e));
	e->at_ms = m->at_ms;
	e->rtt_ms = (float)m->rtt_ms;
	e->loss = m->loss;
	e->target = m->target;
	e->round = m->round;
	e->outcome = (uint8_t)m->outcome;
	e->fclass = fclass_of[measurement_failure(m)];
	/* only the address's bytes: entries compare whole (entry_cmp) */
	if (m->from_ip.family == AF_INET || m->from_ip.family == AF_INET6) {
		e->from.family = m->from_ip.family;
		memcpy(e->from.bytes, m->from_ip.bytes, m->from_ip.family == AF_INET ? 4 : 16);
	}
	if (!d->seen_any || s > d->max_seen) {
		d->max_seen = s;
		d->seen_any = true;
	}
	drain(d, false);
}

void detect_bgp(struct detector *d, size_t network, int64_t at_ms, bool withdrawn, const struct prefix *prefixes,
		size_t n)
{
	struct bgp_ev *e;
	size_t i;

	if (network >= d->nnets || n == 0)
		return;
	d->bgp = xgrow(d->bgp, d->nbgp, &d->capbgp, 8, sizeof(*d->bgp));
	/* keep time order; equal times keep arrival order */
	i = d->nbgp;
	while (i > 0 && d->bgp[i - 1].at_ms > at_ms)
		i--;
	memmove(d->bgp + i + 1, d->bgp + i, (d->nbgp - i) * sizeof(*d->bgp));
	d->nbgp++;
	e = &d->bgp[i];
	e->at_ms = at_ms;
	e->net = network;
	e->withdrawn = withdrawn;
	e->n = n;
	e->p = xrealloc(NULL, n, sizeof(*e->p));
	memcpy(e->p, prefixes, n * sizeof(*e->p));
}

void detect_finish(struct detector *d)
{
	drain(d, true);
	apply_bgp_until(d, 0, true);
	for (size_t i = 0; i < d->nnets; i++) {
		struct incident *inc = d->nets[i].inc;
		if (!inc)
			continue;
		incident_classify(d, &d->nets[i], inc);
		incident_emit(d, inc, true);
	}
	if (d->vantage)
		incident_emit(d, d->vantage, true);
}
