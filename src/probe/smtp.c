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
	char ehlo[300];
	unsigned long started, ok, no_greeting, bad_greeting;
	struct smtp_slot slots[]; /* by target index */
};

static void smtp_fill(struct probe_round *r, struct measurement *m)
{
	struct smtp_slot *s = PROBE_SLOT(r, struct smtp_slot);

	s->phase = SMTP_IDLE;
	if (s->greet_ns > 0)
		m->rtt_ms = (double)(s->greet_ns - r->start_ns) / 1e6;
	if (m->failure == FAILURE_NONE)
		s->st->ok++;
}

static const struct probe_round_hooks smtp_hooks = {.fill = smtp_fill};

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
		probe_round_end(&s->r, f, &icmp, "connect: %s from %s", strerror(err), from);
	} else if (f == FAILURE_REFUSED) {
		probe_round_end(&s->r, f, NULL, "connect refused");
	} else if (f == FAILURE_TIMEOUT) {
		probe_round_end(&s->r, f, NULL, "connect timeout");
	} else {
		probe_round_end(&s->r, f, NULL, "connect: %s", strerror(err));
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
			probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "greeting %d %.80s", code, s->greeting);
			return;
		}
		if (cfg->expect_banner != NULL && strstr(s->greeting, cfg->expect_banner) == NULL) {
			send_line(s, "QUIT\r\n");
			probe_round_end(&s->r, FAILURE_CHECK, NULL, "banner check failed: 220 %.80s", s->greeting);
			return;
		}
		if (send_line(s, s->st->ehlo) < 0) {
			probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "send EHLO: %s", strerror(errno));
			return;
		}
		s->phase = SMTP_EHLO;
		break;
	case SMTP_EHLO:
		if (code != 250) {
			send_line(s, "QUIT\r\n");
			probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "EHLO %d %.80s", code, s->rd.text);
			return;
		}
		if (send_line(s, "QUIT\r\n") < 0) {
			probe_round_end(&s->r, FAILURE_NONE, NULL, "220 %.100s", s->greeting);
			return;
		}
		s->phase = SMTP_QUIT;
		break;
	case SMTP_QUIT:
		probe_round_end(&s->r, FAILURE_NONE, NULL, "220 %.100s", s->greeting);
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
		probe_round_end(&s->r, err == ECONNRESET ? FAILURE_REFUSED : FAILURE_PROTOCOL, NULL,
				s->rd.total == 0 ? "no greeting: %s" : "greeting cut: %s", why);
		break;
	case SMTP_EHLO:
		probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "%s after EHLO (greeting 220 %.60s)", why, s->greeting);
		break;
	default: /* after QUIT a close is the polite answer */
		probe_round_end(&s->r, FAILURE_NONE, NULL, "220 %.100s", s->greeting);
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
				probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "%s: %s",
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

static void on_deadline(struct probe_round *r)
{
	struct smtp_slot *s = PROBE_SLOT(r, struct smtp_slot);

	switch (s->phase) {
	case SMTP_CONNECTING:
		probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "connect timeout");
		break;
	case SMTP_GREETING:
		s->st->no_greeting++;
		if (s->rd.total == 0)
			probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "no greeting");
		else
			probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "greeting incomplete (%zu bytes by the deadline)",
					s->rd.total);
		break;
	case SMTP_EHLO:
		probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "no reply to EHLO (greeting 220 %.60s)", s->greeting);
		break;
	default: /* greeted and answered EHLO: healthy even without a 221 */
		probe_round_end(&s->r, FAILURE_NONE, NULL, "220 %.100s", s->greeting);
		break;
	}
}

/* The SYN, once the rate cap allows it. */
static void smtp_send(struct probe_round *r)
{
	uint16_t port = probe_engine_target(r->engine, r->target)->cfg->port;

	probe_round_connect(r, port != 0 ? port : SMTP_DEFAULT_PORT, on_io, PROBE_SLOT(r, struct smtp_slot),
			    on_deadline);
}

static void smtp_start(struct probe_engine *e, void *ctx, struct probe_target *t, uint32_t round, int64_t at_ms,
		       int64_t deadline_ns)
{
	(void)e;
	struct smtp_state *st = ctx;
	struct smtp_slot *s = &st->slots[t->index];

	probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "no answer before the next round");
	*s = (struct smtp_slot){.st = st};
	probe_round_open(&s->r, st->engine, t, round, at_ms, &smtp_hooks);
	st->started++;
	s->phase = SMTP_CONNECTING;
	probe_round_send(&s->r, deadline_ns, smtp_send);
}

static int smtp_init(struct probe_engine *e, void *ctx, struct probe_target **targets, size_t n, char *err,
		     size_t errlen)
{
	(void)targets;
	(void)n;
	(void)err;
	(void)errlen;
	struct smtp_state *st = ctx;
	const struct config *cfg = probe_engine_config(e);

	st->engine = e;
	st->loop = probe_engine_loop(e);
	/* EHLO wants a domain: our vantage name when it is one */
	snprintf(st->ehlo, sizeof(st->ehlo), "EHLO %s\r\n",
		 cfg->vantage != NULL && hostname_valid(cfg->vantage) ? cfg->vantage : "lightsout.invalid");
	return 0;
}

static void smtp_stats(const void *ctx, char *buf, size_t len)
{
	const struct smtp_state *st = ctx;
	snprintf(buf, len, "smtp: started %lu, ok %lu, no greeting %lu, bad greeting %lu", st->started, st->ok,
		 st->no_greeting, st->bad_greeting);
}

const struct probe_ops probe_smtp_ops =
    PROBE_OPS(sizeof(struct smtp_state), sizeof(struct smtp_slot), smtp_init, smtp_start, NULL, smtp_stats, NULL);
