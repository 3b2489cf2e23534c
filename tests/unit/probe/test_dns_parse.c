/* DNS reply validation: only a well-formed reply to the question we asked,
 * with our id, is trusted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probe/dns_parse.h"

/* A reply builder for hand-made wire messages. */
struct wb {
	uint8_t b[1024];
	size_t n;
};

static void put8(struct wb *w, uint8_t v)
{
	w->b[w->n++] = v;
}

static void put16(struct wb *w, uint16_t v)
{
	put8(w, (uint8_t)(v >> 8));
	put8(w, (uint8_t)v);
}

static void put32(struct wb *w, uint32_t v)
{
	put16(w, (uint16_t)(v >> 16));
	put16(w, (uint16_t)v);
}

static void put_name(struct wb *w, const char *const *labels)
{
	for (; *labels != NULL; labels++) {
		put8(w, (uint8_t)strlen(*labels));
		memcpy(w->b + w->n, *labels, strlen(*labels));
		w->n += strlen(*labels);
	}
	put8(w, 0);
}

static const char *const lab_name[] = {"lab", "example", NULL};

/* Header + question "lab.example. IN type". */
static void header(struct wb *w, uint16_t id, uint16_t flags, uint16_t an, uint16_t ns, uint16_t type)
{
	w->n = 0;
	put16(w, id);
	put16(w, flags);
	put16(w, 1);
	put16(w, an);
	put16(w, ns);
	put16(w, 0);
	put_name(w, lab_name);
	put16(w, type);
	put16(w, 1);
}

static void answer_a(struct wb *w, const uint8_t addr[4])
{
	put16(w, 0xc00c); /* pointer to the question name */
	put16(w, 1);
	put16(w, 1);
	put32(w, 300);
	put16(w, 4);
	memcpy(w->b + w->n, addr, 4);
	w->n += 4;
}

static void answer_soa(struct wb *w, uint32_t serial)
{
	size_t rdlen_at;
	put16(w, 0xc00c);
	put16(w, 6);
	put16(w, 1);
	put32(w, 300);
	rdlen_at = w->n;
	put16(w, 0);
	put8(w, 3);
	memcpy(w->b + w->n, "ns1", 3);
	w->n += 3;
	put16(w, 0xc00c);
	put8(w, 4);
	memcpy(w->b + w->n, "host", 4);
	w->n += 4;
	put16(w, 0xc00c);
	put32(w, serial);
	put32(w, 3600);
	put32(w, 600);
	put32(w, 86400);
	put32(w, 300);
	w->b[rdlen_at] = (uint8_t)((w->n - rdlen_at - 2) >> 8);
	w->b[rdlen_at + 1] = (uint8_t)(w->n - rdlen_at - 2);
}

static void make_query(struct probe_dns_query *q, const char *spec, uint16_t id)
{
	char err[128];
	assert_int_equal(probe_dns_query_parse(spec, q, err, sizeof(err)), 0);
	q->id = id;
}

static void test_query_parse(void **state)
{
	(void)state;
	struct probe_dns_query q;
	char err[128];
	uint8_t wire[PROBE_DNS_QUERY_MAX];
	size_t len = 0;

	assert_int_equal(probe_dns_query_parse("kp. SOA", &q, err, sizeof(err)), 0);
	assert_string_equal(q.name, "kp.");
	assert_int_equal(q.type, 6);
	assert_int_equal(probe_dns_query_parse("www.lab.example A", &q, err, sizeof(err)), 0);
	assert_string_equal(q.name, "www.lab.example.");
	assert_int_equal(q.type, 1);
	assert_int_equal(probe_dns_query_parse("lab.example", &q, err, sizeof(err)), 0);
	assert_int_equal(q.type, 6); /* default SOA */
	assert_int_equal(probe_dns_query_parse("lab.example BOGUS", &q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown query type"));
	assert_int_equal(probe_dns_query_parse("a b c", &q, err, sizeof(err)), -1);
	assert_int_equal(probe_dns_query_parse("", &q, err, sizeof(err)), -1);

	make_query(&q, "lab.example. MX", 0x1234);
	q.rd = false;
	assert_int_equal(probe_dns_query_wire(&q, wire, sizeof(wire), &len, err, sizeof(err)), 0);
	assert_true(len > 12);
	assert_int_equal(wire[0], 0x12);
	assert_int_equal(wire[1], 0x34);
	assert_int_equal(wire[2] & 0x01, 0); /* RD off by default */
	q.rd = true;
	assert_int_equal(probe_dns_query_wire(&q, wire, sizeof(wire), &len, err, sizeof(err)), 0);
	assert_int_equal(wire[2] & 0x01, 1);
	assert_int_equal(probe_dns_wire_check(wire, len, err, sizeof(err)), 0);
}

static void test_good_reply(void **state)
{
	(void)state;
	struct probe_dns_query q;
	struct probe_dns_reply r;
	struct wb w;
	char err[128];
	const uint8_t a1[4] = {192, 0, 2, 10}, a2[4] = {192, 0, 2, 11};

	make_query(&q, "lab.example A", 77);
	header(&w, 77, 0x8400, 2, 0, 1); /* QR AA */
	answer_a(&w, a1);
	answer_a(&w, a2);
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, "192.0.2.11", &r, err, sizeof(err)), 0);
	assert_int_equal(r.rcode, 0);
	assert_true(r.aa);
	assert_false(r.tc);
	assert_int_equal(r.ancount, 2);
	assert_int_equal(r.nmatch, 2);
	assert_true(r.expect_found);
	assert_string_equal(r.first_answer, "192.0.2.10");

	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, "192.0.2.9", &r, err, sizeof(err)), 0);
	assert_false(r.expect_found);

	make_query(&q, "lab.example SOA", 78);
	header(&w, 78, 0x8400, 1, 0, 6);
	answer_soa(&w, 2026012601);
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), 0);
	assert_true(r.has_soa);
	assert_int_equal(r.soa_serial, 2026012601u);
	assert_non_null(strstr(r.first_answer, "ns1.lab.example."));
}

static void test_rcodes(void **state)
{
	(void)state;
	struct probe_dns_query q;
	struct probe_dns_reply r;
	struct wb w;
	char err[128];

	make_query(&q, "lab.example A", 9);
	header(&w, 9, 0x8005, 0, 0, 1); /* QR, REFUSED */
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.rcode, 5);
	assert_string_equal(probe_dns_rcode_name(r.rcode), "REFUSED");
	assert_false(r.aa);
	header(&w, 9, 0x8202, 0, 0, 1); /* QR, TC, SERVFAIL */
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), 0);
	assert_string_equal(probe_dns_rcode_name(r.rcode), "SERVFAIL");
	assert_true(r.tc);
	assert_int_equal(probe_dns_rcode_from_name("nxdomain"), 3);
	assert_int_equal(probe_dns_rcode_from_name("BOGUS"), -1);
}

static void test_mismatched_id(void **state)
{
	(void)state;
	struct probe_dns_query q;
	struct probe_dns_reply r;
	struct wb w;
	char err[128];
	const uint8_t a1[4] = {192, 0, 2, 10};

	make_query(&q, "lab.example A", 1000);
	header(&w, 1001, 0x8400, 1, 0, 1);
	answer_a(&w, a1);
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mismatched id"));
}

static void test_mismatched_question(void **state)
{
	(void)state;
	struct probe_dns_query q;
	struct probe_dns_reply r;
	struct wb w;
	char err[128];

	make_query(&q, "other.example A", 5);
	header(&w, 5, 0x8400, 0, 0, 1);
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mismatched question"));
	/* same name, other type */
	make_query(&q, "lab.example AAAA", 5);
	header(&w, 5, 0x8400, 0, 0, 1);
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mismatched question"));
	/* name case differs: still the same question */
	make_query(&q, "LAB.Example A", 5);
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), 0);
	/* a query (QR clear) is not a reply */
	make_query(&q, "lab.example A", 5);
	header(&w, 5, 0x0000, 0, 0, 1);
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a reply"));
}

static void test_compression_loop(void **state)
{
	(void)state;
	struct probe_dns_query q;
	struct probe_dns_reply r;
	struct wb w;
	char err[128];
	size_t at;

	make_query(&q, "lab.example A", 6);
	header(&w, 6, 0x8400, 1, 0, 1);
	/* owner name: a pointer to itself */
	at = w.n;
	put16(&w, (uint16_t)(0xc000 | at));
	put16(&w, 1);
	put16(&w, 1);
	put32(&w, 300);
	put16(&w, 4);
	put32(&w, 0xc000020a);
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "compression loop"));

	/* two pointers pointing at each other */
	header(&w, 6, 0x8400, 1, 0, 1);
	at = w.n;
	put16(&w, (uint16_t)(0xc000 | (at + 2)));
	put16(&w, (uint16_t)(0xc000 | at));
	assert_int_equal(probe_dns_wire_check(w.b, w.n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "compression loop"));

	/* a label then a pointer back to that label */
	header(&w, 6, 0x8400, 1, 0, 1);
	at = w.n;
	put8(&w, 1);
	put8(&w, 'a');
	put16(&w, (uint16_t)(0xc000 | at));
	put16(&w, 1);
	put16(&w, 1);
	put32(&w, 300);
	put16(&w, 4);
	put32(&w, 0xc000020a);
	assert_int_equal(probe_dns_wire_check(w.b, w.n, err, sizeof(err)), -1);

	/* a loop inside SOA rdata */
	make_query(&q, "lab.example SOA", 6);
	header(&w, 6, 0x8400, 1, 0, 6);
	put16(&w, 0xc00c);
	put16(&w, 6);
	put16(&w, 1);
	put32(&w, 300);
	put16(&w, 22);
	at = w.n;
	put16(&w, (uint16_t)(0xc000 | at));
	for (int i = 0; i < 5; i++)
		put32(&w, 1);
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "compression loop"));
}

static void test_truncated(void **state)
{
	(void)state;
	struct probe_dns_query q;
	struct probe_dns_reply r;
	struct wb w;
	char err[128];
	const uint8_t a1[4] = {192, 0, 2, 10};

	make_query(&q, "lab.example A", 7);
	header(&w, 7, 0x8400, 1, 0, 1);
	answer_a(&w, a1);
	/* every proper prefix of the message is rejected */
	for (size_t n = 0; n < w.n; n++)
		assert_int_equal(probe_dns_reply_check(&q, w.b, n, NULL, &r, err, sizeof(err)), -1);
	/* rdlength beyond the end */
	w.b[w.n - 5] = 40;
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated record"));
	/* more answers announced than present */
	header(&w, 7, 0x8400, 3, 0, 1);
	answer_a(&w, a1);
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated"));
	/* no question at all */
	header(&w, 7, 0x8400, 0, 0, 1);
	w.b[5] = 0;
	w.n = 12;
	assert_int_equal(probe_dns_reply_check(&q, w.b, w.n, NULL, &r, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query_parse),
	    cmocka_unit_test(test_good_reply),
	    cmocka_unit_test(test_rcodes),
	    cmocka_unit_test(test_mismatched_id),
	    cmocka_unit_test(test_mismatched_question),
	    cmocka_unit_test(test_compression_loop),
	    cmocka_unit_test(test_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
