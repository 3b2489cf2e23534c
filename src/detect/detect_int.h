/* Private to src/detect: the detector's state and the functions its
 * files share.  detect.c builds and frees it; detect_intake.c takes
 * measurements and BGP events and judges rounds in slot order;
 * detect_signals.c reads each network's round signals; detect_incident.c
 * runs the incident lifecycle and its phases; detect_classify.c names the
 * cause (docs/detection.md); detect_json.c writes and reads the incident
 * document. */
#ifndef LIGHTSOUT_DETECT_INT_H
#define LIGHTSOUT_DETECT_INT_H

#include <arpa/inet.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "detect/detect.h"

/* Thresholds not (yet) in struct detect_cfg: one place, see docs. */
#define RING_ROUNDS           256u /* per-network history of round signals */
#define MANY_FRACTION         0.3  /* "many targets" degraded: this share, and >= 2 */
#define MOST_FRACTION         0.5  /* "most targets of every role" */
#define CONTROL_FRACTION      0.5  /* share of controls failing that means "our side" */
#define LOOKBACK_MIN          60u  /* a bad streak older than this many rounds does not move start */
#define LEAD_GAP_ROUNDS       1u   /* a single calmer round does not end a degradation */
#define ROUTING_UNREACH_SHARE 0.2  /* share of dark failures answered by outside routers that means routing */
#define MAX_PHASES            256u
#define MAX_EVIDENCE          6
#define EVIDENCE_LEN          256
#define MAX_WITHDRAWN         64u
#define NET_NONE              SIZE_MAX
#define NO_SLOT               UINT32_MAX

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
	struct ip_addr from; /* the router that reported the ICMP error */
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

/* How sure we are that the trouble is on our side (vantage_trouble()). */
enum vantage_level {
	VANTAGE_NONE,
	VANTAGE_SUSPECT,   /* controls failing together with the targets, not down yet */
	VANTAGE_CONFIRMED, /* ... and down: our side */
};

static inline void *xrealloc(void *p, size_t n, size_t size)
{
	void *q;

	if (n && size > SIZE_MAX / n)
		abort();
	q = realloc(p, n * size > 0 ? n * size : 1);
	if (!q)
		abort();
	return q;
}

/* p with room for element n: *cap doubles (from first) when n reached it. */
static inline void *xgrow(void *p, size_t n, size_t *cap, size_t first, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : first;
	return xrealloc(p, *cap, size);
}

static inline char *xstrdup(const char *s)
{
	char *c = strdup(s ? s : "");

	if (!c)
		abort();
	return c;
}

static inline uint32_t umax(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static inline uint32_t many_of(size_t n)
{
	uint32_t m = (uint32_t)ceil(MANY_FRACTION * (double)n);

	return umax(m, n >= 2 ? 2 : (uint32_t)n);
}

static inline uint32_t lookback_rounds(const struct detector *d)
{
	return umax(LOOKBACK_MIN, 3 * d->p.baseline_rounds);
}

/* The network as a whole is dark (not just some hosts): more than
 * network_fraction of the targets that had answered are down and silent
 * or unroutable (all of them, when the fraction is 1). */
static inline bool net_dark(const struct detector *d, uint32_t dark, uint32_t eligible)
{
	if (dark == 0 || eligible == 0)
		return false;
	return dark == eligible || (double)dark > d->p.network_fraction * (double)eligible;
}

/* Whether the network is dark is judged from the targets numbered inside
 * its prefixes: a router outside them is the neighbour's equipment, alive
 * in a withdrawal or a filter (a network with none inside: every target). */
static inline bool judged_target(const struct dnet *n, const struct dtarget *t)
{
	return !t->outside || n->n_inside == 0;
}

static inline bool net_contains(const struct network_cfg *n, const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < n->nprefixes; i++)
		if (prefix_contains_addr(&n->prefixes[i], ss))
			return true;
	return false;
}

static inline struct rstat *ring_at(struct dnet *n, uint32_t slot)
{
	struct rstat *r = &n->ring[slot % RING_ROUNDS];

	return r->slot == slot ? r : NULL;
}

static inline const char *tname(const struct detector *d, uint32_t t)
{
	return d->cfg->targets[t].name ? d->cfg->targets[t].name : "?";
}

static inline double pct(double x)
{
	return round(x * 100.0);
}

/* detect_signals.c */
void net_stats(struct detector *d, struct dnet *n, uint32_t slot);
void compute_lead(struct detector *d, struct dnet *n, struct incident *inc, uint32_t slot);
void count_failures(struct detector *d, struct dnet *n, struct incident *inc, uint32_t slot);
void dark_onset(const struct detector *d, const struct dnet *n, struct incident *inc, uint32_t eligible);
int64_t trouble_start(const struct detector *d, const struct dnet *n, uint32_t slot);
enum vantage_level vantage_trouble(const struct detector *d);

/* detect_incident.c */
struct incident *incident_new(struct detector *d, size_t net, int64_t start_at);
void incident_free(struct incident *inc);
struct inv *inv_get(struct incident *inc, uint32_t target);
struct phase *phase_add(struct incident *inc, enum phase_ev ev, int64_t at, int role);
void phase_item(struct phase *ph, const char *s);
void bgp_phase(struct incident *inc, bool withdrawn, int64_t at, const struct prefix *p, size_t np);
void judge_network(struct detector *d, struct dnet *n, uint32_t slot, enum vantage_level level);
void judge_vantage(struct detector *d, bool trouble);

/* detect_classify.c: net is NULL for the vantage incident */
void incident_classify(const struct detector *d, const struct dnet *net, struct incident *inc);
void incident_evidence(struct incident *inc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* detect_json.c: hands the incident to the hook when it changed (or force) */
void incident_emit(struct detector *d, struct incident *inc, bool force);

#endif
