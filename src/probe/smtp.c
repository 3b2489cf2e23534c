/* SMTP probe: connect, read the 220 greeting, EHLO, QUIT — one small
 * state machine per (target, round) on the event loop, with one
 * transition function (smtp_step).  The greeting is read through the
 * bounded probe_smtp_reader, so a megabyte of banner or a banner trickled
 * one byte per second ends in a clear outcome by the deadline. */
#include "probe/errqueue.h"
#include "probe/probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ev.h"
#include "core/timeutil.h"
#include "probe/smtp_reader.h"

#define SMTP_DEFAULT_PORT 25
#define SMTP_READ_CHUNK   1024

enum smtp_phase { SMTP_IDLE, SMTP_CONNECTING, SMTP_GREETING, SMTP_EHLO, SMTP_QUIT };

struct smtp_slot {
	struct probe_round r;
	struct smtp_state *st;
	int64_t greet_ns;
	enum smtp_phase phase;
	struct probe_smtp_reader rd;
	int greet_code;
	char greeting[PROBE_SMTP_TEXT_MAX];
};

struct smtp_state {
	struct probe_engine *engine;
	struct ev_loop *loop;
	struct smtp_slot *slots;
	size_t nslots;
	char ehlo[300];
	unsigned long started, ok, no_greeting, bad_greeting;
};

static void smtp_finish(struct smtp_slot *s, enum failure f, const struct probe_icmp_error *icmp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void smtp_finish(struct smtp_slot *s, enum failure f, const struct probe_icmp_error *icmp, const char *fmt, ...)
{
	struct measurement m;
	va_list ap;

	if (!s->r.open)
		return;
	s->phase = SMTP_IDLE;
	probe_round_result(&s->r, &m, f, icmp);
	if (s->greet_ns > 0)
		m.rtt_ms = (double)(s->greet_ns - s->r.start_ns) / 1e6;
	if (f == FAILURE_NONE)
		s->st->ok++;
	va_start(ap, fmt);
	probe_round_vfinish(&s->r, &m, fmt, ap);
	va_end(ap);
}

static int send_line(struct smtp_slot *s, const char *line)
{
	size_t n = strlen(line);
	/* a command line is far below any fresh socket's send buffer */
	return send(s->r.fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n ? 0 : -1;
}

static void on_connected(struct smtp_slot *s)
{
	struct probe_icmp_error icmp;
	char from[INET6_ADDRSTRLEN];
	bool has_icmp;
	int err;
	enum failure f = probe_connect_result(s->r.fd, &icmp, &has_icmp, &err);

	if (f == FAILURE_NONE) {
		s->phase = SMTP_GREETING;
		probe_smtp_reader_init(&s->rd);
		ev_mod_fd(s->st->loop, s->r.fd, EV_READ);
		return;
	}
	if (has_icmp) {
		addr_format(&icmp.offender, from, sizeof(from));
		smtp_finish(s, f, &icmp, "connect: %s from %s", strerror(err), from);
	} else if (f == FAILURE_REFUSED) {
		smtp_finish(s, f, NULL, "connect refused");
	} else if (f == FAILURE_TIMEOUT) {
		smtp_finish(s, f, NULL, "connect timeout");
	} else {
		smtp_finish(s, f, NULL, "connect: %s", strerror(err));
	}
}

/* A complete reply arrived in the current phase. */
static void on_reply(struct smtp_slot *s)
{
	const struct target_cfg *cfg = probe_engine_target(s->st->engine, s->r.target)->cfg;
	int code = s->rd.code;

	switch (s->phase) {
	case SMTP_GREETING:
		s->greet_ns = ev_now(s->st->loop);
		s->greet_code = code;
		snprintf(s->greeting, sizeof(s->greeting), "%s", s->rd.text);
		if (code != 220) {
			s->st->bad_greeting++;
			send_line(s, "QUIT\r\n");
			smtp_finish(s, FAILURE_PROTOCOL, NULL, "greeting %d %.80s", code, s->greeting);
			return;
		}
		if (cfg->expect_banner != NULL && strstr(s->greeting, cfg->expect_banner) == NULL) {
			send_line(s, "QUIT\r\n");
			smtp_finish(s, FAILURE_CHECK, NULL, "banner check failed: 220 %.80s", s->greeting);
			return;
		}
		if (send_line(s, s->st->ehlo) < 0) {
			smtp_finish(s, FAILURE_PROTOCOL, NULL, "send EHLO: %s", strerror(errno));
			return;
		}
		s->phase = SMTP_EHLO;
		break;
	case SMTP_EHLO:
		if (code != 250) {
			send_line(s, "QUIT\r\n");
			smtp_finish(s, FAILURE_PROTOCOL, NULL, "EHLO %d %.80s", code, s->rd.text);
			return;
		}
		if (send_line(s, "QUIT\r\n") < 0) {
			smtp_finish(s, FAILURE_NONE, NULL, "220 %.100s", s->greeting);
			return;
		}
		s->phase = SMTP_QUIT;
		break;
	case SMTP_QUIT:
		smtp_finish(s, FAILURE_NONE, NULL, "220 %.100s", s->greeting);
		return;
	default:
		return;
	}
	probe_smtp_reader_init(&s->rd);
}

static void on_eof(struct smtp_slot *s, int err)
{
	char why[64];

	if (err != 0)
		snprintf(why, sizeof(why), "%s", strerror(err));
	else
		snprintf(why, sizeof(why), "closed");
	switch (s->phase) {
	case SMTP_GREETING:
		s->st->no_greeting++;
		smtp_finish(s, err == ECONNRESET ? FAILURE_REFUSED : FAILURE_PROTOCOL, NULL,
			    s->rd.total == 0 ? "no greeting: %s" : "greeting cut: %s", why);
		break;
	case SMTP_EHLO:
		smtp_finish(s, FAILURE_PROTOCOL, NULL, "%s after EHLO (greeting 220 %.60s)", why, s->greeting);
		break;
	default: /* after QUIT a close is the polite answer */
		smtp_finish(s, FAILURE_NONE, NULL, "220 %.100s", s->greeting);
		break;
	}
}

static void on_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)events;
	struct smtp_slot *s = arg;
	char buf[SMTP_READ_CHUNK], err[96];

	if (s->phase == SMTP_CONNECTING) {
		on_connected(s);
		return;
	}
	/* bounded: the reader's caps end any reply within a few KiB */
	for (int i = 0; i < 16 && s->r.open; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		size_t off = 0;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			on_eof(s, n < 0 ? errno : 0);
			return;
		}
		while (s->r.open && off < (size_t)n) {
			size_t used = 0;
			enum probe_smtp_status rs =
			    probe_smtp_reader_feed(&s->rd, buf + off, (size_t)n - off, &used, err, sizeof(err));
			off += used;
			if (rs == PROBE_SMTP_MORE)
				break;
			if (rs == PROBE_SMTP_ERROR) {
				if (s->phase == SMTP_GREETING)
					s->st->bad_greeting++;
				smtp_finish(s, FAILURE_PROTOCOL, NULL, "%s: %s",
					    s->phase == SMTP_GREETING ? "bad greeting" : "bad reply", err);
				return;
			}
			on_reply(s);
			/* bytes the server pushed past its reply are not answers to us */
			probe_smtp_reader_init(&s->rd);
			break;
		}
	}
}

static int64_t on_deadline(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct smtp_slot *s = arg;

	s->r.timer = 0;
	switch (s->phase) {
	case SMTP_CONNECTING:
		smtp_finish(s, FAILURE_TIMEOUT, NULL, "connect timeout");
		break;
	case SMTP_GREETING:
		s->st->no_greeting++;
		if (s->rd.total == 0)
			smtp_finish(s, FAILURE_TIMEOUT, NULL, "no greeting");
		else
			smtp_finish(s, FAILURE_TIMEOUT, NULL, "greeting incomplete (%zu bytes by the deadline)",
				    s->rd.total);
		break;
	case SMTP_EHLO:
		smtp_finish(s, FAILURE_TIMEOUT, NULL, "no reply to EHLO (greeting 220 %.60s)", s->greeting);
		break;
	default: /* greeted and answered EHLO: healthy even without a 221 */
		smtp_finish(s, FAILURE_NONE, NULL, "220 %.100s", s->greeting);
		break;
	}
	return EV_TIMER_DONE;
}

static void smtp_start(void *ctx, struct probe_target *t, uint32_t round, int64_t at_ms, int64_t deadline_ns)
{
	struct smtp_state *st = ctx;
	struct smtp_slot *s = &st->slots[t->index];
	int syncnt = 2, err;

	if (s->r.open)
		smtp_finish(s, FAILURE_TIMEOUT, NULL, "no answer before the next round");
	*s = (struct smtp_slot){.st = st};
	probe_round_open(&s->r, st->engine, t, round, at_ms);
	st->started++;
	probe_engine_take_token(st->engine); /* one SYN, accounted */
	s->r.fd = probe_socket(t->addr.ss_family, SOCK_STREAM, 0);
	if (s->r.fd < 0) {
		smtp_finish(s, FAILURE_LOCAL, NULL, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(s->r.fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof(syncnt));
	s->phase = SMTP_CONNECTING;
	if ((err = probe_connect(s->r.fd, &t->addr, t->cfg->port != 0 ? t->cfg->port : SMTP_DEFAULT_PORT)) != 0) {
		smtp_finish(s, errno_failure(err), NULL, "connect: %s", strerror(err));
		return;
	}
	if (ev_add_fd(st->loop, s->r.fd, EV_WRITE, on_io, s) < 0) {
		smtp_finish(s, FAILURE_LOCAL, NULL, "event loop: %s", strerror(errno));
		return;
	}
	s->r.timer = ev_add_timer(st->loop, deadline_ns - ev_now(st->loop), on_deadline, s);
}

static int smtp_init(struct probe_engine *e, struct probe_target **targets, size_t n, void **ctx, char *err,
		     size_t errlen)
{
	(void)targets;
	(void)n;
	struct smtp_state *st = calloc(1, sizeof(*st));
	const struct config *cfg = probe_engine_config(e);

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
	st->loop = probe_engine_loop(e);
	/* EHLO wants a domain: our vantage name when it is one */
	snprintf(st->ehlo, sizeof(st->ehlo), "EHLO %s\r\n",
		 cfg->vantage != NULL && hostname_valid(cfg->vantage) ? cfg->vantage : "lightsout.invalid");
	*ctx = st;
	return 0;
}

static void smtp_fini(void *ctx)
{
	struct smtp_state *st = ctx;
	for (size_t i = 0; i < st->nslots; i++)
		smtp_finish(&st->slots[i], FAILURE_TIMEOUT, NULL, "stopped before the end of the dialogue");
	free(st->slots);
	free(st);
}

static void smtp_stats(const void *ctx, char *buf, size_t len)
{
	const struct smtp_state *st = ctx;
	snprintf(buf, len, "smtp: started %lu, ok %lu, no greeting %lu, bad greeting %lu", st->started, st->ok,
		 st->no_greeting, st->bad_greeting);
}

const struct probe_ops probe_smtp_ops = {
    .kind = KIND_SMTP,
    .init = smtp_init,
    .start = smtp_start,
    .fini = smtp_fini,
    .stats = smtp_stats,
};
