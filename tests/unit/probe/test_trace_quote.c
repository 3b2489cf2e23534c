/* Trace payloads and ICMP quotes: only quotes of packets we built verify;
 * the payload checksum is the same for every TTL (Paris traceroute). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/addr.h"
#include "probe/trace_quote.h"

static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void test_payload_roundtrip(void **state)
{
	(void)state;
	uint8_t buf[PROBE_TRACE_PAYLOAD_LEN];
	struct probe_trace_probe p = {.target = 42, .round = 123456, .ttl = 7}, got;
	char err[128];

	probe_trace_payload_build(key, &p, buf);
	assert_int_equal(probe_trace_payload_check(key, buf, sizeof(buf), &got, err, sizeof(err)), 0);
	assert_int_equal(got.target, 42);
	assert_int_equal(got.round, 123456);
	assert_int_equal(got.ttl, 7);
}

static void test_constant_checksum(void **state)
{
	(void)state;
	uint8_t buf[PROBE_TRACE_PAYLOAD_LEN];
	uint16_t first = 0;

	for (unsigned ttl = 1; ttl <= 30; ttl++) {
		struct probe_trace_probe p = {.target = 3, .round = 99, .ttl = (uint8_t)ttl};
		probe_trace_payload_build(key, &p, buf);
		if (ttl == 1)
			first = probe_trace_csum16(buf, sizeof(buf));
		assert_int_equal(probe_trace_csum16(buf, sizeof(buf)), first);
	}
	assert_int_equal(first, 0xffff);
}

static void test_never_sent(void **state)
{
	(void)state;
	uint8_t buf[PROBE_TRACE_PAYLOAD_LEN];
	struct probe_trace_probe p = {.target = 1, .round = 2, .ttl = 3}, got;
	const uint8_t other_key[16] = {0};
	char err[128];

	/* built under another key: a packet we never sent */
	probe_trace_payload_build(other_key, &p, buf);
	assert_int_equal(probe_trace_payload_check(key, buf, sizeof(buf), &got, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "never sent"));
	/* ours, but one field changed by whoever quotes it */
	probe_trace_payload_build(key, &p, buf);
	buf[12] = 4;
	assert_int_equal(probe_trace_payload_check(key, buf, sizeof(buf), &got, err, sizeof(err)), -1);
	/* the checksum word is ours too */
	probe_trace_payload_build(key, &p, buf);
	buf[23] ^= 1;
	assert_int_equal(probe_trace_payload_check(key, buf, sizeof(buf), &got, err, sizeof(err)), -1);
	/* not even our format */
	memset(buf, 0x41, sizeof(buf));
	assert_int_equal(probe_trace_payload_check(key, buf, sizeof(buf), &got, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "never sent"));
	/* a quote cut short */
	probe_trace_payload_build(key, &p, buf);
	assert_int_equal(probe_trace_payload_check(key, buf, 8, &got, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too short"));
}

/* Builds an IPv4 ICMP time-exceeded packet quoting a UDP probe. */
static size_t icmp4(uint8_t *pkt, uint8_t type, uint8_t code, const uint8_t *payload, size_t plen)
{
	size_t n = 0;
	memset(pkt, 0, 128);
	pkt[0] = 0x45;
	pkt[9] = IPPROTO_ICMP;
	n = 20;
	pkt[n] = type;
	pkt[n + 1] = code;
	n += 8;
	pkt[n] = 0x45;
	pkt[n + 8] = 1;
	pkt[n + 9] = IPPROTO_UDP;
	inet_pton(AF_INET, "203.0.113.10", pkt + n + 16);
	n += 20;
	pkt[n] = 0x9c;
	pkt[n + 1] = 0x40; /* sport 40000 */
	pkt[n + 2] = 0x82;
	pkt[n + 3] = 0x9a; /* dport 33434 */
	n += 8;
	memcpy(pkt + n, payload, plen);
	return n + plen;
}

static void test_icmp_parse(void **state)
{
	(void)state;
	uint8_t pkt[256], payload[PROBE_TRACE_PAYLOAD_LEN];
	struct probe_trace_probe p = {.target = 5, .round = 6, .ttl = 2}, got;
	struct probe_trace_icmp ic;
	struct sockaddr_storage want;
	char err[128];
	size_t n;

	probe_trace_payload_build(key, &p, payload);
	n = icmp4(pkt, 11, 0, payload, sizeof(payload));
	assert_int_equal(probe_trace_icmp_parse(pkt, n, AF_INET, &ic, err, sizeof(err)), 0);
	assert_true(ic.time_exceeded);
	assert_int_equal(ic.sport, 40000);
	assert_int_equal(ic.dport, 33434);
	assert_int_equal(addr_parse("203.0.113.10", &want), 0);
	assert_true(addr_equal(&want, &ic.quoted_dst));
	assert_int_equal(ic.payload_len, sizeof(payload));
	assert_int_equal(probe_trace_payload_check(key, pkt + ic.payload_off, ic.payload_len, &got, err, sizeof(err)),
			 0);
	assert_int_equal(got.ttl, 2);

	/* every truncation fails cleanly or yields a short payload */
	for (size_t cut = 0; cut < n; cut++) {
		if (probe_trace_icmp_parse(pkt, cut, AF_INET, &ic, err, sizeof(err)) == 0)
			assert_int_equal(probe_trace_payload_check(key, pkt + ic.payload_off, ic.payload_len, &got, err,
								   sizeof(err)),
					 -1);
	}
	/* echo reply is not an error we asked for */
	n = icmp4(pkt, 0, 0, payload, sizeof(payload));
	assert_int_equal(probe_trace_icmp_parse(pkt, n, AF_INET, &ic, err, sizeof(err)), -1);
	/* a quoted TCP packet is not ours */
	n = icmp4(pkt, 3, 3, payload, sizeof(payload));
	pkt[28 + 9] = IPPROTO_TCP;
	assert_int_equal(probe_trace_icmp_parse(pkt, n, AF_INET, &ic, err, sizeof(err)), -1);
	/* IPv6: header of ICMPv6, quoted IPv6 header, UDP */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 3;
	pkt[8] = 0x60;
	pkt[8 + 6] = IPPROTO_UDP;
	inet_pton(AF_INET6, "2001:db8::10", pkt + 8 + 24);
	memcpy(pkt + 56, payload, sizeof(payload));
	assert_int_equal(probe_trace_icmp_parse(pkt, 56 + sizeof(payload), AF_INET6, &ic, err, sizeof(err)), 0);
	assert_true(ic.time_exceeded);
	assert_int_equal(addr_parse("2001:db8::10", &want), 0);
	assert_true(addr_equal(&want, &ic.quoted_dst));
}

static void test_edge(void **state)
{
	(void)state;
	struct sockaddr_storage hops[5], dst;
	struct prefix pfx;

	memset(hops, 0, sizeof(hops));
	assert_int_equal(addr_parse("198.18.0.1", &hops[0]), 0);
	assert_int_equal(addr_parse("198.51.100.1", &hops[1]), 0);
	/* hops[2] silent (router dropping its ICMP) */
	assert_int_equal(addr_parse("203.0.113.1", &hops[3]), 0);
	assert_int_equal(addr_parse("203.0.113.10", &hops[4]), 0);
	assert_int_equal(addr_parse("203.0.113.10", &dst), 0);
	assert_int_equal(prefix_parse("203.0.113.0/24", &pfx), 0);
	/* last hop inside the prefixes, not the destination itself */
	assert_int_equal(probe_trace_edge(hops, 5, &pfx, 1, &dst), 3);
	/* without prefixes: the last hop before the destination */
	assert_int_equal(probe_trace_edge(hops, 5, NULL, 0, &dst), 3);
	assert_int_equal(prefix_parse("198.51.100.0/24", &pfx), 0);
	assert_int_equal(probe_trace_edge(hops, 5, &pfx, 1, &dst), 1);
	/* path dies before the network: last that answered */
	assert_int_equal(prefix_parse("192.0.2.0/24", &pfx), 0);
	assert_int_equal(probe_trace_edge(hops, 2, &pfx, 1, &dst), 1);
	memset(hops, 0, sizeof(hops));
	assert_int_equal(probe_trace_edge(hops, 5, &pfx, 1, &dst), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_payload_roundtrip),
	    cmocka_unit_test(test_constant_checksum),
	    cmocka_unit_test(test_never_sent),
	    cmocka_unit_test(test_icmp_parse),
	    cmocka_unit_test(test_edge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
