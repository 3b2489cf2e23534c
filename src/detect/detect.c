/* Incident detector: rounds in slot order, per-network signals, incident
 * lifecycle, phases, cause classification.  See detect.h and
 * docs/detection.md for the rules and why they are what they are. */
#include "core/jfield.h"
#include "detect/detect.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/timeutil.h"

/* Thresholds not (yet) in struct detect_cfg: one place, see docs. */
#define RING_ROUNDS           256u /* per-network history of round signals */
#define MANY_FRACTION         0.3  /* "many targets" degraded: this share, and >= 2 */
#define MOST_FRACTION         0.5  /* "most targets of every role" */
#define CONTROL_FRACTION      0.5  /* share of controls failing that means "our side" */
#define UNREACH_SHARE         0.5  /* share of failed probes answered by outside routers */
#define LOOKBACK_MIN          60u  /* a bad streak older than this many rounds does not move start */
#define LEAD_GAP_ROUNDS       1u   /* a single calmer round does not end a degradation */
#define ROUTING_UNREACH_SHARE 0.2  /* share of dark failures answered by outside routers that means routing */
#define MAX_PHASES            256u
#define MAX_EVIDENCE          6
#define EVIDENCE_LEN          256
#define MAX_WITHDRAWN         64u
#define NET_NONE              SIZE_MAX
#define NO_SLOT               UINT32_MAX

static const char *const cause_names[CAUSE_COUNT] = {"stress", "power", "routing", "filtering",
						     "dns",    "host",  "vantage", "unknown"};

const char *detect_cause_name(enum detect_cause c)
{
	return (unsigned)c < CAUSE_COUNT ? cause_names[c] : "unknown";
}

enum phase_ev {
	PH_DEGRADATION_START,
	PH_FIRST_DOWN,
	PH_ROLE_DOWN,
	PH_ALL_DOWN,
	PH_BGP_WITHDRAWN,
	PH_BGP_RESTORED,
	PH_FIRST_UP,
	PH_ROLE_UP,
	PH_ALL_UP,
};

static const char *const phase_names[] = {"degradation_start", "first_down", "role_down", "all_down", "bgp_withdrawn",
					  "bgp_restored",      "first_up",   "role_up",   "all_up"};

/* What a failed round says about the target and the path to it.  Only
 * silence and "no route" make a network look dark: a host that answers
 * with an RST, an error status or a port unreachable is alive, and so is
 * the path to it. */
enum fail_class {
	FC_NONE,    /* answered (outcome ok) */
	FC_SILENT,  /* timeout, or host/address unreachable from the last hop (host gone) */
	FC_NOROUTE, /* net/no-route/prohibited unreachable from a router on the path */
	FC_ALIVE,   /* refused, error, port/protocol unreachable: the host itself answered */
};

/* A measurement as the detector keeps it while its round is pending. */
struct entry {
	int64_t at_ms;
	float rtt_ms;
	float loss;
	uint32_t target;
	uint32_t round;
	uint8_t outcome;
	uint8_t fclass;      /* enum fail_class */
	uint8_t from_family; /* 0, AF_INET, AF_INET6 */
	uint8_t from[16];
};

struct slot {
	uint32_t slot;
	size_t expected;
	size_t n, cap;
	struct entry *e;
};

struct dtarget {
	struct target_health h;
	size_t net; /* network index or NET_NONE (control) */
	enum role role;
	bool outside;      /* numbered outside its network's prefixes */
	bool tainted;      /* went down while our vantage was in trouble */
	bool held;         /* down, waiting to see whether the controls fail with it */
	bool released;     /* held, and let go to its network in the slot being judged */
	bool changed;      /* state changed in the slot being judged */
	bool measured;     /* has a round in the slot being judged */
	bool from_outside; /* last failure was an unreachable (no route) from outside */
	bool ever_ok;      /* has answered at least once: its fall is a change, not how we found it */
	uint8_t fclass;    /* enum fail_class of the last round */
	enum target_state from_state;
	uint32_t fail_slot, bad_slot;
	int64_t fail_at, bad_at, ok_at, last_at;
	double last_rtt, last_loss;
	int64_t it_ms; /* its interval */
};

/* Signals of one network in one round. */
struct rstat {
	uint32_t slot; /* NO_SLOT = empty */
	uint32_t n_down, n_degr_state, n_bad, n_fail, n_timeout, n_unreach, n_unreach_out, n_answer;
	uint32_t n_dark;     /* down, went down from healthy, and silent or unroutable now */
	uint32_t n_eligible; /* targets that have answered at least once */
	uint32_t n_badany;   /* bad rounds whatever the state */
	double loss_sum, rtt_ratio_max;
};

struct inv {
	uint32_t target;
	bool down, was_down;
	bool healthy_before; /* had answered before it went down */
	bool went_dark;      /* was silent or unroutable (not merely refusing) while down */
	uint32_t first_fail_slot;
	int64_t first_down_at, down_at, up_at;
	int64_t down_ms; /* closed down intervals */
};

struct phase {
	int64_t at;
	enum phase_ev ev;
	int role; /* -1 */
	uint32_t seq;
	char **items;
	size_t nitems;
	bool prefixes;
};

struct incident {
	int64_t id;
	size_t net;
	bool open, resumed, degr_opened;
	int64_t start_at, end_at, last_at;
	bool have_onset;
	bool dark_onset;        /* onset_slot is a dark target's (dark_onset()) */
	uint32_t onset_changes; /* changes when dark_onset() last looked */
	uint32_t onset_slot;
	int64_t onset_at;
	struct inv *inv;
	size_t ninv, capinv;
	struct phase *ph;
	size_t nph, capph;
	uint32_t seq;
	bool first_down_done, first_up_done, degr_phase_done, all_dark;
	bool role_dark[ROLE_COUNT];
	double max_down_fraction;
	uint32_t max_dark;    /* most targets dark at once (struct rstat n_dark) */
	uint32_t wide_rounds; /* rounds in which the network was dark as a whole (net_dark) */
	int64_t dark_last_at; /* last round it was (-1: never) */
	uint32_t calm;
	int64_t clean_at; /* first round of the current run without network-wide degradation */
	/* facts for the classifier */
	uint32_t lead_rounds, lead_max_bad, lead_max_fail, quiet_window;
	double lead_loss_from, lead_loss_peak, lead_rtt_peak;
	uint32_t out_alive_rounds, out_dead_rounds;
	uint32_t on_fail, on_timeout, on_unreach_out, early_unreach_out;
	bool acc_started;
	uint32_t acc_onset, acc_next;
	int64_t withdraw_at;
	char unreach_from[INET6_ADDRSTRLEN];
	/* judgement */
	enum detect_cause cause;
	double confidence;
	char ev[MAX_EVIDENCE][EVIDENCE_LEN];
	size_t nev;
	uint32_t changes; /* bumped on every down/up/phase change */
	uint64_t emitted; /* signature of the last document sent */
};

struct dnet {
	const struct network_cfg *cfg;
	uint32_t *targets;
	size_t n;
	uint32_t n_role[ROLE_COUNT];
	uint32_t n_outside_routers;
	uint32_t n_inside; /* targets numbered inside the prefixes (or with no literal address) */
	struct rstat ring[RING_ROUNDS];
	bool bgp_seen;
	struct prefix withdrawn[MAX_WITHDRAWN];
	size_t nwithdrawn;
	int64_t withdrawn_at;
	struct incident *inc;
	uint32_t degr_streak;
	char unreach_from[INET6_ADDRSTRLEN];
};

struct bgp_ev {
	int64_t at_ms;
	size_t net;
	bool withdrawn;
	struct prefix *p;
	size_t n;
};

struct detector {
	const struct config *cfg;
	struct detect_hooks hooks;
	void *arg;
	struct detect_cfg p;
	int64_t interval_ms;
	int64_t tol_ms;
	int64_t filter_wait_ms;
	size_t ntargets;
	struct dtarget *t;
	bool irregular;
	size_t nnets;
	struct dnet *nets;
	uint32_t *controls;
	size_t ncontrols;
	/* pending rounds, sorted by slot */
	struct slot *slots;
	size_t nslots, capslots;
	bool any_done, seen_any;
	uint32_t next_slot; /* lowest slot not judged yet */
	uint32_t max_seen;
	uint64_t late;
	/* pending BGP events, by time then arrival */
	struct bgp_ev *bgp;
	size_t nbgp, capbgp;
	int64_t next_id;
	struct incident *vantage;
	size_t nopen;
	/* scratch */
	uint32_t cur_slot;
	int64_t cur_at, cur_end;
};

static void *xrealloc(void *p, size_t n, size_t size)
{
	void *q;

	if (n && size > SIZE_MAX / n)
		abort();
	q = realloc(p, n * size > 0 ? n * size : 1);
	if (!q)
		abort();
	return q;
}

static char *xstrdup(const char *s)
{
	char *c = strdup(s ? s : "");

	if (!c)
		abort();
	return c;
}

static uint32_t umax(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static uint32_t many_of(size_t n)
{
	uint32_t m = (uint32_t)ceil(MANY_FRACTION * (double)n);

	return umax(m, n >= 2 ? 2 : (uint32_t)n);
}

static uint32_t lookback_rounds(const struct detector *d)
{
	return umax(LOOKBACK_MIN, 3 * d->p.baseline_rounds);
}

/* The network as a whole is dark (not just some hosts): more than
 * network_fraction of the targets that had answered are down and silent
 * or unroutable (all of them, when the fraction is 1). */
static bool net_dark(const struct detector *d, uint32_t dark, uint32_t eligible)
{
	if (dark == 0 || eligible == 0)
		return false;
	return dark == eligible || (double)dark > d->p.network_fraction * (double)eligible;
}

/* Whether the network is dark is judged from the targets numbered inside
 * its prefixes: a router outside them is the neighbour's equipment, alive
 * in a withdrawal or a filter (a network with none inside: every target). */
static bool judged_target(const struct dnet *n, const struct dtarget *t)
{
	return !t->outside || n->n_inside == 0;
}

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

static bool net_contains(const struct network_cfg *n, const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < n->nprefixes; i++)
		if (prefix_contains_addr(&n->prefixes[i], ss))
			return true;
	return false;
}

static bool entry_from(const struct entry *e, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (e->from_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, e->from, 4);
		return true;
	}
	if (e->from_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, e->from, 16);
		return true;
	}
	return false;
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

static void incident_free(struct incident *inc)
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

/* ---------- incidents: building blocks ---------- */

static struct incident *incident_new(struct detector *d, size_t net, int64_t start_at)
{
	struct incident *inc = calloc(1, sizeof(*inc));

	if (!inc)
		abort();
	inc->id = d->next_id++;
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

static struct inv *inv_find(struct incident *inc, uint32_t target)
{
	for (size_t i = 0; i < inc->ninv; i++)
		if (inc->inv[i].target == target)
			return &inc->inv[i];
	return NULL;
}

static struct inv *inv_get(struct incident *inc, uint32_t target)
{
	struct inv *v = inv_find(inc, target);

	if (v)
		return v;
	if (inc->ninv == inc->capinv) {
		inc->capinv = inc->capinv ? inc->capinv * 2 : 8;
		inc->inv = xrealloc(inc->inv, inc->capinv, sizeof(*inc->inv));
	}
	v = &inc->inv[inc->ninv++];
	memset(v, 0, sizeof(*v));
	v->target = target;
	v->first_fail_slot = NO_SLOT;
	v->first_down_at = v->down_at = v->up_at = -1;
	return v;
}

static struct phase *phase_add(struct incident *inc, enum phase_ev ev, int64_t at, int role)
{
	struct phase *ph;

	if (inc->nph >= MAX_PHASES)
		return NULL;
	if (inc->nph == inc->capph) {
		inc->capph = inc->capph ? inc->capph * 2 : 8;
		inc->ph = xrealloc(inc->ph, inc->capph, sizeof(*inc->ph));
	}
	ph = &inc->ph[inc->nph++];
	memset(ph, 0, sizeof(*ph));
	ph->ev = ev;
	ph->at = at;
	ph->role = role;
	ph->seq = inc->seq++;
	inc->changes++;
	return ph;
}

static void phase_item(struct phase *ph, const char *s)
{
	if (!ph)
		return;
	ph->items = xrealloc(ph->items, ph->nitems + 1, sizeof(*ph->items));
	ph->items[ph->nitems++] = xstrdup(s);
}

static const char *tname(const struct detector *d, uint32_t t)
{
	return d->cfg->targets[t].name ? d->cfg->targets[t].name : "?";
}

/* ---------- classification ---------- */

static void evidence(struct incident *inc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void evidence(struct incident *inc, const char *fmt, ...)
{
	va_list ap;

	if (inc->nev >= MAX_EVIDENCE)
		return;
	va_start(ap, fmt);
	vsnprintf(inc->ev[inc->nev++], EVIDENCE_LEN, fmt, ap);
	va_end(ap);
}

static double pct(double x)
{
	return round(x * 100.0);
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

static void lead_sentence(const struct detector *d, struct incident *inc, size_t n)
{
	char extra[96] = "";

	if (inc->lead_rtt_peak >= 2.0)
		snprintf(extra, sizeof(extra), ", RTT up to %.1fx baseline", inc->lead_rtt_peak);
	if (inc->lead_max_fail)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ", timeouts on up to %u target(s)",
			 inc->lead_max_fail);
	/* name loss only when it rose: a queueing-only lead is told by its RTT */
	if (lround(pct(inc->lead_loss_peak)) > lround(pct(inc->lead_loss_from)))
		evidence(inc,
			 "loss rose from %.0f%% to %.0f%% with degradation on up to %u of %zu targets over %u rounds "
			 "before the first target went down%s",
			 pct(inc->lead_loss_from), pct(inc->lead_loss_peak), inc->lead_max_bad, n, inc->lead_rounds,
			 extra);
	else
		evidence(inc,
			 "degradation on up to %u of %zu targets over %u rounds before the first target went down%s",
			 inc->lead_max_bad, n, inc->lead_rounds, extra);
	(void)d;
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
	evidence(inc, "%u of %zu controls (outside every watched network) failed together with %u watched targets",
		 ctl_down, d->ncontrols, tgt_down);
	evidence(inc, "the trouble is on our side: no network incident was opened");
}

/* stress: degradation on many targets for stress_lead_rounds first */
static void judge_stress(const struct detector *d, struct incident *inc, const struct facts *f, bool network_wide,
			 bool abrupt)
{
	inc->cause = CAUSE_STRESS;
	if (!network_wide) {
		inc->confidence = f->down ? 0.6 : 0.5;
		lead_sentence(d, inc, f->n);
		if (f->down)
			evidence(inc, "only %u of %zu targets went down (%s); at most %.0f%% down at once", f->down,
				 f->n, f->down_names, pct(inc->max_down_fraction));
		else
			evidence(inc, "no target went down: the network stayed reachable but degraded");
		return;
	}
	inc->confidence = 0.65;
	lead_sentence(d, inc, f->n);
	if (f->fail_span > d->p.abrupt_rounds + 1) {
		inc->confidence += 0.1;
		evidence(inc, "targets fell progressively: %u went down over %u rounds, not at once", f->dark,
			 f->fail_span + 1);
	}
	if (f->first_router_fail != NO_SLOT && f->first_other_fail != NO_SLOT &&
	    f->first_router_fail > f->first_other_fail) {
		inc->confidence += 0.1;
		evidence(inc, "routers fell last: the first router went dark %u rounds after the first server",
			 f->first_router_fail - f->first_other_fail);
	}
	if (!abrupt)
		evidence(inc, "no abrupt silence across every role, so not a power cut");
}

static void classify(const struct detector *d, const struct dnet *net, struct incident *inc)
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
		evidence(inc, "%u of %u name servers failed (%s) while all %u other targets stayed reachable",
			 f.dns_down, f.dns_n, f.down_names, f.other_n);
		return;
	}
	if (!network_wide) {
		inc->cause = CAUSE_HOST;
		inc->confidence = f.n > 2 ? 0.8 : 0.55;
		evidence(
		    inc,
		    "%u of %zu targets went down (%s); the network stayed reachable (at most %u of %u dark at once)",
		    f.down, f.n, f.down_names, inc->max_dark, f.eligible);
		if (f.down > f.dark)
			evidence(inc, "%u of them answered with refusals or errors: the hosts are alive",
				 f.down - f.dark);
		return;
	}
	if (unreach_route) {
		inc->cause = CAUSE_ROUTING;
		inc->confidence = inc->on_unreach_out * 2 >= inc->on_fail ? 0.8 : 0.7;
		evidence(inc,
			 "%u of %u failed probes got explicit unreachables from routers outside the network (e.g. %s), "
			 "from the start, instead of silence",
			 inc->on_unreach_out, inc->on_fail, inc->unreach_from[0] ? inc->unreach_from : "?");
		if (inc->withdraw_at >= 0) {
			inc->confidence += 0.1;
			fmt_minutes(inc->onset_at - inc->withdraw_at, buf, sizeof(buf));
			evidence(inc, "BGP withdrew the network's prefixes %s %s the first probe failed", buf,
				 inc->withdraw_at <= inc->onset_at ? "before" : "after");
		}
		if (out_alive)
			evidence(inc, "routers numbered outside the prefixes kept answering");
		return;
	}
	if (bgp_before && (out_alive || bgp_long_before) && !out_dead) {
		inc->cause = CAUSE_ROUTING;
		inc->confidence = out_alive ? 0.9 : 0.75;
		fmt_minutes(inc->onset_at - inc->withdraw_at, buf, sizeof(buf));
		evidence(inc, "BGP withdrew the network's prefixes %s %s the first probe failed", buf,
			 inc->withdraw_at <= inc->onset_at ? "before" : "after (within a probe timeout of)");
		if (out_alive)
			evidence(
			    inc,
			    "%u router(s) numbered outside the prefixes kept answering: the equipment stayed alive",
			    f.out_routers - f.out_down);
		else
			evidence(inc, "the targets kept answering for a round after the withdrawal: the equipment "
				      "was alive when the routes went");
		return;
	}
	if (abrupt && announced_past) {
		inc->cause = CAUSE_FILTERING;
		inc->confidence = out_alive ? 0.85 : 0.75;
		fmt_minutes(announced_for, buf, sizeof(buf));
		evidence(inc, "%u of %u targets went silent within %u round(s); %s", f.abrupt, f.eligible,
			 d->p.abrupt_rounds + 1, quiet);
		evidence(inc,
			 "the network's prefixes stayed announced in BGP for %s after the silence began, "
			 "well past a hold time: traffic blocked, routes kept",
			 buf);
		if (out_alive)
			evidence(inc, "routers numbered outside the prefixes kept answering");
		return;
	}
	if (abrupt && out_alive) {
		evidence(inc,
			 "%u of %u targets went silent within %u round(s), but routers numbered outside the "
			 "prefixes kept answering: the equipment stayed alive",
			 f.abrupt, f.eligible, d->p.abrupt_rounds + 1);
		inc->confidence = 0.5;
		if (net->bgp_seen && inc->withdraw_at < 0) {
			inc->cause = CAUSE_FILTERING;
			evidence(inc, "prefixes still announced in BGP, but not yet past a hold time");
		} else {
			inc->cause = CAUSE_ROUTING;
			evidence(inc, net->bgp_seen ? "BGP withdrew the prefixes after the silence began"
						    : "no BGP data to tell a withdrawal from filtering");
		}
		return;
	}
	if (abrupt) {
		inc->cause = CAUSE_POWER;
		inc->confidence = 0.7;
		evidence(inc, "%u of %u targets of every role went silent within %u round(s)%s; %s", f.abrupt,
			 f.eligible, d->p.abrupt_rounds + 1, f.role_n[ROLE_ROUTER] ? ", routers included" : "", quiet);
		if (out_dead) {
			inc->confidence += 0.15;
			evidence(inc, "routers numbered outside the network's prefixes went silent too");
		}
		if (inc->withdraw_at >= 0) {
			fmt_minutes(inc->withdraw_at - inc->onset_at, buf, sizeof(buf));
			inc->confidence += 0.05;
			evidence(inc, "BGP withdrawal came %s %s the silence (dead routers drop their sessions)", buf,
				 inc->withdraw_at >= inc->onset_at ? "after" : "before the first failed probe, with");
		} else if (net->bgp_seen) {
			evidence(inc, "prefixes still announced in BGP, but not yet past a hold time");
			inc->confidence -= 0.15;
		}
		if (inc->on_timeout && inc->on_fail)
			evidence(inc, "%u of %u failed probes met silence (timeouts, or hosts gone from their link)",
				 inc->on_timeout, inc->on_fail);
		return;
	}
	inc->cause = CAUSE_UNKNOWN;
	inc->confidence = 0.3;
	evidence(inc, "%u of %u targets went dark over %u rounds with no degradation before and no BGP signal", f.dark,
		 f.eligible, f.fail_span + 1);
	if (!every_role_abrupt(&f))
		evidence(inc, "%u of %u roles fell at once", f.roles_hit, f.roles_present);
}

/* ---------- JSON ---------- */

static json_t *jtime(int64_t ms)
{
	char buf[RFC3339_LEN];

	if (ms < 0)
		return json_null();
	rfc3339_format(ms, buf, sizeof(buf));
	return json_string(buf);
}

static int phase_cmp(const void *a, const void *b)
{
	const struct phase *x = *(const struct phase *const *)a, *y = *(const struct phase *const *)b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->ev != y->ev)
		return x->ev < y->ev ? -1 : 1;
	if (x->role != y->role)
		return x->role < y->role ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static double round_to(double x, double unit)
{
	return round(x / unit) * unit;
}

static double severity(const struct detector *d, const struct incident *inc, size_t n)
{
	double ms = 0;

	if (!n)
		return 0;
	for (size_t i = 0; i < inc->ninv; i++) {
		const struct inv *v = &inc->inv[i];
		ms += (double)v->down_ms;
		if (v->down && v->down_at >= 0 && inc->last_at > v->down_at)
			ms += (double)(inc->last_at - v->down_at);
	}
	(void)d;
	return ms / (double)n / 60000.0;
}

static char *incident_json(const struct detector *d, const struct incident *inc)
{
	json_t *o = json_object(), *ev = json_array(), *phs = json_array(), *tg = json_array();
	const struct dnet *net = inc->net == NET_NONE ? NULL : &d->nets[inc->net];
	size_t n = net ? net->n : d->ntargets;
	int64_t end = inc->open ? inc->last_at : inc->end_at;
	const struct phase **sorted = NULL;
	char *s;

	json_object_set_new(o, "id", json_integer(inc->id));
	json_object_set_new(o, "network", net ? json_string(net->cfg->name) : json_null());
	json_object_set_new(o, "start", jtime(inc->start_at));
	json_object_set_new(o, "end", inc->open ? json_null() : jtime(inc->end_at));
	json_object_set_new(o, "duration_s",
			    json_real(end > inc->start_at ? (double)(end - inc->start_at) / 1000.0 : 0.0));
	json_object_set_new(o, "cause", json_string(detect_cause_name(inc->cause)));
	json_object_set_new(o, "confidence", json_real(round_to(inc->confidence, 0.01)));
	json_object_set_new(o, "max_down_fraction", json_real(round_to(inc->max_down_fraction, 0.001)));
	json_object_set_new(o, "severity", json_real(round_to(severity(d, inc, n), 0.01)));
	for (size_t i = 0; i < inc->nev; i++)
		json_array_append_new(ev, json_string(inc->ev[i]));
	json_object_set_new(o, "evidence", ev);
	if (inc->nph) {
		sorted = xrealloc(NULL, inc->nph, sizeof(*sorted));
		for (size_t i = 0; i < inc->nph; i++)
			sorted[i] = &inc->ph[i];
		qsort(sorted, inc->nph, sizeof(*sorted), phase_cmp);
	}
	for (size_t i = 0; i < inc->nph; i++) {
		const struct phase *ph = sorted[i];
		json_t *p = json_object();
		json_object_set_new(p, "at", jtime(ph->at));
		json_object_set_new(p, "event", json_string(phase_names[ph->ev]));
		if (ph->role >= 0)
			json_object_set_new(p, "role", json_string(role_name((enum role)ph->role)));
		if (ph->nitems) {
			json_t *a = json_array();
			for (size_t k = 0; k < ph->nitems; k++)
				json_array_append_new(a, json_string(ph->items[k]));
			json_object_set_new(p, ph->prefixes ? "prefixes" : "targets", a);
		}
		json_array_append_new(phs, p);
	}
	free(sorted);
	json_object_set_new(o, "phases", phs);
	for (size_t i = 0; i < inc->ninv; i++) {
		const struct inv *v = &inc->inv[i];
		const struct target_cfg *tc = &d->cfg->targets[v->target];
		if (!v->was_down)
			continue;
		json_t *t = json_object();
		json_object_set_new(t, "name", json_string(tc->name ? tc->name : ""));
		json_object_set_new(t, "role", json_string(role_name(tc->role)));
		json_object_set_new(t, "kind", json_string(kind_name(tc->kind)));
		json_object_set_new(t, "down_at", jtime(v->first_down_at));
		json_object_set_new(t, "up_at", v->down ? json_null() : jtime(v->up_at));
		json_array_append_new(tg, t);
	}
	json_object_set_new(o, "targets", tg);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
	json_decref(o);
	if (!s)
		abort();
	return s;
}

static void emit(struct detector *d, struct incident *inc, bool force)
{
	uint64_t sig = ((uint64_t)inc->cause << 56) ^ ((uint64_t)inc->changes << 8) ^ (uint64_t)inc->open ^
		       ((uint64_t)(inc->max_down_fraction * 1000.0) << 24) ^ ((uint64_t)inc->nev << 40);
	char *json;

	if (!force && sig == inc->emitted)
		return;
	inc->emitted = sig;
	if (!d->hooks.on_incident)
		return;
	json = incident_json(d, inc);
	d->hooks.on_incident(d->arg, inc->id, inc->net == NET_NONE ? NULL : d->nets[inc->net].cfg->name, inc->start_at,
			     inc->open ? -1 : inc->end_at, inc->open, detect_cause_name(inc->cause), json);
	free(json);
}

/* ---------- rounds ---------- */

static uint32_t slot_of(const struct detector *d, const struct dtarget *t, uint32_t round)
{
	if (t->it_ms == d->interval_ms)
		return round;
	uint64_t s = (uint64_t)round * (uint64_t)t->it_ms / (uint64_t)d->interval_ms;
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
	return memcmp(&x->fclass, &y->fclass, 18);
}

static void state_detail(const struct detector *d, const struct dtarget *t, const struct entry *e, char *buf,
			 size_t len)
{
	char from[INET6_ADDRSTRLEN] = "";
	struct sockaddr_storage ss;

	if (entry_from(e, &ss))
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
	(void)d;
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
			if (entry_from(e, &ss) && n->cfg->nprefixes > 0 && !net_contains(n->cfg, &ss)) {
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
			state_detail(d, t, e, detail, sizeof(detail));
			d->hooks.on_state_change(d->arg, e->target, e->at_ms, e->round, from, to, detail);
		}
	}
}

static struct rstat *ring_at(struct dnet *n, uint32_t slot)
{
	struct rstat *r = &n->ring[slot % RING_ROUNDS];

	return r->slot == slot ? r : NULL;
}

static void net_stats(struct detector *d, struct dnet *n, uint32_t slot)
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
static void compute_lead(struct detector *d, struct dnet *n, struct incident *inc, uint32_t slot)
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
static void count_failures(struct detector *d, struct dnet *n, struct incident *inc, uint32_t slot)
{
	uint32_t early = inc->onset_slot + d->p.down_after + d->p.abrupt_rounds;

	if (inc->acc_onset != inc->onset_slot || !inc->acc_started) {
		inc->acc_started = true;
		inc->acc_onset = inc->onset_slot;
		inc->acc_next = inc->onset_slot;
		inc->on_fail = inc->on_timeout = inc->on_unreach_out = inc->early_unreach_out = 0;
	}
	for (uint32_t s = inc->acc_next; s <= slot; s++) {
		const struct rstat *r = ring_at(n, s);
		if (!r)
			continue;
		inc->on_fail += r->n_timeout + r->n_unreach;
		inc->on_timeout += r->n_timeout;
		inc->on_unreach_out += r->n_unreach_out;
		if (s < early)
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
static void dark_onset(const struct detector *d, const struct dnet *n, struct incident *inc, uint32_t eligible)
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
static int64_t trouble_start(const struct detector *d, const struct dnet *n, uint32_t slot)
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

static void bgp_phase(struct detector *d, struct incident *inc, bool withdrawn, int64_t at, const struct prefix *p,
		      size_t np)
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
	(void)d;
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

/* How sure we are that the trouble is on our side (vantage_trouble()). */
enum vantage_level {
	VANTAGE_NONE,
	VANTAGE_SUSPECT,   /* controls failing together with the targets, not down yet */
	VANTAGE_CONFIRMED, /* ... and down: our side */
};

static void judge_network(struct detector *d, struct dnet *n, uint32_t slot, enum vantage_level level)
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
		if (t->changed && t->from_state == STATE_DOWN && t->h.state != STATE_DOWN)
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
			bgp_phase(d, inc, true, n->withdrawn_at, n->withdrawn, n->nwithdrawn);
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
		else if (t->from_state == STATE_DOWN || t->from_state == STATE_UNKNOWN)
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
	classify(d, n, inc);
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
		classify(d, n, inc);
		emit(d, inc, false);
		incident_free(inc);
		n->inc = NULL;
		return;
	}
	emit(d, inc, false);
}

static void judge_vantage(struct detector *d, bool trouble)
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
		else if (t->from_state == STATE_DOWN)
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
	classify_vantage(d, inc);
	inc->calm = busy || trouble ? 0 : inc->calm + 1;
	if (inc->calm >= umax(d->p.up_after, d->p.down_after)) {
		incident_close(d, inc);
		emit(d, inc, false);
		incident_free(inc);
		d->vantage = NULL;
		return;
	}
	emit(d, inc, false);
}

/* Controls failing together with the watched targets: our side, once
 * they are down (a lost control probe is not an outage of ours). */
static enum vantage_level vantage_trouble(const struct detector *d)
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
		bgp_phase(d, n->inc, e->withdrawn, e->at_ms, changed, nch);
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

/* The ICMP code, from the probe's detail (src/probe/errqueue.c words, or
 * trace's "(type T code C)"). */
static enum fail_class unreach_class(const char *dt)
{
	static const char *const gone[] = {"host unreachable", "address unreachable", "(type 3 code 1)",
					   "(type 1 code 3)"};
	static const char *const alive[] = {"port unreachable", "protocol unreachable", "(type 3 code 2)",
					    "(type 3 code 3)", "(type 1 code 4)"};

	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		if (strstr(dt, gone[i]))
			return FC_SILENT;
	for (size_t i = 0; i < sizeof(alive) / sizeof(alive[0]); i++)
		if (strstr(dt, alive[i]))
			return FC_ALIVE;
	return FC_NOROUTE;
}

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
		if (d->nslots == d->capslots) {
			d->capslots = d->capslots ? d->capslots * 2 : 4;
			d->slots = xrealloc(d->slots, d->capslots, sizeof(*d->slots));
		}
		memmove(d->slots + i + 1, d->slots + i, (d->nslots - i) * sizeof(*d->slots));
		d->nslots++;
		sl = &d->slots[i];
		memset(sl, 0, sizeof(*sl));
		sl->slot = s;
		sl->expected = slot_expected(d, s);
	}
	if (sl->n == sl->cap) {
		sl->cap = sl->cap ? sl->cap * 2 : (d->ntargets < 16 ? 16 : d->ntargets);
		sl->e = xrealloc(sl->e, sl->cap, sizeof(*sl->e));
	}
	e = &sl->e[sl->n++];
	memset(e, 0, sizeof(*e));
	e->at_ms = m->at_ms;
	e->rtt_ms = (float)m->rtt_ms;
	e->loss = m->loss;
	e->target = m->target;
	e->round = m->round;
	e->outcome = (uint8_t)m->outcome;
	if (m->outcome == OUTCOME_UNREACHABLE) {
		char dt[sizeof(m->detail) + 1];
		memcpy(dt, m->detail, sizeof(m->detail));
		dt[sizeof(m->detail)] = 0;
		e->fclass = (uint8_t)unreach_class(dt);
	} else if (m->outcome == OUTCOME_TIMEOUT)
		e->fclass = FC_SILENT;
	else if (m->outcome != OUTCOME_OK)
		e->fclass = FC_ALIVE;
	if (m->from[0]) {
		char f[sizeof(m->from) + 1];
		struct sockaddr_storage ss;
		memcpy(f, m->from, sizeof(m->from));
		f[sizeof(m->from)] = 0;
		if (addr_parse(f, &ss) == 0) {
			e->from_family = (uint8_t)ss.ss_family;
			if (ss.ss_family == AF_INET)
				memcpy(e->from, &((struct sockaddr_in *)&ss)->sin_addr, 4);
			else
				memcpy(e->from, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		}
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
	if (d->nbgp == d->capbgp) {
		d->capbgp = d->capbgp ? d->capbgp * 2 : 8;
		d->bgp = xrealloc(d->bgp, d->capbgp, sizeof(*d->bgp));
	}
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
		classify(d, &d->nets[i], inc);
		emit(d, inc, true);
	}
	if (d->vantage)
		emit(d, d->vantage, true);
}

/* ---------- continuation ---------- */

static int find_target(const struct detector *d, size_t net, const char *name)
{
	for (size_t i = 0; i < d->ntargets; i++) {
		if (d->t[i].net != net)
			continue;
		if (d->cfg->targets[i].name && strcmp(d->cfg->targets[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

int detect_resume(struct detector *d, const char *json, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loads(json, 0, &je), *v;
	struct incident *inc = NULL;
	size_t net = NET_NONE;
	int rc = -1;

	if (!o || !json_is_object(o)) {
		snprintf(err, errlen, "incident document: %s", o ? "not an object" : je.text);
		goto out;
	}
	v = json_object_get(o, "network");
	if (json_is_string(v)) {
		for (size_t i = 0; i < d->nnets; i++)
			if (strcmp(d->nets[i].cfg->name, json_string_value(v)) == 0)
				net = i;
		if (net == NET_NONE) {
			snprintf(err, errlen, "incident network \"%s\" is not in the configuration",
				 json_string_value(v));
			goto out;
		}
	}
	if (!json_is_integer(json_object_get(o, "id")) || jfield_time(o, "start") < 0) {
		snprintf(err, errlen, "incident document without id or start");
		goto out;
	}
	if (!json_is_null(json_object_get(o, "end"))) {
		snprintf(err, errlen, "incident %lld is closed",
			 (long long)json_integer_value(json_object_get(o, "id")));
		goto out;
	}
	if (net == NET_NONE ? d->vantage != NULL : d->nets[net].inc != NULL) {
		snprintf(err, errlen, "an incident of that network is already open");
		goto out;
	}
	inc = incident_new(d, net, jfield_time(o, "start"));
	d->next_id--; /* incident_new took one; the stored id is kept */
	inc->id = json_integer_value(json_object_get(o, "id"));
	if (inc->id >= d->next_id)
		d->next_id = inc->id + 1;
	inc->resumed = true;
	inc->last_at = inc->start_at;
	v = json_object_get(o, "cause");
	inc->cause = CAUSE_UNKNOWN;
	for (int c = 0; c < CAUSE_COUNT; c++)
		if (json_is_string(v) && strcmp(json_string_value(v), cause_names[c]) == 0)
			inc->cause = (enum detect_cause)c;
	inc->confidence = json_real_value(json_object_get(o, "confidence"));
	inc->max_down_fraction = json_number_value(json_object_get(o, "max_down_fraction"));
	v = json_object_get(o, "evidence");
	for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++)
		if (json_is_string(json_array_get(v, i)))
			evidence(inc, "%s", json_string_value(json_array_get(v, i)));
	v = json_object_get(o, "phases");
	for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++) {
		json_t *p = json_array_get(v, i), *items;
		const char *evname = json_string_value(json_object_get(p, "event"));
		int ev = -1, role = -1;
		for (size_t k = 0; evname && k < sizeof(phase_names) / sizeof(phase_names[0]); k++)
			if (strcmp(evname, phase_names[k]) == 0)
				ev = (int)k;
		if (ev < 0)
			continue;
		if (json_is_string(json_object_get(p, "role")))
			role = role_from_name(json_string_value(json_object_get(p, "role")));
		struct phase *ph = phase_add(inc, (enum phase_ev)ev, jfield_time(p, "at"), role);
		if (!ph)
			break;
		items = json_object_get(p, "targets");
		if (!items) {
			items = json_object_get(p, "prefixes");
			ph->prefixes = items != NULL;
		}
		for (size_t k = 0; json_is_array(items) && k < json_array_size(items); k++)
			if (json_is_string(json_array_get(items, k)))
				phase_item(ph, json_string_value(json_array_get(items, k)));
		if (ev == PH_FIRST_DOWN)
			inc->first_down_done = true;
		if (ev == PH_FIRST_UP)
			inc->first_up_done = true;
		if (ev == PH_DEGRADATION_START)
			inc->degr_phase_done = true;
		if (ev == PH_ROLE_DOWN && role >= 0 && role < ROLE_COUNT)
			inc->role_dark[role] = true;
		if (ev == PH_ROLE_UP && role >= 0 && role < ROLE_COUNT)
			inc->role_dark[role] = false;
	}
	v = json_object_get(o, "targets");
	for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++) {
		json_t *t = json_array_get(v, i);
		const char *name = json_string_value(json_object_get(t, "name"));
		int ti = name ? find_target(d, net, name) : -1;
		if (ti < 0)
			continue;
		struct inv *iv = inv_get(inc, (uint32_t)ti);
		iv->was_down = true;
		iv->first_down_at = iv->down_at = jfield_time(t, "down_at");
		iv->up_at = jfield_time(t, "up_at");
		iv->down = iv->up_at < 0;
		if (!iv->down && iv->up_at > iv->down_at)
			iv->down_ms = iv->up_at - iv->down_at;
		if (net == NET_NONE && d->t[ti].net != NET_NONE)
			d->t[ti].tainted = iv->down;
	}
	inc->emitted = 0;
	if (net == NET_NONE)
		d->vantage = inc;
	else
		d->nets[net].inc = inc;
	inc = NULL;
	rc = 0;
out:
	if (inc) {
		d->nopen--;
		incident_free(inc);
	}
	json_decref(o);
	return rc;
}
