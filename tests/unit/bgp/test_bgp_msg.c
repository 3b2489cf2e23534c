/* BGP message codec: hand-built messages, RFC 7606 and RFC 6793 cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bgp/bgp_msg.h"

#define MAXR 16

struct got {
	size_t n;
	struct bgp_route r[MAXR];
	uint32_t origin_as[MAXR];
	char path[MAXR][128];
};

static void collect(const struct bgp_route *r, const struct bgp_attrs *a, void *arg)
{
	struct got *g = arg;
	if (g->n >= MAXR)
		return;
	g->r[g->n] = *r;
	g->origin_as[g->n] = a->origin_as;
	bgp_aspath_format(&a->aspath, g->path[g->n], sizeof(g->path[g->n]));
	g->n++;
}

static void pfx(const struct bgp_route *r, char *buf)
{
	prefix_format(&r->prefix, buf, 64);
}

/* UPDATE body: withdrawn routes, attributes, NLRI. */
static size_t update(uint8_t *out, const uint8_t *wd, size_t wl, const uint8_t *at, size_t al, const uint8_t *nl,
		     size_t nll)
{
	size_t o = 0;
	out[o++] = (uint8_t)(wl >> 8);
	out[o++] = (uint8_t)wl;
	if (wl)
		memcpy(out + o, wd, wl);
	o += wl;
	out[o++] = (uint8_t)(al >> 8);
	out[o++] = (uint8_t)al;
	memcpy(out + o, at, al);
	o += al;
	if (nll)
		memcpy(out + o, nl, nll);
	return o + nll;
}

static const uint8_t attrs4[] = {
    0x40, 1, 1,  0,                                          /* ORIGIN IGP */
    0x40, 2, 10, 2,   2, 0, 0, 0xfb, 0xf4, 0, 2, 0x02, 0x3f, /* AS_PATH SEQ 64500 131647 */
    0x40, 3, 4,  192, 0, 2, 1,                               /* NEXT_HOP */
};

static void test_announce_withdraw(void **state)
{
	(void)state;
	uint8_t body[256];
	const uint8_t wd[] = {24, 203, 0, 113};
	const uint8_t nl[] = {24, 192, 0, 2, 22, 198, 51, 100};
	size_t len = update(body, wd, sizeof(wd), attrs4, sizeof(attrs4), nl, sizeof(nl));
	struct bgp_msg_opts o = {.as4 = true};
	struct bgp_attrs a;
	struct bgp_error e;
	struct got g = {0};
	char buf[64];

	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), 0);
	assert_int_equal(g.n, 3);
	assert_false(g.r[0].announce);
	pfx(&g.r[0], buf);
	assert_string_equal(buf, "203.0.113.0/24");
	assert_true(g.r[1].announce);
	pfx(&g.r[1], buf);
	assert_string_equal(buf, "192.0.2.0/24");
	pfx(&g.r[2], buf);
	assert_string_equal(buf, "198.51.100.0/22");
	assert_int_equal(g.origin_as[1], 131647);
	assert_string_equal(g.path[1], "64500 131647");
	assert_false(a.treat_as_withdraw);
}

static void test_masked_trailing_bits(void **state)
{
	(void)state;
	uint8_t body[256];
	const uint8_t nl[] = {13, 11, 13}; /* 11.13.0.0/13 on the wire */
	size_t len = update(body, NULL, 0, attrs4, sizeof(attrs4), nl, sizeof(nl));
	struct bgp_msg_opts o = {.as4 = true};
	struct bgp_attrs a;
	struct bgp_error e;
	struct got g = {0};
	char buf[64];

	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), 0);
	assert_int_equal(g.n, 1);
	pfx(&g.r[0], buf);
	assert_string_equal(buf, "11.8.0.0/13");
}

static void test_treat_as_withdraw(void **state)
{
	(void)state;
	uint8_t at[sizeof(attrs4)];
	memcpy(at, attrs4, sizeof(at));
	at[3] = 7; /* ORIGIN out of range */
	uint8_t body[256];
	const uint8_t nl[] = {24, 192, 0, 2};
	size_t len = update(body, NULL, 0, at, sizeof(at), nl, sizeof(nl));
	struct bgp_msg_opts o = {.as4 = true};
	struct bgp_attrs a;
	struct bgp_error e;
	struct got g = {0};

	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), 0);
	assert_int_equal(g.n, 1);
	assert_false(g.r[0].announce);
	assert_true(g.r[0].from_nlri);
	assert_true(a.treat_as_withdraw);

	/* A missing NEXT_HOP for IPv4 NLRI also withdraws. */
	len = update(body, NULL, 0, attrs4, sizeof(attrs4) - 7, nl, sizeof(nl));
	memset(&g, 0, sizeof(g));
	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), 0);
	assert_int_equal(g.n, 1);
	assert_false(g.r[0].announce);

	/* A 2-octet AS_PATH read as 4-octet does not fit: withdraw. */
	const uint8_t at2[] = {0x40, 1, 1, 0, 0x40, 2, 6, 2, 2, 0xfb, 0xf4, 0xfb, 0xf5, 0x40, 3, 4, 192, 0, 2, 1};
	len = update(body, NULL, 0, at2, sizeof(at2), nl, sizeof(nl));
	memset(&g, 0, sizeof(g));
	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), 0);
	assert_false(g.r[0].announce);
	o.as4 = false;
	memset(&g, 0, sizeof(g));
	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), 0);
	assert_true(g.r[0].announce);
	assert_string_equal(g.path[0], "64500 64501");
}

static void test_session_reset_errors(void **state)
{
	(void)state;
	uint8_t body[256];
	const uint8_t nl[] = {24, 192, 0, 2};
	struct bgp_msg_opts o = {.as4 = true};
	struct bgp_attrs a;
	struct bgp_error e;
	struct got g = {0};

	/* attribute length running past the attribute block */
	uint8_t at[sizeof(attrs4)];
	memcpy(at, attrs4, sizeof(at));
	at[2] = 50;
	size_t len = update(body, NULL, 0, at, sizeof(at), nl, sizeof(nl));
	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), -1);
	assert_int_equal(e.code, BGP_ERR_UPDATE);

	/* withdrawn length beyond the message */
	len = update(body, NULL, 0, attrs4, sizeof(attrs4), nl, sizeof(nl));
	body[1] = 200;
	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), -1);
	assert_int_equal(e.code, BGP_ERR_UPDATE);
	assert_int_equal(e.subcode, BGP_ERR_UPD_ATTR_LIST);

	/* IPv4 prefix length 33 */
	const uint8_t bad[] = {33, 192, 0, 2, 0, 0};
	len = update(body, NULL, 0, attrs4, sizeof(attrs4), bad, sizeof(bad));
	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), -1);
	assert_int_equal(e.subcode, BGP_ERR_UPD_NETWORK);

	/* NLRI cut in the middle of a prefix */
	const uint8_t cut[] = {24, 192, 0};
	len = update(body, NULL, 0, attrs4, sizeof(attrs4), cut, sizeof(cut));
	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), -1);
	/* ...which an archive read reads as far as it goes. */
	o.lenient = true;
	memset(&g, 0, sizeof(g));
	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), 0);
	assert_int_equal(g.n, 0);
}

static void test_as4_path_merge(void **state)
{
	(void)state;
	/* 2-octet session: AS_PATH 64500 23456 23456, AS4_PATH 4200000000 4200000001 */
	const uint8_t at[] = {0x40, 1, 1, 0, 0x40, 2,  8,  2, 3, 0xfb, 0xf4, 0x5b, 0xa0, 0x5b, 0xa0, 0x40, 3,   4,
			      192,  0, 2, 1, 0xc0, 17, 10, 2, 2, 0xfa, 0x56, 0xea, 0x00, 0xfa, 0x56, 0xea, 0x01};
	const uint8_t nl[] = {24, 192, 0, 2};
	uint8_t body[256];
	size_t len = update(body, NULL, 0, at, sizeof(at), nl, sizeof(nl));
	struct bgp_msg_opts o = {.as4 = false};
	struct bgp_attrs a;
	struct bgp_error e;
	struct got g = {0};

	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.path[0], "64500 4200000000 4200000001");
	assert_int_equal(g.origin_as[0], 4200000001u);
}

static void test_mp_bgp_v6_and_addpath(void **state)
{
	(void)state;
	const uint8_t at[] = {0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xfb, 0xf4,
			      /* MP_REACH: AFI 2 SAFI 1, NH 16 bytes, reserved, 2001:db8::/32 and 2001:db8:1::/48 */
			      0x80, 14, 33, 0, 2, 1, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
			      32, 0x20, 0x01, 0x0d, 0xb8, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1,
			      /* MP_UNREACH: AFI 2 SAFI 1, 2001:db8:ff::/48 */
			      0x80, 15, 10, 0, 2, 1, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 0xff};
	uint8_t body[256];
	size_t len = update(body, NULL, 0, at, sizeof(at), NULL, 0);
	struct bgp_msg_opts o = {.as4 = true};
	struct bgp_attrs a;
	struct bgp_error e;
	struct got g = {0};
	char buf[64];

	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), 0);
	assert_int_equal(g.n, 3);
	assert_false(g.r[0].announce);
	pfx(&g.r[0], buf);
	assert_string_equal(buf, "2001:db8:ff::/48");
	assert_true(g.r[1].announce);
	pfx(&g.r[1], buf);
	assert_string_equal(buf, "2001:db8::/32");
	pfx(&g.r[2], buf);
	assert_string_equal(buf, "2001:db8:1::/48");
	assert_int_equal(g.origin_as[1], 64500);
	assert_int_equal(a.nexthop_len, 16);

	/* ADD-PATH IPv4 NLRI: path id before each prefix */
	const uint8_t nl[] = {0, 0, 0, 7, 24, 192, 0, 2, 0, 0, 0, 9, 24, 192, 0, 2};
	len = update(body, NULL, 0, attrs4, sizeof(attrs4), nl, sizeof(nl));
	o.addpath_v4 = true;
	memset(&g, 0, sizeof(g));
	assert_int_equal(bgp_update_parse(body, len, &o, collect, &g, &a, &e), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].path_id, 7);
	assert_int_equal(g.r[1].path_id, 9);
}

static void test_header(void **state)
{
	(void)state;
	uint8_t m[64];
	uint8_t type;
	uint16_t len;
	struct bgp_error e;

	assert_int_equal(bgp_build_keepalive(m, sizeof(m)), 19);
	assert_int_equal(bgp_msg_header(m, 19, BGP_MSG_MAX, &type, &len, &e), 0);
	assert_int_equal(type, BGP_MSG_KEEPALIVE);
	m[3] = 0;
	assert_int_equal(bgp_msg_header(m, 19, BGP_MSG_MAX, &type, &len, &e), -1);
	assert_int_equal(e.code, BGP_ERR_HEADER);
	assert_int_equal(e.subcode, BGP_ERR_HDR_SYNC);
	m[3] = 0xff;
	m[17] = 20; /* KEEPALIVE of 20 bytes */
	assert_int_equal(bgp_msg_header(m, 20, BGP_MSG_MAX, &type, &len, &e), -1);
	assert_int_equal(e.subcode, BGP_ERR_HDR_LENGTH);
	m[17] = 19;
	m[18] = 9;
	assert_int_equal(bgp_msg_header(m, 19, BGP_MSG_MAX, &type, &len, &e), -1);
	assert_int_equal(e.subcode, BGP_ERR_HDR_TYPE);
	/* UPDATE longer than 4096 needs extended messages */
	m[16] = 0x20;
	m[17] = 0x00;
	m[18] = BGP_MSG_UPDATE;
	assert_int_equal(bgp_msg_header(m, 19, BGP_MSG_MAX, &type, &len, &e), -1);
	assert_int_equal(bgp_msg_header(m, 19, BGP_MSG_EXT_MAX, &type, &len, &e), 0);
	assert_int_equal(len, 0x2000);
}

static void test_open_roundtrip(void **state)
{
	(void)state;
	uint8_t m[128];
	struct bgp_open op;
	struct bgp_error e;
	int n = bgp_build_open(m, sizeof(m), 4200000001u, 90, 0xc0000201u);
	assert_true(n > 29);
	assert_int_equal(bgp_open_parse(m + BGP_HDR_LEN, (size_t)n - BGP_HDR_LEN, &op, &e), 0);
	assert_int_equal(op.version, 4);
	assert_int_equal(op.my_as, 23456);
	assert_true(op.cap_as4);
	assert_int_equal(op.as4, 4200000001u);
	assert_true(op.cap_mp_v4);
	assert_true(op.cap_mp_v6);
	assert_true(op.cap_route_refresh);
	assert_int_equal(op.hold_time, 90);
	m[BGP_HDR_LEN + 4] = 2; /* hold time 2 s is illegal */
	assert_int_equal(bgp_open_parse(m + BGP_HDR_LEN, (size_t)n - BGP_HDR_LEN, &op, &e), -1);
	assert_int_equal(e.code, BGP_ERR_OPEN);
	assert_int_equal(e.subcode, BGP_ERR_OPEN_HOLD);
	n = bgp_build_notification(m, sizeof(m), BGP_ERR_CEASE, BGP_ERR_CEASE_ADMIN, NULL, 0);
	assert_int_equal(n, 21);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_announce_withdraw),
	    cmocka_unit_test(test_masked_trailing_bits),
	    cmocka_unit_test(test_treat_as_withdraw),
	    cmocka_unit_test(test_session_reset_errors),
	    cmocka_unit_test(test_as4_path_merge),
	    cmocka_unit_test(test_mp_bgp_v6_and_addpath),
	    cmocka_unit_test(test_header),
	    cmocka_unit_test(test_open_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
