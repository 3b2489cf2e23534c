/* TCP connect probe: a non-blocking connect per round with a deadline.
 * IP_RECVERR turns an ICMP error during the handshake into an immediate
 * failure (instead of SYN retries until the timeout) and gives us the
 * router that sent it. */
#include "probe/errqueue.h"
#include "probe/probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ev.h"
#include "core/timeutil.h"

static void tcp_fill(struct probe_round *r, struct measurement *m)
{
	if (m->failure == FAILURE_NONE)
		m->rtt_ms = (double)(ev_now(probe_engine_loop(r->engine)) - r->start_ns) / 1e6;
}

static const struct probe_round_hooks tcp_hooks = {.fill = tcp_fill};

static void on_ready(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)events;
	struct probe_round *r = arg;
	struct probe_icmp_error icmp;
	char from[INET6_ADDRSTRLEN];
	bool has_icmp;
	int err;
	enum failure f = probe_connect_result(fd, &icmp, &has_icmp, &err);

	if (has_icmp) {
		addr_format(&icmp.offender, from, sizeof(from));
		probe_round_end(r, f, &icmp, "%s (type %u code %u) from %s",
				icmp_error_text(icmp.family, icmp.type, icmp.code), icmp.type, icmp.code, from);
		return;
	}
	switch (f) {
	case FAILURE_NONE:
		probe_round_end(r, f, NULL, "connected");
		break;
	case FAILURE_REFUSED:
		probe_round_end(r, f, NULL, "connection refused");
		break;
	case FAILURE_TIMEOUT:
		probe_round_end(r, f, NULL, "connect timed out");
		break;
	case FAILURE_LOCAL:
		probe_round_end(r, f, NULL, "connect: %s", strerror(err));
		break;
	default:
		probe_round_end(r, f, NULL, "%s", strerror(err));
		break;
	}
}

static void on_deadline(struct probe_round *r)
{
	probe_round_end(r, FAILURE_TIMEOUT, NULL, "no answer to SYN");
}

/* The SYN, once the rate cap allows it. */
static void tcp_send(struct probe_round *r)
{
	probe_round_connect(r, probe_engine_target(r->engine, r->target)->cfg->port, on_ready, r, on_deadline);
}

/* ctx: one struct probe_round per target */
static void tcp_start(struct probe_engine *e, void *ctx, struct probe_target *t, uint32_t round, int64_t at_ms,
		      int64_t deadline_ns)
{
	struct probe_round *r = (struct probe_round *)ctx + t->index;

	probe_round_end(r, FAILURE_TIMEOUT, NULL, "no answer before the next round");
	probe_round_open(r, e, t, round, at_ms, &tcp_hooks);
	r->reset = true; /* reset instead of FIN: no TIME_WAIT pile-up on either side */
	probe_round_send(r, deadline_ns, tcp_send);
}

const struct probe_ops probe_tcp_ops = PROBE_OPS(0, sizeof(struct probe_round), NULL, tcp_start, NULL, NULL, NULL);
