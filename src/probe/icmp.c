/* ICMP echo, IPv4 and IPv6, one socket per family for every target.
 *
 * Unprivileged ICMP datagram sockets where net.ipv4.ping_group_range
 * allows, raw sockets otherwise.  Every echo carries a payload that names
 * its target, round and echo number, the send time, and a keyed hash over
 * all that and the destination address: a reply is accepted only if the
 * hash matches for the address it came from, so other processes' pings,
 * forged replies and replies from the wrong host are rejected without any
 * per-packet state (zmap's validation idea).  Echoes of a round are spread
 * over the part of the interval that leaves room for the timeout; sends
 * are batched with sendmmsg before the loop sleeps, under the rate cap.
 */
#include "probe/icmp_packet.h"
#include "probe/errqueue.h"
#include "probe/probe.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ev.h"
#include "core/timeutil.h"

#define RAW_ICMP_FILTER 1
#define MAX_ECHOES      ICMP_MAX_ECHOES
#define SEND_BATCH      256
#define RECV_BATCH      64
#define RECV_BUF        1280

struct icmp_slot {
	struct probe_round r; /* r.timer: next echo or the deadline */
	struct icmp_state *st;
	uint32_t index;
	int64_t first_send_ns; /* monotonic, when echo 0 was queued */
	int64_t spacing_ns;
	double rtt_sum_ms;
	struct icmp_round echoes; /* which echoes answered; open and round as r's */
	uint16_t next_echo;       /* echoes queued so far this round */
	bool has_err;
	struct probe_icmp_error err; /* the first ICMP error this round */
	int send_errno;              /* local send failure this round */
};

struct icmp_sock {
	int fd;
	bool raw;
	uint16_t ident; /* the echo identifier our raw socket uses */
};

struct icmp_out {
	uint32_t target;
	uint32_t round;
	uint16_t echo;
};

struct icmp_state {
	struct probe_engine *engine;
	struct ev_loop *loop;
	struct icmp_sock v4, v6;
	size_t nslots;
	/* send queue, a ring */
	struct icmp_out *out;
	size_t out_cap, out_head, out_len;
	uint64_t flush_timer;
	struct icmp_counters counters;
	/* scratch for one batch each way */
	uint8_t rbufs[RECV_BATCH][RECV_BUF];
	uint8_t pkts[SEND_BATCH][ICMP_PACKET_LEN];
	struct icmp_slot slots[]; /* by target index */
};

static void finish_round(struct icmp_state *st, uint32_t index);

static int open_socket(int family, struct icmp_sock *s, char *err, size_t errlen)
{
	int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int one = 1;

	s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	s->raw = false;
	if (s->fd < 0 && (errno == EACCES || errno == EPERM)) {
		s->fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
		s->raw = true;
	}
	if (s->fd < 0) {
		snprintf(err, errlen,
			 "cannot open an ICMP%s socket: %s (allow unprivileged ping with sysctl "
			 "net.ipv4.ping_group_range, or run as root)",
			 family == AF_INET ? "" : "v6", strerror(errno));
		return -1;
	}
	if (family == AF_INET) {
		setsockopt(s->fd, SOL_IP, IP_RECVERR, &one, sizeof(one));
		if (s->raw) {
			/* only what can answer an echo reaches us */
			/* <linux/icmp.h>'s ICMP_FILTER: a bit set blocks that type */
			uint32_t filt = ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) |
					  (1u << ICMP_TIME_EXCEEDED) | (1u << ICMP_PARAMETERPROB));
			setsockopt(s->fd, SOL_RAW, RAW_ICMP_FILTER, &filt, sizeof(filt));
		}
	} else {
		setsockopt(s->fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof(one));
		if (s->raw) {
			struct icmp6_filter filt;
			ICMP6_FILTER_SETBLOCKALL(&filt);
			ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filt);
			ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &filt);
			ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &filt);
			ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &filt);
			setsockopt(s->fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt));
		}
	}
	int rcvbuf = 16 << 20;
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	return 0;
}

/* ---- receive ---- */

static void accept_reply(struct icmp_state *st, const struct icmp_match *mt, int64_t now_ns)
{
	struct icmp_slot *slot = &st->slots[mt->target];
	switch (icmp_round_accept(&slot->echoes, mt->round, mt->echo)) {
	case ICMP_ACCEPT_LATE:
		st->counters.late++;
		return;
	case ICMP_ACCEPT_DUPLICATE:
		st->counters.duplicate++;
		return;
	case ICMP_ACCEPT_NEW:
		break;
	}
	double rtt = (double)(now_ns - mt->sent_ns) / 1e6;
	slot->rtt_sum_ms += rtt > 0 ? rtt : 0;
	st->counters.accepted++;
	if (slot->echoes.nreceived == slot->echoes.count)
		finish_round(st, mt->target);
}

static void accept_error(struct icmp_state *st, const struct icmp_match *mt, const struct probe_icmp_error *e)
{
	struct icmp_slot *slot = &st->slots[mt->target];
	if (!slot->echoes.open || slot->echoes.round != mt->round) {
		st->counters.late++;
		return;
	}
	st->counters.errors++;
	if (!slot->has_err) {
		slot->has_err = true;
		slot->err = *e;
	}
}

static bool target_is_icmp(struct icmp_state *st, uint32_t index)
{
	return index < st->nslots && st->slots[index].echoes.count > 0;
}

static void handle_packet(struct icmp_state *st, struct icmp_sock *s, int family, const uint8_t *buf, size_t len,
			  const struct sockaddr_storage *from, int64_t now_ns)
{
	struct icmp_match mt;
	struct icmp_parse_ctx ctx = {
	    .key = probe_engine_key(st->engine),
	    .raw = s->raw,
	    .ident = s->ident,
	    .family = family,
	};
	enum icmp_verdict v = icmp_parse_packet(&ctx, buf, len, from, &mt);
	switch (v) {
	case ICMP_VERDICT_REPLY:
	case ICMP_VERDICT_ERROR: {
		if (!target_is_icmp(st, mt.target)) {
			st->counters.forged++;
			return;
		}
		struct probe_target *t = probe_engine_target(st->engine, mt.target);
		/* the hash already binds the address; this also catches an
		 * error quoting a packet to another destination */
		if (!addr_equal(&t->addr, &mt.dest)) {
			st->counters.forged++;
			return;
		}
		if (v == ICMP_VERDICT_REPLY) {
			accept_reply(st, &mt, now_ns);
		} else {
			struct probe_icmp_error e = {
			    .family = family, .type = mt.err_type, .code = mt.err_code, .offender = *from};
			accept_error(st, &mt, &e);
		}
		return;
	}
	case ICMP_VERDICT_FORGED:
		st->counters.forged++;
		return;
	case ICMP_VERDICT_NOT_OURS:
		st->counters.stray++;
		return;
	}
}

/* Errors on a datagram socket come through the error queue with the
 * offending router and our own echo as the data. */
static void drain_errqueue(struct icmp_state *st, struct icmp_sock *s, int family)
{
	for (int i = 0; i < 64; i++) {
		uint8_t buf[RECV_BUF];
		struct probe_icmp_error e;
		struct icmp_match mt;
		struct icmp_parse_ctx ctx = {.key = probe_engine_key(st->engine), .family = family};
		int rc = probe_read_icmp_error(s->fd, buf, sizeof(buf), &e);
		if (rc < 0)
			return;
		if (rc == 0)
			continue;
		if (e.dest.ss_family != family || icmp_parse_own_echo(&ctx, buf, e.len, &e.dest, &mt) != 0 ||
		    !target_is_icmp(st, mt.target) ||
		    !addr_equal(&probe_engine_target(st->engine, mt.target)->addr, &e.dest)) {
			st->counters.forged++;
			continue;
		}
		accept_error(st, &mt, &e);
	}
}

static void on_readable(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)events;
	struct icmp_state *st = arg;
	struct icmp_sock *s = fd == st->v4.fd ? &st->v4 : &st->v6;
	int family = s == &st->v4 ? AF_INET : AF_INET6;
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iovs[RECV_BATCH];
	struct sockaddr_storage froms[RECV_BATCH];

	if (!s->raw)
		drain_errqueue(st, s, family);
	for (int rounds = 0; rounds < 16; rounds++) {
		for (int i = 0; i < RECV_BATCH; i++) {
			iovs[i] = (struct iovec){.iov_base = st->rbufs[i], .iov_len = RECV_BUF};
			msgs[i].msg_hdr = (struct msghdr){.msg_name = &froms[i],
							  .msg_namelen = sizeof(froms[i]),
							  .msg_iov = &iovs[i],
							  .msg_iovlen = 1};
		}
		int n = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
		/* one clock read per batch: RTTs are exact to the batch */
		int64_t now_ns = mono_now_ns();
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && !s->raw)
				drain_errqueue(st, s, family);
			return;
		}
		for (int i = 0; i < n; i++) {
			if (froms[i].ss_family != family || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
				st->counters.stray++;
			else
				handle_packet(st, s, family, st->rbufs[i], msgs[i].msg_len, &froms[i], now_ns);
		}
		if (n < RECV_BATCH)
			return;
	}
}

/* ---- rounds ---- */

static void finish_round(struct icmp_state *st, uint32_t index)
{
	struct icmp_slot *slot = &st->slots[index];
	struct probe_target *t = probe_engine_target(st->engine, index);
	struct measurement m;
	char from[INET6_ADDRSTRLEN];

	if (!slot->echoes.open)
		return;
	slot->echoes.open = false;
	if (slot->echoes.nreceived > 0) {
		probe_round_result(&slot->r, &m, FAILURE_NONE, NULL);
		m.rtt_ms = slot->rtt_sum_ms / slot->echoes.nreceived;
	} else if (slot->has_err) {
		probe_round_result(&slot->r, &m, icmp_failure(slot->err.family, slot->err.type, slot->err.code),
				   &slot->err);
	} else if (slot->send_errno != 0) {
		/* the kernel refused to send: no route on our side */
		probe_round_result(&slot->r, &m, errno_failure(slot->send_errno), NULL);
	} else {
		probe_round_result(&slot->r, &m, FAILURE_TIMEOUT, NULL);
	}
	m.sent = slot->next_echo;
	m.received = slot->echoes.nreceived;
	m.loss = 1.0f - (float)slot->echoes.nreceived / (float)slot->echoes.count;
	if (slot->echoes.nreceived > 0) {
		probe_round_finish(&slot->r, &m, "%u/%u replies", slot->echoes.nreceived, slot->echoes.count);
	} else if (slot->has_err) {
		addr_format(&slot->err.offender, from, sizeof(from));
		probe_round_finish(&slot->r, &m, "%s (type %u code %u) from %s",
				   icmp_error_text(t->addr.ss_family, slot->err.type, slot->err.code), slot->err.type,
				   slot->err.code, from);
	} else if (slot->send_errno != 0) {
		probe_round_finish(&slot->r, &m, "send: %s", strerror(slot->send_errno));
	} else {
		probe_round_finish(&slot->r, &m, "0/%u replies", slot->echoes.count);
	}
}

static void queue_echo(struct icmp_state *st, uint32_t index, uint16_t echo)
{
	struct icmp_out entry = {.target = index, .round = st->slots[index].echoes.round, .echo = echo};
	if (st->out_len == st->out_cap) {
		size_t cap = st->out_cap ? st->out_cap * 2 : 1024;
		struct icmp_out *out = malloc(cap * sizeof(*out));
		if (out == NULL) {
			st->counters.send_errors++;
			return;
		}
		for (size_t i = 0; i < st->out_len; i++)
			out[i] = st->out[(st->out_head + i) % st->out_cap];
		free(st->out);
		st->out = out;
		st->out_cap = cap;
		st->out_head = 0;
	}
	st->out[(st->out_head + st->out_len) % st->out_cap] = entry;
	st->out_len++;
}

static void on_slot_timer(struct probe_round *r);

static void arm_slot_timer(struct icmp_slot *slot)
{
	struct probe_target *t = probe_engine_target(slot->st->engine, slot->index);
	int64_t when;
	if (slot->next_echo < slot->echoes.count)
		when = slot->first_send_ns + slot->spacing_ns * slot->next_echo;
	else
		when =
		    slot->first_send_ns + slot->spacing_ns * (slot->echoes.count - 1) + t->cfg->timeout_ms * NS_PER_MS;
	probe_round_arm(&slot->r, when, on_slot_timer);
}

static void on_slot_timer(struct probe_round *r)
{
	struct icmp_slot *slot = PROBE_SLOT(r, struct icmp_slot);

	if (!slot->echoes.open)
		return;
	if (slot->next_echo < slot->echoes.count) {
		queue_echo(slot->st, slot->index, slot->next_echo++);
		arm_slot_timer(slot);
	} else {
		finish_round(slot->st, slot->index);
	}
}

/* Cut short by the stop: only echoes whose timeout has passed can count
 * as lost; the engine drops a round with none answered. */
static void icmp_stop(struct probe_round *r)
{
	struct icmp_slot *slot = PROBE_SLOT(r, struct icmp_slot);
	int64_t now = mono_now_ns();
	int64_t timeout_ns = probe_engine_target(r->engine, slot->index)->cfg->timeout_ms * NS_PER_MS;
	uint16_t due = 0;

	while (due < slot->next_echo && slot->first_send_ns + slot->spacing_ns * due + timeout_ns <= now)
		due++;
	slot->echoes.count = slot->echoes.nreceived > due ? slot->echoes.nreceived : due;
	if (slot->echoes.count == 0)
		slot->echoes.count = 1; /* nothing answered, nothing due: a timeout the engine drops */
	finish_round(slot->st, slot->index);
}

static const struct probe_round_hooks icmp_hooks = {.stop = icmp_stop};

static void icmp_start(struct probe_engine *e, void *ctx, struct probe_target *t, uint32_t round, int64_t at_ms,
		       int64_t deadline_ns)
{
	(void)deadline_ns;
	struct icmp_state *st = ctx;
	struct icmp_slot *slot = &st->slots[t->index];
	int64_t interval_ns = t->cfg->interval_ms * NS_PER_MS, timeout_ns = t->cfg->timeout_ms * NS_PER_MS;

	if (slot->echoes.open)
		finish_round(st, t->index);
	uint16_t count = (uint16_t)(t->cfg->count < MAX_ECHOES ? t->cfg->count : MAX_ECHOES);
	*slot = (struct icmp_slot){
	    .st = st, .index = t->index, .echoes = {.count = count ? count : 1, .round = round, .open = true}};
	probe_round_open(&slot->r, e, t, round, at_ms, &icmp_hooks);
	slot->first_send_ns = slot->r.start_ns;
	/* spread the echoes over what the interval leaves after the timeout,
	 * so the round ends before the next one starts */
	int64_t room = interval_ns - timeout_ns;
	if (room <= 0)
		room = interval_ns / 4;
	slot->spacing_ns = slot->echoes.count > 1 ? room / slot->echoes.count : 0;
	queue_echo(st, t->index, slot->next_echo++);
	arm_slot_timer(slot);
}

static void send_errored(struct icmp_state *st, uint32_t index, int err)
{
	st->counters.send_errors++;
	if (st->slots[index].echoes.open && st->slots[index].send_errno == 0)
		st->slots[index].send_errno = err;
}

static int64_t on_flush_timer(struct ev_loop *loop, uint64_t id, void *arg);

static void icmp_flush(void *ctx)
{
	struct icmp_state *st = ctx;
	struct probe_engine *e = st->engine;
	uint8_t(*pkts)[ICMP_PACKET_LEN] = st->pkts;
	struct mmsghdr msgs[SEND_BATCH];
	struct iovec iovs[SEND_BATCH];
	struct icmp_out batch[SEND_BATCH];
	/* Send at most this much per loop iteration, so replies are read
	 * between batches instead of overflowing the socket buffer. */
	size_t budget = 4 * SEND_BATCH;

	while (st->out_len > 0) {
		if (budget < SEND_BATCH)
			goto later;
		budget -= SEND_BATCH;
		/* one sendmmsg per run of one family, in queue order */
		int family = 0, n = 0;
		int64_t now_ns = mono_now_ns();
		while (n < SEND_BATCH && st->out_len > 0) {
			struct icmp_out o = st->out[st->out_head];
			struct probe_target *t = probe_engine_target(e, o.target);
			struct icmp_slot *slot = &st->slots[o.target];
			if (!slot->echoes.open || slot->echoes.round != o.round) {
				/* its round already ended: nothing to send */
				st->out_head = (st->out_head + 1) % st->out_cap;
				st->out_len--;
				continue;
			}
			if (family != 0 && t->addr.ss_family != family)
				break;
			if (!probe_engine_take_token(e))
				break;
			st->out_head = (st->out_head + 1) % st->out_cap;
			st->out_len--;
			family = t->addr.ss_family;
			struct icmp_sock *s = family == AF_INET ? &st->v4 : &st->v6;
			struct icmp_build b = {.key = probe_engine_key(e),
					       .raw = s->raw,
					       .ident = s->ident,
					       .target = o.target,
					       .round = o.round,
					       .echo = o.echo,
					       .count = slot->echoes.count,
					       .sent_ns = now_ns};
			icmp_build_echo(&b, &t->addr, pkts[n]);
			iovs[n] = (struct iovec){.iov_base = pkts[n], .iov_len = ICMP_PACKET_LEN};
			msgs[n].msg_hdr = (struct msghdr){.msg_name = &t->addr,
							  .msg_namelen = addr_len(&t->addr),
							  .msg_iov = &iovs[n],
							  .msg_iovlen = 1};
			batch[n] = o;
			n++;
		}
		if (n == 0)
			break;
		int fd = family == AF_INET ? st->v4.fd : st->v6.fd;
		int sent = 0;
		while (sent < n) {
			int r = sendmmsg(fd, msgs + sent, (unsigned)(n - sent), 0);
			if (r >= 0) {
				st->counters.sent += (uint64_t)r;
				sent += r;
				continue;
			}
			if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
				/* socket buffer full: the rest goes first next time */
				for (int i = n - 1; i >= sent; i--) {
					st->out_head = (st->out_head + st->out_cap - 1) % st->out_cap;
					st->out[st->out_head] = batch[i];
					st->out_len++;
				}
				goto later;
			}
			send_errored(st, batch[sent].target, errno);
			sent++;
		}
	}
	if (st->out_len == 0)
		return;
later:
	/* wake for the next token, or at once when only the budget stopped us */
	if (st->flush_timer == 0)
		st->flush_timer =
		    ev_add_timer(st->loop, probe_engine_next_token_ns(e) - ev_now(st->loop), on_flush_timer, st);
}

static int64_t on_flush_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct icmp_state *st = arg;
	st->flush_timer = 0;
	/* the flush itself runs in the before-sleep hook right after this */
	return EV_TIMER_DONE;
}

static int event_loop_error(char *err, size_t errlen)
{
	snprintf(err, errlen, "event loop: %s", strerror(errno));
	return -1;
}

static int icmp_init(struct probe_engine *e, void *ctx, struct probe_target **targets, size_t n, char *err,
		     size_t errlen)
{
	struct icmp_state *st = ctx;
	bool need4 = false, need6 = false, maybe6 = false;

	st->engine = e;
	st->loop = probe_engine_loop(e);
	st->v4.fd = st->v6.fd = -1;
	st->nslots = probe_engine_target_count(e);
	for (size_t i = 0; i < n; i++) {
		/* count > 0 marks a slot as an ICMP target */
		st->slots[targets[i]->index].echoes.count = 1;
		if (!targets[i]->resolved) {
			/* its name may resolve later, to either family */
			need4 = maybe6 = true;
			continue;
		}
		if (targets[i]->addr.ss_family == AF_INET)
			need4 = true;
		else
			need6 = true;
	}
	uint16_t ident = (uint16_t)(probe_engine_key(e)[0] | probe_engine_key(e)[1] << 8);
	if (need4) {
		if (open_socket(AF_INET, &st->v4, err, errlen) < 0)
			return -1;
		st->v4.ident = ident;
		if (ev_add_fd(st->loop, st->v4.fd, EV_READ, on_readable, st) < 0)
			return event_loop_error(err, errlen);
	}
	if (need6 || maybe6) {
		if (open_socket(AF_INET6, &st->v6, err, errlen) < 0) {
			if (need6)
				return -1;
			st->v6.fd = -1; /* only wanted in case a name resolves to IPv6 */
		}
	}
	if (st->v6.fd >= 0) {
		st->v6.ident = ident;
		if (ev_add_fd(st->loop, st->v6.fd, EV_READ, on_readable, st) < 0)
			return event_loop_error(err, errlen);
	}
	return 0;
}

static void icmp_fini(void *ctx)
{
	struct icmp_state *st = ctx;

	if (st->flush_timer != 0)
		ev_del_timer(st->loop, st->flush_timer);
	probe_close(st->loop, &st->v4.fd);
	probe_close(st->loop, &st->v6.fd);
	free(st->out);
}

static void icmp_stats(const void *ctx, char *buf, size_t len)
{
	const struct icmp_counters *c = &((const struct icmp_state *)ctx)->counters;
	snprintf(buf, len,
		 "icmp: sent %llu, accepted %llu, errors %llu, stray %llu, forged %llu, late %llu, duplicate %llu, "
		 "send errors %llu",
		 (unsigned long long)c->sent, (unsigned long long)c->accepted, (unsigned long long)c->errors,
		 (unsigned long long)c->stray, (unsigned long long)c->forged, (unsigned long long)c->late,
		 (unsigned long long)c->duplicate, (unsigned long long)c->send_errors);
}

const struct probe_ops probe_icmp_ops = PROBE_OPS(sizeof(struct icmp_state), sizeof(struct icmp_slot), icmp_init,
						  icmp_start, icmp_fini, icmp_stats, icmp_flush);
