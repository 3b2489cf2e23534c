/* Reply matching of ICMP echoes: our replies, stray, forged, late,
 * duplicate, and ICMP errors quoting our echoes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "probe/errqueue.h"
#include "probe/icmp_packet.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>

static const uint8_t key[16] = {0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87,
				0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f};

static struct sockaddr_storage addr(const char *s)
{
	struct sockaddr_storage ss;
	assert_int_equal(addr_parse(s, &ss), 0);
	return ss;
}

static void build(const char *dest, bool raw, uint32_t target, uint32_t round, uint16_t echo, uint8_t *out)
{
	struct sockaddr_storage d = addr(dest);
	struct icmp_build b = {.key = key,
			       .raw = raw,
			       .ident = 0xbeef,
			       .target = target,
			       .round = round,
			       .echo = echo,
			       .count = 3,
			       .sent_ns = INT64_C(123456789012345)};
	icmp_build_echo(&b, &d, out);
}

/* The echo turned into its reply, as a datagram socket returns it. */
static void to_reply(uint8_t *pkt, int family)
{
	pkt[0] = family == AF_INET ? 0 : 129;
}

static void test_reply_accepted(void **state)
{
	(void)state;
	uint8_t pkt[ICMP_PACKET_LEN];
	struct icmp_match mt;
	struct sockaddr_storage from = addr("192.0.2.7");
	struct icmp_parse_ctx ctx = {.key = key, .family = AF_INET};

	build("192.0.2.7", false, 42, 1000, 2, pkt);
	to_reply(pkt, AF_INET);
	assert_int_equal(icmp_parse_packet(&ctx, pkt, sizeof(pkt), &from, &mt), ICMP_VERDICT_REPLY);
	assert_int_equal(mt.target, 42);
	assert_int_equal(mt.round, 1000);
	assert_int_equal(mt.echo, 2);
	assert_int_equal(mt.sent_ns, INT64_C(123456789012345));
	assert_true(addr_equal(&mt.dest, &from));

	/* IPv6 */
	struct sockaddr_storage from6 = addr("2001:db8::7");
	struct icmp_parse_ctx ctx6 = {.key = key, .family = AF_INET6};
	build("2001:db8::7", false, 7, 5, 0, pkt);
	to_reply(pkt, AF_INET6);
	assert_int_equal(icmp_parse_packet(&ctx6, pkt, sizeof(pkt), &from6, &mt), ICMP_VERDICT_REPLY);
	assert_int_equal(mt.target, 7);
}

static void test_reply_from_wrong_host_is_forged(void **state)
{
	(void)state;
	uint8_t pkt[ICMP_PACKET_LEN];
	struct icmp_match mt;
	struct sockaddr_storage other = addr("192.0.2.8");
	struct icmp_parse_ctx ctx = {.key = key, .family = AF_INET};

	build("192.0.2.7", false, 42, 1000, 0, pkt);
	to_reply(pkt, AF_INET);
	assert_int_equal(icmp_parse_packet(&ctx, pkt, sizeof(pkt), &other, &mt), ICMP_VERDICT_FORGED);
}

static void test_tampered_payload_is_forged(void **state)
{
	(void)state;
	uint8_t pkt[ICMP_PACKET_LEN];
	struct icmp_match mt;
	struct sockaddr_storage from = addr("192.0.2.7");
	struct icmp_parse_ctx ctx = {.key = key, .family = AF_INET};
	static const uint8_t other_key[16] = {9};

	build("192.0.2.7", false, 42, 1000, 0, pkt);
	to_reply(pkt, AF_INET);
	pkt[8 + 7] ^= 1; /* another target index */
	assert_int_equal(icmp_parse_packet(&ctx, pkt, sizeof(pkt), &from, &mt), ICMP_VERDICT_FORGED);
	/* built with another run's key: a late reply to an earlier run */
	build("192.0.2.7", false, 42, 1000, 0, pkt);
	to_reply(pkt, AF_INET);
	ctx.key = other_key;
	assert_int_equal(icmp_parse_packet(&ctx, pkt, sizeof(pkt), &from, &mt), ICMP_VERDICT_FORGED);
}

static void test_stray_packets(void **state)
{
	(void)state;
	struct icmp_match mt;
	struct sockaddr_storage from = addr("192.0.2.7");
	struct icmp_parse_ctx ctx = {.key = key, .raw = true, .ident = 0xbeef, .family = AF_INET};
	/* another process's ping reply, as a raw socket sees it: IP header first */
	uint8_t pkt[20 + 8 + 56] = {0x45, 0, 0, 84, 0, 0, 0, 0, 64, 1, 0, 0, 192, 0, 2, 7, 192, 0, 2, 1};
	pkt[20] = 0;    /* echo reply */
	pkt[24] = 0x12; /* another identifier */
	pkt[25] = 0x34;
	assert_int_equal(icmp_parse_packet(&ctx, pkt, sizeof(pkt), &from, &mt), ICMP_VERDICT_NOT_OURS);
	/* our identifier but not our payload */
	pkt[24] = 0xbe;
	pkt[25] = 0xef;
	assert_int_equal(icmp_parse_packet(&ctx, pkt, sizeof(pkt), &from, &mt), ICMP_VERDICT_NOT_OURS);
	/* short and truncated packets */
	assert_int_equal(icmp_parse_packet(&ctx, pkt, 10, &from, &mt), ICMP_VERDICT_NOT_OURS);
	assert_int_equal(icmp_parse_packet(&ctx, pkt, 27, &from, &mt), ICMP_VERDICT_NOT_OURS);
	/* an echo request (someone pinging us) */
	uint8_t req[ICMP_PACKET_LEN];
	struct icmp_parse_ctx dctx = {.key = key, .family = AF_INET};
	build("192.0.2.7", false, 1, 1, 0, req);
	assert_int_equal(icmp_parse_packet(&dctx, req, sizeof(req), &from, &mt), ICMP_VERDICT_NOT_OURS);
}

static void test_raw_reply_with_ip_header(void **state)
{
	(void)state;
	uint8_t pkt[20 + ICMP_PACKET_LEN] = {0x45, 0, 0, 60, 0, 0, 0, 0, 64, 1, 0, 0, 192, 0, 2, 7, 192, 0, 2, 1};
	struct icmp_match mt;
	struct sockaddr_storage from = addr("192.0.2.7");
	struct icmp_parse_ctx ctx = {.key = key, .raw = true, .ident = 0xbeef, .family = AF_INET};

	build("192.0.2.7", true, 3, 9, 1, pkt + 20);
	to_reply(pkt + 20, AF_INET);
	assert_int_equal(icmp_parse_packet(&ctx, pkt, sizeof(pkt), &from, &mt), ICMP_VERDICT_REPLY);
	assert_int_equal(mt.target, 3);
	assert_int_equal(mt.echo, 1);
	/* a bad IP header length */
	pkt[0] = 0x4f;
	assert_int_equal(icmp_parse_packet(&ctx, pkt, sizeof(pkt), &from, &mt), ICMP_VERDICT_NOT_OURS);
}

/* An ICMP error from router 198.51.100.1 quoting our echo to 192.0.2.7. */
static size_t make_error(uint8_t *out, const char *dest, size_t quoted_icmp_len, bool raw)
{
	size_t off = 0;
	if (raw) {
		static const uint8_t ip[20] = {0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 198, 51, 100, 1, 192, 0, 2, 1};
		memcpy(out, ip, 20);
		off = 20;
	}
	memset(out + off, 0, 8);
	out[off] = 3;     /* destination unreachable */
	out[off + 1] = 1; /* host unreachable */
	off += 8;
	uint8_t quoted_ip[20] = {0x45, 0, 0, 60, 0, 0, 0, 0, 63, 1, 0, 0, 192, 0, 2, 1, 192, 0, 2, 7};
	struct sockaddr_storage d = addr(dest);
	memcpy(quoted_ip + 16, &((struct sockaddr_in *)&d)->sin_addr, 4);
	memcpy(out + off, quoted_ip, 20);
	off += 20;
	uint8_t echo[ICMP_PACKET_LEN];
	build("192.0.2.7", raw, 5, 77, 0, echo);
	memcpy(out + off, echo, quoted_icmp_len);
	return off + quoted_icmp_len;
}

static void test_icmp_error_quoting_our_echo(void **state)
{
	(void)state;
	uint8_t pkt[200];
	struct icmp_match mt;
	struct sockaddr_storage router = addr("198.51.100.1");
	struct icmp_parse_ctx ctx = {.key = key, .raw = true, .ident = 0xbeef, .family = AF_INET};

	size_t len = make_error(pkt, "192.0.2.7", ICMP_PACKET_LEN, true);
	assert_int_equal(icmp_parse_packet(&ctx, pkt, len, &router, &mt), ICMP_VERDICT_ERROR);
	assert_int_equal(mt.target, 5);
	assert_int_equal(mt.round, 77);
	assert_int_equal(mt.err_type, 3);
	assert_int_equal(mt.err_code, 1);
	struct sockaddr_storage dest = addr("192.0.2.7");
	assert_true(addr_equal(&mt.dest, &dest));

	/* an RFC 792 quote of 8 bytes cannot be authenticated: not trusted */
	len = make_error(pkt, "192.0.2.7", 8, true);
	assert_int_equal(icmp_parse_packet(&ctx, pkt, len, &router, &mt), ICMP_VERDICT_NOT_OURS);

	/* a quote of a packet we never sent: our payload, another destination */
	len = make_error(pkt, "192.0.2.99", ICMP_PACKET_LEN, true);
	assert_int_equal(icmp_parse_packet(&ctx, pkt, len, &router, &mt), ICMP_VERDICT_FORGED);
}

static void test_own_echo_from_error_queue(void **state)
{
	(void)state;
	uint8_t pkt[ICMP_PACKET_LEN];
	struct icmp_match mt;
	struct sockaddr_storage dest = addr("192.0.2.7"), other = addr("192.0.2.9");
	struct icmp_parse_ctx ctx = {.key = key, .family = AF_INET};

	build("192.0.2.7", false, 11, 12, 2, pkt);
	assert_int_equal(icmp_parse_own_echo(&ctx, pkt, sizeof(pkt), &dest, &mt), 0);
	assert_int_equal(mt.target, 11);
	assert_int_equal(icmp_parse_own_echo(&ctx, pkt, sizeof(pkt), &other, &mt), -1);
	assert_int_equal(icmp_parse_own_echo(&ctx, pkt, 20, &dest, &mt), -1);
}

static void test_round_accept_late_and_duplicate(void **state)
{
	(void)state;
	struct icmp_round r = {.round = 10, .count = 3, .open = true};

	assert_int_equal(icmp_round_accept(&r, 10, 0), ICMP_ACCEPT_NEW);
	assert_int_equal(icmp_round_accept(&r, 10, 0), ICMP_ACCEPT_DUPLICATE);
	assert_int_equal(icmp_round_accept(&r, 9, 1), ICMP_ACCEPT_LATE);       /* previous round */
	assert_int_equal(icmp_round_accept(&r, 10, 3), ICMP_ACCEPT_DUPLICATE); /* beyond count */
	assert_int_equal(icmp_round_accept(&r, 10, 2), ICMP_ACCEPT_NEW);
	assert_int_equal(r.nreceived, 2);
	r.open = false;
	assert_int_equal(icmp_round_accept(&r, 10, 1), ICMP_ACCEPT_LATE); /* after the deadline */
	assert_int_equal(r.nreceived, 2);
}

static void test_checksum_valid(void **state)
{
	(void)state;
	uint8_t pkt[ICMP_PACKET_LEN];
	build("192.0.2.7", true, 1, 2, 0, pkt);
	uint32_t sum = 0;
	for (size_t i = 0; i < sizeof(pkt); i += 2)
		sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff);
	assert_int_equal(pkt[4] << 8 | pkt[5], 0xbeef);
}

/* One table gives an ICMP error's words and its failure class; the words
 * are what details (and the detector, for now) read. */
static void test_error_meaning(void **state)
{
	(void)state;
	static const struct {
		int family;
		uint8_t type, code;
		const char *text;
		enum failure failure;
	} cases[] = {
	    {AF_INET, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, "net unreachable", FAILURE_NET_UNREACH},
	    {AF_INET, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, "host unreachable", FAILURE_HOST_UNREACH},
	    {AF_INET, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, "protocol unreachable", FAILURE_PORT_UNREACH},
	    {AF_INET, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, "port unreachable", FAILURE_PORT_UNREACH},
	    {AF_INET, ICMP_DEST_UNREACH, ICMP_PKT_FILTERED, "administratively prohibited", FAILURE_ADMIN},
	    {AF_INET, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, "destination unreachable", FAILURE_UNREACH_OTHER},
	    {AF_INET, ICMP_TIME_EXCEEDED, 0, "TTL exceeded", FAILURE_TTL_EXCEEDED},
	    {AF_INET, ICMP_PARAMETERPROB, 0, "ICMP error", FAILURE_UNREACH_OTHER},
	    {AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOROUTE, "no route", FAILURE_NET_UNREACH},
	    {AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADMIN, "administratively prohibited", FAILURE_ADMIN},
	    {AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR, "address unreachable", FAILURE_HOST_UNREACH},
	    {AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, "port unreachable", FAILURE_PORT_UNREACH},
	    {AF_INET6, ICMP6_DST_UNREACH, 6, "destination unreachable", FAILURE_UNREACH_OTHER},
	    {AF_INET6, ICMP6_PACKET_TOO_BIG, 0, "packet too big", FAILURE_UNREACH_OTHER},
	    {AF_INET6, ICMP6_TIME_EXCEEDED, 0, "hop limit exceeded", FAILURE_TTL_EXCEEDED},
	    {AF_INET6, ICMP6_PARAM_PROB, 0, "ICMPv6 error", FAILURE_UNREACH_OTHER},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(icmp_error_text(cases[i].family, cases[i].type, cases[i].code), cases[i].text);
		assert_int_equal(icmp_failure(cases[i].family, cases[i].type, cases[i].code), cases[i].failure);
		/* every ICMP error is an unreachable outcome */
		assert_int_equal(failure_outcome(cases[i].failure), OUTCOME_UNREACHABLE);
	}
	assert_int_equal(errno_failure(0), FAILURE_NONE);
	assert_int_equal(errno_failure(ECONNREFUSED), FAILURE_REFUSED);
	assert_int_equal(errno_failure(ETIMEDOUT), FAILURE_TIMEOUT);
	assert_int_equal(errno_failure(ENETUNREACH), FAILURE_NET_UNREACH);
	assert_int_equal(errno_failure(EHOSTUNREACH), FAILURE_HOST_UNREACH);
	assert_int_equal(errno_failure(EMFILE), FAILURE_LOCAL);
	assert_int_equal(failure_outcome(FAILURE_LOCAL), OUTCOME_ERROR);
	assert_int_equal(failure_outcome(FAILURE_REFUSED), OUTCOME_REFUSED);
	assert_string_equal(failure_name(FAILURE_ADMIN), "admin-prohibited");
	assert_int_equal(failure_from_name("port-unreachable"), FAILURE_PORT_UNREACH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reply_accepted),
	    cmocka_unit_test(test_reply_from_wrong_host_is_forged),
	    cmocka_unit_test(test_tampered_payload_is_forged),
	    cmocka_unit_test(test_stray_packets),
	    cmocka_unit_test(test_raw_reply_with_ip_header),
	    cmocka_unit_test(test_icmp_error_quoting_our_echo),
	    cmocka_unit_test(test_own_echo_from_error_queue),
	    cmocka_unit_test(test_round_accept_late_and_duplicate),
	    cmocka_unit_test(test_checksum_valid),
	    cmocka_unit_test(test_error_meaning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
