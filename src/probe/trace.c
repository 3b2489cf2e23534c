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
	struct probe_round r;
	struct trace_state *st;
	uint32_t index;
	int64_t deadline_ns, end_ns, next_send_ns;
	int fd; /* the target's socket for the whole run, not the round's */
	uint8_t next_ttl;
	uint8_t stop_ttl;             /* TTL at which the path ended (destination or unreachable), 0 = not yet */
	bool reached;                 /* the destination itself answered */
	struct probe_icmp_error stop; /* the error that ended the path */
	int64_t sent_ns[TRACE_MAX_HOPS + 1];
	int64_t rtt_ns[TRACE_MAX_HOPS + 1];
	struct sockaddr_storage hops[TRACE_MAX_HOPS];
	unsigned rejected;
	char reject_why[64];
};

struct trace_state {
	struct probe_engine *engine;
	struct ev_loop *loop;
	unsigned long sent, icmp, rej_forged, rej_stale, rej_short;
	struct trace_slot slots[]; /* by target index */
};

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

static void set_detail(char *detail, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Details are cut at MEASUREMENT_DETAIL_LEN by design. */
static void set_detail(char *detail, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, MEASUREMENT_DETAIL_LEN, fmt, ap);
	va_end(ap);
}

/* One probe per TTL sent. */
static void trace_fill(struct probe_round *r, struct measurement *m)
{
	const struct trace_slot *s = PROBE_SLOT(r, struct trace_slot);
	m->sent = (uint16_t)(s->next_ttl > 1 ? s->next_ttl - 1 : 1);
}

static void trace_result(struct trace_slot *s, struct measurement *m, enum failure f,
			 const struct probe_icmp_error *icmp)
{
	probe_round_result(&s->r, m, f, icmp);
	trace_fill(&s->r, m);
}

/* A local error ends the round with no judgement of the path. */
static void trace_fail(struct trace_slot *s, int err, const char *what)
{
	probe_round_end(&s->r, errno_failure(err), NULL, "%s: %s", what, strerror(err));
}

/* Completes the round from what was seen: reached, unreachable, or
 * timed out after the last hop that answered. */
static void trace_judge(struct trace_slot *s)
{
	struct trace_state *st = s->st;
	const struct probe_target *t = probe_engine_target(st->engine, s->index);
	const struct config *cfg = probe_engine_config(st->engine);
	const struct prefix *pfx = NULL;
	size_t npfx = 0;
	struct measurement m;
	char dst[INET6_ADDRSTRLEN], edge[INET6_ADDRSTRLEN] = "", last[INET6_ADDRSTRLEN] = "", from[INET6_ADDRSTRLEN];
	char edge_txt[64], detail[MEASUREMENT_DETAIL_LEN];
	int e, l, nhops;
	uint16_t hops = 0;

	if (!s->r.open)
		return;
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
		snprintf(edge_txt, sizeof(edge_txt), "; edge %s", edge);
	} else {
		snprintf(edge_txt, sizeof(edge_txt), "; no edge");
	}
	for (int i = 0; i < TRACE_MAX_HOPS; i++)
		hops = (uint16_t)(hops + (s->hops[i].ss_family != AF_UNSPEC));
	if (s->reached) {
		trace_result(s, &m, FAILURE_NONE, NULL);
		m.rtt_ms = (double)s->rtt_ns[s->stop_ttl] / 1e6;
		set_detail(detail, "reached %s in %u hop%s%s", dst, s->stop_ttl, s->stop_ttl == 1 ? "" : "s", edge_txt);
		append_path(s, detail, sizeof(detail), s->stop_ttl - 2);
	} else if (s->stop_ttl > 0) {
		trace_result(s, &m, icmp_failure(s->stop.family, s->stop.type, s->stop.code), &s->stop);
		addr_format(&s->stop.offender, from, sizeof(from));
		set_detail(detail, "unreachable (type %u code %u) from %s at hop %u%s", s->stop.type, s->stop.code,
			   from, s->stop_ttl, edge_txt);
		append_path(s, detail, sizeof(detail), s->stop_ttl - 2);
	} else if (l >= 0) {
		trace_result(s, &m, FAILURE_TIMEOUT, NULL);
		addr_format(&s->hops[l], last, sizeof(last));
		set_detail(detail, "not reached; last hop %s at %d%s", last, l + 1, edge_txt);
		append_path(s, detail, sizeof(detail), l);
	} else {
		trace_result(s, &m, FAILURE_TIMEOUT, NULL);
		if (s->rejected > 0)
			set_detail(detail, "no hop answered (%u rejected: %.63s)", s->rejected, s->reject_why);
		else
			set_detail(detail, "no hop answered (%u sent)", m.sent);
	}
	m.received = (uint16_t)(hops + s->reached);
	/* the edge router, unless an error names the router that ended the path */
	if (e >= 0 && m.from_ip.family == 0)
		probe_measurement_set_from(&m, &s->hops[e]);
	probe_round_finish(&s->r, &m, "%s", detail);
}

static void trace_stop(struct probe_round *r)
{
	trace_judge(PROBE_SLOT(r, struct trace_slot)); /* what came is the answer */
}

static const struct probe_round_hooks trace_hooks = {.fill = trace_fill, .stop = trace_stop};

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
	if (p.target != s->index || p.round != s->r.round || p.ttl > TRACE_MAX_HOPS || !s->r.open) {
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
			s->stop = *e;
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
	if (!s->r.open)
		return;
	if (path_complete(s))
		trace_judge(s);
	else
		trace_arm(s);
}

static int send_probe(struct trace_slot *s)
{
	struct trace_state *st = s->st;
	const struct probe_target *t = probe_engine_target(st->engine, s->index);
	struct probe_trace_probe p = {.target = s->index, .round = s->r.round, .ttl = s->next_ttl};
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
		if (!s->r.open)
			return -1;
	}
	trace_fail(s, errno, "send");
	return -1;
}

static bool sending(const struct trace_slot *s)
{
	return s->next_ttl <= TRACE_MAX_HOPS && (s->stop_ttl == 0 || s->next_ttl < s->stop_ttl);
}

static void on_timer(struct probe_round *r)
{
	struct trace_slot *s = PROBE_SLOT(r, struct trace_slot);
	int64_t now = ev_now(s->st->loop);

	if (now >= s->end_ns || now >= s->deadline_ns) {
		trace_judge(s);
		return;
	}
	if (sending(s) && now >= s->next_send_ns) {
		if (!probe_engine_take_token(s->st->engine)) {
			s->next_send_ns = probe_engine_next_token_ns(s->st->engine);
		} else {
			if (send_probe(s) < 0)
				return;
			s->next_send_ns = now + TRACE_GAP_NS;
		}
	}
	trace_arm(s);
}

/* (Re)schedules the slot's one timer: next send, or the end. */
static void trace_arm(struct trace_slot *s)
{
	int64_t at = s->end_ns;

	if (s->deadline_ns < at)
		at = s->deadline_ns;
	if (sending(s) && s->next_send_ns < at)
		at = s->next_send_ns;
	probe_round_arm(&s->r, at, on_timer);
}

static int open_socket(struct trace_slot *s, const struct probe_target *t)
{
	struct sockaddr_storage dst = t->addr;
	int fd = probe_socket(dst.ss_family, SOCK_DGRAM, 0), err;

	if (fd < 0)
		return -1;
	/* a datagram connect only sets the peer: it does not wait */
	if ((err = probe_connect(fd, &dst, TRACE_PORT)) != 0 ||
	    ev_add_fd(s->st->loop, fd, EV_READ, on_readable, s) < 0) {
		err = err != 0 ? err : errno;
		close(fd);
		errno = err;
		return -1;
	}
	s->fd = fd;
	return 0;
}

static void trace_start(struct probe_engine *e, void *ctx, struct probe_target *t, uint32_t round, int64_t at_ms,
			int64_t deadline_ns)
{
	struct trace_state *st = ctx;
	struct trace_slot *s = &st->slots[t->index];

	trace_judge(s); /* a round still open is judged on what came so far */
	probe_round_open(&s->r, e, t, round, at_ms, &trace_hooks);
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
	/* one socket per target for the whole run: the flow's ports never change */
	if (s->fd < 0 && open_socket(s, t) < 0) {
		trace_fail(s, errno, "socket");
		return;
	}
	trace_arm(s);
}

static int trace_init(struct probe_engine *e, void *ctx, struct probe_target **targets, size_t n, char *err,
		      size_t errlen)
{
	(void)targets;
	(void)n;
	(void)err;
	(void)errlen;
	struct trace_state *st = ctx;

	st->engine = e;
	st->loop = probe_engine_loop(e);
	for (size_t i = 0; i < probe_engine_target_count(e); i++)
		st->slots[i] = (struct trace_slot){.st = st, .index = (uint32_t)i, .fd = -1};
	return 0;
}

static void trace_fini(void *ctx)
{
	struct trace_state *st = ctx;
	for (size_t i = 0; i < probe_engine_target_count(st->engine); i++)
		probe_close(st->loop, &st->slots[i].fd);
}

static void trace_stats(const void *ctx, char *buf, size_t len)
{
	const struct trace_state *st = ctx;
	snprintf(buf, len, "trace: sent %lu, icmp %lu, rejected: never sent %lu, stale %lu, short quote %lu", st->sent,
		 st->icmp, st->rej_forged, st->rej_stale, st->rej_short);
}

const struct probe_ops probe_trace_ops = PROBE_OPS(sizeof(struct trace_state), sizeof(struct trace_slot), trace_init,
						   trace_start, trace_fini, trace_stats, NULL);
