/* Trace probe: Paris-traceroute-style UDP towards the target, one trace
 * per round, TTL 1..TRACE_MAX_HOPS.
 *
 * Each target keeps one connected UDP socket for the whole run, so source
 * and destination ports, addresses and (thanks to the payload's
 * compensating word, see trace_quote.h) the UDP checksum are the same for
 * every probe: per-flow load balancers keep the whole trace on one path.
 * Only the TTL varies.  Probes are paced TRACE_GAP_NS apart under the
 * engine's rate cap.  IP_RECVERR (IPv4 and IPv6, no privileges) hands us
 * each ICMP error with the router that sent it and the payload it quoted;
 * the payload's keyed tag names (target, round, TTL), so a quote of a
 * packet we never sent, or of an older round, is rejected. */
#include "probe/errqueue.h"
#include "probe/probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ev.h"
#include "core/timeutil.h"
#include "probe/trace_quote.h"

#define TRACE_MAX_HOPS 30
#define TRACE_PORT     33434
#define TRACE_GAP_NS   (10 * NS_PER_MS)
/* after the destination answered, how long missing hops may still come */
#define TRACE_GRACE_MIN_NS (300 * NS_PER_MS)
#define TRACE_READ_BATCH   64

struct trace_slot {
	struct trace_state *st;
	uint32_t index;
	uint32_t round;
	int64_t at_ms;
	int64_t deadline_ns, end_ns, next_send_ns;
	uint64_t timer;
	int fd;
	bool open;
	uint8_t next_ttl;
	uint8_t stop_ttl; /* TTL at which the path ended (destination or unreachable), 0 = not yet */
	bool reached;     /* the destination itself answered */
	uint8_t unreach_type, unreach_code;
	struct sockaddr_storage stop_from;
	int64_t sent_ns[TRACE_MAX_HOPS + 1];
	int64_t rtt_ns[TRACE_MAX_HOPS + 1];
	struct sockaddr_storage hops[TRACE_MAX_HOPS];
	unsigned rejected;
	char reject_why[64];
};

struct trace_state {
	struct probe_engine *engine;
	struct ev_loop *loop;
	struct trace_slot *slots;
	size_t nslots;
	unsigned long sent, icmp, rej_forged, rej_stale, rej_short;
};

static struct trace_state *state;

static void trace_arm(struct trace_slot *s);

static int last_hop(const struct trace_slot *s)
{
	int last = -1;
	for (int i = 0; i < TRACE_MAX_HOPS; i++)
		if (s->hops[i].ss_family != AF_UNSPEC)
			last = i;
	return last;
}

/* "; path a b * d" when it fits in what is left of the detail. */
static void append_path(const struct trace_slot *s, char *buf, size_t len, int upto)
{
	size_t used = strlen(buf);
	char tmp[MEASUREMENT_DETAIL_LEN];
	size_t t = 0;

	t += (size_t)snprintf(tmp, sizeof(tmp), "; path");
	for (int i = 0; i <= upto && t < sizeof(tmp); i++) {
		char a[INET6_ADDRSTRLEN] = "*";
		if (s->hops[i].ss_family != AF_UNSPEC)
			addr_format(&s->hops[i], a, sizeof(a));
		t += (size_t)snprintf(tmp + t, sizeof(tmp) - t, " %s", a);
	}
	if (upto < 0)
		return;
	if (t < sizeof(tmp) && used + t < len)
		memcpy(buf + used, tmp, t + 1);
}

static void set_detail(struct measurement *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Details are cut at MEASUREMENT_DETAIL_LEN by design. */
static void set_detail(struct measurement *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->detail, sizeof(m->detail), fmt, ap);
	va_end(ap);
}

static void trace_finish(struct trace_slot *s, enum outcome forced, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Completes the round from what was seen; forced (!= OUTCOME_OK) with a
 * message overrides the judgement (local errors). */
static void trace_finish(struct trace_slot *s, enum outcome forced, const char *fmt, ...)
{
	struct trace_state *st = s->st;
	const struct probe_target *t = probe_engine_target(st->engine, s->index);
	const struct config *cfg = probe_engine_config(st->engine);
	const struct prefix *pfx = NULL;
	size_t npfx = 0;
	struct measurement m;
	char dst[INET6_ADDRSTRLEN], edge[INET6_ADDRSTRLEN] = "", last[INET6_ADDRSTRLEN] = "", from[INET6_ADDRSTRLEN];
	char edge_txt[64];
	int e, l, nhops;
	va_list ap;

	if (!s->open)
		return;
	s->open = false;
	if (s->timer != 0)
		ev_del_timer(st->loop, s->timer);
	s->timer = 0;
	probe_measurement_init(&m, t, s->round, s->at_ms);
	m.sent = (uint16_t)(s->next_ttl > 1 ? s->next_ttl - 1 : 1);
	if (fmt != NULL) {
		m.outcome = forced;
		m.loss = 1;
		va_start(ap, fmt);
		vsnprintf(m.detail, sizeof(m.detail), fmt, ap);
		va_end(ap);
		probe_complete(st->engine, &m);
		return;
	}
	if (t->cfg->network != CONFIG_NO_NETWORK && t->cfg->network < cfg->nnetworks) {
		pfx = cfg->networks[t->cfg->network].prefixes;
		npfx = cfg->networks[t->cfg->network].nprefixes;
	}
	nhops = s->stop_ttl > 0 ? s->stop_ttl : TRACE_MAX_HOPS;
	e = probe_trace_edge(s->hops, (size_t)nhops, pfx, npfx, &t->addr);
	l = last_hop(s);
	addr_format(&t->addr, dst, sizeof(dst));
	if (e >= 0) {
		addr_format(&s->hops[e], edge, sizeof(edge));
		snprintf(m.from, sizeof(m.from), "%s", edge);
		snprintf(edge_txt, sizeof(edge_txt), "; edge %s", edge);
	} else {
		snprintf(edge_txt, sizeof(edge_txt), "; no edge");
	}
	for (int i = 0; i < TRACE_MAX_HOPS; i++)
		m.received = (uint16_t)(m.received + (s->hops[i].ss_family != AF_UNSPEC));
	if (s->reached) {
		m.outcome = OUTCOME_OK;
		m.loss = 0;
		m.received = (uint16_t)(m.received + 1);
		m.rtt_ms = (double)s->rtt_ns[s->stop_ttl] / 1e6;
		set_detail(&m, "reached %s in %u hop%s%s", dst, s->stop_ttl, s->stop_ttl == 1 ? "" : "s", edge_txt);
		append_path(s, m.detail, sizeof(m.detail), s->stop_ttl - 2);
	} else if (s->stop_ttl > 0) {
		m.outcome = OUTCOME_UNREACHABLE;
		m.loss = 1;
		addr_format(&s->stop_from, from, sizeof(from));
		snprintf(m.from, sizeof(m.from), "%s", from);
		set_detail(&m, "unreachable (type %u code %u) from %s at hop %u%s", s->unreach_type, s->unreach_code,
			   from, s->stop_ttl, edge_txt);
		append_path(s, m.detail, sizeof(m.detail), s->stop_ttl - 2);
	} else if (l >= 0) {
		m.outcome = OUTCOME_TIMEOUT;
		m.loss = 1;
		addr_format(&s->hops[l], last, sizeof(last));
		set_detail(&m, "not reached; last hop %s at %d%s", last, l + 1, edge_txt);
		append_path(s, m.detail, sizeof(m.detail), l);
	} else {
		m.outcome = OUTCOME_TIMEOUT;
		m.loss = 1;
		if (s->rejected > 0)
			set_detail(&m, "no hop answered (%u rejected: %.63s)", s->rejected, s->reject_why);
		else
			set_detail(&m, "no hop answered (%u sent)", m.sent);
	}
	probe_complete(st->engine, &m);
}

static bool path_complete(const struct trace_slot *s)
{
	if (s->stop_ttl == 0)
		return false;
	for (int i = 0; i + 1 < s->stop_ttl; i++)
		if (s->hops[i].ss_family == AF_UNSPEC)
			return false;
	return true;
}

static void on_error(struct trace_slot *s, const struct probe_icmp_error *e, const uint8_t *quote, size_t qlen)
{
	const struct sockaddr_storage *off = &e->offender;
	struct trace_state *st = s->st;
	const struct probe_target *t = probe_engine_target(st->engine, s->index);
	struct probe_trace_probe p;
	char err[80];
	bool v6 = e->family == AF_INET6;
	int64_t now = ev_now(st->loop);

	st->icmp++;
	if (probe_trace_payload_check(probe_engine_key(st->engine), quote, qlen, &p, err, sizeof(err)) < 0) {
		if (qlen < PROBE_TRACE_PAYLOAD_LEN)
			st->rej_short++;
		else
			st->rej_forged++;
		s->rejected++;
		snprintf(s->reject_why, sizeof(s->reject_why), "%.63s", err);
		return;
	}
	if (p.target != s->index || p.round != s->round || p.ttl > TRACE_MAX_HOPS || !s->open) {
		st->rej_stale++;
		return;
	}
	if ((!v6 && e->type == 11) || (v6 && e->type == 3)) {
		if (s->hops[p.ttl - 1].ss_family == AF_UNSPEC) {
			s->hops[p.ttl - 1] = *off;
			s->rtt_ns[p.ttl] = now - s->sent_ns[p.ttl];
		}
	} else if ((!v6 && e->type == 3) || (v6 && e->type == 1)) {
		bool port = (!v6 && e->code == 3) || (v6 && e->code == 4);
		if (s->stop_ttl == 0 || p.ttl < s->stop_ttl) {
			s->stop_ttl = p.ttl;
			s->reached = port && addr_equal(off, &t->addr);
			s->unreach_type = e->type;
			s->unreach_code = e->code;
			s->stop_from = *off;
			s->rtt_ns[p.ttl] = now - s->sent_ns[p.ttl];
			/* lower hops still on their way get a grace, not the whole deadline */
			int64_t grace = 3 * s->rtt_ns[p.ttl];
			if (grace < TRACE_GRACE_MIN_NS)
				grace = TRACE_GRACE_MIN_NS;
			if (now + grace < s->end_ns)
				s->end_ns = now + grace;
		}
	}
}

static void on_readable(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)events;
	struct trace_slot *s = arg;
	uint8_t junk[64];

	for (int i = 0; i < TRACE_READ_BATCH; i++) {
		uint8_t data[256];
		struct probe_icmp_error e;
		int rc = probe_read_icmp_error(fd, data, sizeof(data), &e);
		if (rc < 0)
			break;
		if (rc == 1 && e.offender.ss_family != AF_UNSPEC)
			on_error(s, &e, data, e.len);
	}
	/* a destination that answers our UDP: drain it, the ports say nothing */
	for (int i = 0; i < TRACE_READ_BATCH; i++)
		if (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
	if (!s->open)
		return;
	if (path_complete(s))
		trace_finish(s, OUTCOME_OK, NULL);
	else
		trace_arm(s);
}

static int send_probe(struct trace_slot *s)
{
	struct trace_state *st = s->st;
	const struct probe_target *t = probe_engine_target(st->engine, s->index);
	struct probe_trace_probe p = {.target = s->index, .round = s->round, .ttl = s->next_ttl};
	uint8_t payload[PROBE_TRACE_PAYLOAD_LEN];
	int ttl = s->next_ttl;

	probe_trace_payload_build(probe_engine_key(st->engine), &p, payload);
	if (t->addr.ss_family == AF_INET6)
		setsockopt(s->fd, SOL_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl));
	else
		setsockopt(s->fd, SOL_IP, IP_TTL, &ttl, sizeof(ttl));
	for (int attempt = 0; attempt < 2; attempt++) {
		if (send(s->fd, payload, sizeof(payload), MSG_DONTWAIT) >= 0) {
			s->sent_ns[s->next_ttl] = ev_now(st->loop);
			s->next_ttl++;
			st->sent++;
			return 0;
		}
		if (errno == EAGAIN || errno == ENOBUFS) {
			s->next_ttl++; /* counts as lost */
			return 0;
		}
		/* a pending ICMP error fails one send: read it, then retry */
		on_readable(st->loop, s->fd, EV_READ, s);
		if (!s->open)
			return -1;
	}
	trace_finish(s, errno == ENETUNREACH || errno == EHOSTUNREACH ? OUTCOME_UNREACHABLE : OUTCOME_ERROR, "send: %s",
		     strerror(errno));
	return -1;
}

static bool sending(const struct trace_slot *s)
{
	return s->next_ttl <= TRACE_MAX_HOPS && (s->stop_ttl == 0 || s->next_ttl < s->stop_ttl);
}

static int64_t on_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)id;
	struct trace_slot *s = arg;
	int64_t now = ev_now(loop);

	s->timer = 0;
	if (now >= s->end_ns || now >= s->deadline_ns) {
		trace_finish(s, OUTCOME_OK, NULL);
		return EV_TIMER_DONE;
	}
	if (sending(s) && now >= s->next_send_ns) {
		if (!probe_engine_take_token(s->st->engine)) {
			s->next_send_ns = probe_engine_next_token_ns(s->st->engine);
		} else {
			if (send_probe(s) < 0)
				return EV_TIMER_DONE;
			s->next_send_ns = now + TRACE_GAP_NS;
		}
	}
	trace_arm(s);
	return EV_TIMER_DONE;
}

/* (Re)schedules the slot's one timer: next send, or the end. */
static void trace_arm(struct trace_slot *s)
{
	int64_t now = ev_now(s->st->loop), at = s->end_ns;

	if (s->deadline_ns < at)
		at = s->deadline_ns;
	if (sending(s) && s->next_send_ns < at)
		at = s->next_send_ns;
	if (s->timer != 0)
		ev_del_timer(s->st->loop, s->timer);
	s->timer = ev_add_timer(s->st->loop, at > now ? at - now : 0, on_timer, s);
}

static int open_socket(struct trace_slot *s, const struct probe_target *t)
{
	struct sockaddr_storage dst = t->addr;
	int one = 1, fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (dst.ss_family == AF_INET6)
		setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof(one));
	else
		setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof(one));
	addr_set_port(&dst, TRACE_PORT);
	if (connect(fd, (struct sockaddr *)&dst, addr_len(&dst)) < 0 ||
	    ev_add_fd(s->st->loop, fd, EV_READ, on_readable, s) < 0) {
		close(fd);
		return -1;
	}
	s->fd = fd;
	return 0;
}

static void trace_start(struct probe_engine *e, struct probe_target *t, uint32_t round, int64_t at_ms,
			int64_t deadline_ns)
{
	(void)e;
	struct trace_state *st = state;
	struct trace_slot *s = &st->slots[t->index];

	if (s->open)
		trace_finish(s, OUTCOME_OK, NULL); /* judged on what came so far */
	s->round = round;
	s->at_ms = at_ms;
	s->deadline_ns = s->end_ns = deadline_ns;
	s->next_send_ns = ev_now(st->loop);
	s->next_ttl = 1;
	s->stop_ttl = 0;
	s->reached = false;
	s->rejected = 0;
	s->reject_why[0] = '\0';
	memset(s->hops, 0, sizeof(s->hops));
	memset(s->sent_ns, 0, sizeof(s->sent_ns));
	memset(s->rtt_ns, 0, sizeof(s->rtt_ns));
	s->open = true;
	/* one socket per target for the whole run: the flow's ports never change */
	if (s->fd < 0 && open_socket(s, t) < 0) {
		trace_finish(s, errno == ENETUNREACH ? OUTCOME_UNREACHABLE : OUTCOME_ERROR, "socket: %s",
			     strerror(errno));
		return;
	}
	trace_arm(s);
}

static void trace_free(struct trace_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; st->slots != NULL && i < st->nslots; i++) {
		if (st->slots[i].fd >= 0) {
			ev_del_fd(st->loop, st->slots[i].fd);
			close(st->slots[i].fd);
		}
	}
	free(st->slots);
	free(st);
}

static int trace_init(struct probe_engine *e, struct probe_target **targets, size_t n, char *err, size_t errlen)
{
	(void)targets;
	(void)n;
	struct trace_state *st = calloc(1, sizeof(*st));

	if (st != NULL) {
		st->nslots = probe_engine_target_count(e);
		st->slots = calloc(st->nslots ? st->nslots : 1, sizeof(*st->slots));
	}
	if (st == NULL || st->slots == NULL) {
		trace_free(st);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->engine = e;
	st->loop = probe_engine_loop(e);
	for (size_t i = 0; i < st->nslots; i++) {
		st->slots[i].st = st;
		st->slots[i].index = (uint32_t)i;
		st->slots[i].fd = -1;
	}
	state = st;
	return 0;
}

static void trace_fini(struct probe_engine *e)
{
	(void)e;
	struct trace_state *st = state;
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nslots; i++)
		if (st->slots[i].open)
			trace_finish(&st->slots[i], OUTCOME_OK, NULL);
	trace_free(st);
	state = NULL;
}

static void trace_stats(struct probe_engine *e, char *buf, size_t len)
{
	(void)e;
	struct trace_state *st = state;
	if (st == NULL)
		snprintf(buf, len, "trace: idle");
	else
		snprintf(buf, len, "trace: sent %lu, icmp %lu, rejected: never sent %lu, stale %lu, short quote %lu",
			 st->sent, st->icmp, st->rej_forged, st->rej_stale, st->rej_short);
}

const struct probe_ops probe_trace_ops = {
    .kind = KIND_TRACE,
    .init = trace_init,
    .start = trace_start,
    .fini = trace_fini,
    .stats = trace_stats,
};
