/* Passive BGP-4 collector sessions on the event loop: one state machine
 * per peer (RFC 4271 8), timers on the monotonic clock, every byte from
 * the peer bounded and checked.  We send OPEN, KEEPALIVE, NOTIFICATION and
 * nothing else: no route is ever announced.
 *
 * A peer shares the loop with the probes, so what it may cost is bounded:
 * each wakeup reads at most BGP_READ_BUDGET bytes from it before the loop
 * turns to the others (a flood is read at the loop's pace, the kernel's
 * window slows the sender), and it may hold at most max_prefixes watched
 * routes (RFC 4486 Cease, then a back-off before it may come again). */
#include "bgp/bgp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bgp/bgp_msg.h"
#include "bgp/mrt.h"
#include "bgp/replay.h"
#include "config/config.h"
#include "config/values.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/timeutil.h"

#define RBUF_CAP                (2 * BGP_MSG_MAX)
#define BGP_TICK_MS             100
#define WBUF_CAP                (4 * BGP_MSG_MAX)
#define BGP_STATE_LOG_BURST     20 /* state changes logged per peer per window */
#define BGP_STATE_LOG_WINDOW_MS 60000
/* Bytes read from one peer per wakeup: one full message, then the loop
 * serves the rest (epoll is level-triggered: the peer's turn comes again). */
#define BGP_READ_BUDGET BGP_MSG_MAX
/* RFC 4486 Cease subcodes */
#define BGP_CEASE_MAX_PREFIXES 1
#define BGP_CEASE_REJECTED     5

struct peer {
	struct bgp *b;
	const struct bgp_peer_cfg *cfg;
	struct sockaddr_storage addr;
	char name[INET6_ADDRSTRLEN];
	enum bgp_state state;
	struct log_limit state_log; /* a reconnect storm logs a count, not every change */
	int fd;
	uint8_t rbuf[RBUF_CAP];
	size_t rlen;
	uint8_t wbuf[WBUF_CAP];
	size_t wlen;
	/* Deadlines on the monotonic clock (ns), 0 = not armed; one module
	 * timer checks them every BGP_TICK_MS, as OpenBGPD's timer.c does. */
	int64_t t_hold, t_keep, t_retry;
	int64_t hold_ms, keep_ms;
	int64_t backoff_ms;
	bool as4;
	bool fam4, fam6;
	int vis_peer;
	int64_t up_since_ms; /* wall clock */
	uint64_t updates, flaps;
	uint16_t hold_s;
	/* The last session ended at max_prefixes: the back-off grows until a
	 * session's table fits (End-of-RIB), and a passive peer is refused
	 * until t_retry. */
	bool over_limit;
	char last_error[256];
};

struct bgp {
	struct ev_loop *loop;
	const struct config *cfg;
	bgp_event_fn fn;
	void *arg;
	struct peer *peers;
	size_t npeers;
	int lfd;
	bool opened;             /* bgp_open ran */
	struct mrt_reader **mrt; /* [cfg->bgp.nmrt], opened, not read yet */
	struct bgp_vis *vis;
	uint64_t t_tick;
	int64_t last_vis_tick;
	uint32_t bgp_id;
	int64_t (*now_ns)(void *arg); /* the timers' monotonic clock */
	void *now_arg;
	/* UPDATE being parsed, for the route callback */
	struct peer *cur;
	int64_t cur_at_ms;
	bool cur_any;
	bool cur_over; /* the UPDATE took the peer past max_prefixes */
};

static void peer_close(struct peer *p, const char *why);
static void on_io(struct ev_loop *loop, int fd, unsigned events, void *arg);

const char *bgp_state_name(enum bgp_state s)
{
	static const char *const names[] = {"Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static void emit(struct bgp *b, const struct bgp_event *ev)
{
	if (b->fn)
		b->fn(ev, b->arg);
}

static void set_state(struct peer *p, enum bgp_state s, const char *reason)
{
	if (p->state == s)
		return;
	struct bgp_event ev = {.kind = BGP_EV_PEER,
			       .at_ms = wall_now_ms(),
			       .peer = p->name,
			       .old_state = p->state,
			       .new_state = s,
			       .reason = reason ? reason : ""};
	unsigned long long unlogged;
	if (log_limit_pass(&p->state_log, ev.at_ms, BGP_STATE_LOG_BURST, BGP_STATE_LOG_WINDOW_MS, &unlogged)) {
		if (unlogged)
			log_info("bgp %s: %llu state changes not logged (more than %d a minute)", p->name, unlogged,
				 BGP_STATE_LOG_BURST);
		log_info("bgp %s: %s -> %s%s%s", p->name, bgp_state_name(p->state), bgp_state_name(s),
			 reason ? ": " : "", reason ? reason : "");
	}
	p->state = s;
	emit(p->b, &ev);
}

static void vis_events(const struct bgp_vis_event *ve, void *arg)
{
	struct bgp *b = arg;
	struct bgp_event ev = {.kind = ve->withdrawn ? BGP_EV_WITHDRAWN : BGP_EV_RESTORED,
			       .at_ms = ve->at_ms,
			       .network = ve->network,
			       .network_name = ve->name,
			       .prefixes = ve->prefixes,
			       .nprefixes = ve->nprefixes,
			       .peer = "",
			       .as_path = "",
			       .reason = ""};
	emit(b, &ev);
}

static void del_timer(struct bgp *b, int64_t *deadline)
{
	(void)b;
	*deadline = 0;
}

static int64_t mono_clock(void *arg)
{
	(void)arg;
	return mono_now_ns();
}

static int64_t peer_now(const struct peer *p)
{
	return p->b->now_ns(p->b->now_arg);
}

static int64_t deadline_in(const struct peer *p, int64_t ms)
{
	int64_t t = peer_now(p) + ms * NS_PER_MS;
	return t ? t : 1;
}

/* ---- output ---- */

static int flush_out(struct peer *p)
{
	while (p->wlen > 0) {
		ssize_t n = send(p->fd, p->wbuf, p->wlen, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return ev_mod_fd(p->b->loop, p->fd, EV_READ | EV_WRITE);
			if (errno == EINTR)
				continue;
			return -1;
		}
		memmove(p->wbuf, p->wbuf + n, p->wlen - (size_t)n);
		p->wlen -= (size_t)n;
	}
	return ev_mod_fd(p->b->loop, p->fd, EV_READ);
}

static int queue(struct peer *p, const uint8_t *m, int len)
{
	if (len < 0 || (size_t)len > WBUF_CAP - p->wlen)
		return -1;
	memcpy(p->wbuf + p->wlen, m, (size_t)len);
	p->wlen += (size_t)len;
	return flush_out(p);
}

static void send_notification(struct peer *p, uint8_t code, uint8_t subcode)
{
	uint8_t m[64];
	int n = bgp_build_notification(m, sizeof(m), code, subcode, NULL, 0);
	/* Best effort: the socket closes right after. */
	if (n > 0 && p->fd >= 0 && p->wlen == 0)
		(void)!send(p->fd, m, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* ---- timers ---- */

static void reset_hold(struct peer *p, int64_t ms)
{
	p->t_hold = ms > 0 ? deadline_in(p, ms) : 0;
}

static void send_keepalive(struct peer *p)
{
	uint8_t m[BGP_HDR_LEN];
	if (queue(p, m, bgp_build_keepalive(m, sizeof(m))) < 0) {
		peer_close(p, "cannot send KEEPALIVE");
		return;
	}
	p->t_keep = deadline_in(p, p->keep_ms);
}

static void start_connect(struct peer *p);

static void schedule_retry(struct peer *p)
{
	p->t_retry = 0;
	if (p->cfg->passive && !p->over_limit)
		return; /* wait for the peer to come to us */
	p->t_retry = deadline_in(p, p->backoff_ms);
	p->backoff_ms = p->backoff_ms * 2 > BGP_BACKOFF_MAX_MS ? BGP_BACKOFF_MAX_MS : p->backoff_ms * 2;
}

/* Runs every peer's due timers. */
static void run_timers(struct bgp *b)
{
	int64_t now = b->now_ns(b->now_arg);
	for (size_t i = 0; i < b->npeers; i++) {
		struct peer *p = &b->peers[i];
		if (p->t_hold && now >= p->t_hold) {
			p->t_hold = 0;
			send_notification(p, BGP_ERR_HOLD, 0);
			peer_close(p, "hold timer expired");
		}
		if (p->t_keep && now >= p->t_keep && p->state >= BGP_STATE_OPENCONFIRM)
			send_keepalive(p);
		if (p->t_retry && now >= p->t_retry) {
			p->t_retry = 0;
			if (!p->cfg->passive && (p->state == BGP_STATE_ACTIVE || p->state == BGP_STATE_IDLE))
				start_connect(p);
		}
	}
}

/* ---- connection life ---- */

static void peer_close(struct peer *p, const char *why)
{
	struct bgp *b = p->b;
	bool was_up = p->state == BGP_STATE_ESTABLISHED;

	del_timer(b, &p->t_hold);
	del_timer(b, &p->t_keep);
	if (p->fd >= 0) {
		ev_del_fd(b->loop, p->fd);
		close(p->fd);
		p->fd = -1;
	}
	p->rlen = p->wlen = 0;
	if (why)
		snprintf(p->last_error, sizeof(p->last_error), "%s", why);
	if (was_up) {
		p->flaps++;
		p->up_since_ms = 0;
		bgp_vis_peer_down(b->vis, p->vis_peer, wall_now_ms());
		bgp_vis_flush(b->vis, wall_now_ms());
	}
	set_state(p, BGP_STATE_IDLE, why);
	set_state(p, BGP_STATE_ACTIVE, NULL);
	schedule_retry(p);
}

static void send_open(struct peer *p)
{
	uint8_t m[128];
	uint16_t hold = (uint16_t)(p->cfg->hold_time_ms / 1000);
	int n = bgp_build_open(m, sizeof(m), p->cfg->local_as, hold, p->b->bgp_id);
	if (queue(p, m, n) < 0) {
		peer_close(p, "cannot send OPEN");
		return;
	}
	set_state(p, BGP_STATE_OPENSENT, NULL);
	/* RFC 4271 suggests 4 minutes before OPEN; the configured hold time
	 * keeps a silent peer from pinning us that long. */
	reset_hold(p, p->cfg->hold_time_ms > 0 ? p->cfg->hold_time_ms : 240000);
}

static void start_connect(struct peer *p)
{
	struct sockaddr_storage sa = p->addr;
	addr_set_port(&sa, p->cfg->port ? p->cfg->port : 179);
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(p->last_error, sizeof(p->last_error), "socket: %s", strerror(errno));
		schedule_retry(p);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p->fd = fd;
	set_state(p, BGP_STATE_CONNECT, NULL);
	if (connect(fd, (struct sockaddr *)&sa, addr_len(&sa)) < 0 && errno != EINPROGRESS) {
		char why[160];
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		close(fd);
		p->fd = -1;
		snprintf(p->last_error, sizeof(p->last_error), "%s", why);
		set_state(p, BGP_STATE_ACTIVE, why);
		schedule_retry(p);
		return;
	}
	if (ev_add_fd(p->b->loop, fd, EV_WRITE, on_io, p) < 0)
		peer_close(p, "event loop refused the socket");
}

/* ---- input ---- */

static void on_route(const struct bgp_route *r, const struct bgp_attrs *a, void *arg)
{
	struct bgp *b = arg;
	struct peer *p = b->cur;
	if (r->unusable || b->cur_over)
		return;
	b->cur_any = true;
	int kept = bgp_vis_route(b->vis, p->vis_peer, &r->prefix, r->path_id, a->origin_as, r->announce);
	if (kept & BGP_VIS_KEPT) {
		struct bgp_vis_peer_info pi;
		bgp_vis_peer_info(b->vis, p->vis_peer, &pi);
		if (pi.routes > p->cfg->max_prefixes) {
			b->cur_over = true; /* the session ends after this UPDATE */
			return;
		}
	}
	if (!bgp_vis_route_watched(b->vis, &r->prefix, r->announce, kept))
		return;
	char path[1024] = "";
	if (r->announce)
		bgp_aspath_format(&a->aspath, path, sizeof(path));
	struct bgp_event ev = {.kind = BGP_EV_ROUTE,
			       .at_ms = b->cur_at_ms,
			       .peer = p->name,
			       .prefix = r->prefix,
			       .announce = r->announce,
			       .origin_as = r->announce ? a->origin_as : 0,
			       .as_path = path,
			       .prefixes = NULL,
			       .reason = ""};
	emit(b, &ev);
}

static void handle_update(struct peer *p, const uint8_t *body, size_t len)
{
	struct bgp *b = p->b;
	struct bgp_msg_opts o = {.as4 = p->as4};
	struct bgp_attrs attrs;
	struct bgp_error e;

	p->updates++;
	b->cur = p;
	b->cur_at_ms = wall_now_ms();
	b->cur_any = false;
	b->cur_over = false;
	if (bgp_update_parse(body, len, &o, on_route, b, &attrs, &e) < 0) {
		log_warnx("bgp %s: malformed UPDATE: %s", p->name, e.msg);
		send_notification(p, e.code, e.subcode);
		char why[200];
		snprintf(why, sizeof(why), "malformed UPDATE: %s", e.msg);
		peer_close(p, why);
		return;
	}
	if (b->cur_over) {
		char why[96];
		snprintf(why, sizeof(why), "more than max_prefixes (%u) routes", p->cfg->max_prefixes);
		log_warnx("bgp %s: %s: Cease", p->name, why);
		send_notification(p, BGP_ERR_CEASE, BGP_CEASE_MAX_PREFIXES);
		p->over_limit = true;
		peer_close(p, why);
		return;
	}
	if (attrs.treat_as_withdraw)
		log_info("bgp %s: UPDATE treated as withdraw: %s", p->name, attrs.taw_reason);
	/* An UPDATE without routes is End-of-RIB (RFC 4724): the table is in
	 * (and fits: the back-off starts over). */
	if (!b->cur_any) {
		bgp_vis_peer_synced(b->vis, p->vis_peer, b->cur_at_ms);
		p->over_limit = false;
	}
	bgp_vis_flush(b->vis, b->cur_at_ms);
}

static void handle_open(struct peer *p, const uint8_t *body, size_t len)
{
	struct bgp_open op;
	struct bgp_error e;
	if (bgp_open_parse(body, len, &op, &e) < 0) {
		send_notification(p, e.code, e.subcode);
		peer_close(p, e.msg);
		return;
	}
	uint32_t as = op.cap_as4 ? op.as4 : op.my_as;
	if (as != p->cfg->remote_as) {
		send_notification(p, BGP_ERR_OPEN, BGP_ERR_OPEN_PEER_AS);
		char why[96];
		snprintf(why, sizeof(why), "peer says AS %u, expected %u", as, p->cfg->remote_as);
		peer_close(p, why);
		return;
	}
	uint16_t ours = (uint16_t)(p->cfg->hold_time_ms / 1000);
	uint16_t hold = op.hold_time < ours ? op.hold_time : ours;
	p->hold_s = hold;
	p->hold_ms = (int64_t)hold * 1000;
	p->keep_ms = p->hold_ms / 3;
	p->as4 = op.cap_as4;
	/* RFC 4760: without MP capabilities a speaker carries IPv4 unicast. */
	p->fam4 = op.cap_mp_v4 || !op.cap_mp_v6;
	p->fam6 = op.cap_mp_v6;
	uint8_t m[BGP_HDR_LEN];
	if (queue(p, m, bgp_build_keepalive(m, sizeof(m))) < 0) {
		peer_close(p, "cannot send KEEPALIVE");
		return;
	}
	set_state(p, BGP_STATE_OPENCONFIRM, NULL);
	reset_hold(p, p->hold_ms);
	p->t_keep = p->keep_ms > 0 ? deadline_in(p, p->keep_ms) : 0;
}

static void established(struct peer *p)
{
	set_state(p, BGP_STATE_ESTABLISHED, NULL);
	if (!p->over_limit)
		p->backoff_ms = BGP_BACKOFF_MIN_MS;
	p->up_since_ms = wall_now_ms();
	p->last_error[0] = '\0';
	bgp_vis_peer_up(p->b->vis, p->vis_peer, p->up_since_ms, true, BGP_SYNC_GRACE_MS);
	bgp_vis_peer_families(p->b->vis, p->vis_peer, p->fam4, p->fam6);
}

/* Returns -1 if the peer was closed. */
static int handle_message(struct peer *p, uint8_t type, const uint8_t *body, size_t len)
{
	if (type == BGP_MSG_NOTIFICATION) {
		char why[96];
		snprintf(why, sizeof(why), "NOTIFICATION %u/%u from peer", len > 0 ? body[0] : 0,
			 len > 1 ? body[1] : 0);
		peer_close(p, why);
		return -1;
	}
	switch (p->state) {
	case BGP_STATE_OPENSENT:
		if (type != BGP_MSG_OPEN) {
			send_notification(p, BGP_ERR_FSM, 1);
			peer_close(p, "expected OPEN");
			return -1;
		}
		handle_open(p, body, len);
		return p->state == BGP_STATE_OPENCONFIRM ? 0 : -1;
	case BGP_STATE_OPENCONFIRM:
		if (type != BGP_MSG_KEEPALIVE) {
			send_notification(p, BGP_ERR_FSM, 2);
			peer_close(p, "expected KEEPALIVE");
			return -1;
		}
		reset_hold(p, p->hold_ms);
		established(p);
		return 0;
	case BGP_STATE_ESTABLISHED:
		reset_hold(p, p->hold_ms);
		if (type == BGP_MSG_UPDATE) {
			handle_update(p, body, len);
			return p->state == BGP_STATE_ESTABLISHED ? 0 : -1;
		}
		if (type == BGP_MSG_OPEN) {
			send_notification(p, BGP_ERR_FSM, 3);
			peer_close(p, "OPEN in Established");
			return -1;
		}
		return 0; /* KEEPALIVE; ROUTE-REFRESH: we have nothing to send */
	default:
		return 0;
	}
}

/* Reads up to BGP_READ_BUDGET bytes and handles every whole message
 * read: what stays in rbuf is at most one partial message, so nothing
 * waits for a wakeup that may not come. */
static void read_input(struct peer *p)
{
	for (size_t budget = BGP_READ_BUDGET; budget > 0;) {
		size_t want = RBUF_CAP - p->rlen < budget ? RBUF_CAP - p->rlen : budget;
		ssize_t n = recv(p->fd, p->rbuf + p->rlen, want, 0);
		if (n == 0) {
			peer_close(p, "connection closed by peer");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			char why[96];
			snprintf(why, sizeof(why), "read: %s", strerror(errno));
			peer_close(p, why);
			return;
		}
		p->rlen += (size_t)n;
		budget -= (size_t)n;
		size_t off = 0;
		while (p->rlen - off >= BGP_HDR_LEN) {
			uint8_t type;
			uint16_t mlen;
			struct bgp_error e;
			if (bgp_msg_header(p->rbuf + off, p->rlen - off, BGP_MSG_MAX, &type, &mlen, &e) < 0) {
				send_notification(p, e.code, e.subcode);
				peer_close(p, e.msg);
				return;
			}
			if (p->rlen - off < mlen)
				break;
			if (handle_message(p, type, p->rbuf + off + BGP_HDR_LEN, mlen - BGP_HDR_LEN) < 0)
				return;
			off += mlen;
		}
		memmove(p->rbuf, p->rbuf + off, p->rlen - off);
		p->rlen -= off;
	}
}

static void on_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	struct peer *p = arg;
	if (p->state == BGP_STATE_CONNECT) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr != 0) {
			char why[96];
			snprintf(why, sizeof(why), "connect: %s", strerror(soerr));
			peer_close(p, why);
			return;
		}
		if (ev_mod_fd(p->b->loop, p->fd, EV_READ) < 0) {
			peer_close(p, "event loop");
			return;
		}
		send_open(p);
		return;
	}
	if ((events & EV_WRITE) && flush_out(p) < 0) {
		peer_close(p, "write failed");
		return;
	}
	if (events & EV_READ)
		read_input(p);
}

static void on_accept(struct ev_loop *loop, int lfd, unsigned events, void *arg)
{
	(void)loop;
	(void)events;
	struct bgp *b = arg;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage sa;
		socklen_t sl = sizeof(sa);
		int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		/* A dual-stack listener names IPv4 peers ::ffff:a.b.c.d. */
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
		if (sa.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = s6->sin6_port};
			memcpy(&s4.sin_addr, s6->sin6_addr.s6_addr + 12, 4);
			memset(&sa, 0, sizeof(sa));
			memcpy(&sa, &s4, sizeof(s4));
		}
		struct peer *p = NULL;
		for (size_t j = 0; j < b->npeers; j++) {
			if (addr_equal(&b->peers[j].addr, &sa))
				p = &b->peers[j];
		}
		if (!p) {
			char a[INET6_ADDRSTRLEN];
			addr_format(&sa, a, sizeof(a));
			log_info("bgp: connection from unknown %s refused", a);
			close(fd);
			continue;
		}
		/* A session is being set up or runs already (connection
		 * collision), or the peer is in its back-off after max_prefixes. */
		bool backoff = p->over_limit && p->t_retry && b->now_ns(b->now_arg) < p->t_retry;
		if (p->state > BGP_STATE_ACTIVE || backoff) {
			uint8_t m[32];
			int n = bgp_build_notification(m, sizeof(m), BGP_ERR_CEASE, backoff ? BGP_CEASE_REJECTED : 7,
						       NULL, 0);
			if (n > 0)
				(void)!send(fd, m, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		if (p->fd >= 0) {
			ev_del_fd(b->loop, p->fd);
			close(p->fd);
		}
		del_timer(b, &p->t_retry);
		p->fd = fd;
		p->rlen = p->wlen = 0;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (ev_add_fd(b->loop, fd, EV_READ, on_io, p) < 0) {
			peer_close(p, "event loop refused the socket");
			continue;
		}
		send_open(p);
	}
}

static int64_t tick(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct bgp *b = arg;
	run_timers(b);
	int64_t now = b->now_ns(b->now_arg);
	if (now - b->last_vis_tick >= NS_PER_S) {
		b->last_vis_tick = now;
		bgp_vis_tick(b->vis, wall_now_ms());
	}
	return BGP_TICK_MS * NS_PER_MS;
}

/* ---- setup ---- */

struct bgp *bgp_new(struct ev_loop *loop, const struct config *cfg, bgp_event_fn fn, void *arg, char *err,
		    size_t errlen)
{
	struct bgp *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "bgp: out of memory");
		return NULL;
	}
	b->loop = loop;
	b->cfg = cfg;
	b->fn = fn;
	b->arg = arg;
	b->lfd = -1;
	b->now_ns = mono_clock;
	b->vis = bgp_vis_new(cfg, false, vis_events, b);
	b->peers = calloc(cfg->bgp.npeers ? cfg->bgp.npeers : 1, sizeof(*b->peers));
	if (!b->vis || !b->peers) {
		snprintf(err, errlen, "bgp: out of memory");
		goto fail;
	}
	b->npeers = cfg->bgp.npeers;
	for (size_t i = 0; i < b->npeers; i++) {
		struct peer *p = &b->peers[i];
		p->b = b;
		p->cfg = &cfg->bgp.peers[i];
		p->fd = -1;
		p->backoff_ms = BGP_BACKOFF_MIN_MS;
		if (addr_parse(p->cfg->address, &p->addr) < 0) {
			snprintf(err, errlen, "bgp: peer address %s is not a literal address", p->cfg->address);
			goto fail;
		}
		addr_format(&p->addr, p->name, sizeof(p->name));
		p->vis_peer = bgp_vis_peer(b->vis, p->name);
		if (p->vis_peer < 0) {
			snprintf(err, errlen, "bgp: out of memory");
			goto fail;
		}
		/* Our BGP identifier: the first IPv4 address we can name. */
		if (!b->bgp_id && p->addr.ss_family == AF_INET)
			b->bgp_id = ntohl(((struct sockaddr_in *)&p->addr)->sin_addr.s_addr) ^ 0x01u;
	}
	if (!b->bgp_id)
		b->bgp_id = 0xc0000201u; /* 192.0.2.1: documentation range, never routed */
	return b;
fail:
	bgp_free(b);
	return NULL;
}

void bgp_set_clock(struct bgp *b, int64_t (*now_ns)(void *arg), void *arg)
{
	b->now_ns = now_ns ? now_ns : mono_clock;
	b->now_arg = arg;
}

static int open_listener(struct bgp *b, char *err, size_t errlen)
{
	const char *l = b->cfg->bgp.listen;
	struct sockaddr_storage sa;
	int fd;

	if (!l)
		return 0;
	if (value_listen(l, &sa) < 0) {
		snprintf(err, errlen, "bgp: listen \"%s\" is not ADDRESS:PORT", l);
		return -1;
	}
	if ((fd = addr_listen(&sa, 16)) < 0) {
		snprintf(err, errlen, "bgp: cannot listen on %s: %s", l, strerror(errno));
		return -1;
	}
	if (ev_add_fd(b->loop, fd, EV_READ, on_accept, b) < 0) {
		snprintf(err, errlen, "bgp: event loop refused the listener");
		close(fd);
		return -1;
	}
	b->lfd = fd;
	return 0;
}

/* ---- MRT replay ---- */

static void emit_event(const struct bgp_event *ev, void *arg)
{
	emit(arg, ev);
}

/* Reads the file behind rd (and closes it). */
static int replay_reader(struct bgp *b, struct mrt_reader *rd, char *err, size_t errlen)
{
	return bgp_mrt_replay(b->cfg, rd, emit_event, vis_events, b, err, errlen);
}

int bgp_replay_mrt(struct bgp *b, const char *path, char *err, size_t errlen)
{
	struct mrt_reader *rd = mrt_open(path, err, errlen);

	return rd ? replay_reader(b, rd, err, errlen) : -1;
}

int bgp_open(struct bgp *b, char *err, size_t errlen)
{
	size_t n = b->cfg->bgp.nmrt;
	int rc = 0;

	if (b->opened)
		return 0;
	b->opened = true;
	if (n > 0 && (b->mrt = calloc(n, sizeof(*b->mrt))) == NULL) {
		snprintf(err, errlen, "bgp: out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((b->mrt[i] = mrt_open(b->cfg->bgp.mrt[i], err, errlen)) == NULL)
			rc = -1;
	if (open_listener(b, err, errlen) < 0)
		rc = -1;
	return rc;
}

static void close_readers(struct bgp *b)
{
	for (size_t i = 0; b->mrt != NULL && i < b->cfg->bgp.nmrt; i++)
		mrt_close(b->mrt[i]);
	free(b->mrt);
	b->mrt = NULL;
}

int bgp_start(struct bgp *b, char *err, size_t errlen)
{
	int rc = b->opened ? 0 : bgp_open(b, err, errlen);

	for (size_t i = 0; b->mrt != NULL && i < b->cfg->bgp.nmrt; i++) {
		if (b->mrt[i] != NULL && replay_reader(b, b->mrt[i], err, errlen) < 0)
			rc = -1;
		b->mrt[i] = NULL; /* closed by replay_reader */
	}
	close_readers(b);
	for (size_t i = 0; i < b->npeers; i++) {
		struct peer *p = &b->peers[i];
		set_state(p, BGP_STATE_ACTIVE, NULL);
		if (!p->cfg->passive)
			start_connect(p);
	}
	if (b->npeers)
		b->t_tick = ev_add_timer(b->loop, BGP_TICK_MS * NS_PER_MS, tick, b);
	return rc;
}

void bgp_stop(struct bgp *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->npeers; i++) {
		struct peer *p = &b->peers[i];
		if (p->state == BGP_STATE_ESTABLISHED || p->state == BGP_STATE_OPENCONFIRM)
			send_notification(p, BGP_ERR_CEASE, BGP_ERR_CEASE_ADMIN);
		del_timer(b, &p->t_hold);
		del_timer(b, &p->t_keep);
		del_timer(b, &p->t_retry);
		if (p->fd >= 0) {
			ev_del_fd(b->loop, p->fd);
			close(p->fd);
			p->fd = -1;
		}
		p->state = BGP_STATE_IDLE;
	}
	if (b->t_tick)
		ev_del_timer(b->loop, b->t_tick);
	b->t_tick = 0;
	if (b->lfd >= 0) {
		ev_del_fd(b->loop, b->lfd);
		close(b->lfd);
		b->lfd = -1;
	}
}

void bgp_free(struct bgp *b)
{
	if (!b)
		return;
	bgp_stop(b);
	close_readers(b);
	bgp_vis_free(b->vis);
	free(b->peers);
	free(b);
}

size_t bgp_npeers(const struct bgp *b)
{
	return b->npeers;
}

int bgp_peer_status(const struct bgp *b, size_t i, struct bgp_peer_status *st)
{
	if (i >= b->npeers)
		return -1;
	const struct peer *p = &b->peers[i];
	struct bgp_vis_peer_info pi;
	bgp_vis_peer_info(b->vis, p->vis_peer, &pi);
	st->address = p->name;
	st->remote_as = p->cfg->remote_as;
	st->state = p->state;
	st->state_name = bgp_state_name(p->state);
	st->uptime_ms = p->state == BGP_STATE_ESTABLISHED ? wall_now_ms() - p->up_since_ms : 0;
	st->prefixes = pi.routes;
	st->updates = p->updates;
	st->flaps = p->flaps;
	st->hold_time = p->hold_s;
	st->last_error = p->last_error;
	return 0;
}

const struct bgp_vis *bgp_visibility(const struct bgp *b)
{
	return b->vis;
}
