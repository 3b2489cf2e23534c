/* Incident lifecycle: opening, targets down and up, phases, closing, for
 * a network (judge_network) and for our own side (judge_vantage). */
#include <stdio.h>

#include "detect/detect_int.h"

struct incident *incident_new(struct detector *d, size_t net, int64_t start_at)
{
	struct incident *inc = calloc(1, sizeof(*inc));

	if (!inc)
		abort();
	inc->id = d->next_id;
	if (d->next_id < INT64_MAX) /* no overflow, whatever detect_set_next_id was given */
		d->next_id++;
	inc->net = net;
	inc->open = true;
	inc->start_at = start_at;
	inc->end_at = -1;
	inc->last_at = d->cur_end;
	inc->withdraw_at = -1;
	inc->clean_at = -1;
	inc->dark_last_at = -1;
	inc->cause = net == NET_NONE ? CAUSE_VANTAGE : CAUSE_HOST;
	d->nopen++;
	return inc;
}

void incident_free(struct incident *inc)
{
	if (!inc)
		return;
	for (size_t i = 0; i < inc->nph; i++) {
		for (size_t k = 0; k < inc->ph[i].nitems; k++)
			free(inc->ph[i].items[k]);
		free(inc->ph[i].items);
	}
	free(inc->ph);
	free(inc->inv);
	free(inc);
}

static struct inv *inv_find(struct incident *inc, uint32_t target)
{
	for (size_t i = 0; i < inc->ninv; i++)
		if (inc->inv[i].target == target)
			return &inc->inv[i];
	return NULL;
}

struct inv *inv_get(struct incident *inc, uint32_t target)
{
	struct inv *v = inv_find(inc, target);

	if (v)
		return v;
	inc->inv = xgrow(inc->inv, inc->ninv, &inc->capinv, 8, sizeof(*inc->inv));
	v = &inc->inv[inc->ninv++];
	memset(v, 0, sizeof(*v));
	v->target = target;
	v->first_fail_slot = NO_SLOT;
	v->first_down_at = v->down_at = v->up_at = -1;
	return v;
}

struct phase *phase_add(struct incident *inc, enum phase_ev ev, int64_t at, int role)
{
	struct phase *ph;

	if (inc->nph >= MAX_PHASES)
		return NULL;
	inc->ph = xgrow(inc->ph, inc->nph, &inc->capph, 8, sizeof(*inc->ph));
	ph = &inc->ph[inc->nph++];
	memset(ph, 0, sizeof(*ph));
	ph->ev = ev;
	ph->at = at;
	ph->role = role;
	ph->seq = inc->seq++;
	inc->changes++;
	return ph;
}

void phase_item(struct phase *ph, const char *s)
{
	if (!ph)
		return;
	ph->items = xrealloc(ph->items, ph->nitems + 1, sizeof(*ph->items));
	ph->items[ph->nitems++] = xstrdup(s);
}

/* The targets that go down (come up) first in an incident share one
 * first_down (first_up) phase, stamped with the earliest of their times.
 * It is kept by index: phase_add may move inc->ph. */
struct first_list {
	size_t ph; /* index in inc->ph, or NO_PHASE: not this slot's */
};

#define NO_PHASE        SIZE_MAX
#define FIRST_LIST_NONE ((struct first_list){NO_PHASE})

static void first_list_add(struct detector *d, struct incident *inc, struct first_list *fl, bool *done,
			   enum phase_ev ev, int64_t at, uint32_t ti)
{
	if (!*done) {
		*done = true;
		fl->ph = phase_add(inc, ev, at, -1) ? inc->nph - 1 : NO_PHASE;
	}
	if (fl->ph == NO_PHASE)
		return;
	struct phase *ph = &inc->ph[fl->ph];
	if (at < ph->at)
		ph->at = at;
	phase_item(ph, tname(d, ti));
}

static void target_down(struct detector *d, struct incident *inc, uint32_t ti, struct first_list *fl)
{
	struct dtarget *t = &d->t[ti];
	struct inv *v = inv_get(inc, ti);

	if (v->down)
		return;
	v->down = true;
	v->down_at = t->fail_at >= 0 ? t->fail_at : t->last_at;
	if (t->ever_ok)
		v->healthy_before = true;
	if (!v->was_down) {
		v->was_down = true;
		v->first_down_at = v->down_at;
		v->first_fail_slot = t->fail_slot != NO_SLOT ? t->fail_slot : d->cur_slot;
	}
	v->up_at = -1;
	inc->changes++;
	first_list_add(d, inc, fl, &inc->first_down_done, PH_FIRST_DOWN, v->down_at, ti);
	if (!inc->have_onset || (!inc->dark_onset && v->first_fail_slot < inc->onset_slot)) {
		inc->have_onset = true;
		inc->onset_slot = v->first_fail_slot;
		inc->onset_at = v->down_at;
	}
}

static void target_up(struct detector *d, struct incident *inc, uint32_t ti, struct first_list *fl)
{
	struct dtarget *t = &d->t[ti];
	struct inv *v = inv_find(inc, ti);

	if (!v || !v->down)
		return;
	v->down = false;
	v->up_at = t->ok_at >= 0 ? t->ok_at : t->last_at;
	if (v->down_at >= 0 && v->up_at > v->down_at)
		v->down_ms += v->up_at - v->down_at;
	inc->changes++;
	first_list_add(d, inc, fl, &inc->first_up_done, PH_FIRST_UP, v->up_at, ti);
}

/* Answering again in the slot being judged: from down, or from unknown
 * (after a restart, for the targets of a continued incident). */
static bool came_up(const struct dtarget *t)
{
	return t->changed && t->h.state != STATE_DOWN &&
	       (t->from_state == STATE_DOWN || t->from_state == STATE_UNKNOWN);
}

/* Role and all-targets phases after this slot's transitions. */
static void role_phases(struct detector *d, struct dnet *n, struct incident *inc)
{
	uint32_t down[ROLE_COUNT] = {0}, total_down = 0, members = 0;
	int64_t max_down_at[ROLE_COUNT], max_up_at[ROLE_COUNT], all_at = -1;

	for (int r = 0; r < ROLE_COUNT; r++)
		max_down_at[r] = max_up_at[r] = -1;
	for (size_t i = 0; i < n->n; i++) {
		uint32_t ti = n->targets[i];
		const struct inv *v = inv_find(inc, ti);
		enum role r = d->t[ti].role;
		if (d->t[ti].tainted)
			continue;
		members++;
		if (v && v->down) {
			down[r]++;
			total_down++;
			if (v->down_at > max_down_at[r])
				max_down_at[r] = v->down_at;
			if (v->down_at > all_at)
				all_at = v->down_at;
		} else if (v && v->up_at > max_up_at[r]) {
			max_up_at[r] = v->up_at;
		}
	}
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!n->n_role[r])
			continue;
		if (!inc->role_dark[r] && down[r] == n->n_role[r]) {
			struct phase *ph = phase_add(inc, PH_ROLE_DOWN, max_down_at[r], r);
			inc->role_dark[r] = true;
			for (size_t i = 0; i < n->n; i++)
				if (d->t[n->targets[i]].role == (enum role)r)
					phase_item(ph, tname(d, n->targets[i]));
		} else if (inc->role_dark[r] && down[r] == 0) {
			struct phase *ph = phase_add(inc, PH_ROLE_UP, max_up_at[r], r);
			inc->role_dark[r] = false;
			for (size_t i = 0; i < n->n; i++)
				if (d->t[n->targets[i]].role == (enum role)r)
					phase_item(ph, tname(d, n->targets[i]));
		}
	}
	if (!inc->all_dark && members > 0 && total_down == members && n->n > 1) {
		inc->all_dark = true;
		phase_add(inc, PH_ALL_DOWN, all_at, -1);
	} else if (inc->all_dark && total_down < members) {
		inc->all_dark = false;
	}
	if (n->n && (double)total_down / (double)n->n > inc->max_down_fraction) {
		inc->max_down_fraction = (double)total_down / (double)n->n;
	}
}

void bgp_phase(struct incident *inc, bool withdrawn, int64_t at, const struct prefix *p, size_t np)
{
	enum phase_ev ev = withdrawn ? PH_BGP_WITHDRAWN : PH_BGP_RESTORED;
	struct phase *ph = NULL;
	char buf[64];

	/* one change of a network given prefix by prefix (as the store keeps
	 * it) is one phase, as when it came in one call */
	if (inc->nph > 0 && inc->ph[inc->nph - 1].ev == ev && inc->ph[inc->nph - 1].at == at)
		ph = &inc->ph[inc->nph - 1];
	else
		ph = phase_add(inc, ev, at, -1);
	if (!ph)
		return;
	inc->changes++;
	ph->prefixes = true;
	for (size_t i = 0; i < np; i++) {
		prefix_format(&p[i], buf, sizeof(buf));
		phase_item(ph, buf);
	}
	if (withdrawn && inc->withdraw_at < 0)
		inc->withdraw_at = at;
}

static void incident_close(struct detector *d, struct incident *inc)
{
	int64_t end = -1;

	for (size_t i = 0; i < inc->ninv; i++)
		if (inc->inv[i].up_at > end)
			end = inc->inv[i].up_at;
	/* a degradation ends when the network answers cleanly again */
	if (inc->degr_phase_done && inc->clean_at > end)
		end = inc->clean_at;
	if (end < 0)
		end = inc->last_at;
	if (end < inc->start_at)
		end = inc->start_at;
	inc->end_at = end;
	inc->open = false;
	phase_add(inc, PH_ALL_UP, end, -1);
	d->nopen--;
}

void judge_network(struct detector *d, struct dnet *n, uint32_t slot, enum vantage_level level)
{
	struct incident *inc = n->inc;
	bool any_down_now = false, opened = false;
	uint32_t failing = 0, degr, held = 0;
	struct first_list down_list = FIRST_LIST_NONE, up_list = FIRST_LIST_NONE;
	struct rstat *r;

	bool vantage_trouble = level == VANTAGE_CONFIRMED;

	net_stats(d, n, slot);
	r = ring_at(n, slot);
	degr = r->n_degr_state + r->n_down;
	for (size_t i = 0; i < n->n; i++) {
		struct dtarget *t = &d->t[n->targets[i]];
		if (t->changed && t->h.state == STATE_DOWN) {
			if (vantage_trouble || d->vantage)
				t->tainted = true;
			else if (d->ncontrols > 0 && t->fail_slot != NO_SLOT &&
				 (level == VANTAGE_SUSPECT || slot < t->fail_slot + d->p.abrupt_rounds))
				t->held = true; /* the controls' probes of these rounds may come later */
			else
				any_down_now = true;
		} else if (t->held) {
			t->held = false;
			if (vantage_trouble || d->vantage) {
				t->tainted = t->h.state == STATE_DOWN;
				t->changed = t->tainted; /* the vantage incident takes it */
			} else if (level == VANTAGE_NONE &&
				   (slot >= t->fail_slot + d->p.abrupt_rounds || t->h.state != STATE_DOWN)) {
				t->released = true;
				any_down_now = true;
			} else {
				t->held = true;
			}
		}
		if (came_up(t))
			t->tainted = false;
		if (t->h.fail_streak > 0 && !t->tainted)
			failing++;
		if (t->held || (t->tainted && t->h.state == STATE_DOWN))
			held++;
	}
	/* network-wide degradation: many targets degraded (or down) for
	 * stress_lead_rounds rounds in a row */
	/* (targets waiting on the controls, or ours, are not the network's) */
	degr = degr > held ? degr - held : 0;
	if (degr >= 2 && (double)degr >= d->p.network_fraction * (double)n->n)
		n->degr_streak++;
	else
		n->degr_streak = 0;
	if (!inc) {
		bool degr_open = n->degr_streak >= d->p.stress_lead_rounds;
		if (level != VANTAGE_NONE || d->vantage || (!any_down_now && !degr_open))
			return;
		inc = n->inc = incident_new(d, (size_t)(n - d->nets), trouble_start(d, n, slot));
		inc->degr_opened = !any_down_now;
		opened = true;
		if (n->nwithdrawn > 0)
			bgp_phase(inc, true, n->withdrawn_at, n->withdrawn, n->nwithdrawn);
	}
	inc->last_at = d->cur_end;
	for (size_t i = 0; i < n->n; i++) {
		uint32_t ti = n->targets[i];
		struct dtarget *t = &d->t[ti];
		if (t->released && !t->tainted) {
			/* down since its fall; maybe up again meanwhile */
			target_down(d, inc, ti, &down_list);
			if (t->h.state != STATE_DOWN)
				target_up(d, inc, ti, &up_list);
			continue;
		}
		if (!t->changed || t->tainted || t->held)
			continue;
		if (t->h.state == STATE_DOWN)
			target_down(d, inc, ti, &down_list);
		else if (came_up(t))
			target_up(d, inc, ti, &up_list);
	}
	role_phases(d, n, inc);
	for (size_t i = 0; i < inc->ninv; i++) {
		const struct dtarget *t = &d->t[inc->inv[i].target];
		if (inc->inv[i].down && !t->tainted && (t->fclass == FC_SILENT || t->fclass == FC_NOROUTE))
			inc->inv[i].went_dark = true;
	}
	if (r->n_dark > inc->max_dark)
		inc->max_dark = r->n_dark;
	if (net_dark(d, r->n_dark, r->n_eligible)) {
		inc->wide_rounds++;
		inc->dark_last_at = d->cur_end;
	}
	if (inc->have_onset && !inc->resumed) {
		dark_onset(d, n, inc, r->n_eligible);
		compute_lead(d, n, inc, slot);
		count_failures(d, n, inc, slot);
	} else if (inc->degr_opened && !inc->resumed) {
		inc->onset_slot = slot + 1;
		compute_lead(d, n, inc, slot);
	}
	if (!inc->degr_phase_done && (inc->lead_rounds > 0 || inc->degr_opened) && !inc->resumed) {
		inc->degr_phase_done = true;
		phase_add(inc, PH_DEGRADATION_START, inc->start_at, -1);
	}
	/* while most of the network is down: are the outside routers alive? */
	if (net_dark(d, r->n_dark, r->n_eligible)) {
		bool alive = false, dead = n->n_outside_routers > 0;
		for (size_t i = 0; i < n->n; i++) {
			const struct dtarget *t = &d->t[n->targets[i]];
			if (!t->outside || t->role != ROLE_ROUTER || !t->measured)
				continue;
			if (t->h.last == HEALTH_ROUND_FAILED)
				continue;
			alive = true;
			dead = false;
		}
		if (alive)
			inc->out_alive_rounds++;
		else if (dead)
			inc->out_dead_rounds++;
	}
	/* by rounds, not states: hysteresis must not delay the end */
	if (r->n_badany >= many_of(n->n))
		inc->clean_at = -1;
	else if (inc->clean_at < 0)
		inc->clean_at = d->cur_at;
	incident_classify(d, n, inc);
	/* closing: nothing down, nothing failing, no network degradation,
	 * for the hold (a relapse within it continues this incident) */
	bool any_inv_down = false;
	for (size_t i = 0; i < inc->ninv; i++)
		if (inc->inv[i].down && !d->t[inc->inv[i].target].tainted)
			any_inv_down = true;
	if (!any_inv_down && failing == 0 && n->degr_streak == 0 && !opened)
		inc->calm++;
	else
		inc->calm = 0;
	if (inc->calm >= umax(d->p.up_after, d->p.down_after)) {
		incident_close(d, inc);
		incident_classify(d, n, inc);
		incident_emit(d, inc, false);
		incident_free(inc);
		n->inc = NULL;
		return;
	}
	incident_emit(d, inc, false);
}

void judge_vantage(struct detector *d, bool trouble)
{
	struct incident *inc = d->vantage;
	bool any_down = false;
	struct first_list down_list = FIRST_LIST_NONE, up_list = FIRST_LIST_NONE;

	if (!inc && !trouble)
		return;
	for (size_t i = 0; i < d->ncontrols; i++) {
		const struct dtarget *t = &d->t[d->controls[i]];
		if (t->h.state == STATE_DOWN)
			any_down = true;
	}
	if (!inc) {
		bool tgt_down = false;
		for (size_t i = 0; i < d->ntargets; i++)
			if (d->t[i].tainted && d->t[i].h.state == STATE_DOWN)
				tgt_down = true;
		if (!trouble || (!any_down && !tgt_down))
			return;
		int64_t at = -1;
		for (size_t i = 0; i < d->ncontrols; i++) {
			const struct dtarget *t = &d->t[d->controls[i]];
			if (t->h.fail_streak > 0 && t->fail_at >= 0 && (at < 0 || t->fail_at < at))
				at = t->fail_at;
		}
		inc = d->vantage = incident_new(d, NET_NONE, at >= 0 ? at : d->cur_at);
	}
	inc->last_at = d->cur_end;
	for (size_t i = 0; i < d->ntargets; i++) {
		struct dtarget *t = &d->t[i];
		bool member = t->net == NET_NONE || t->tainted || inv_find(inc, (uint32_t)i);
		if (!member || !t->changed)
			continue;
		if (t->h.state == STATE_DOWN)
			target_down(d, inc, (uint32_t)i, &down_list);
		else if (came_up(t))
			target_up(d, inc, (uint32_t)i, &up_list);
	}
	bool busy = false;
	uint32_t down = 0;
	for (size_t i = 0; i < inc->ninv; i++)
		if (inc->inv[i].down) {
			busy = true;
			down++;
		}
	for (size_t i = 0; i < d->ncontrols; i++)
		if (d->t[d->controls[i]].h.fail_streak > 0)
			busy = true;
	if (d->ntargets && (double)down / (double)d->ntargets > inc->max_down_fraction)
		inc->max_down_fraction = (double)down / (double)d->ntargets;
	incident_classify(d, NULL, inc);
	inc->calm = busy || trouble ? 0 : inc->calm + 1;
	if (inc->calm >= umax(d->p.up_after, d->p.down_after)) {
		incident_close(d, inc);
		incident_emit(d, inc, false);
		incident_free(inc);
		d->vantage = NULL;
		return;
	}
	incident_emit(d, inc, false);
}
