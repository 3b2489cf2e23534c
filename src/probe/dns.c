/* DNS probe: one query per round to the target's server, over UDP with
 * retries and over TCP when the reply is truncated.
 *
 * UDP goes through one shared socket per address family; a reply is
 * trusted only if it comes from the server's address and port, carries
 * the id we gave this round's query (ids are unique among open rounds),
 * and passes probe_dns_reply_check (structure, QR, question).  Anything
 * else is counted and ignored, so a forged or broken reply cannot end a
 * round: only the real answer, an ICMP error about our query, or the
 * deadline can.  IP_RECVERR gives us the ICMP errors (port unreachable
 * when the name server is down) with the query they quote. */
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
#include "probe/dns_parse.h"

#define DNS_PORT       53
#define DNS_UDP_TRIES  3
#define DNS_TCP_MAX    65535
#define DNS_READ_BATCH 64 /* datagrams per readiness, so one flood cannot starve the loop */

enum dns_tcp_state { DNS_TCP_NONE, DNS_TCP_CONNECTING, DNS_TCP_READING };

struct dns_slot {
	struct probe_round r; /* r.fd is the TCP connection after a truncated reply */
	struct dns_state *st;
	uint32_t index;
	int64_t sent_ns, deadline_ns;
	bool id_held;
	unsigned sends;
	struct probe_dns_query q;
	int expect_rcode;
	uint8_t wire[PROBE_DNS_QUERY_MAX];
	size_t wlen;
	/* replies rejected in this round, for the detail of a timeout */
	unsigned rejected;
	char reject_why[64];
	/* TCP after a truncated reply */
	enum dns_tcp_state tcp;
	uint8_t *tcp_buf;
	size_t tcp_have, tcp_need;
};

struct dns_counters {
	unsigned long sent, replies, rej_source, rej_id, rej_bad, stray, icmp, tcp;
};

struct dns_state {
	struct probe_engine *engine;
	struct ev_loop *loop;
	int fd4, fd6;
	struct dns_counters c;
	struct dns_slot *byid[65536]; /* by the query id each open round holds */
	uint8_t buf[65536];
	struct dns_slot slots[]; /* by target index */
};

static void dns_fill(struct probe_round *r, struct measurement *m)
{
	struct dns_slot *s = PROBE_SLOT(r, struct dns_slot);
	struct dns_state *st = s->st;

	if (s->id_held && st->byid[s->q.id] == s)
		st->byid[s->q.id] = NULL;
	s->id_held = false;
	free(s->tcp_buf);
	s->tcp_buf = NULL;
	s->tcp = DNS_TCP_NONE;
	m->sent = (uint16_t)(s->sends > 0 ? s->sends : 1);
	if (m->failure != FAILURE_TIMEOUT && s->sent_ns > 0)
		m->rtt_ms = (double)(ev_now(st->loop) - s->sent_ns) / 1e6;
}

static const struct probe_round_hooks dns_hooks = {.fill = dns_fill};

static const struct sockaddr_storage *server_addr(const struct dns_slot *s, struct sockaddr_storage *ss)
{
	const struct probe_target *t = probe_engine_target(s->st->engine, s->index);
	*ss = t->addr;
	/* the target's port (config `port`, dns://SERVER:PORT/...), 53 if unset */
	addr_set_port(ss, t->cfg->port != 0 ? t->cfg->port : DNS_PORT);
	return ss;
}

/* Judges a reply that passed probe_dns_reply_check. */
static void judge(struct dns_slot *s, const struct probe_dns_reply *r)
{
	const struct target_cfg *cfg = probe_engine_target(s->st->engine, s->index)->cfg;
	char serial[24] = "";

	if (r->rcode != s->expect_rcode) {
		if (s->expect_rcode == 0 && (r->rcode == 2 || r->rcode == 5))
			probe_round_end(&s->r, r->rcode == 5 ? FAILURE_REFUSED : FAILURE_PROTOCOL, NULL, "%s",
					probe_dns_rcode_name(r->rcode));
		else
			probe_round_end(&s->r, r->rcode == 5 ? FAILURE_REFUSED : FAILURE_CHECK, NULL,
					"%s (expected %s)", probe_dns_rcode_name(r->rcode),
					probe_dns_rcode_name((unsigned)s->expect_rcode));
		return;
	}
	if (cfg->expect != NULL && !r->expect_found) {
		if (r->nmatch == 0)
			probe_round_end(&s->r, FAILURE_CHECK, NULL, "wrong answer: none (%u records, expected %s)",
					r->ancount, cfg->expect);
		else
			probe_round_end(&s->r, FAILURE_CHECK, NULL, "wrong answer %s", r->first_answer);
		return;
	}
	if (r->has_soa)
		snprintf(serial, sizeof(serial), ", serial %u", r->soa_serial);
	probe_round_end(&s->r, FAILURE_NONE, NULL, "%s%s, %u answer%s%s%s", probe_dns_rcode_name(r->rcode),
			r->aa ? " aa" : "", r->ancount, r->ancount == 1 ? "" : "s", serial,
			s->tcp != DNS_TCP_NONE ? ", tcp" : "");
}

static void reject(struct dns_slot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reject(struct dns_slot *s, const char *fmt, ...)
{
	va_list ap;
	s->rejected++;
	va_start(ap, fmt);
	vsnprintf(s->reject_why, sizeof(s->reject_why), fmt, ap);
	va_end(ap);
}

/* ---- TCP, after a truncated UDP reply ---- */

static void on_tcp(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)events;
	struct dns_slot *s = arg;
	struct probe_dns_reply r;
	char err[96];

	if (s->tcp == DNS_TCP_CONNECTING) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		uint8_t msg[PROBE_DNS_QUERY_MAX + 2];
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr != 0) {
			probe_round_end(&s->r, errno_failure(soerr), NULL, "truncated reply; TCP connect: %s",
					strerror(soerr));
			return;
		}
		msg[0] = (uint8_t)(s->wlen >> 8);
		msg[1] = (uint8_t)s->wlen;
		memcpy(msg + 2, s->wire, s->wlen);
		/* a fresh socket's buffer takes a few hundred bytes at once */
		if (send(fd, msg, s->wlen + 2, MSG_NOSIGNAL) != (ssize_t)(s->wlen + 2)) {
			probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "truncated reply; TCP send failed");
			return;
		}
		s->sent_ns = ev_now(s->st->loop);
		s->tcp = DNS_TCP_READING;
		s->tcp_need = 2;
		ev_mod_fd(s->st->loop, fd, EV_READ);
		return;
	}
	for (;;) {
		ssize_t n = recv(fd, s->tcp_buf + s->tcp_have, s->tcp_need - s->tcp_have, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "truncated reply; TCP %s after %zu bytes",
					n == 0 ? "closed" : strerror(errno), s->tcp_have);
			return;
		}
		s->tcp_have += (size_t)n;
		if (s->tcp_have < s->tcp_need)
			continue;
		if (s->tcp_need == 2) {
			s->tcp_need = 2 + (size_t)((s->tcp_buf[0] << 8) | s->tcp_buf[1]);
			if (s->tcp_need < 2 + 12) {
				probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "TCP reply of %zu bytes",
						s->tcp_need - 2);
				return;
			}
			continue;
		}
		break;
	}
	s->st->c.replies++;
	if (probe_dns_reply_check(&s->q, s->tcp_buf + 2, s->tcp_need - 2,
				  probe_engine_target(s->st->engine, s->index)->cfg->expect, &r, err,
				  sizeof(err)) < 0) {
		/* on a stream there is no second chance: the reply is the answer */
		s->st->c.rej_bad++;
		probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "bad TCP reply: %s", err);
		return;
	}
	judge(s, &r);
}

static void start_tcp(struct dns_slot *s)
{
	struct sockaddr_storage ss;
	int err;

	s->st->c.tcp++;
	server_addr(s, &ss);
	s->tcp_buf = malloc(DNS_TCP_MAX + 2);
	if (s->tcp_buf == NULL) {
		probe_round_end(&s->r, FAILURE_LOCAL, NULL, "out of memory");
		return;
	}
	s->tcp_have = 0;
	s->r.fd = probe_socket(ss.ss_family, SOCK_STREAM, 0);
	if (s->r.fd < 0) {
		probe_round_end(&s->r, FAILURE_LOCAL, NULL, "socket: %s", strerror(errno));
		return;
	}
	s->tcp = DNS_TCP_CONNECTING;
	if ((err = probe_connect(s->r.fd, &ss, 0)) != 0) {
		probe_round_end(&s->r, errno_failure(err), NULL, "truncated reply; TCP connect: %s", strerror(err));
		return;
	}
	if (ev_add_fd(s->st->loop, s->r.fd, EV_WRITE, on_tcp, s) < 0)
		probe_round_end(&s->r, FAILURE_LOCAL, NULL, "event loop: %s", strerror(errno));
}

/* ---- UDP ---- */

static void read_errqueue(struct dns_state *st, int fd);

static int send_query(struct dns_slot *s)
{
	struct sockaddr_storage ss;
	int fd;

	server_addr(s, &ss);
	fd = ss.ss_family == AF_INET6 ? s->st->fd6 : s->st->fd4;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (sendto(fd, s->wire, s->wlen, MSG_DONTWAIT, (struct sockaddr *)&ss, addr_len(&ss)) >= 0) {
			s->sends++;
			s->sent_ns = ev_now(s->st->loop);
			s->st->c.sent++;
			return 0;
		}
		if (errno == EAGAIN || errno == ENOBUFS)
			return 0; /* counts as lost; the next retry goes again */
		/* A pending ICMP error of another query on the shared socket
		 * fails one send: collect it and try once more. */
		read_errqueue(s->st, fd);
		if (!s->r.open)
			return -1;
	}
	probe_round_end(&s->r, errno_failure(errno), NULL, "send: %s", strerror(errno));
	return -1;
}

static void on_timer(struct probe_round *r)
{
	struct dns_slot *s = PROBE_SLOT(r, struct dns_slot);
	int64_t now = ev_now(s->st->loop), next;

	if (now >= s->deadline_ns) {
		if (s->rejected > 0)
			probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "no reply (%u sent; %u rejected: %s)", s->sends,
					s->rejected, s->reject_why);
		else
			probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "no reply (%u sent)", s->sends);
		return;
	}
	if (s->tcp == DNS_TCP_NONE && s->sends < DNS_UDP_TRIES) {
		if (!probe_engine_take_token(s->st->engine)) {
			next = probe_engine_next_token_ns(s->st->engine);
			probe_round_arm(r, next < s->deadline_ns ? next : s->deadline_ns, on_timer);
			return;
		}
		if (send_query(s) < 0)
			return;
	}
	/* next retry at an even share of the time, else the deadline */
	next = s->deadline_ns;
	if (s->tcp == DNS_TCP_NONE && s->sends < DNS_UDP_TRIES)
		next = s->r.start_ns + (s->deadline_ns - s->r.start_ns) * s->sends / DNS_UDP_TRIES;
	if (next <= now)
		next = now + 1;
	probe_round_arm(r, next, on_timer);
}

static void on_icmp(struct dns_state *st, const uint8_t *quote, size_t qlen, const struct probe_icmp_error *e)
{
	const struct sockaddr_storage *dst = &e->dest, *offender = &e->offender;
	struct sockaddr_storage want;
	struct dns_slot *s;
	char from[INET6_ADDRSTRLEN] = "?";
	int id = probe_dns_wire_id(quote, qlen);

	st->c.icmp++;
	if (id < 0)
		return;
	s = st->byid[id];
	if (s == NULL || !s->r.open)
		return;
	/* only an error about this query, sent to this server, counts */
	if (!addr_equal(dst, server_addr(s, &want)) || qlen != s->wlen || memcmp(quote, s->wire, qlen) != 0)
		return;
	if (offender->ss_family != AF_UNSPEC)
		addr_format(offender, from, sizeof(from));
	if ((e->family == AF_INET && e->type == 3 && e->code == 3) ||
	    (e->family == AF_INET6 && e->type == 1 && e->code == 4))
		probe_round_end(&s->r, FAILURE_PORT_UNREACH, e, "port unreachable from %s", from);
	else if ((e->family == AF_INET && e->type == 3) || (e->family == AF_INET6 && e->type == 1))
		probe_round_end(&s->r, icmp_failure(e->family, e->type, e->code), e, "%s (type %u code %u) from %s",
				icmp_error_text(e->family, e->type, e->code), e->type, e->code, from);
	/* time exceeded and others: let retries and the deadline decide */
}

static void read_errqueue(struct dns_state *st, int fd)
{
	for (int i = 0; i < DNS_READ_BATCH; i++) {
		uint8_t data[PROBE_DNS_QUERY_MAX];
		struct probe_icmp_error e;
		int rc = probe_read_icmp_error(fd, data, sizeof(data), &e);
		if (rc < 0)
			return;
		/* longer than any query we send: not ours */
		if (rc == 1 && !e.truncated)
			on_icmp(st, data, e.len, &e);
	}
}

static void on_udp(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)events;
	struct dns_state *st = arg;
	struct probe_dns_reply r;
	struct sockaddr_storage want;
	char err[96], from[INET6_ADDRSTRLEN];

	read_errqueue(st, fd);
	for (int i = 0; i < DNS_READ_BATCH; i++) {
		struct sockaddr_storage src = {0};
		socklen_t sl = sizeof(src);
		ssize_t n = recvfrom(fd, st->buf, sizeof(st->buf), MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
		struct dns_slot *s;
		int id;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* a pending ICMP error surfaces here once: read it */
			read_errqueue(st, fd);
			continue;
		}
		st->c.replies++;
		id = probe_dns_wire_id(st->buf, (size_t)n);
		s = id < 0 ? NULL : st->byid[id];
		if (s == NULL || !s->r.open || s->tcp != DNS_TCP_NONE) {
			st->c.stray++;
			continue;
		}
		if (!addr_equal(&src, server_addr(s, &want))) {
			st->c.rej_source++;
			addr_format(&src, from, sizeof(from));
			reject(s, "reply from wrong address %s", from);
			continue;
		}
		if (probe_dns_reply_check(&s->q, st->buf, (size_t)n,
					  probe_engine_target(st->engine, s->index)->cfg->expect, &r, err,
					  sizeof(err)) < 0) {
			if (strncmp(err, "mismatched id", 13) == 0)
				st->c.rej_id++;
			else
				st->c.rej_bad++;
			reject(s, "%s", err);
			continue;
		}
		if (r.tc) {
			start_tcp(s);
			continue;
		}
		judge(s, &r);
	}
}

static void dns_start(struct probe_engine *e, void *ctx, struct probe_target *t, uint32_t round, int64_t at_ms,
		      int64_t deadline_ns)
{
	(void)e;
	struct dns_state *st = ctx;
	struct dns_slot *s = &st->slots[t->index];
	char err[96];
	int tries;

	probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "no reply before the next round (%u sent)", s->sends);
	probe_round_open(&s->r, st->engine, t, round, at_ms, &dns_hooks);
	s->sent_ns = 0;
	s->deadline_ns = deadline_ns;
	s->sends = 0;
	s->rejected = 0;
	s->reject_why[0] = '\0';
	if ((t->addr.ss_family == AF_INET && st->fd4 < 0) || (t->addr.ss_family == AF_INET6 && st->fd6 < 0)) {
		probe_round_end(&s->r, FAILURE_LOCAL, NULL, "no socket for this address family");
		return;
	}
	/* a fresh id no other open query holds */
	for (tries = 0; tries < 64; tries++) {
		uint16_t id = (uint16_t)arc4random_uniform(65536);
		if (st->byid[id] == NULL) {
			s->q.id = id;
			break;
		}
	}
	if (tries == 64) {
		probe_round_end(&s->r, FAILURE_LOCAL, NULL, "no free query id");
		return;
	}
	st->byid[s->q.id] = s;
	s->id_held = true;
	if (probe_dns_query_wire(&s->q, s->wire, sizeof(s->wire), &s->wlen, err, sizeof(err)) < 0) {
		probe_round_end(&s->r, FAILURE_LOCAL, NULL, "%s", err);
		return;
	}
	if (!probe_round_arm(&s->r, s->r.start_ns, on_timer))
		probe_round_end(&s->r, FAILURE_LOCAL, NULL, "out of memory");
}

static int open_udp(struct dns_state *st, int family, char *err, size_t errlen)
{
	int fd = probe_socket(family, SOCK_DGRAM, 0);
	int buf = 4 << 20;

	if (fd < 0) {
		snprintf(err, errlen, "dns: socket: %s", strerror(errno));
		return -1;
	}
	/* thousands of replies can arrive between two loop turns; past
	 * rmem_max only with CAP_NET_ADMIN, so try that first */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (ev_add_fd(st->loop, fd, EV_READ, on_udp, st) < 0) {
		snprintf(err, errlen, "dns: event loop: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int dns_init(struct probe_engine *e, void *ctx, struct probe_target **targets, size_t n, char *err,
		    size_t errlen)
{
	struct dns_state *st = ctx;
	bool want4 = false, want6 = false;
	char perr[96];

	st->fd4 = st->fd6 = -1;
	st->engine = e;
	st->loop = probe_engine_loop(e);
	for (size_t i = 0; i < probe_engine_target_count(e); i++) {
		st->slots[i].st = st;
		st->slots[i].index = (uint32_t)i;
	}
	for (size_t i = 0; i < n; i++) {
		const struct target_cfg *c = targets[i]->cfg;
		struct dns_slot *s = &st->slots[targets[i]->index];
		if (probe_dns_query_parse(c->query != NULL ? c->query : ". SOA", &s->q, perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "target %s: %s", c->name, perr);
			return -1;
		}
		s->q.rd = c->recursion;
		s->expect_rcode = c->expect_rcode != NULL ? probe_dns_rcode_from_name(c->expect_rcode) : 0;
		if (s->expect_rcode < 0) {
			snprintf(err, errlen, "target %s: unknown rcode \"%s\"", c->name, c->expect_rcode);
			return -1;
		}
		/* unresolved servers never reach start(); open what the rest need */
		want4 |= !targets[i]->resolved || targets[i]->addr.ss_family == AF_INET;
		want6 |= targets[i]->resolved && targets[i]->addr.ss_family == AF_INET6;
	}
	if (want4 && (st->fd4 = open_udp(st, AF_INET, err, errlen)) < 0)
		return -1;
	if (want6 && (st->fd6 = open_udp(st, AF_INET6, err, errlen)) < 0)
		return -1;
	return 0;
}

static void dns_fini(void *ctx)
{
	struct dns_state *st = ctx;
	probe_close(st->loop, &st->fd4);
	probe_close(st->loop, &st->fd6);
}

static void dns_stats(const void *ctx, char *buf, size_t len)
{
	const struct dns_state *st = ctx;
	snprintf(buf, len,
		 "dns: sent %lu, datagrams %lu, rejected: wrong source %lu, wrong id %lu, malformed %lu, stray %lu; "
		 "icmp %lu, tcp %lu",
		 st->c.sent, st->c.replies, st->c.rej_source, st->c.rej_id, st->c.rej_bad, st->c.stray, st->c.icmp,
		 st->c.tcp);
}

const struct probe_ops probe_dns_ops =
    PROBE_OPS(sizeof(struct dns_state), sizeof(struct dns_slot), dns_init, dns_start, dns_fini, dns_stats, NULL);
