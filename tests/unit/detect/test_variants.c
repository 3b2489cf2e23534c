/* Outages the lab never showed: a table of outage families (SPEC.md
 * "Causes"), each drawn a few hundred times with random topologies,
 * timings and noise, and the cause the detector judged for each.  The
 * generator describes each family in SPEC.md's words; it never looks at
 * the detector's thresholds except the configured ones every user sets
 * (down_after, hold time).  Prints the confusion matrix; every family must
 * be right in >= 98 % of its cases, and quiet must open no incident.
 *
 * VARIANTS_CASES=N overrides the number of cases per family (default 300);
 * VARIANTS_VERBOSE=1 prints every wrong case's configuration and incidents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/addr.h"
#include "detect/detect.h"
#include "synth.h"

#define T0        INT64_C(1767258000000)
#define MAX_TGT   20
#define MAX_CTL   3
#define MAX_BGP   4
#define MIN_SHARE 0.98

enum family { F_QUIET, F_STRESS, F_POWER, F_ROUTING, F_FILTERING, F_DNS, F_HOST, F_VANTAGE, F_COUNT };
static const char *const family_names[F_COUNT] = {"quiet",     "stress", "power", "routing",
						  "filtering", "dns",    "host",  "vantage"};
/* columns: the causes, then "none" (no incident) and "extra" (more than one) */
enum { COL_NONE = CAUSE_COUNT, COL_EXTRA, NCOLS };

/* What one target does in one span of rounds. */
struct span {
	double from, to;        /* rounds since t0, by probe start time */
	enum failure f;         /* failure class (timeout, refused, protocol, an unreachable) */
	const char *detail;     /* detail for f */
	char via[46];           /* unreachable: reporting router */
	double share;           /* unreachable on this share of rounds, else timeout (0: always) */
	bool first_forced;      /* the first failed round takes f whatever the share */
	double rtt_add, loss_p; /* degradation instead of failure when f == FAILURE_NONE */
};

struct tgt {
	enum role role;
	bool icmp, outside, control;
	double base_rtt, offset; /* ms; fraction of the interval */
	struct span sp[2];
	size_t nsp;
};

struct bgpev {
	double at;
	bool withdrawn;
};

struct cas {
	enum family fam;
	uint64_t seed;
	int64_t iv_ms;
	unsigned down_after, up_after, hold_s;
	bool bgp;
	size_t n, nctl;
	struct tgt t[MAX_TGT + MAX_CTL];
	struct bgpev ev[MAX_BGP];
	size_t nev;
	uint32_t rounds;
	double noise; /* per target-round lost-probe probability */
	char yaml[8192];
};

static uint64_t rng_state;

static double urand(void)
{
	return (double)(synth_rand(&rng_state) >> 11) / 9007199254740992.0;
}

static unsigned irand(unsigned lo, unsigned hi) /* inclusive */
{
	return lo + (unsigned)(synth_rand(&rng_state) % (uint64_t)(hi - lo + 1));
}

static bool chance(double p)
{
	return urand() < p;
}

static const char *role_word(enum role r)
{
	return role_name(r);
}

/* ---------- topology and configuration ---------- */

static void topology(struct cas *c)
{
	static const enum role any[] = {ROLE_WEB, ROLE_MAIL, ROLE_DNS, ROLE_ROUTER, ROLE_HOST};
	unsigned shape = irand(0, 3);       /* 0 mixed, 1 mixed without routers, 2 a single role, 3 mixed */
	unsigned routers_out = irand(0, 2); /* 0 inside, 1 some outside, 2 all outside */
	enum role single = any[irand(0, 4)];

	c->n = irand(1, MAX_TGT);
	/* dns needs name servers and other servers; host "only some": two targets at least */
	if ((c->fam == F_DNS || c->fam == F_HOST) && c->n < 2)
		c->n = 2;
	c->nctl = irand(0, 1) ? irand(1, MAX_CTL) : 0;
	for (size_t i = 0; i < c->n; i++) {
		struct tgt *t = &c->t[i];
		memset(t, 0, sizeof(*t));
		t->role = shape == 2 ? single : any[irand(0, shape == 1 ? 2 : 4)];
		if (shape == 1 && t->role == ROLE_ROUTER)
			t->role = ROLE_HOST;
		t->icmp = t->role == ROLE_ROUTER || chance(0.5);
	}
	if (c->fam == F_DNS) {
		bool dns = false, other = false;
		for (size_t i = 0; i < c->n; i++) {
			dns |= c->t[i].role == ROLE_DNS;
			other |= c->t[i].role != ROLE_DNS;
		}
		if (!dns)
			c->t[irand(0, (unsigned)c->n - 1)].role = ROLE_DNS;
		if (!other) {
			c->t[0].role = ROLE_WEB;
			c->t[0].icmp = false;
		}
	}
	if (c->fam == F_VANTAGE && c->nctl == 0)
		c->nctl = irand(1, MAX_CTL);
	for (size_t i = 0; i < c->n; i++) {
		struct tgt *t = &c->t[i];
		t->outside = t->role == ROLE_ROUTER && (routers_out == 2 || (routers_out == 1 && chance(0.5)));
		t->base_rtt = 5.0 + urand() * 195.0;
		t->offset = urand();
		t->nsp = 0;
	}
	/* a network is judged from its own prefixes: keep one target inside */
	bool inside = false;
	for (size_t i = 0; i < c->n; i++)
		inside |= !c->t[i].outside;
	if (!inside)
		c->t[0].outside = false;
	/* dns: "the other servers" are the network's own, inside its prefixes */
	if (c->fam == F_DNS) {
		bool other_inside = false;
		for (size_t i = 0; i < c->n; i++)
			other_inside |= c->t[i].role != ROLE_DNS && !c->t[i].outside;
		for (size_t i = 0; i < c->n && !other_inside; i++)
			if (c->t[i].role != ROLE_DNS) {
				c->t[i].outside = false;
				other_inside = true;
			}
	}
	for (size_t i = c->n; i < c->n + c->nctl; i++) {
		struct tgt *t = &c->t[i];
		memset(t, 0, sizeof(*t));
		t->control = true;
		t->icmp = true;
		t->base_rtt = 5.0 + urand() * 50.0;
		t->offset = urand();
	}
}

static void addr_of(const struct cas *c, size_t i, char *buf, size_t len)
{
	if (c->t[i].control)
		snprintf(buf, len, "192.0.2.%zu", 10 + i - c->n);
	else if (c->t[i].outside)
		snprintf(buf, len, "203.0.113.%zu", 10 + i);
	else
		snprintf(buf, len, "198.51.100.%zu", 10 + i);
}

static void build_yaml(struct cas *c)
{
	char *p = c->yaml, *end = c->yaml + sizeof(c->yaml);
	char a[64];
	int64_t timeout = c->iv_ms / 2 < 5000 ? c->iv_ms / 2 : 5000;

#define PUT(...) p += snprintf(p, (size_t)(end - p), __VA_ARGS__)
	PUT("vantage: variants\ninterval: %lldms\ntimeout: %lldms\n", (long long)c->iv_ms, (long long)timeout);
	PUT("detect: {down_after: %u, up_after: %u}\n", c->down_after, c->up_after);
	if (c->bgp)
		PUT("bgp:\n  peers:\n    - {address: 192.0.2.9, remote_as: 64500, local_as: 64501, hold_time: %us}\n",
		    c->hold_s);
	PUT("networks:\n  - name: net\n    prefixes: [198.51.100.0/24]\n    targets:\n");
	for (size_t i = 0; i < c->n; i++) {
		addr_of(c, i, a, sizeof(a));
		if (c->t[i].icmp)
			PUT("      - {name: t%zu, role: %s, kind: icmp, host: %s}\n", i, role_word(c->t[i].role), a);
		else
			PUT("      - {name: t%zu, role: %s, kind: tcp, host: %s, port: 80}\n", i,
			    role_word(c->t[i].role), a);
	}
	if (c->nctl) {
		PUT("controls:\n");
		for (size_t i = c->n; i < c->n + c->nctl; i++) {
			addr_of(c, i, a, sizeof(a));
			PUT("  - {name: c%zu, kind: icmp, host: %s}\n", i - c->n, a);
		}
	}
#undef PUT
	assert_true(p < end - 1);
}

/* ---------- the families, in SPEC.md's words ---------- */

static struct span *add_span(struct tgt *t, double from, double to, enum failure f, const char *detail)
{
	struct span *s;

	assert_true(t->nsp < 2);
	s = &t->sp[t->nsp++];
	memset(s, 0, sizeof(*s));
	s->from = from;
	s->to = to;
	s->f = f;
	s->detail = detail;
	return s;
}

static double rounds_of_s(const struct cas *c, double s)
{
	return s * 1000.0 / (double)c->iv_ms;
}

/* Draws one case of family fam. */
static void draw(struct cas *c, enum family fam, uint64_t seed)
{
	static const unsigned ivs[] = {1, 2, 5, 10, 15, 30, 60, 120, 300};
	double warm, F, L, tail = 0;
	unsigned stagger;

	memset(c, 0, sizeof(*c));
	c->fam = fam;
	c->seed = seed;
	rng_state = seed * 0x9e3779b97f4a7c15ULL + (uint64_t)fam;
	c->iv_ms = (int64_t)ivs[irand(0, sizeof(ivs) / sizeof(ivs[0]) - 1)] * 1000;
	c->down_after = irand(1, 5);
	c->up_after = irand(1, 3);
	c->hold_s = irand(3, 240);
	c->noise = 0.01 + urand() * 0.04;
	topology(c);
	/* BGP data: filtering needs it (SPEC.md); the others have it or not */
	c->bgp = fam == F_FILTERING || chance(0.5);
	if (c->bgp) {
		c->ev[c->nev++] = (struct bgpev){urand() * 0.9, false}; /* first sight: visible */
	}
	warm = 30 + irand(0, 30);
	F = warm + urand();
	L = irand(3, 500);
	/* shorter than down_after is no outage, by the configuration's own words */
	if (L < c->down_after + 2)
		L = c->down_after + 2;
	stagger = irand(0, 2); /* abrupt, or staggered within 1-2 rounds */

	switch (fam) {
	case F_QUIET:
		L = 0;
		break;
	case F_STRESS: {
		/* degradation first on many targets for >= 2 rounds, then targets
		 * fall progressively, routers last */
		unsigned lead = irand(2, 30), k = irand(1, (unsigned)c->n);
		size_t order[MAX_TGT], no = 0, ndeg = 0;
		double degr_from = warm, first_fail = warm + 1 + lead + urand(), at = first_fail;
		double loss_p = urand() * 0.8;
		for (size_t i = 0; i < c->n; i++)
			if (c->t[i].role != ROLE_ROUTER)
				order[no++] = i;
		for (size_t i = no; i > 1; i--) {
			size_t j = irand(0, (unsigned)i - 1), x = order[i - 1];
			order[i - 1] = order[j];
			order[j] = x;
		}
		for (size_t i = 0; i < c->n; i++)
			if (c->t[i].role == ROLE_ROUTER)
				order[no++] = i;
		L = L < 10 + 4.0 * k ? 10 + 4.0 * k : L;
		double end = first_fail + L;
		/* many: the falling ones, at least half of all and two */
		size_t many = (c->n + 1) / 2 > k ? (c->n + 1) / 2 : k;
		if (many < 2 && c->n >= 2)
			many = 2;
		for (size_t j = 0; j < c->n; j++) {
			size_t i = order[j];
			if (j >= many && j >= k)
				break;
			struct span *s =
			    add_span(&c->t[i], degr_from + urand() * 0.99, end + irand(1, 3), FAILURE_NONE, NULL);
			/* queueing: RTT well above baseline (x2 to x6, and +50 ms at least) */
			s->rtt_add = c->t[i].base_rtt * (1 + 4 * urand()) + 50 + urand() * 250;
			s->loss_p = c->t[i].icmp ? loss_p : 0;
			ndeg++;
		}
		for (size_t j = 0; j < k; j++) {
			size_t i = order[j];
			/* mail comes back first, the rest later */
			double back = end - (c->t[i].role == ROLE_MAIL ? irand(3, 6) : irand(0, 2));
			add_span(&c->t[i], at, back, FAILURE_TIMEOUT, NULL);
			at += irand(1, 4);
		}
		tail = end + 3;
		(void)ndeg;
		break;
	}
	case F_POWER: {
		/* abrupt: everything silent within about one round, routers
		 * included (outside ones too); a few hosts reported gone by the
		 * last hop; BGP withdrawal, if seen, with or after the silence */
		double hu = chance(0.5) ? urand() * 0.3 : 0, first = F + stagger;
		bool hu_outside = chance(0.5);
		for (size_t i = 0; i < c->n; i++) {
			double s0 = F + (stagger ? urand() * stagger : 0);
			if (s0 < first)
				first = s0;
			struct span *s = add_span(&c->t[i], s0, F + L + urand() * 2, FAILURE_TIMEOUT, NULL);
			if (hu > 0 && !c->t[i].outside) {
				s->f = FAILURE_HOST_UNREACH;
				s->share = hu;
				s->detail = "host unreachable";
				snprintf(s->via, sizeof(s->via), "%s", hu_outside ? "203.0.113.1" : "198.51.100.1");
			}
		}
		if (c->bgp) {
			double w = first + rounds_of_s(c, urand() * c->hold_s);
			if (w < F + L)
				c->ev[c->nev++] = (struct bgpev){w, true};
			c->ev[c->nev++] = (struct bgpev){F + L + 0.5, false};
		}
		break;
	}
	case F_ROUTING: {
		/* withdrawn at or before the loss while routers outside the
		 * prefixes keep answering, or explicit unreachables from routers
		 * outside the network (rate-limited: 30-70 % of the failed
		 * rounds, the first ones always) */
		bool out_router = false;
		for (size_t i = 0; i < c->n; i++)
			out_router |= c->t[i].outside;
		bool unreach = !out_router || !c->bgp || chance(0.5);
		double share = 0.3 + urand() * 0.4;
		size_t forced = SIZE_MAX;
		for (size_t i = 0; i < c->n; i++) {
			if (c->t[i].outside)
				continue;
			if (forced == SIZE_MAX)
				forced = i;
			double s0 = F + (stagger ? urand() * stagger : 0);
			struct span *s = add_span(&c->t[i], s0, F + L + urand() * 2, FAILURE_TIMEOUT, NULL);
			if (unreach) {
				s->f = FAILURE_NET_UNREACH;
				s->share = share;
				s->detail = chance(0.5) ? "net unreachable" : "no route";
				snprintf(s->via, sizeof(s->via), "203.0.113.254");
				s->first_forced = i == forced || chance(0.5);
			}
		}
		if (c->bgp) {
			c->ev[c->nev++] = (struct bgpev){F - urand(), true};
			c->ev[c->nev++] = (struct bgpev){F + L - 0.2, false};
		}
		break;
	}
	case F_FILTERING: {
		/* abrupt silence while the prefixes stay announced well past a
		 * hold time (the configured one, twice, and three rounds) */
		double wait = rounds_of_s(c, 2.0 * c->hold_s);
		bool out_alive = chance(0.5);
		if (wait < 3)
			wait = 3;
		if (L < wait + 3)
			L = wait + 3 + irand(0, 50);
		for (size_t i = 0; i < c->n; i++) {
			if (c->t[i].outside && out_alive)
				continue;
			double s0 = F + (stagger ? urand() * stagger : 0);
			add_span(&c->t[i], s0, F + L + urand() * 2, FAILURE_TIMEOUT, NULL);
		}
		break;
	}
	case F_DNS: {
		/* the name servers fail (timeout, SERVFAIL, REFUSED, wrong
		 * answer) while the other servers stay reachable */
		for (size_t i = 0; i < c->n; i++) {
			if (c->t[i].role != ROLE_DNS)
				continue;
			double s0 = F + (stagger ? urand() * stagger : 0);
			switch (irand(0, 3)) {
			case 0:
				add_span(&c->t[i], s0, F + L, FAILURE_TIMEOUT, NULL);
				break;
			case 1:
				add_span(&c->t[i], s0, F + L, FAILURE_PROTOCOL, "SERVFAIL");
				break;
			case 2:
				add_span(&c->t[i], s0, F + L, FAILURE_REFUSED, "REFUSED");
				break;
			default:
				add_span(&c->t[i], s0, F + L, FAILURE_CHECK, "wrong answer 192.0.2.66");
				break;
			}
		}
		break;
	}
	case F_HOST: {
		/* only some targets go down (at most a third, and not the name
		 * servers as a whole); the network stays reachable */
		size_t ndns = 0, dns_down = 0, k = 1 + irand(0, (unsigned)(c->n / 3 > 1 ? c->n / 3 - 1 : 0));
		size_t nin = 0, in_down = 0;
		for (size_t i = 0; i < c->n; i++) {
			ndns += c->t[i].role == ROLE_DNS;
			nin += !c->t[i].outside;
		}
		for (size_t j = 0, tries = 0; j < k && tries < 100; tries++) {
			size_t i = irand(0, (unsigned)c->n - 1);
			if (c->t[i].nsp)
				continue;
			if (c->t[i].role == ROLE_DNS && 2 * (dns_down + 1) > ndns)
				continue;
			/* the network's own (inside) targets mostly keep answering */
			if (!c->t[i].outside && !(2 * (in_down + 1) < nin || (in_down == 0 && nin >= 2)))
				continue;
			in_down += !c->t[i].outside;
			dns_down += c->t[i].role == ROLE_DNS;
			static const enum failure modes[] = {FAILURE_TIMEOUT, FAILURE_REFUSED, FAILURE_PROTOCOL};
			enum failure f = modes[irand(0, 2)];
			add_span(&c->t[i], F + urand() * 3, F + L + urand() * 3, f,
				 f == FAILURE_PROTOCOL ? "HTTP 503" : NULL);
			j++;
		}
		break;
	}
	case F_VANTAGE: {
		/* the controls fail together with the targets: our side */
		for (size_t i = 0; i < c->n + c->nctl; i++) {
			double s0 = F + (stagger ? urand() * (stagger > 1 ? 1 : stagger) : 0);
			add_span(&c->t[i], s0, F + L + urand(), FAILURE_TIMEOUT, NULL);
		}
		break;
	}
	default:
		break;
	}
	if (tail < F + L + 3)
		tail = F + L + 3;
	for (size_t i = 0; i < c->nev; i++)
		if (c->ev[i].at + 2 > tail)
			tail = c->ev[i].at + 2;
	/* calm afterwards: long enough for every hysteresis to settle */
	c->rounds = (uint32_t)(tail + 20 + c->up_after + c->down_after);
	build_yaml(c);
}

/* ---------- measurements ---------- */

/* A round that ended as f, with the outcome that follows from it. */
static void set_failure(struct measurement *x, enum failure f)
{
	x->failure = f;
	x->outcome = failure_outcome(f);
}

static size_t generate(const struct cas *c, struct measurement **out)
{
	size_t nt = c->n + c->nctl, n = 0;
	struct measurement *m = calloc((size_t)c->rounds * nt + 1, sizeof(*m));
	bool first_done[MAX_TGT + MAX_CTL][2] = {{false}};
	/* noise stays noise: no two failures within down_after rounds */
	int64_t last_noise[MAX_TGT + MAX_CTL];
	/* blips: one-round failures on one target, shorter than down_after */
	uint32_t blip_round[3];
	size_t blip_tgt[3], nblip = c->down_after >= 2 ? irand(0, 3) : 0;

	assert_non_null(m);
	for (size_t i = 0; i < nt; i++)
		last_noise[i] = -1000;
	for (size_t b = 0; b < nblip; b++) {
		blip_round[b] = irand(1, c->rounds - 1);
		blip_tgt[b] = irand(0, (unsigned)nt - 1);
	}
	/* probe order in a round: by offset */
	size_t order[MAX_TGT + MAX_CTL];
	for (size_t i = 0; i < nt; i++)
		order[i] = i;
	for (size_t i = 1; i < nt; i++)
		for (size_t j = i; j > 0 && c->t[order[j - 1]].offset > c->t[order[j]].offset; j--) {
			size_t x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	for (uint32_t r = 0; r < c->rounds; r++) {
		for (size_t oi = 0; oi < nt; oi++) {
			size_t i = order[oi];
			const struct tgt *t = &c->t[i];
			struct measurement *x = &m[n++];
			double at = r + t->offset;
			x->target = (uint32_t)i;
			x->round = r;
			x->at_ms = T0 + (int64_t)(at * (double)c->iv_ms);
			set_failure(x, FAILURE_NONE);
			x->rtt_ms = t->base_rtt * (0.9 + 0.2 * urand()); /* jitter */
			x->sent = t->icmp ? 3 : 1;
			x->received = x->sent;
			snprintf(x->detail, sizeof(x->detail), "ok");
			bool failed = false;
			for (size_t k = 0; k < t->nsp; k++) {
				const struct span *s = &t->sp[k];
				if (at < s->from || at >= s->to)
					continue;
				if (s->f == FAILURE_NONE) {
					x->rtt_ms += s->rtt_add * (0.85 + 0.3 * urand());
					if (s->loss_p > 0 && chance(s->loss_p)) {
						x->received = (uint16_t)irand(1, 2);
						x->loss = (float)(3 - x->received) / 3.0f;
					}
					continue;
				}
				failed = true;
				set_failure(x, s->f);
				x->rtt_ms =
				    x->outcome == OUTCOME_TIMEOUT || x->outcome == OUTCOME_UNREACHABLE ? -1 : x->rtt_ms;
				x->loss = 1;
				x->received = 0;
				if (x->outcome == OUTCOME_UNREACHABLE) {
					bool take =
					    s->share <= 0 || chance(s->share) || (s->first_forced && !first_done[i][k]);
					if (take) {
						struct sockaddr_storage ss;
						assert_int_equal(addr_parse(s->via, &ss), 0);
						ip_addr_from_sockaddr(&x->from_ip, &ss);
						snprintf(x->from, sizeof(x->from), "%s", s->via);
						snprintf(x->detail, sizeof(x->detail), "%s from %s", s->detail, s->via);
					} else {
						set_failure(x, FAILURE_TIMEOUT);
						snprintf(x->detail, sizeof(x->detail), "timeout");
					}
				} else {
					snprintf(x->detail, sizeof(x->detail), "%s",
						 s->detail ? s->detail : outcome_name(x->outcome));
				}
				first_done[i][k] = true;
			}
			if (failed)
				continue;
			bool calm = (int64_t)r - last_noise[i] >= (int64_t)c->down_after;
			for (size_t b = 0; b < nblip; b++) {
				if (calm && blip_round[b] == r && blip_tgt[b] == i) {
					last_noise[i] = r;
					set_failure(x, FAILURE_TIMEOUT);
					x->rtt_ms = -1;
					x->loss = 1;
					x->received = 0;
					snprintf(x->detail, sizeof(x->detail), "timeout");
					failed = true;
				}
			}
			if (failed || !chance(c->noise))
				continue;
			/* a single lost probe: an echo for ICMP, the round for the
			 * others when that is shorter than down_after */
			if (t->icmp) {
				x->received = 2;
				x->loss = 1.0f / 3.0f;
			} else if (c->down_after >= 2 && calm) {
				last_noise[i] = r;
				set_failure(x, FAILURE_TIMEOUT);
				x->rtt_ms = -1;
				x->loss = 1;
				x->received = 0;
				snprintf(x->detail, sizeof(x->detail), "timeout");
			}
		}
	}
	*out = m;
	return n;
}

/* ---------- running ---------- */

struct seen {
	int64_t id[16];
	char cause[16][16];
	bool null_net[16];
	size_t n;
	char json[4][2048];
};

static void on_incident(void *arg, int64_t id, const char *network, int64_t start_ms, int64_t end_ms, bool open,
			const char *cause, const json_t *doc)
{
	struct seen *s = arg;
	size_t k;

	(void)start_ms;
	(void)end_ms;
	(void)open;
	for (k = 0; k < s->n; k++)
		if (s->id[k] == id)
			break;
	if (k == s->n) {
		if (s->n == 16)
			return;
		s->id[s->n++] = id;
	}
	snprintf(s->cause[k], sizeof(s->cause[k]), "%s", cause);
	s->null_net[k] = network == NULL;
	if (k < 4) {
		char *json = detect_incident_text(doc);
		snprintf(s->json[k], sizeof(s->json[k]), "%s", json);
		free(json);
	}
}

/* Judges one case; returns the confusion column. */
static int judge_case(const struct cas *c, struct seen *s)
{
	char err[256];
	struct config *cfg = config_parse("variants.yaml", c->yaml, strlen(c->yaml), err, sizeof(err));
	struct measurement *m;
	struct prefix p;
	size_t n, b = 0;

	if (!cfg)
		fprintf(stderr, "%s\n%s\n", err, c->yaml);
	assert_non_null(cfg);
	assert_int_equal(prefix_parse("198.51.100.0/24", &p), 0);
	n = generate(c, &m);
	memset(s, 0, sizeof(*s));
	struct detector *d = detect_new(cfg, &(struct detect_hooks){.on_incident = on_incident}, s);
	for (size_t i = 0; i <= n; i++) {
		while (b < c->nev && (i == n || T0 + (int64_t)(c->ev[b].at * (double)c->iv_ms) <= m[i].at_ms)) {
			detect_bgp(d, 0, T0 + (int64_t)(c->ev[b].at * (double)c->iv_ms), c->ev[b].withdrawn, &p, 1);
			b++;
		}
		if (i < n)
			detect_feed(d, &m[i]);
	}
	detect_finish(d);
	detect_free(d);
	free(m);
	config_free(cfg);
	if (s->n == 0)
		return COL_NONE;
	if (s->n > 1)
		return COL_EXTRA;
	for (int k = 0; k < CAUSE_COUNT; k++)
		if (strcmp(s->cause[0], detect_cause_name((enum detect_cause)k)) == 0)
			return k;
	return CAUSE_UNKNOWN;
}

static int expected_col(enum family f)
{
	switch (f) {
	case F_QUIET:
		return COL_NONE;
	case F_STRESS:
		return CAUSE_STRESS;
	case F_POWER:
		return CAUSE_POWER;
	case F_ROUTING:
		return CAUSE_ROUTING;
	case F_FILTERING:
		return CAUSE_FILTERING;
	case F_DNS:
		return CAUSE_DNS;
	case F_HOST:
		return CAUSE_HOST;
	default:
		return CAUSE_VANTAGE;
	}
}

static void test_variants(void **state)
{
	unsigned cases = getenv("VARIANTS_CASES") ? (unsigned)atoi(getenv("VARIANTS_CASES")) : 300;
	bool verbose = getenv("VARIANTS_VERBOSE") != NULL;
	unsigned mat[F_COUNT][NCOLS];
	static struct cas c;
	static struct seen s;
	bool ok = true;

	(void)state;
	memset(mat, 0, sizeof(mat));
	for (int f = 0; f < F_COUNT; f++) {
		for (unsigned k = 0; k < cases; k++) {
			draw(&c, (enum family)f, 1000 + k);
			int col = judge_case(&c, &s);
			/* vantage: the only incident is the vantage point's */
			if (col == CAUSE_VANTAGE && !s.null_net[0])
				col = CAUSE_UNKNOWN;
			mat[f][col]++;
			if (col != expected_col((enum family)f) && verbose) {
				fprintf(stderr, "--- %s seed %llu: got %s (%zu incidents)\n%s", family_names[f],
					(unsigned long long)c.seed,
					col == COL_NONE    ? "none"
					: col == COL_EXTRA ? "extra"
							   : s.cause[0],
					s.n, c.yaml);
				for (size_t i = 0; i < s.n && i < 4; i++)
					fprintf(stderr, "%s\n", s.json[i]);
			}
		}
	}
	printf("confusion matrix (%u cases per family; rows: generated, columns: judged)\n", cases);
	printf("%-10s", "");
	for (int k = 0; k < NCOLS; k++)
		printf(" %9s", k == COL_NONE    ? "none"
			       : k == COL_EXTRA ? "extra"
						: detect_cause_name((enum detect_cause)k));
	printf(" %7s\n", "right");
	for (int f = 0; f < F_COUNT; f++) {
		unsigned right = mat[f][expected_col((enum family)f)];
		printf("%-10s", family_names[f]);
		for (int k = 0; k < NCOLS; k++)
			printf(" %9u", mat[f][k]);
		printf(" %6.1f%%\n", 100.0 * right / cases);
		if ((double)right < MIN_SHARE * cases)
			ok = false;
	}
	fflush(stdout);
	/* quiet: no incident at all */
	assert_int_equal(mat[F_QUIET][COL_NONE], cases);
	assert_true(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_variants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
