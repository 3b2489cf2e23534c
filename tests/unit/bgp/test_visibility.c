/* Visibility: majority rule, withdrawn/restored events, peer resets and
 * table transfers, memory per route on a full table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bgp/mrt.h"
#include "bgp/visibility.h"
#include "config/config.h"

#ifndef SHARED_DATA_DIR
#define SHARED_DATA_DIR "../shared/data"
#endif

struct evlog {
	int withdrawn, restored;
	size_t last_n;
	char last[8][64];
	int64_t last_at;
};

static void on_ev(const struct bgp_vis_event *ev, void *arg)
{
	struct evlog *l = arg;
	if (ev->withdrawn)
		l->withdrawn++;
	else
		l->restored++;
	l->last_n = ev->nprefixes;
	l->last_at = ev->at_ms;
	for (size_t i = 0; i < ev->nprefixes && i < 8; i++)
		prefix_format(&ev->prefixes[i], l->last[i], sizeof(l->last[i]));
}

static struct config *cfg_of(const char *prefixes, const char *asn)
{
	char err[256];
	size_t cap = strlen(prefixes) + 512;
	char *yaml = malloc(cap);
	assert_non_null(yaml);
	snprintf(yaml, cap,
		 "listen: \"off\"\nnetworks:\n  - name: lab\n    prefixes: [%s]\n    asn: [%s]\n"
		 "    targets:\n      - {name: t, role: host, kind: icmp, host: 192.0.2.1}\n",
		 prefixes, asn);
	struct config *c = config_parse("test.yaml", yaml, strlen(yaml), err, sizeof(err));
	free(yaml);
	if (!c)
		fail_msg("config: %s", err);
	return c;
}

static struct prefix P(const char *s) {
	struct prefix p;
	if (prefix_parse(s, &p) < 0)
		fail_msg("bad prefix %s", s);
	return p;
}

static void
test_majority_withdraw_restore(void **state)
{
	(void)state;
	struct config *cfg = cfg_of("198.51.100.0/22, 2001:db8::/32", "64500");
	struct evlog l = {0};
	struct bgp_vis *v = bgp_vis_new(cfg, false, on_ev, &l);
	assert_non_null(v);
	int a = bgp_vis_peer(v, "192.0.2.1"), b = bgp_vis_peer(v, "192.0.2.2"), c = bgp_vis_peer(v, "192.0.2.3");
	for (int p = a; p <= c; p++)
		bgp_vis_peer_up(v, p, 1000, false, 0);
	struct prefix more = P("198.51.100.0/24"), cover = P("198.51.0.0/16"), v6 = P("2001:db8:1::/48");
	struct prefix other = P("203.0.113.0/24");
	for (int p = a; p <= c; p++) {
		bgp_vis_route(v, p, &more, 0, 64500, true);
		bgp_vis_route(v, p, &v6, 0, 64500, true);
		bgp_vis_route(v, p, &other, 0, 64511, true); /* not watched: not kept */
	}
	bgp_vis_flush(v, 2000);
	/* first sight is announced once, so the detector knows BGP data exists */
	assert_int_equal(l.withdrawn, 0);
	assert_int_equal(l.restored, 1);
	l.restored = 0;
	struct bgp_vis_status st;
	bgp_vis_network_status(v, 0, &st);
	assert_int_equal(st.expected, 2);
	assert_int_equal(st.visible, 2);
	assert_int_equal(st.counted_peers, 3);
	assert_int_equal(bgp_vis_routes(v), 6);
	assert_int_equal(bgp_vis_peer_visible(v, 0, b), 2);

	/* one of three withdraws: still visible by majority */
	bgp_vis_route(v, a, &more, 0, 0, false);
	bgp_vis_flush(v, 3000);
	assert_int_equal(l.withdrawn, 0);
	/* two of three: withdrawn */
	bgp_vis_route(v, b, &more, 0, 0, false);
	bgp_vis_flush(v, 4000);
	assert_int_equal(l.withdrawn, 1);
	assert_int_equal(l.last_n, 1);
	assert_string_equal(l.last[0], "198.51.100.0/22");
	assert_int_equal(l.last_at, 4000);
	bgp_vis_network_status(v, 0, &st);
	assert_int_equal(st.visible, 1);
	assert_int_equal(bgp_vis_peer_visible(v, 0, c), 2);
	assert_int_equal(bgp_vis_peer_visible(v, 0, a), 1);
	/* a covering route comes back from two peers: restored */
	bgp_vis_route(v, a, &cover, 0, 64496, true);
	bgp_vis_route(v, b, &cover, 0, 64496, true);
	bgp_vis_flush(v, 5000);
	assert_int_equal(l.restored, 1);
	assert_string_equal(l.last[0], "198.51.100.0/22");

	/* a peer resetting drops its routes but is no longer counted: no event */
	bgp_vis_peer_down(v, c, 6000);
	bgp_vis_flush(v, 6000);
	assert_int_equal(l.withdrawn, 1);
	bgp_vis_network_status(v, 0, &st);
	assert_int_equal(st.counted_peers, 2);
	assert_int_equal(bgp_vis_peer_visible(v, 0, c), 0);
	/* back up and syncing: not counted (its table is empty) until synced */
	bgp_vis_peer_up(v, c, 7000, true, 30000);
	bgp_vis_tick(v, 8000);
	assert_int_equal(l.withdrawn, 1);
	bgp_vis_route(v, c, &more, 0, 64500, true);
	bgp_vis_peer_synced(v, c, 9000);
	bgp_vis_flush(v, 9000);
	assert_int_equal(l.withdrawn, 1);
	bgp_vis_network_status(v, 0, &st);
	assert_int_equal(st.counted_peers, 3);
	assert_int_equal(st.visible, 2);

	/* everybody withdraws both: one event with both prefixes */
	for (int p = a; p <= c; p++) {
		bgp_vis_route(v, p, &more, 0, 0, false);
		bgp_vis_route(v, p, &cover, 0, 0, false);
		bgp_vis_route(v, p, &v6, 0, 0, false);
	}
	bgp_vis_flush(v, 10000);
	assert_int_equal(l.withdrawn, 2);
	assert_int_equal(l.last_n, 2);
	assert_int_equal(bgp_vis_routes(v), 0);
	bgp_vis_free(v);
	config_free(cfg);
}

/* RIS rrc15 2010-02-27 16:00: peer 200.219.130.4 re-sends its full table
 * (48,721 announcements).  Prefixes it re-announced must not be withdrawn. */
struct pass1 {
	struct prefix p[400];
	size_t n;
};

static void pick(const struct mrt_event *ev, void *arg)
{
	struct pass1 *s = arg;
	if (ev->kind != MRT_EV_ANNOUNCE || strcmp(ev->peer, "200.219.130.4") != 0 || s->n >= 400)
		return;
	if (ev->prefix.len < 16 || ev->prefix.len > 24)
		return;
	/* every 100th re-announced prefix */
	static unsigned k;
	if (k++ % 100 == 0)
		s->p[s->n++] = ev->prefix;
}

struct pass2 {
	struct bgp_vis *v;
	struct bgp_vis *only4; /* sees the reset peer alone: 1 of 1 is a majority */
};

static void feed(const struct mrt_event *ev, void *arg)
{
	struct pass2 *s = arg;
	bgp_vis_feed_mrt(s->v, ev, 60000);
	if (strcmp(ev->peer, "200.219.130.4") == 0)
		bgp_vis_feed_mrt(s->only4, ev, 60000);
}

static void test_rrc15_table_transfer_is_not_an_outage(void **state)
{
	(void)state;
	const char *file = SHARED_DATA_DIR "/bgpkit-parser/tests/fixtures/ripe/rrc15/2010.02/updates.20100227.1600.gz";
	char err[256];
	struct pass1 s1 = {0};
	struct mrt_parser *p = mrt_parser_new(pick, &s1);
	assert_int_equal(mrt_read_file(file, p, err, sizeof(err)), 0);
	mrt_parser_free(p);
	assert_true(s1.n >= 200);

	/* a configuration watching those prefixes */
	size_t cap = s1.n * 24 + 64;
	char *list = calloc(1, cap);
	for (size_t i = 0; i < s1.n; i++) {
		char b[64];
		prefix_format(&s1.p[i], b, sizeof(b));
		strcat(list, i ? ", " : "");
		strcat(list, b);
	}
	struct config *cfg = cfg_of(list, "1916");
	free(list);
	struct evlog l = {0}, l4 = {0};
	struct pass2 s2 = {.v = bgp_vis_new(cfg, false, on_ev, &l), .only4 = bgp_vis_new(cfg, false, on_ev, &l4)};
	assert_non_null(s2.v);
	assert_non_null(s2.only4);
	size_t seen4 = 0;
	struct mrt_reader *r = mrt_open(file, err, sizeof(err));
	assert_non_null(r);
	p = mrt_parser_new(feed, &s2);
	struct mrt_record rec;
	for (;;) {
		int n = mrt_next(r, &rec, err, sizeof(err));
		assert_true(n >= 0);
		if (n == 0)
			break;
		mrt_parse_record(p, &rec, err, sizeof(err));
		bgp_vis_tick(s2.v, (int64_t)rec.timestamp * 1000);
		bgp_vis_tick(s2.only4, (int64_t)rec.timestamp * 1000);
		/* what the reset peer shows of the watched prefixes never drops */
		size_t now4 = bgp_vis_peer_visible(s2.v, 0, bgp_vis_peer(s2.v, "200.219.130.4"));
		assert_true(now4 >= seen4);
		seen4 = now4;
	}
	mrt_close(r);
	mrt_parser_free(p);
	int four = bgp_vis_peer(s2.v, "200.219.130.4");
	/* the peer holds every watched prefix at the end... */
	assert_int_equal(bgp_vis_peer_visible(s2.v, 0, four), s1.n);
	/* ...and nothing was ever judged withdrawn */
	assert_int_equal(l.withdrawn, 0);
	struct bgp_vis_status st;
	bgp_vis_network_status(s2.v, 0, &st);
	printf("rrc15: %zu watched, %zu visible by majority of %zu peers\n", st.expected, st.visible, st.counted_peers);
	assert_true(st.counted_peers >= 5);
	assert_true(st.routes >= s1.n);
	bgp_vis_network_status(s2.only4, 0, &st);
	assert_int_equal(st.visible, s1.n);
	assert_int_equal(l4.withdrawn, 0);
	bgp_vis_free(s2.only4);
	bgp_vis_free(s2.v);
	config_free(cfg);
}

/* The same replay machinery does see a real withdrawal. */
static void test_replay_sees_withdrawal(void **state)
{
	(void)state;
	struct config *cfg = cfg_of("192.0.2.0/24", "64500");
	struct evlog l = {0};
	struct bgp_vis *v = bgp_vis_new(cfg, false, on_ev, &l);
	struct bgp_attrs at = {0};
	at.origin_as = 64500;
	struct mrt_event ev = {.kind = MRT_EV_ANNOUNCE, .at_us = 1000000, .attrs = &at};
	ev.prefix = P("192.0.2.0/24");
	snprintf(ev.peer, sizeof(ev.peer), "198.51.100.1");
	bgp_vis_feed_mrt(v, &ev, 60000);
	bgp_vis_tick(v, 1000);
	ev.kind = MRT_EV_WITHDRAW;
	ev.attrs = NULL;
	ev.at_us = 2000000;
	bgp_vis_feed_mrt(v, &ev, 60000);
	bgp_vis_tick(v, 2000);
	assert_int_equal(l.withdrawn, 1);
	assert_int_equal(l.last_at, 2000);
	bgp_vis_free(v);
	config_free(cfg);
}

struct full {
	struct bgp_vis *v;
};

static void feed_full(const struct mrt_event *ev, void *arg)
{
	struct full *f = arg;
	bgp_vis_feed_mrt(f->v, ev, 0);
}

/* A full-table transfer (577,706 prefixes from one peer) kept whole. */
static void test_memory_per_route(void **state)
{
	(void)state;
	struct config *cfg = cfg_of("192.0.2.0/24", "64500");
	struct full f = {.v = bgp_vis_new(cfg, true, NULL, NULL)};
	char err[256];
	struct mrt_parser *p = mrt_parser_new(feed_full, &f);
	assert_int_equal(
	    mrt_read_file(SHARED_DATA_DIR "/bgpdump/test_data/updates.et-header.2015.gz", p, err, sizeof(err)), 0);
	size_t routes = bgp_vis_routes(f.v), bytes = bgp_vis_table_bytes(f.v);
	printf("full table: %zu routes, %zu bytes, %.1f bytes/route\n", routes, bytes, (double)bytes / (double)routes);
	assert_true(routes > 577000 && routes <= 577706);
	assert_true(bytes / routes <= 64);
	mrt_parser_free(p);
	bgp_vis_free(f.v);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_majority_withdraw_restore),
	    cmocka_unit_test(test_rrc15_table_transfer_is_not_an_outage),
	    cmocka_unit_test(test_replay_sees_withdrawal),
	    cmocka_unit_test(test_memory_per_route),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
