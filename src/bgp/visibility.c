/* Prefix visibility: see visibility.h.  Routes live in one open-addressing
 * hash table (linear probing, backward-shift deletion) of 28-byte slots,
 * so a full table costs tens of bytes per route. */
#include "bgp/visibility.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bgp/mrt.h"
#include "config/config.h"

struct vroute {
	uint8_t addr[16];
	uint32_t path_id;
	uint32_t origin_as;
	uint16_t peer;
	uint8_t len;
	uint8_t family; /* 0: empty slot */
};

struct vpeer {
	char *name;
	bool up, counted;
	bool fam4, fam6, fam_auto; /* families it carries; auto: learnt from routes */
	int64_t sync_deadline;     /* counted from then on if still syncing */
	size_t routes;
};

enum vstate { V_UNKNOWN, V_VISIBLE, V_INVISIBLE, V_WITHDRAWN };

struct vexp {
	struct prefix p;
	size_t network;
	uint32_t *count; /* routes per peer overlapping p */
	uint8_t state;
	bool dirty;
};

struct bgp_vis {
	const struct config *cfg;
	bool keep_all;
	bgp_vis_fn fn;
	void *arg;
	struct vroute *tab;
	size_t cap, n;
	struct vpeer *peers;
	size_t npeers, peers_cap;
	struct vexp *exp;
	size_t nexp;
	size_t *net_routes;
	bool all_dirty, any_dirty;
	struct prefix *scratch; /* nexp entries */
	size_t *hits;           /* nexp entries: expected prefixes one route overlaps */
};

static void route_key(struct vroute *r, int peer, const struct prefix *p, uint32_t path_id)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->addr, p->addr, 16);
	r->len = p->len;
	r->family = p->family == AF_INET ? 4 : 6;
	r->peer = (uint16_t)peer;
	r->path_id = path_id;
}

static uint64_t route_hash(const struct vroute *r)
{
	uint64_t a, b;
	memcpy(&a, r->addr, 8);
	memcpy(&b, r->addr + 8, 8);
	uint64_t h = a * 0x9e3779b97f4a7c15ull;
	h ^= (b + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull;
	h ^= ((uint64_t)r->len << 40 | (uint64_t)r->family << 32 | (uint64_t)r->peer << 48) ^ r->path_id;
	h ^= h >> 31;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	return h;
}

static bool route_eq(const struct vroute *a, const struct vroute *b)
{
	return a->family == b->family && a->len == b->len && a->peer == b->peer && a->path_id == b->path_id &&
	       memcmp(a->addr, b->addr, 16) == 0;
}

static size_t find_slot(const struct bgp_vis *v, const struct vroute *k)
{
	size_t mask = v->cap - 1;
	for (size_t i = route_hash(k) & mask;; i = (i + 1) & mask) {
		if (v->tab[i].family == 0 || route_eq(&v->tab[i], k))
			return i;
	}
}

static int grow(struct bgp_vis *v)
{
	size_t ncap = v->cap ? v->cap * 2 : 1024;
	struct vroute *old = v->tab;
	size_t ocap = v->cap;
	struct vroute *nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return -1;
	v->tab = nt;
	v->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].family)
			v->tab[find_slot(v, &old[i])] = old[i];
	}
	free(old);
	return 0;
}

/* Backward-shift deletion keeps probe chains whole without tombstones. */
static void delete_slot(struct bgp_vis *v, size_t i)
{
	size_t mask = v->cap - 1;
	size_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (v->tab[j].family == 0)
			break;
		size_t home = route_hash(&v->tab[j]) & mask;
		/* Move j back to i if its home is not cyclically in (i, j]. */
		bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!in_range) {
			v->tab[i] = v->tab[j];
			i = j;
		}
	}
	memset(&v->tab[i], 0, sizeof(v->tab[i]));
	v->n--;
}

static void to_prefix(const struct vroute *r, struct prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = r->family == 4 ? AF_INET : AF_INET6;
	p->len = r->len;
	memcpy(p->addr, r->addr, 16);
}

struct bgp_vis *bgp_vis_new(const struct config *cfg, bool keep_all, bgp_vis_fn fn, void *arg)
{
	struct bgp_vis *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->cfg = cfg;
	v->keep_all = keep_all;
	v->fn = fn;
	v->arg = arg;
	size_t nexp = 0;
	for (size_t i = 0; i < cfg->nnetworks; i++)
		nexp += cfg->networks[i].nprefixes;
	v->exp = calloc(nexp ? nexp : 1, sizeof(*v->exp));
	v->scratch = calloc(nexp ? nexp : 1, sizeof(*v->scratch));
	v->hits = calloc(nexp ? nexp : 1, sizeof(*v->hits));
	v->net_routes = calloc(cfg->nnetworks ? cfg->nnetworks : 1, sizeof(*v->net_routes));
	if (!v->exp || !v->scratch || !v->hits || !v->net_routes || grow(v) < 0) {
		bgp_vis_free(v);
		return NULL;
	}
	for (size_t i = 0; i < cfg->nnetworks; i++) {
		for (size_t j = 0; j < cfg->networks[i].nprefixes; j++) {
			v->exp[v->nexp].p = cfg->networks[i].prefixes[j];
			v->exp[v->nexp].network = i;
			v->nexp++;
		}
	}
	return v;
}

void bgp_vis_free(struct bgp_vis *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->npeers; i++)
		free(v->peers[i].name);
	for (size_t i = 0; i < v->nexp; i++)
		free(v->exp[i].count);
	free(v->peers);
	free(v->exp);
	free(v->scratch);
	free(v->hits);
	free(v->net_routes);
	free(v->tab);
	free(v);
}

int bgp_vis_peer(struct bgp_vis *v, const char *name)
{
	for (size_t i = 0; i < v->npeers; i++) {
		if (strcmp(v->peers[i].name, name) == 0)
			return (int)i;
	}
	if (v->npeers >= UINT16_MAX)
		return -1;
	if (v->npeers == v->peers_cap) {
		size_t ncap = v->peers_cap ? v->peers_cap * 2 : 8;
		struct vpeer *np = realloc(v->peers, ncap * sizeof(*np));
		if (!np)
			return -1;
		v->peers = np;
		for (size_t i = 0; i < v->nexp; i++) {
			uint32_t *nc = realloc(v->exp[i].count, ncap * sizeof(uint32_t));
			if (!nc)
				return -1;
			memset(nc + v->peers_cap, 0, (ncap - v->peers_cap) * sizeof(uint32_t));
			v->exp[i].count = nc;
		}
		v->peers_cap = ncap;
	}
	struct vpeer *p = &v->peers[v->npeers];
	memset(p, 0, sizeof(*p));
	p->name = strdup(name);
	if (!p->name)
		return -1;
	return (int)v->npeers++;
}

void bgp_vis_peer_up(struct bgp_vis *v, int peer, int64_t at_ms, bool sync, int64_t grace_ms)
{
	struct vpeer *p = &v->peers[peer];
	p->up = true;
	p->counted = !sync;
	p->fam4 = p->fam6 = false;
	p->fam_auto = true;
	p->sync_deadline = at_ms + grace_ms;
	v->all_dirty = v->any_dirty = true;
}

void bgp_vis_peer_families(struct bgp_vis *v, int peer, bool ipv4, bool ipv6)
{
	struct vpeer *p = &v->peers[peer];
	p->fam4 = ipv4;
	p->fam6 = ipv6;
	p->fam_auto = false;
	v->all_dirty = v->any_dirty = true;
}

void bgp_vis_peer_synced(struct bgp_vis *v, int peer, int64_t at_ms)
{
	(void)at_ms;
	if (v->peers[peer].up && !v->peers[peer].counted) {
		v->peers[peer].counted = true;
		v->all_dirty = v->any_dirty = true;
	}
}

/* Expected prefixes r overlaps, into v->hits; returns how many. */
static size_t overlaps(struct bgp_vis *v, const struct prefix *p)
{
	size_t n = 0;
	for (size_t i = 0; i < v->nexp; i++) {
		if (v->exp[i].p.family == p->family && prefix_overlaps(&v->exp[i].p, p))
			v->hits[n++] = i;
	}
	return n;
}

static bool network_asn(const struct network_cfg *net, uint32_t as)
{
	for (size_t j = 0; j < net->nasn; j++) {
		if (net->asn[j] == as)
			return true;
	}
	return false;
}

/* Adds (sign 1) or removes (-1) the route's weight in the counters. */
static bool account(struct bgp_vis *v, const struct vroute *r, int sign)
{
	struct prefix p;
	to_prefix(r, &p);
	size_t nh = overlaps(v, &p);
	bool relevant = nh > 0;
	for (size_t i = 0; i < nh; i++) {
		struct vexp *e = &v->exp[v->hits[i]];
		uint32_t *c = &e->count[r->peer];
		if (sign > 0) {
			if ((*c)++ == 0)
				e->dirty = v->any_dirty = true;
		} else if (*c > 0) {
			if (--(*c) == 0)
				e->dirty = v->any_dirty = true;
		}
	}
	for (size_t n = 0; n < v->cfg->nnetworks; n++) {
		bool mine = r->origin_as && network_asn(&v->cfg->networks[n], r->origin_as);
		for (size_t i = 0; i < nh && !mine; i++)
			mine = v->exp[v->hits[i]].network == n;
		if (mine) {
			relevant = true;
			v->net_routes[n] += (size_t)(sign > 0 ? 1 : -1);
		}
	}
	return relevant;
}

int bgp_vis_route(struct bgp_vis *v, int peer, const struct prefix *p, uint32_t path_id, uint32_t origin_as,
		  bool announce)
{
	struct vroute k;
	int ret = 0;
	if (peer < 0 || (size_t)peer >= v->npeers)
		return 0;
	route_key(&k, peer, p, path_id);
	struct vpeer *vp = &v->peers[peer];
	if (announce && vp->fam_auto) {
		bool *f = p->family == AF_INET ? &vp->fam4 : &vp->fam6;
		if (!*f) {
			*f = true;
			v->all_dirty = v->any_dirty = true;
		}
	}
	size_t i = find_slot(v, &k);
	if (v->tab[i].family) {
		/* Replaced or withdrawn: take the old route out first. */
		account(v, &v->tab[i], -1);
		delete_slot(v, i);
		v->peers[peer].routes--;
		ret |= BGP_VIS_REMOVED;
	}
	if (!announce)
		return ret;
	k.origin_as = origin_as;
	if (!account(v, &k, 1) && !v->keep_all)
		return ret;
	if ((v->n + 1) * 10 > v->cap * 7 && grow(v) < 0) {
		account(v, &k, -1); /* no memory: the route is not kept */
		return ret;
	}
	v->tab[find_slot(v, &k)] = k;
	v->n++;
	v->peers[peer].routes++;
	return ret | BGP_VIS_KEPT;
}

bool bgp_vis_route_watched(const struct bgp_vis *v, const struct prefix *p, bool announce, int kept)
{
	if (kept & (BGP_VIS_KEPT | BGP_VIS_REMOVED))
		return true;
	for (size_t i = 0; !announce && i < v->nexp; i++) {
		if (prefix_overlaps(&v->exp[i].p, p))
			return true;
	}
	return false;
}

void bgp_vis_peer_down(struct bgp_vis *v, int peer, int64_t at_ms)
{
	(void)at_ms;
	struct vpeer *p = &v->peers[peer];
	if (p->routes > 0) {
		/* Rebuild without the peer's routes: rare, and O(table). */
		struct vroute *old = v->tab;
		size_t ocap = v->cap;
		struct vroute *nt = calloc(ocap, sizeof(*nt));
		if (nt) {
			v->tab = nt;
			v->n = 0;
			for (size_t i = 0; i < ocap; i++) {
				if (!old[i].family)
					continue;
				if (old[i].peer == peer) {
					account(v, &old[i], -1);
					continue;
				}
				v->tab[find_slot(v, &old[i])] = old[i];
				v->n++;
			}
			free(old);
			p->routes = 0;
		}
	}
	p->up = false;
	p->counted = false;
	v->all_dirty = v->any_dirty = true;
}

static bool counts_for(const struct vpeer *p, int family)
{
	return p->counted && (family == AF_INET ? p->fam4 : p->fam6);
}

static void evaluate(struct bgp_vis *v, struct vexp *e, bool *went_down, bool *came_up)
{
	*went_down = *came_up = false;
	size_t seen = 0, ncounted = 0;
	for (size_t p = 0; p < v->npeers; p++) {
		if (!counts_for(&v->peers[p], e->p.family))
			continue;
		ncounted++;
		if (e->count[p] > 0)
			seen++;
	}
	if (ncounted == 0)
		return; /* nobody to ask: keep what we knew */
	bool visible = seen * 2 > ncounted;
	if (visible) {
		/* first sight counts too: the detector learns this network has
		 * BGP data, which it needs to tell filtering from power */
		if (e->state != V_VISIBLE)
			*came_up = true;
		e->state = V_VISIBLE;
	} else if (e->state == V_VISIBLE) {
		*went_down = true;
		e->state = V_WITHDRAWN;
	} else if (e->state == V_UNKNOWN) {
		e->state = V_INVISIBLE;
	}
}

void bgp_vis_flush(struct bgp_vis *v, int64_t at_ms)
{
	if (!v->any_dirty)
		return;
	for (size_t n = 0; n < v->cfg->nnetworks; n++) {
		size_t ndown = 0, nup = 0;
		/* Withdrawn prefixes fill scratch from the front, restored from the back. */
		for (size_t i = 0; i < v->nexp; i++) {
			struct vexp *e = &v->exp[i];
			if (e->network != n || !(e->dirty || v->all_dirty))
				continue;
			e->dirty = false;
			bool down, up;
			evaluate(v, e, &down, &up);
			if (down)
				v->scratch[ndown++] = e->p;
			if (up)
				v->scratch[v->nexp - 1 - nup++] = e->p;
		}
		if (!v->fn)
			continue;
		struct bgp_vis_event ev = {.network = n, .name = v->cfg->networks[n].name, .at_ms = at_ms};
		if (ndown) {
			ev.withdrawn = true;
			ev.prefixes = v->scratch;
			ev.nprefixes = ndown;
			v->fn(&ev, v->arg);
		}
		if (nup) {
			ev.withdrawn = false;
			ev.prefixes = v->scratch + v->nexp - nup;
			ev.nprefixes = nup;
			v->fn(&ev, v->arg);
		}
	}
	v->all_dirty = v->any_dirty = false;
}

void bgp_vis_tick(struct bgp_vis *v, int64_t now_ms)
{
	for (size_t p = 0; p < v->npeers; p++) {
		struct vpeer *pe = &v->peers[p];
		if (pe->up && !pe->counted && now_ms >= pe->sync_deadline) {
			pe->counted = true;
			v->all_dirty = v->any_dirty = true;
		}
	}
	bgp_vis_flush(v, now_ms);
}

void bgp_vis_network_status(const struct bgp_vis *v, size_t network, struct bgp_vis_status *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t p = 0; p < v->npeers; p++)
		st->counted_peers += v->peers[p].counted;
	for (size_t i = 0; i < v->nexp; i++) {
		if (v->exp[i].network != network)
			continue;
		st->expected++;
		if (v->exp[i].state == V_VISIBLE)
			st->visible++;
	}
	if (network < v->cfg->nnetworks)
		st->routes = v->net_routes[network];
}

size_t bgp_vis_peer_visible(const struct bgp_vis *v, size_t network, int peer)
{
	size_t n = 0;
	if (peer < 0 || (size_t)peer >= v->npeers)
		return 0;
	for (size_t i = 0; i < v->nexp; i++) {
		if (v->exp[i].network == network && v->exp[i].count[peer] > 0)
			n++;
	}
	return n;
}

size_t bgp_vis_npeers(const struct bgp_vis *v)
{
	return v->npeers;
}

void bgp_vis_peer_info(const struct bgp_vis *v, int peer, struct bgp_vis_peer_info *info)
{
	const struct vpeer *p = &v->peers[peer];
	info->name = p->name;
	info->up = p->up;
	info->counted = p->counted;
	info->routes = p->routes;
}

size_t bgp_vis_routes(const struct bgp_vis *v)
{
	return v->n;
}

size_t bgp_vis_table_bytes(const struct bgp_vis *v)
{
	return v->cap * sizeof(struct vroute);
}

int bgp_vis_feed_mrt(struct bgp_vis *v, const struct mrt_event *ev, int64_t grace_ms)
{
	/* RFC 6396 BGP FSM numbers: 6 is Established. */
	enum { ESTABLISHED = 6 };
	int peer = bgp_vis_peer(v, ev->peer);
	if (peer < 0)
		return 0;
	int64_t at_ms = ev->at_us / 1000;
	if (ev->kind == MRT_EV_STATE) {
		if (ev->new_state == ESTABLISHED)
			bgp_vis_peer_up(v, peer, at_ms, true, grace_ms);
		else if (ev->old_state == ESTABLISHED || v->peers[peer].up)
			bgp_vis_peer_down(v, peer, at_ms);
		return 0;
	}
	if (!v->peers[peer].up)
		bgp_vis_peer_up(v, peer, at_ms, false, 0);
	uint32_t origin = ev->attrs ? ev->attrs->origin_as : 0;
	return bgp_vis_route(v, peer, &ev->prefix, ev->path_id, origin, ev->kind != MRT_EV_WITHDRAW);
}
