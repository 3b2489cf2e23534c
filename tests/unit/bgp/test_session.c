/* The BGP-4 state machine of src/bgp/session.c (RFC 4271 8), driven over
 * loopback by a scripted peer in a thread, on an injected clock so hold
 * timers expire without waiting: Idle, Active, Connect, OpenSent,
 * OpenConfirm, Established; hold timer expiry; NOTIFICATION on a bad OPEN;
 * max_prefixes (Cease 1); a flooding peer does not starve the loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bgp/bgp.h"
#include "bgp/bgp_msg.h"
#include "config/config.h"
#include "core/ev.h"
#include "core/timeutil.h"

#define HOLD_S 9

enum script {
	SCRIPT_ESTABLISH_THEN_EXPIRE,
	SCRIPT_WRONG_AS,
	SCRIPT_BAD_VERSION,
	SCRIPT_SILENT,
	SCRIPT_ROUTES,
	SCRIPT_MAX_PREFIXES,
	SCRIPT_FLOOD,
	SCRIPT_KEEPALIVE_FLOOD
};

#define FLOOD_MS 1500

struct run {
	enum script script;
	int lfd;
	_Atomic int64_t now_ns;  /* the session's clock */
	_Atomic int established; /* set by the event callback (loop thread) */
	_Atomic int done;        /* the peer's script is over */
	/* what the peer saw */
	uint8_t notif_code, notif_subcode;
	bool got_notification, got_eof;
	/* routes the session kept (BGP_EV_ROUTE), "A|W prefix" */
	char routes[8][64];
	_Atomic size_t nroutes;
	/* state changes, in order */
	enum bgp_state from[16], to[16];
	size_t nchanges;
	unsigned max_prefixes; /* 0: the default */
	/* the loop's longest wait between two 5 ms ticks (ns) */
	int64_t last_tick_ns, max_gap_ns;
};

static int64_t fake_now(void *arg)
{
	return atomic_load(&((struct run *)arg)->now_ns);
}

static void on_event(const struct bgp_event *ev, void *arg)
{
	struct run *r = arg;
	if (ev->kind == BGP_EV_ROUTE) {
		size_t n = atomic_load(&r->nroutes);
		char pfx[48];
		prefix_format(&ev->prefix, pfx, sizeof(pfx));
		if (n < 8) {
			snprintf(r->routes[n], sizeof(r->routes[n]), "%c %s", ev->announce ? 'A' : 'W', pfx);
			atomic_store(&r->nroutes, n + 1);
		}
		return;
	}
	if (ev->kind != BGP_EV_PEER)
		return;
	if (r->nchanges < 16) {
		r->from[r->nchanges] = ev->old_state;
		r->to[r->nchanges] = ev->new_state;
		r->nchanges++;
	}
	if (ev->new_state == BGP_STATE_ESTABLISHED)
		atomic_store(&r->established, 1);
}

/* Reads exactly n bytes within 5 s; 0, or -1 on EOF, error or timeout. */
static int read_full(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 5000) <= 0)
			return -1;
		ssize_t k = read(fd, buf + got, n - got);
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* One message: its type and body (after the header) into body. */
static int read_msg(int fd, uint8_t *type, uint8_t *body, size_t cap, size_t *blen)
{
	uint8_t hdr[BGP_HDR_LEN];
	if (read_full(fd, hdr, sizeof(hdr)) < 0)
		return -1;
	size_t len = (size_t)hdr[16] << 8 | hdr[17];
	if (len < BGP_HDR_LEN || len - BGP_HDR_LEN > cap)
		return -1;
	*type = hdr[18];
	*blen = len - BGP_HDR_LEN;
	return read_full(fd, body, *blen);
}

static void send_all(int fd, const uint8_t *m, int n)
{
	assert_true(n > 0);
	assert_int_equal(write(fd, m, (size_t)n), n);
}

/* Reads until a NOTIFICATION or the end of the connection. */
static void expect_notification(struct run *r, int fd)
{
	uint8_t type, body[BGP_MSG_MAX];
	size_t blen;
	while (read_msg(fd, &type, body, sizeof(body), &blen) == 0) {
		if (type == BGP_MSG_NOTIFICATION && blen >= 2) {
			r->got_notification = true;
			r->notif_code = body[0];
			r->notif_subcode = body[1];
			break;
		}
	}
	char c;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	r->got_eof = poll(&p, 1, 5000) == 1 && read(fd, &c, 1) == 0;
}

/* Moves the session's clock past the hold time until it speaks: repeated,
 * since the loop may arm the timer just after the peer read our OPEN. */
static void expire_hold(struct run *r, int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	for (int i = 0; i < 100 && poll(&p, 1, 50) == 0; i++)
		atomic_fetch_add(&r->now_ns, (int64_t)(HOLD_S + 1) * NS_PER_S);
}

static void wait_established(struct run *r)
{
	for (int i = 0; i < 500 && !atomic_load(&r->established); i++)
		usleep(10000);
}

static uint8_t *put_prefix(uint8_t *b, const char *s)
{
	struct prefix p;
	assert_int_equal(prefix_parse(s, &p), 0);
	*b++ = p.len;
	memcpy(b, p.addr, (p.len + 7u) / 8u);
	return b + (p.len + 7u) / 8u;
}

/* An IPv4 UPDATE: withdrawals, then announcements with ORIGIN IGP, the
 * AS_PATH "64500 origin" (4-octet ASNs) and a NEXT_HOP. */
static int build_update(uint8_t *m, const char *const *wd, const char *const *ann, uint32_t origin)
{
	uint8_t *b = m + BGP_HDR_LEN + 2, *wstart = b;
	for (; wd && *wd; wd++)
		b = put_prefix(b, *wd);
	size_t wlen = (size_t)(b - wstart);
	m[BGP_HDR_LEN] = (uint8_t)(wlen >> 8);
	m[BGP_HDR_LEN + 1] = (uint8_t)wlen;
	uint8_t *alen = b;
	b += 2;
	if (ann && *ann) {
		static const uint8_t fixed[] = {0x40, 1, 1,  0,                         /* ORIGIN IGP */
						0x40, 2, 10, 2,   2,  0, 0, 0xfb, 0xf4, /* AS_PATH 64500 ... */
						0,    0, 0,  0,                         /* ... origin */
						0x40, 3, 4,  198, 18, 0, 2};            /* NEXT_HOP */
		memcpy(b, fixed, sizeof(fixed));
		b[13] = (uint8_t)(origin >> 24);
		b[14] = (uint8_t)(origin >> 16);
		b[15] = (uint8_t)(origin >> 8);
		b[16] = (uint8_t)origin;
		b += sizeof(fixed);
		alen[0] = 0;
		alen[1] = (uint8_t)sizeof(fixed);
		for (; *ann; ann++)
			b = put_prefix(b, *ann);
	} else {
		alen[0] = alen[1] = 0;
	}
	size_t len = (size_t)(b - m);
	memset(m, 0xff, 16);
	m[16] = (uint8_t)(len >> 8);
	m[17] = (uint8_t)len;
	m[18] = BGP_MSG_UPDATE;
	return (int)len;
}

/* Establishes the session as AS 64500. */
static int establish(int fd)
{
	uint8_t type, body[BGP_MSG_MAX], m[128];
	size_t blen;
	send_all(fd, m, bgp_build_open(m, sizeof(m), 64500, HOLD_S, 0xc6120002u));
	if (read_msg(fd, &type, body, sizeof(body), &blen) < 0 || type != BGP_MSG_KEEPALIVE)
		return -1;
	send_all(fd, m, bgp_build_keepalive(m, sizeof(m)));
	return 0;
}

/* n host routes 198.18.10.i/32 (of the watched 198.18.10.0/24), announced
 * or withdrawn in one UPDATE. */
static int host_routes(uint8_t *m, int n, bool announce)
{
	static char names[256][24];
	static const char *list[257];
	for (int i = 0; i < n && i < 256; i++) {
		snprintf(names[i], sizeof(names[i]), "198.18.10.%d/32", i);
		list[i] = names[i];
	}
	list[n < 256 ? n : 256] = NULL;
	return announce ? build_update(m, NULL, list, 64510) : build_update(m, list, NULL, 0);
}

static void *peer(void *arg)
{
	struct run *r = arg;
	uint8_t type, body[BGP_MSG_MAX], m[128];
	size_t blen;
	struct pollfd pl = {.fd = r->lfd, .events = POLLIN};
	int fd = poll(&pl, 1, 5000) == 1 ? accept(r->lfd, NULL, NULL) : -1;

	if (fd < 0 || read_msg(fd, &type, body, sizeof(body), &blen) < 0 || type != BGP_MSG_OPEN)
		goto out;
	switch (r->script) {
	case SCRIPT_ESTABLISH_THEN_EXPIRE:
		send_all(fd, m, bgp_build_open(m, sizeof(m), 64500, HOLD_S, 0xc6120002u));
		if (read_msg(fd, &type, body, sizeof(body), &blen) < 0 || type != BGP_MSG_KEEPALIVE)
			goto out;
		send_all(fd, m, bgp_build_keepalive(m, sizeof(m)));
		wait_established(r);
		expire_hold(r, fd); /* silent past the hold time */
		expect_notification(r, fd);
		break;
	case SCRIPT_WRONG_AS:
		send_all(fd, m, bgp_build_open(m, sizeof(m), 64999, HOLD_S, 0xc6120002u));
		expect_notification(r, fd);
		break;
	case SCRIPT_BAD_VERSION: {
		int n = bgp_build_open(m, sizeof(m), 64500, HOLD_S, 0xc6120002u);
		m[BGP_HDR_LEN] = 3; /* BGP-3 */
		send_all(fd, m, n);
		expect_notification(r, fd);
		break;
	}
	case SCRIPT_ROUTES: {
		send_all(fd, m, bgp_build_open(m, sizeof(m), 64500, HOLD_S, 0xc6120002u));
		if (read_msg(fd, &type, body, sizeof(body), &blen) < 0 || type != BGP_MSG_KEEPALIVE)
			goto out;
		send_all(fd, m, bgp_build_keepalive(m, sizeof(m)));
		uint8_t u[512];
		static const char *const ann1[] = {"198.18.10.0/24", "192.0.2.0/24", NULL};
		static const char *const ann2[] = {"203.0.113.0/24", NULL};
		static const char *const wd[] = {"198.18.10.128/25", "192.0.2.0/24", "203.0.113.0/24", NULL};
		send_all(fd, u, build_update(u, NULL, ann1, 64500));
		send_all(fd, u, build_update(u, NULL, ann2, 64510));
		send_all(fd, u, build_update(u, wd, NULL, 0));
		for (int i = 0; i < 500 && atomic_load(&r->nroutes) < 4; i++)
			usleep(10000);
		usleep(50000); /* nothing more comes */
		break;
	}
	case SCRIPT_MAX_PREFIXES: {
		uint8_t u[BGP_MSG_MAX];
		if (establish(fd) < 0)
			goto out;
		wait_established(r);
		send_all(fd, u, host_routes(u, 5, true));
		expect_notification(r, fd);
		break;
	}
	case SCRIPT_FLOOD: {
		/* announce and withdraw 200 routes as fast as the socket takes them */
		uint8_t ann[BGP_MSG_MAX], wd[BGP_MSG_MAX];
		int na = host_routes(ann, 200, true), nw = host_routes(wd, 200, false);
		if (establish(fd) < 0)
			goto out;
		wait_established(r);
		int64_t end = mono_now_ns() + FLOOD_MS * NS_PER_MS;
		while (mono_now_ns() < end) {
			send_all(fd, ann, na);
			send_all(fd, wd, nw);
		}
		break;
	}
	case SCRIPT_KEEPALIVE_FLOOD: {
		/* KEEPALIVEs, 200 to a write, as fast as the socket takes them */
		uint8_t ka[200 * BGP_HDR_LEN];
		for (size_t i = 0; i < sizeof(ka); i += BGP_HDR_LEN)
			bgp_build_keepalive(ka + i, BGP_HDR_LEN);
		if (establish(fd) < 0)
			goto out;
		wait_established(r);
		int64_t end = mono_now_ns() + FLOOD_MS * NS_PER_MS;
		while (mono_now_ns() < end)
			send_all(fd, ka, (int)sizeof(ka));
		break;
	}
	case SCRIPT_SILENT:
		expire_hold(r, fd); /* no OPEN: the hold time of OpenSent runs out */
		expect_notification(r, fd);
		break;
	}
out:
	if (fd >= 0)
		close(fd);
	atomic_store(&r->done, 1);
	return NULL;
}

static int64_t watchdog(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)id;
	struct run *r = arg;
	static int64_t ticks;
	int64_t now = mono_now_ns();
	if (r->last_tick_ns && now - r->last_tick_ns > r->max_gap_ns)
		r->max_gap_ns = now - r->last_tick_ns;
	r->last_tick_ns = now;
	if (atomic_load(&r->done) || ++ticks > 2000) { /* 10 s at most */
		ticks = 0;
		ev_stop(loop);
		return EV_TIMER_DONE;
	}
	return 5 * NS_PER_MS;
}

static void run_script(struct run *r)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(r->lfd >= 0);
	assert_int_equal(bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(r->lfd, 1), 0);
	assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&sa, &sl), 0);

	char yaml[1024], err[512] = "", limit[32] = "";
	if (r->max_prefixes)
		snprintf(limit, sizeof(limit), ", max_prefixes: %u", r->max_prefixes);
	snprintf(yaml, sizeof(yaml),
		 "store: /nonexistent/never-opened.db\nlisten: \"off\"\n"
		 "networks:\n  - name: nk\n    prefixes: [198.18.10.0/24]\n    asn: [64510]\n"
		 "    targets:\n      - {name: gw, role: router, kind: icmp, host: 198.18.10.1}\n"
		 "bgp:\n  peers:\n    - {address: 127.0.0.1, remote_as: 64500, local_as: 64501, port: %u, "
		 "hold_time: %ds%s}\n",
		 ntohs(sa.sin_port), HOLD_S, limit);
	struct config *cfg = config_parse("t.yaml", yaml, strlen(yaml), err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "%s\n", err);
	assert_non_null(cfg);
	struct ev_loop *loop = ev_new();
	assert_non_null(loop);
	struct bgp *b = bgp_new(loop, cfg, on_event, r, err, sizeof(err));
	assert_non_null(b);
	atomic_store(&r->now_ns, INT64_C(1000) * NS_PER_S);
	bgp_set_clock(b, fake_now, r);

	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, peer, r), 0);
	assert_int_equal(bgp_start(b, err, sizeof(err)), 0);
	ev_add_timer(loop, 5 * NS_PER_MS, watchdog, r);
	assert_int_equal(ev_run(loop), 0);
	pthread_join(th, NULL);
	assert_true(atomic_load(&r->done));

	bgp_stop(b);
	bgp_free(b);
	ev_free(loop);
	config_free(cfg);
	close(r->lfd);
}

/* The first n changes (a retry may follow if the clock moved once more). */
static void assert_changes(const struct run *r, const enum bgp_state *want, size_t n)
{
	assert_true(r->nchanges >= n);
	for (size_t i = 0; i < n; i++) {
		if (r->to[i] != want[i])
			fail_msg("change %zu: %s, want %s", i, bgp_state_name(r->to[i]), bgp_state_name(want[i]));
		assert_int_equal(r->from[i], i ? want[i - 1] : BGP_STATE_IDLE);
	}
}

static void t_established_then_hold_expiry(void **state)
{
	(void)state;
	struct run r = {.script = SCRIPT_ESTABLISH_THEN_EXPIRE};
	run_script(&r);
	static const enum bgp_state want[] = {BGP_STATE_ACTIVE,      BGP_STATE_CONNECT,     BGP_STATE_OPENSENT,
					      BGP_STATE_OPENCONFIRM, BGP_STATE_ESTABLISHED, BGP_STATE_IDLE,
					      BGP_STATE_ACTIVE};
	assert_changes(&r, want, sizeof(want) / sizeof(want[0]));
	assert_true(r.got_notification);
	assert_int_equal(r.notif_code, BGP_ERR_HOLD);
	assert_true(r.got_eof);
}

/* A session that never got to Established: the peer is told why with a
 * NOTIFICATION, the connection closes, the peer waits to be retried. */
static void refused_in_opensent(enum script script, uint8_t code, uint8_t subcode)
{
	struct run r = {.script = script};
	run_script(&r);
	static const enum bgp_state want[] = {BGP_STATE_ACTIVE, BGP_STATE_CONNECT, BGP_STATE_OPENSENT, BGP_STATE_IDLE,
					      BGP_STATE_ACTIVE};
	assert_changes(&r, want, sizeof(want) / sizeof(want[0]));
	assert_true(r.got_notification);
	assert_int_equal(r.notif_code, code);
	assert_int_equal(r.notif_subcode, subcode);
	assert_true(r.got_eof);
}

static void t_wrong_as_gets_notification(void **state)
{
	(void)state;
	refused_in_opensent(SCRIPT_WRONG_AS, BGP_ERR_OPEN, BGP_ERR_OPEN_PEER_AS);
}

static void t_bad_version_gets_notification(void **state)
{
	(void)state;
	refused_in_opensent(SCRIPT_BAD_VERSION, BGP_ERR_OPEN, BGP_ERR_OPEN_VERSION);
}

static void t_silent_peer_hold_expiry_in_opensent(void **state)
{
	(void)state;
	refused_in_opensent(SCRIPT_SILENT, BGP_ERR_HOLD, 0);
}

/* A live session keeps what import mrt keeps (bgp_vis_route_watched):
 * routes overlapping the network's prefixes or from its AS, withdrawals of
 * those, and a withdrawal of a watched prefix the peer never announced. */
static void t_live_routes_follow_the_watched_rule(void **state)
{
	(void)state;
	struct run r = {.script = SCRIPT_ROUTES};
	run_script(&r);
	static const char *const want[] = {"A 198.18.10.0/24", "A 203.0.113.0/24", "W 198.18.10.128/25",
					   "W 203.0.113.0/24"};
	assert_int_equal(atomic_load(&r.nroutes), 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(r.routes[i], want[i]);
}

/* One route more than max_prefixes ends the session with Cease 1
 * (RFC 4486), and no route past the limit is passed on. */
static void t_max_prefixes_cease(void **state)
{
	(void)state;
	struct run r = {.script = SCRIPT_MAX_PREFIXES, .max_prefixes = 3};
	run_script(&r);
	assert_true(r.got_notification);
	assert_int_equal(r.notif_code, BGP_ERR_CEASE);
	assert_int_equal(r.notif_subcode, 1);
	assert_true(r.got_eof);
	assert_int_equal(atomic_load(&r.nroutes), 3);
	static const enum bgp_state want[] = {BGP_STATE_ACTIVE,      BGP_STATE_CONNECT,     BGP_STATE_OPENSENT,
					      BGP_STATE_OPENCONFIRM, BGP_STATE_ESTABLISHED, BGP_STATE_IDLE,
					      BGP_STATE_ACTIVE};
	assert_changes(&r, want, sizeof(want) / sizeof(want[0]));
}

/* A peer sending UPDATEs as fast as loopback carries them is read a
 * little per wakeup: the loop's other timers keep their pace. */
static void t_flood_does_not_starve_the_loop(void **state)
{
	(void)state;
	struct run r = {.script = SCRIPT_FLOOD};
	run_script(&r);
	if (r.max_gap_ns > 300 * NS_PER_MS)
		fail_msg("the loop waited %lld ms for a flooding peer", (long long)(r.max_gap_ns / NS_PER_MS));
}

static void t_keepalive_flood_does_not_starve_the_loop(void **state)
{
	(void)state;
	struct run r = {.script = SCRIPT_KEEPALIVE_FLOOD};
	run_script(&r);
	if (r.max_gap_ns > 300 * NS_PER_MS)
		fail_msg("the loop waited %lld ms for a peer flooding KEEPALIVEs",
			 (long long)(r.max_gap_ns / NS_PER_MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_established_then_hold_expiry),
	    cmocka_unit_test(t_wrong_as_gets_notification),
	    cmocka_unit_test(t_bad_version_gets_notification),
	    cmocka_unit_test(t_silent_peer_hold_expiry_in_opensent),
	    cmocka_unit_test(t_live_routes_follow_the_watched_rule),
	    cmocka_unit_test(t_max_prefixes_cease),
	    cmocka_unit_test(t_flood_does_not_starve_the_loop),
	    cmocka_unit_test(t_keepalive_flood_does_not_starve_the_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
