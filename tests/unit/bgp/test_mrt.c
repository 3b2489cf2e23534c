/* MRT reader: every archive under shared/data counts like `bgpdump -m`
 * (numbers from shared/data/SOURCES.md), plus details from upstream tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bgp/mrt.h"

#ifndef SHARED_DATA_DIR
#define SHARED_DATA_DIR "../shared/data"
#endif

struct expect {
	const char *file;
	uint64_t a, w, b, state;
	bool read_error; /* the file itself is cut or damaged */
};

static const struct expect files[] = {
    {"bgpdump/test_data/bview.20020722.2337.gz", 0, 0, 115521, 0, false},
    {"bgpdump/test_data/bview.64k_stream_overflow.gz", 0, 0, 23, 0, false},
    {"bgpdump/test_data/bview.ipv4_unicast_add_path.gz", 0, 0, 62, 0, false},
    {"bgpdump/test_data/bview.ipv6_unicast_add_path.gz", 0, 0, 62, 0, false},
    {"bgpdump/test_data/updates.20020722.2238.gz", 825, 2419, 0, 93, false},
    {"bgpdump/test_data/updates.20070211.0141.gz", 51329, 2328, 0, 0, false},
    {"bgpdump/test_data/updates.20071015.1505.gz", 10111, 385, 0, 0, false},
    {"bgpdump/test_data/updates.20100722.2015.gz", 5067, 547, 0, 40, false},
    {"bgpdump/test_data/updates.20160811.1600.gz", 39256, 1956, 0, 22, false},
    {"bgpdump/test_data/updates.et-header.2015.gz", 577737, 3, 0, 4, false},
    {"bgpdump/test_data/updates.long_withdrawal.gz", 0, 4096, 0, 0, false},
    {"bgpdump/test_data/updates.nlri_mask_trailing_bits.gz", 1, 0, 0, 0, false},
    {"bgpkit-parser/examples/local_only/updates.bz2", 159, 109, 0, 0, false},
    {"bgpkit-parser/tests/fixtures/ripe/rrc00/1999.09/updates.19990903.1041.gz", 65286, 25, 0, 4, false},
    {"bgpkit-parser/tests/fixtures/ripe/rrc00/1999.12/updates.19991214.1621.gz", 54126, 1363, 0, 27, false},
    {"bgpkit-parser/tests/fixtures/ripe/rrc00/2000.01/bview.20000111.0032.gz", 0, 0, 1, 0, true},
    {"bgpkit-parser/tests/fixtures/ripe/rrc00/2000.01/updates.20000102.2014.gz", 5668, 675, 0, 16, false},
    {"bgpkit-parser/tests/fixtures/ripe/rrc00/2000.03/updates.20000325.0345.gz", 2, 2044, 0, 0, true},
    {"bgpkit-parser/tests/fixtures/ripe/rrc01/2000.11/updates.20001104.0124.gz", 378, 141, 0, 364, false},
    {"bgpkit-parser/tests/fixtures/ripe/rrc03/2010.02/updates.20100227.1600.first-796-records.gz", 1226, 133, 0, 4,
     false},
    {"bgpkit-parser/tests/fixtures/ripe/rrc15/2010.02/updates.20100227.1600.gz", 52468, 1318, 0, 20, false},
    {"bgpkit-parser/tests/fixtures/ripe/rrc15/2010.02/updates.20100227.1610.gz", 5920, 1549, 0, 16, false},
    {"mrtparse/samples/bird-mrtdump_bgp", 12, 0, 0, 12, false},
    {"mrtparse/samples/bird-mrtdump_rib", 0, 0, 18, 0, false},
    {"mrtparse/samples/bird6-mrtdump_bgp", 12, 0, 0, 12, false},
    {"mrtparse/samples/bird6-mrtdump_rib", 0, 0, 10, 0, false},
    {"mrtparse/samples/bird6_bgp", 32, 0, 0, 12, false},
    {"mrtparse/samples/bird_bgp", 24, 0, 0, 12, false},
    {"mrtparse/samples/openbgpd_bgp", 93, 0, 0, 16, false},
    {"mrtparse/samples/openbgpd_rib_table", 0, 0, 31, 0, false},
    {"mrtparse/samples/openbgpd_rib_table-mp", 0, 0, 0, 0, false},
    {"mrtparse/samples/openbgpd_rib_table-v2", 0, 0, 31, 0, false},
    {"mrtparse/samples/quagga_bgp", 18, 0, 0, 20, false},
    {"mrtparse/samples/quagga_rib", 0, 0, 9, 0, false},
    {"pyasn/data/bview.20140112.1600_3samples.bz2", 0, 0, 0, 0, false},
    {"pyasn/data/rib.20080501.0644_firstMB.bz2", 0, 0, 139291, 0, true},
    {"pyasn/data/rib.20140523.0600_firstMB.bz2", 0, 0, 270005, 0, true},
    {"pyasn/data/rib6.20151101.0600_firstMB.bz2", 0, 0, 149578, 0, true},
};

static void test_counts_equal_bgpdump(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[512], err[256] = "";
		snprintf(path, sizeof(path), "%s/%s", SHARED_DATA_DIR, files[i].file);
		struct mrt_parser *p = mrt_parser_new(NULL, NULL);
		assert_non_null(p);
		int rc = mrt_read_file(path, p, err, sizeof(err));
		const struct mrt_stats *s = mrt_parser_stats(p);
		if (s->announcements != files[i].a || s->withdrawals != files[i].w || s->rib_entries != files[i].b ||
		    s->state_changes != files[i].state)
			fail_msg("%s: got A=%llu W=%llu B=%llu STATE=%llu", files[i].file,
				 (unsigned long long)s->announcements, (unsigned long long)s->withdrawals,
				 (unsigned long long)s->rib_entries, (unsigned long long)s->state_changes);
		if (files[i].read_error) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err, "byte offset"));
		} else if (rc != 0) {
			fail_msg("%s: %s", files[i].file, err);
		}
		mrt_parser_free(p);
	}
}

struct find {
	const char *want;
	int found;
	uint32_t origin_as;
	bool is_set;
	char path[256];
	char peer[46];
	int64_t at_us;
};

static void finder(const struct mrt_event *ev, void *arg)
{
	struct find *f = arg;
	char buf[64];
	if (ev->kind == MRT_EV_STATE || ev->kind == MRT_EV_WITHDRAW)
		return;
	prefix_format(&ev->prefix, buf, sizeof(buf));
	if (strcmp(buf, f->want) != 0)
		return;
	if (f->found++ == 0) {
		f->origin_as = ev->attrs->origin_as;
		f->is_set = ev->attrs->origin_is_set;
		bgp_aspath_format(&ev->attrs->aspath, f->path, sizeof(f->path));
		snprintf(f->peer, sizeof(f->peer), "%s", ev->peer);
		f->at_us = ev->at_us;
	}
}

static struct find find_in(const char *file, const char *prefix)
{
	char path[512], err[256];
	struct find f = {.want = prefix};
	snprintf(path, sizeof(path), "%s/%s", SHARED_DATA_DIR, file);
	struct mrt_parser *p = mrt_parser_new(finder, &f);
	assert_non_null(p);
	mrt_read_file(path, p, err, sizeof(err));
	mrt_parser_free(p);
	return f;
}

static void test_masked_nlri(void **state)
{
	(void)state;
	struct find f = find_in("bgpdump/test_data/updates.nlri_mask_trailing_bits.gz", "11.8.0.0/13");
	assert_int_equal(f.found, 1);
	assert_int_equal(f.origin_as, 51044);
	assert_string_equal(f.path, "7018 3549 12389 48275 51044");
	assert_string_equal(f.peer, "12.0.1.63");
}

static void test_pyasn_origins(void **state)
{
	(void)state;
	const char *rib = "pyasn/data/rib.20140523.0600_firstMB.bz2";
	struct find f = find_in(rib, "1.0.4.0/24");
	assert_true(f.found > 0);
	assert_int_equal(f.origin_as, 56203);
	f = find_in(rib, "1.0.128.0/17");
	assert_int_equal(f.origin_as, 9737);
	f = find_in(rib, "5.128.0.0/14");
	assert_int_equal(f.origin_as, 50923);
	assert_true(f.is_set);
	f = find_in(rib, "1.0.0.0/24");
	assert_int_equal(f.found, 32);
	assert_string_equal(f.path, "701 6453 15169");
	f = find_in(rib, "0.0.0.0/0");
	assert_string_equal(f.path, "2905 65023 16637");
	/* TABLE_DUMP v1 */
	f = find_in("pyasn/data/rib.20080501.0644_firstMB.bz2", "0.0.0.0/0");
	assert_true(f.found > 0);
	assert_int_equal(f.at_us, INT64_C(1209624298) * 1000000);
}

static void test_et_microseconds(void **state)
{
	(void)state;
	struct find f = find_in("bgpkit-parser/examples/local_only/updates.bz2", "");
	(void)f;
	/* Every BGP4MP_ET record keeps its microseconds: the first A line of
	 * the et-header file is at 1445565678.xxxxxx (bgpdump -m). */
	char path[512], err[256];
	snprintf(path, sizeof(path), "%s/%s", SHARED_DATA_DIR, "bgpdump/test_data/updates.et-header.2015.gz");
	struct mrt_reader *r = mrt_open(path, err, sizeof(err));
	assert_non_null(r);
	struct mrt_record rec;
	assert_int_equal(mrt_next(r, &rec, err, sizeof(err)), 1);
	assert_int_equal(rec.type, MRT_BGP4MP_ET);
	assert_true(rec.usec < 1000000);
	mrt_close(r);
}

static void test_truncated_in_memory(void **state)
{
	(void)state;
	/* A BGP4MP_MESSAGE_AS4 KEEPALIVE record, then the same cut short. */
	uint8_t rec1[12 + 20 + 19] = {0, 0, 0, 1, 0, 16, 0, 4, 0, 0, 0, 20 + 19};
	uint8_t *b = rec1 + 12;
	b[0] = 0, b[3] = 1; /* peer AS 1 */
	b[11] = 1;          /* AFI 1 (peer AS, local AS, ifindex, afi) */
	memset(b + 20, 0xff, 16);
	b[20 + 17] = 19;
	b[20 + 18] = 4;
	uint8_t two[2 * sizeof(rec1)];
	memcpy(two, rec1, sizeof(rec1));
	memcpy(two + sizeof(rec1), rec1, sizeof(rec1));
	struct mrt_reader *r = mrt_open_mem(two, sizeof(two) - 5);
	struct mrt_parser *p = mrt_parser_new(NULL, NULL);
	struct mrt_record rec;
	char err[256];
	assert_int_equal(mrt_next(r, &rec, err, sizeof(err)), 1);
	assert_int_equal(mrt_parse_record(p, &rec, err, sizeof(err)), 0);
	assert_int_equal(mrt_next(r, &rec, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "byte offset 51"));
	assert_int_equal(mrt_parser_stats(p)->records, 1);
	mrt_parser_free(p);
	mrt_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts_equal_bgpdump), cmocka_unit_test(test_masked_nlri),
	    cmocka_unit_test(test_pyasn_origins),        cmocka_unit_test(test_et_microseconds),
	    cmocka_unit_test(test_truncated_in_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
