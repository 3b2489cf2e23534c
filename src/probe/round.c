/* What every kind does the same way: a round's bookkeeping, timer and
 * teardown, its measurement, and the sockets with ICMP errors on. */
#include "probe/errqueue.h"
#include "probe/probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/ev.h"
#include "core/timeutil.h"
#include "probe/engine_round.h"

void probe_round_open(struct probe_round *r, struct probe_engine *e, const struct probe_target *t, uint32_t round,
		      int64_t at_ms, const struct probe_round_hooks *hooks)
{
	*r = (struct probe_round){.engine = e,
				  .hooks = hooks,
				  .target = t->index,
				  .round = round,
				  .at_ms = at_ms,
				  .start_ns = ev_now(probe_engine_loop(e)),
				  .fd = -1,
				  .open = true};
	probe_engine_round_opened(e, r);
}

void probe_round_send(struct probe_round *r, int64_t deadline_ns, probe_round_fn send)
{
	r->deadline_ns = deadline_ns;
	r->on_send = send;
	if (probe_engine_queue_send(r->engine, r))
		send(r);
}

void probe_round_sent(struct probe_round *r)
{
	int64_t waited = ev_now(probe_engine_loop(r->engine)) - r->start_ns;

	r->start_ns += waited;
	r->at_ms += waited / NS_PER_MS;
	r->deadline_ns += waited;
	r->on_send(r);
}

static int64_t on_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct probe_round *r = arg;
	r->timer = 0;
	r->on_timer(r); /* may arm the timer again, or end the round */
	return EV_TIMER_DONE;
}

bool probe_round_arm(struct probe_round *r, int64_t at_ns, probe_round_fn fn)
{
	struct ev_loop *loop = probe_engine_loop(r->engine);
	int64_t now = ev_now(loop);

	if (r->timer != 0)
		ev_del_timer(loop, r->timer);
	r->on_timer = fn;
	r->timer = ev_add_timer(loop, at_ns > now ? at_ns - now : 0, on_timer, r);
	return r->timer != 0;
}

void probe_round_result(const struct probe_round *r, struct measurement *m, enum failure f,
			const struct probe_icmp_error *icmp)
{
	memset(m, 0, sizeof(*m));
	m->target = r->target;
	m->round = r->round;
	m->at_ms = r->at_ms;
	m->failure = f;
	m->outcome = failure_outcome(f);
	m->rtt_ms = -1;
	m->sent = 1;
	m->received = f == FAILURE_NONE;
	m->loss = f == FAILURE_NONE ? 0 : 1;
	if (icmp != NULL) {
		m->icmp_family = (uint8_t)icmp->family;
		m->icmp_type = icmp->type;
		m->icmp_code = icmp->code;
		probe_measurement_set_from(m, &icmp->offender);
	}
}

static void vfinish(struct probe_round *r, struct measurement *m, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vfinish(struct probe_round *r, struct measurement *m, const char *fmt, va_list ap)
{
	struct ev_loop *loop = probe_engine_loop(r->engine);

	r->open = false;
	probe_engine_unqueue(r->engine, r);
	if (r->timer != 0)
		ev_del_timer(loop, r->timer);
	r->timer = 0;
	if (r->fd >= 0 && r->reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(r->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	probe_close(loop, &r->fd);
	vsnprintf(m->detail, sizeof(m->detail), fmt, ap);
	probe_complete(r->engine, m);
}

void probe_round_end(struct probe_round *r, enum failure f, const struct probe_icmp_error *icmp, const char *fmt, ...)
{
	struct measurement m;
	va_list ap;

	if (!r->open)
		return;
	probe_round_result(r, &m, f, icmp);
	if (r->hooks != NULL && r->hooks->fill != NULL)
		r->hooks->fill(r, &m);
	va_start(ap, fmt);
	vfinish(r, &m, fmt, ap);
	va_end(ap);
}

void probe_round_finish(struct probe_round *r, struct measurement *m, const char *fmt, ...)
{
	va_list ap;

	if (!r->open)
		return;
	va_start(ap, fmt);
	vfinish(r, m, fmt, ap);
	va_end(ap);
}

void probe_round_connect(struct probe_round *r, uint16_t port, void (*fn)(struct ev_loop *, int, unsigned, void *),
			 void *arg, probe_round_fn on_deadline)
{
	const struct probe_target *t = probe_engine_target(r->engine, r->target);
	/* no SYN retries beyond our deadline matter; keep the kernel's few */
	int syncnt = 2, err;

	r->fd = probe_socket(t->addr.ss_family, SOCK_STREAM, 0);
	if (r->fd < 0) {
		probe_round_end(r, FAILURE_LOCAL, NULL, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(r->fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof(syncnt));
	if ((err = probe_connect(r->fd, &t->addr, port)) != 0)
		probe_round_end(r, errno_failure(err), NULL, "connect: %s", strerror(err));
	else if (ev_add_fd(probe_engine_loop(r->engine), r->fd, EV_WRITE, fn, arg) < 0)
		probe_round_end(r, FAILURE_LOCAL, NULL, "event loop: %s", strerror(errno));
	else
		probe_round_arm(r, r->deadline_ns, on_deadline);
}

void probe_close(struct ev_loop *loop, int *fd)
{
	if (*fd >= 0) {
		ev_del_fd(loop, *fd);
		close(*fd);
	}
	*fd = -1;
}

int probe_socket(int family, int type, int protocol)
{
	int one = 1, fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);

	if (fd < 0)
		return -1;
	if (family == AF_INET)
		setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof(one));
	else
		setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof(one));
	return fd;
}

int probe_connect(int fd, const struct sockaddr_storage *addr, uint16_t port)
{
	struct sockaddr_storage ss = *addr;

	if (port != 0)
		addr_set_port(&ss, port);
	if (connect(fd, (struct sockaddr *)&ss, addr_len(&ss)) == 0 || errno == EINPROGRESS)
		return 0;
	return errno;
}

enum failure probe_connect_result(int fd, struct probe_icmp_error *icmp, bool *has_icmp, int *err)
{
	socklen_t sl = sizeof(*err);
	bool queued;
	enum failure f;

	*err = 0;
	/* SO_ERROR first: reading the error queue clears the pending error,
	 * and a failed connect would then look like a success */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &sl) < 0)
		*err = errno;
	queued = probe_read_icmp_error(fd, NULL, 0, icmp) == 1 && icmp->offender.ss_family != AF_UNSPEC;
	if (*err == 0 && queued)
		*err = icmp->err;
	f = errno_failure(*err);
	/* a router's error says more than its errno (a port unreachable is
	 * ECONNREFUSED, yet no reset) */
	*has_icmp = queued && (f == FAILURE_REFUSED || failure_outcome(f) == OUTCOME_UNREACHABLE);
	if (*has_icmp)
		f = icmp_failure(icmp->family, icmp->type, icmp->code);
	return f;
}
