/* TCP connect probe: a non-blocking connect per round with a deadline.
 * IP_RECVERR turns an ICMP error during the handshake into an immediate
 * failure (instead of SYN retries until the timeout) and gives us the
 * router that sent it. */
#include "probe/errqueue.h"
#include "probe/probe.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ev.h"
#include "core/timeutil.h"

struct tcp_slot {
	struct probe_round r;
};

struct tcp_state {
	struct probe_engine *engine;
	struct tcp_slot *slots;
	size_t nslots;
};

static void finish(struct tcp_slot *s, enum failure f, const struct probe_icmp_error *icmp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void finish(struct tcp_slot *s, enum failure f, const struct probe_icmp_error *icmp, const char *fmt, ...)
{
	struct measurement m;
	va_list ap;

	probe_round_result(&s->r, &m, f, icmp);
	if (f == FAILURE_NONE)
		m.rtt_ms = (double)(ev_now(probe_engine_loop(s->r.engine)) - s->r.start_ns) / 1e6;
	va_start(ap, fmt);
	probe_round_vfinish(&s->r, &m, fmt, ap);
	va_end(ap);
}

static void on_ready(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)events;
	struct tcp_slot *s = arg;
	struct probe_icmp_error icmp;
	char from[INET6_ADDRSTRLEN];
	bool has_icmp;
	int err;
	enum failure f = probe_connect_result(fd, &icmp, &has_icmp, &err);

	if (has_icmp) {
		addr_format(&icmp.offender, from, sizeof(from));
		finish(s, f, &icmp, "%s (type %u code %u) from %s", icmp_error_text(icmp.family, icmp.type, icmp.code),
		       icmp.type, icmp.code, from);
		return;
	}
	switch (f) {
	case FAILURE_NONE:
		finish(s, f, NULL, "connected");
		break;
	case FAILURE_REFUSED:
		finish(s, f, NULL, "connection refused");
		break;
	case FAILURE_TIMEOUT:
		finish(s, f, NULL, "connect timed out");
		break;
	case FAILURE_LOCAL:
		finish(s, f, NULL, "connect: %s", strerror(err));
		break;
	default:
		finish(s, f, NULL, "%s", strerror(err));
		break;
	}
}

static int64_t on_deadline(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct tcp_slot *s = arg;
	s->r.timer = 0;
	finish(s, FAILURE_TIMEOUT, NULL, "no answer to SYN");
	return EV_TIMER_DONE;
}

static void tcp_start(void *ctx, struct probe_target *t, uint32_t round, int64_t at_ms, int64_t deadline_ns)
{
	struct tcp_state *st = ctx;
	struct tcp_slot *s = &st->slots[t->index];
	struct ev_loop *loop = probe_engine_loop(st->engine);
	int err;

	if (s->r.open)
		finish(s, FAILURE_TIMEOUT, NULL, "no answer before the next round");
	probe_round_open(&s->r, st->engine, t, round, at_ms);
	s->r.reset = true;                   /* reset instead of FIN: no TIME_WAIT pile-up on either side */
	probe_engine_take_token(st->engine); /* one SYN; the cap is accounted, never waited on here */
	s->r.fd = probe_socket(t->addr.ss_family, SOCK_STREAM, 0);
	if (s->r.fd < 0) {
		finish(s, FAILURE_LOCAL, NULL, "socket: %s", strerror(errno));
		return;
	}
	/* no SYN retries beyond our deadline matter; keep the kernel's few */
	int syncnt = 2;
	setsockopt(s->r.fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof(syncnt));
	if ((err = probe_connect(s->r.fd, &t->addr, t->cfg->port)) != 0) {
		finish(s, errno_failure(err), NULL, "connect: %s", strerror(err));
		return;
	}
	if (ev_add_fd(loop, s->r.fd, EV_WRITE, on_ready, s) < 0) {
		finish(s, FAILURE_LOCAL, NULL, "event loop: %s", strerror(errno));
		return;
	}
	s->r.timer = ev_add_timer(loop, deadline_ns - ev_now(loop), on_deadline, s);
}

static int tcp_init(struct probe_engine *e, struct probe_target **targets, size_t n, void **ctx, char *err,
		    size_t errlen)
{
	(void)targets;
	(void)n;
	struct tcp_state *st = calloc(1, sizeof(*st));
	if (st != NULL) {
		st->nslots = probe_engine_target_count(e);
		st->slots = calloc(st->nslots ? st->nslots : 1, sizeof(*st->slots));
	}
	if (st == NULL || st->slots == NULL) {
		free(st);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->engine = e;
	*ctx = st;
	return 0;
}

static void tcp_fini(void *ctx)
{
	struct tcp_state *st = ctx;
	for (size_t i = 0; i < st->nslots; i++)
		finish(&st->slots[i], FAILURE_TIMEOUT, NULL, "stopped before an answer");
	free(st->slots);
	free(st);
}

const struct probe_ops probe_tcp_ops = {
    .kind = KIND_TCP,
    .init = tcp_init,
    .start = tcp_start,
    .fini = tcp_fini,
};
