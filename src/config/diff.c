/* Comparing two configurations for a reload: a target is unchanged when
 * everything that decides how it is probed and judged is the same. */
#include "config/diff.h"

#include <stdlib.h>
#include <string.h>

bool config_str_same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static const char *network_of(const struct config *cfg, const struct target_cfg *t)
{
	return t->network == CONFIG_NO_NETWORK ? "" : cfg->networks[t->network].name;
}

/* Everything that decides how a target is probed and judged. */
static bool target_same(const struct config *ac, const struct target_cfg *a, const struct config *bc,
			const struct target_cfg *b)
{
	return config_str_same(a->name, b->name) && config_str_same(network_of(ac, a), network_of(bc, b)) &&
	       a->role == b->role && a->kind == b->kind && config_str_same(a->host, b->host) && a->port == b->port &&
	       config_str_same(a->url, b->url) && config_str_same(a->server, b->server) &&
	       config_str_same(a->query, b->query) && a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms && a->count == b->count && a->nstatus == b->nstatus &&
	       (a->nstatus == 0 || memcmp(a->status, b->status, a->nstatus * sizeof(*a->status)) == 0) &&
	       config_str_same(a->contains, b->contains) && a->follow_redirects == b->follow_redirects &&
	       config_str_same(a->expect_rcode, b->expect_rcode) && config_str_same(a->expect, b->expect) &&
	       a->recursion == b->recursion && config_str_same(a->expect_banner, b->expect_banner);
}

static bool network_same(const struct network_cfg *a, const struct network_cfg *b)
{
	if (!config_str_same(a->name, b->name) || a->nasn != b->nasn || a->nprefixes != b->nprefixes ||
	    (a->nasn > 0 && memcmp(a->asn, b->asn, a->nasn * sizeof(*a->asn)) != 0))
		return false;
	for (size_t i = 0; i < a->nprefixes; i++)
		if (a->prefixes[i].family != b->prefixes[i].family || a->prefixes[i].len != b->prefixes[i].len ||
		    memcmp(a->prefixes[i].addr, b->prefixes[i].addr, sizeof(a->prefixes[i].addr)) != 0)
			return false;
	return true;
}

/* The collector keeps running (sessions up) only if neither its section
 * nor the networks whose visibility it computes changed. */
bool config_bgp_same(const struct config *a, const struct config *b)
{
	const struct bgp_cfg *x = &a->bgp, *y = &b->bgp;

	if (x->npeers != y->npeers || x->nmrt != y->nmrt || !config_str_same(x->listen, y->listen) ||
	    a->nnetworks != b->nnetworks)
		return false;
	for (size_t i = 0; i < x->npeers; i++) {
		const struct bgp_peer_cfg *p = &x->peers[i], *q = &y->peers[i];
		if (!config_str_same(p->address, q->address) || p->remote_as != q->remote_as ||
		    p->local_as != q->local_as || p->port != q->port || p->passive != q->passive ||
		    p->hold_time_ms != q->hold_time_ms)
			return false;
	}
	for (size_t i = 0; i < x->nmrt; i++)
		if (!config_str_same(x->mrt[i], y->mrt[i]))
			return false;
	for (size_t i = 0; i < a->nnetworks; i++)
		if (!network_same(&a->networks[i], &b->networks[i]))
			return false;
	return true;
}

bool config_alerts_same(const struct config *a, const struct config *b)
{
	if (a->nalerts != b->nalerts || !config_str_same(a->vantage, b->vantage) ||
	    !config_str_same(a->listen, b->listen))
		return false;
	for (size_t i = 0; i < a->nalerts; i++) {
		const struct alert_cfg *p = &a->alerts[i], *q = &b->alerts[i];
		if (!config_str_same(p->kind, q->kind) || !config_str_same(p->url, q->url) ||
		    !config_str_same(p->format, q->format) || p->max_age_ms != q->max_age_ms)
			return false;
	}
	return true;
}

/* The same targets in the same order with the same role and kind: what
 * the store's target rows hold (the sync is a write on the loop thread). */
bool config_same_rows(const struct config *a, const struct config *b)
{
	if (a->ntargets != b->ntargets || !config_str_same(a->vantage, b->vantage))
		return false;
	for (size_t i = 0; i < a->ntargets; i++) {
		const struct target_cfg *x = &a->targets[i], *y = &b->targets[i];
		if (!config_str_same(x->name, y->name) || !config_str_same(network_of(a, x), network_of(b, y)) ||
		    x->role != y->role || x->kind != y->kind)
			return false;
	}
	return true;
}

struct target_key {
	const char *network, *name;
	uint32_t index;
};

static int target_key_cmp(const void *a, const void *b)
{
	const struct target_key *x = a, *y = b;
	int c = strcmp(x->network, y->network);

	return c ? c : strcmp(x->name, y->name);
}

void config_diff_free(struct config_diff *d)
{
	free(d->from);
	free(d->to);
	free(d->net_from);
}

int config_diff(const struct config *oc, const struct config *nc, struct config_diff *d)
{
	struct target_key *keys = calloc(oc->ntargets ? oc->ntargets : 1, sizeof(*keys));

	*d = (struct config_diff){0};
	d->from = calloc(nc->ntargets ? nc->ntargets : 1, sizeof(*d->from));
	d->to = calloc(oc->ntargets ? oc->ntargets : 1, sizeof(*d->to));
	d->net_from = calloc(nc->nnetworks ? nc->nnetworks : 1, sizeof(*d->net_from));
	if (keys == NULL || d->from == NULL || d->to == NULL || d->net_from == NULL) {
		free(keys);
		config_diff_free(d);
		return -1;
	}
	for (size_t i = 0; i < oc->ntargets; i++) {
		keys[i] = (struct target_key){network_of(oc, &oc->targets[i]), oc->targets[i].name, (uint32_t)i};
		d->to[i] = UINT32_MAX;
	}
	qsort(keys, oc->ntargets, sizeof(*keys), target_key_cmp);
	for (size_t i = 0; i < nc->ntargets; i++) {
		struct target_key k = {network_of(nc, &nc->targets[i]), nc->targets[i].name, 0};
		const struct target_key *hit =
		    oc->ntargets ? bsearch(&k, keys, oc->ntargets, sizeof(*keys), target_key_cmp) : NULL;
		d->from[i] = UINT32_MAX;
		if (hit == NULL) {
			d->added++;
		} else if (!target_same(oc, &oc->targets[hit->index], nc, &nc->targets[i])) {
			d->changed++;
		} else {
			d->same++;
			d->from[i] = hit->index;
			d->to[hit->index] = (uint32_t)i;
		}
	}
	d->removed = oc->ntargets - d->same - d->changed;
	for (size_t i = 0; i < nc->nnetworks; i++) {
		d->net_from[i] = SIZE_MAX;
		for (size_t k = 0; k < oc->nnetworks; k++)
			if (network_same(&oc->networks[k], &nc->networks[i]))
				d->net_from[i] = k;
	}
	free(keys);
	return 0;
}
