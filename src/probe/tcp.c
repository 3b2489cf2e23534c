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
	struct tcp_state *st;
	uint32_t index;
	uint32_t round;
	int64_t at_ms;
	int64_t start_ns;
	uint64_t timer;
	int fd;
	bool open;
};

struct tcp_state {
	struct probe_engine *engine;
	struct ev_loop *loop;
	struct tcp_slot *slots;
	size_t nslots;
};

static struct tcp_state *state;

static void finish(struct tcp_slot *s, enum outcome outcome, const char *from, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void finish(struct tcp_slot *s, enum outcome outcome, const char *from, const char *fmt, ...)
{
	struct tcp_state *st = s->st;
	struct measurement m;
	va_list ap;

	if (!s->open)
		return;
	s->open = false;
	if (s->timer != 0)
		ev_del_timer(st->loop, s->timer);
	s->timer = 0;
	if (s->fd >= 0) {
		ev_del_fd(st->loop, s->fd);
		/* reset instead of FIN: no TIME_WAIT pile-up on either side */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(s->fd);
		s->fd = -1;
	}
	probe_measurement_init(&m, probe_engine_target(st->engine, s->index), s->round, s->at_ms);
	m.outcome = outcome;
	m.loss = outcome == OUTCOME_OK ? 0 : 1;
	m.received = outcome == OUTCOME_OK;
	if (outcome == OUTCOME_OK)
		m.rtt_ms = (double)(ev_now(st->loop) - s->start_ns) / 1e6;
	if (from != NULL)
		snprintf(m.from, sizeof(m.from), "%s", from);
	va_start(ap, fmt);
	vsnprintf(m.detail, sizeof(m.detail), fmt, ap);
	va_end(ap);
	probe_complete(st->engine, &m);
}

/* The router that reported an ICMP error for this socket, if any. */
static bool read_offender(int fd, char *from, size_t len, int *family, uint8_t *type, uint8_t *code, int *err)
{
	struct probe_icmp_error e;
	if (probe_read_icmp_error(fd, NULL, 0, &e) != 1 || e.offender.ss_family == AF_UNSPEC)
		return false;
	addr_format(&e.offender, from, len);
	*family = e.family;
	*type = e.type;
	*code = e.code;
	*err = e.err;
	return true;
}

static void on_ready(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)events;
	struct tcp_slot *s = arg;
	char from[INET6_ADDRSTRLEN] = "";
	uint8_t type = 0, code = 0;
	int soerr = 0, family = AF_INET;
	socklen_t sl = sizeof(soerr);

	/* SO_ERROR first: reading the error queue clears the pending error,
	 * and a failed connect would then look like a success */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	int queued = 0;
	bool icmp = read_offender(fd, from, sizeof(from), &family, &type, &code, &queued);
	if (soerr == 0 && icmp)
		soerr = queued;
	switch (soerr) {
	case 0:
		finish(s, OUTCOME_OK, NULL, "connected");
		break;
	case ECONNREFUSED:
		if (icmp)
			finish(s, OUTCOME_UNREACHABLE, from, "%s (type %u code %u) from %s",
			       icmp_error_text(family, type, code), type, code, from);
		else
			finish(s, OUTCOME_REFUSED, NULL, "connection refused");
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EACCES:
	case EPERM:
	case EHOSTDOWN:
	case ENONET:
	case EPROTO:
		if (icmp)
			finish(s, OUTCOME_UNREACHABLE, from, "%s (type %u code %u) from %s",
			       icmp_error_text(family, type, code), type, code, from);
		else
			finish(s, OUTCOME_UNREACHABLE, NULL, "%s", strerror(soerr));
		break;
	case ETIMEDOUT:
		finish(s, OUTCOME_TIMEOUT, NULL, "connect timed out");
		break;
	default:
		finish(s, OUTCOME_ERROR, NULL, "connect: %s", strerror(soerr));
		break;
	}
}

static int64_t on_deadline(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct tcp_slot *s = arg;
	s->timer = 0;
	finish(s, OUTCOME_TIMEOUT, NULL, "no answer to SYN");
	return EV_TIMER_DONE;
}

static void tcp_start(struct probe_engine *e, struct probe_target *t, uint32_t round, int64_t at_ms,
		      int64_t deadline_ns)
{
	struct tcp_state *st = state;
	struct tcp_slot *s = &st->slots[t->index];
	struct sockaddr_storage addr = t->addr;
	int one = 1;

	if (s->open)
		finish(s, OUTCOME_TIMEOUT, NULL, "no answer before the next round");
	*s = (struct tcp_slot){.st = st, .index = t->index, .round = round, .at_ms = at_ms, .fd = -1, .open = true};
	probe_engine_take_token(e); /* one SYN; the cap is accounted, never waited on here */
	s->start_ns = ev_now(st->loop);
	addr_set_port(&addr, t->cfg->port);
	s->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		finish(s, OUTCOME_ERROR, NULL, "socket: %s", strerror(errno));
		return;
	}
	if (addr.ss_family == AF_INET)
		setsockopt(s->fd, SOL_IP, IP_RECVERR, &one, sizeof(one));
	else
		setsockopt(s->fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof(one));
	/* no SYN retries beyond our deadline matter; keep the kernel's few */
	int syncnt = 2;
	setsockopt(s->fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof(syncnt));
	if (connect(s->fd, (struct sockaddr *)&addr, addr_len(&addr)) == 0) {
		finish(s, OUTCOME_OK, NULL, "connected");
		return;
	}
	if (errno != EINPROGRESS) {
		int err = errno;
		finish(s,
		       err == ENETUNREACH || err == EHOSTUNREACH ? OUTCOME_UNREACHABLE
		       : err == ECONNREFUSED                     ? OUTCOME_REFUSED
								 : OUTCOME_ERROR,
		       NULL, "connect: %s", strerror(err));
		return;
	}
	if (ev_add_fd(st->loop, s->fd, EV_WRITE, on_ready, s) < 0) {
		finish(s, OUTCOME_ERROR, NULL, "event loop: %s", strerror(errno));
		return;
	}
	s->timer = ev_add_timer(st->loop, deadline_ns - ev_now(st->loop), on_deadline, s);
}

static int tcp_init(struct probe_engine *e, struct probe_target **targets, size_t n, char *err, size_t errlen)
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
	for (size_t i = 0; i < st->nslots; i++)
		st->slots[i].fd = -1;
	st->engine = e;
	st->loop = probe_engine_loop(e);
	state = st;
	return 0;
}

static void tcp_fini(struct probe_engine *e)
{
	(void)e;
	struct tcp_state *st = state;
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nslots; i++)
		if (st->slots[i].open)
			finish(&st->slots[i], OUTCOME_TIMEOUT, NULL, "stopped before an answer");
	free(st->slots);
	free(st);
	state = NULL;
}

const struct probe_ops probe_tcp_ops = {
    .kind = KIND_TCP,
    .init = tcp_init,
    .start = tcp_start,
    .fini = tcp_fini,
};
