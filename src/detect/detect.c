/* The detector's construction, teardown and live state.  See detect.h,
 * detect_int.h for the files it is split into, and docs/detection.md for
 * the rules and why they are what they are. */
#include "detect/detect_int.h"

#include "core/addr.h"

/* ---------- addresses ---------- */

static bool parse_literal(const char *s, struct sockaddr_storage *ss)
{
	char buf[80];
	const char *h = s, *end;
	size_t len;

	if (!s || !*s)
		return false;
	if (addr_parse(s, ss) == 0)
		return true;
	/* URL: scheme://host[:port]/... or scheme://[v6]:port/ */
	h = strstr(s, "://");
	if (!h)
		return false;
	h += 3;
	if (*h == '[') {
		h++;
		end = strchr(h, ']');
	} else {
		end = h + strcspn(h, ":/?#");
	}
	if (!end)
		return false;
	len = (size_t)(end - h);
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, h, len);
	buf[len] = 0;
	return addr_parse(buf, ss) == 0;
}

/* ---------- construction ---------- */

struct detector *detect_new(const struct config *cfg, const struct detect_hooks *hooks, void *arg)
{
	struct detector *d = calloc(1, sizeof(*d));

	if (!d)
		abort();
	d->cfg = cfg;
	if (hooks)
		d->hooks = *hooks;
	d->arg = arg;
	health_params(&cfg->detect, &d->p);
	d->interval_ms = cfg->interval_ms > 0 ? cfg->interval_ms : 60000;
	d->tol_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
	{
		int64_t hold = 0;
		for (size_t i = 0; i < cfg->bgp.npeers; i++)
			if (cfg->bgp.peers[i].hold_time_ms > hold)
				hold = cfg->bgp.peers[i].hold_time_ms;
		if (hold <= 0)
			hold = 90000;
		/* "well past a hold time": twice the longest, and three rounds */
		d->filter_wait_ms = 2 * hold;
		if (d->filter_wait_ms < 3 * d->interval_ms)
			d->filter_wait_ms = 3 * d->interval_ms;
	}
	d->next_id = 1;
	d->ntargets = cfg->ntargets;
	d->t = xrealloc(NULL, cfg->ntargets ? cfg->ntargets : 1, sizeof(*d->t));
	memset(d->t, 0, (cfg->ntargets ? cfg->ntargets : 1) * sizeof(*d->t));
	d->nnets = cfg->nnetworks;
	d->nets = xrealloc(NULL, cfg->nnetworks ? cfg->nnetworks : 1, sizeof(*d->nets));
	memset(d->nets, 0, (cfg->nnetworks ? cfg->nnetworks : 1) * sizeof(*d->nets));
	for (size_t i = 0; i < d->nnets; i++) {
		d->nets[i].cfg = &cfg->networks[i];
		for (size_t k = 0; k < RING_ROUNDS; k++)
			d->nets[i].ring[k].slot = NO_SLOT;
	}
	d->controls = xrealloc(NULL, cfg->ntargets ? cfg->ntargets : 1, sizeof(*d->controls));
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target_cfg *tc = &cfg->targets[i];
		struct dtarget *t = &d->t[i];

		health_init(&t->h);
		t->role = tc->role;
		t->it_ms = tc->interval_ms > 0 ? tc->interval_ms : d->interval_ms;
		if (t->it_ms != d->interval_ms)
			d->irregular = true;
		t->fail_slot = t->bad_slot = NO_SLOT;
		t->fail_at = t->bad_at = t->ok_at = t->last_at = -1;
		if (tc->network == CONFIG_NO_NETWORK || tc->network >= d->nnets || tc->role == ROLE_CONTROL) {
			t->net = NET_NONE;
			d->controls[d->ncontrols++] = (uint32_t)i;
			continue;
		}
		t->net = tc->network;
		struct dnet *n = &d->nets[t->net];
		n->targets = xrealloc(n->targets, n->n + 1, sizeof(*n->targets));
		n->targets[n->n++] = (uint32_t)i;
		if ((unsigned)tc->role < ROLE_COUNT)
			n->n_role[tc->role]++;
		struct sockaddr_storage ss;
		const char *lit = tc->host ? tc->host : tc->server ? tc->server : tc->url;
		if (n->cfg->nprefixes > 0 && parse_literal(lit, &ss) && !net_contains(n->cfg, &ss))
			t->outside = true;
		if (t->outside && tc->role == ROLE_ROUTER)
			n->n_outside_routers++;
		if (!t->outside)
			n->n_inside++;
	}
	return d;
}

void detect_free(struct detector *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nslots; i++)
		free(d->slots[i].e);
	free(d->slots);
	for (size_t i = 0; i < d->nbgp; i++)
		free(d->bgp[i].p);
	free(d->bgp);
	for (size_t i = 0; i < d->nnets; i++) {
		incident_free(d->nets[i].inc);
		free(d->nets[i].targets);
	}
	incident_free(d->vantage);
	free(d->nets);
	free(d->controls);
	free(d->t);
	free(d);
}

void detect_set_next_id(struct detector *d, int64_t next_id)
{
	if (next_id > d->next_id)
		d->next_id = next_id;
}

const struct target_health *detect_target_health(const struct detector *d, uint32_t target)
{
	return target < d->ntargets ? &d->t[target].h : NULL;
}

size_t detect_open_incidents(const struct detector *d)
{
	return d->nopen;
}

uint64_t detect_late_dropped(const struct detector *d)
{
	return d->late;
}
