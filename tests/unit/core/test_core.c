#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/addr.h"
#include "core/ev.h"
#include "core/model.h"
#include "core/timeutil.h"

static void test_duration_parse(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int64_t ms;
	} good[] = {{"250ms", 250},           {"5s", 5000},      {"2m", 120000},    {"6h", 21600000},
		    {"1d", 86400000},         {"90s", 90000},    {"1m30s", 90000},  {"1h30m", 5400000},
		    {"1d12h", 129600000},     {"1s500ms", 1500}, {"1h0m", 3600000}, {"2m0s", 120000},
		    {"1d1h1m1s1ms", 90061001}};
	static const char *const bad[] = {
	    "",      "5",  "s",     "5x",   "-5s",  "5 s",    "5S",    "1.5s", "99999999999999999999s",
	    "5sm",   "ms", "30s1m", "1m1m", "1h30", "1m 30s", "1ms1s", "m30s", "106751991167d1d",
	    "1h-30m"};
	static const char *const zero[] = {"0s", "0ms", "0d", "0h0m", "000s"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t v = 0;
		assert_int_equal(duration_parse_ms(good[i].in, &v), 0);
		assert_int_equal(v, good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v;
		assert_int_equal(duration_parse_ms(bad[i], &v), DURATION_BAD);
	}
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		int64_t v;
		assert_int_equal(duration_parse_ms(zero[i], &v), DURATION_ZERO);
	}
}

static void test_duration_format(void **state)
{
	(void)state;
	char buf[32];
	duration_format(60000, buf, sizeof(buf));
	assert_string_equal(buf, "1m");
	duration_format(90000, buf, sizeof(buf));
	assert_string_equal(buf, "90s");
	duration_format(1500, buf, sizeof(buf));
	assert_string_equal(buf, "1500ms");
	duration_format(86400000 * 2, buf, sizeof(buf));
	assert_string_equal(buf, "2d");
	/* compound only where it is shorter: 1h30m is 90m */
	duration_format(5400000, buf, sizeof(buf));
	assert_string_equal(buf, "90m");
	duration_format(86401000, buf, sizeof(buf));
	assert_string_equal(buf, "1d1s");
	duration_format(90061001, buf, sizeof(buf));
	assert_string_equal(buf, "90061s1ms");
	duration_format(INT64_MAX, buf, sizeof(buf));
	int64_t back;
	assert_int_equal(duration_parse_ms(buf, &back), 0);
	assert_int_equal(back, INT64_MAX);
	/* every form printed reads back as the same value */
	for (int64_t ms = 1; ms < 200000000; ms = ms * 3 + 7) {
		duration_format(ms, buf, sizeof(buf));
		assert_int_equal(duration_parse_ms(buf, &back), 0);
		assert_int_equal(back, ms);
	}
}

static void test_rfc3339(void **state)
{
	(void)state;
	char buf[RFC3339_LEN];
	int64_t ms;
	rfc3339_format(INT64_C(1643187720123), buf, sizeof(buf));
	assert_string_equal(buf, "2022-01-26T09:02:00.123Z");
	assert_int_equal(rfc3339_parse("2022-01-26T09:02:00.123Z", &ms), 0);
	assert_int_equal(ms, INT64_C(1643187720123));
	assert_int_equal(rfc3339_parse("2022-01-26T10:02:00+01:00", &ms), 0);
	assert_int_equal(ms, INT64_C(1643187720000));
	assert_int_equal(rfc3339_parse("2022-01-26", &ms), -1);
	assert_int_equal(rfc3339_parse("2022-13-26T09:02:00Z", &ms), -1);
	assert_int_equal(rfc3339_parse("2022-01-26T09:02:00Zjunk", &ms), -1);
	/* days that do not exist are refused, not carried into the next month */
	assert_int_equal(rfc3339_parse("2023-02-29T00:00:00Z", &ms), -1);
	assert_int_equal(rfc3339_parse("1900-02-29T00:00:00Z", &ms), -1);
	assert_int_equal(rfc3339_parse("2023-04-31T00:00:00Z", &ms), -1);
	assert_int_equal(rfc3339_parse("2024-02-29T00:00:00Z", &ms), 0);
	assert_int_equal(ms, INT64_C(1709164800000));
	assert_int_equal(rfc3339_parse("2000-02-29T12:00:00Z", &ms), 0);
	assert_int_equal(ms, INT64_C(951825600000));
	assert_int_equal(rfc3339_parse("1969-12-31T23:59:59Z", &ms), 0);
	assert_int_equal(ms, INT64_C(-1000));
	/* a leap second reads as the second before it */
	assert_int_equal(rfc3339_parse("2016-12-31T23:59:60Z", &ms), 0);
	assert_int_equal(ms, INT64_C(1483228799000));
	assert_int_equal(time_arg_parse("6h", INT64_C(100000000), &ms), 0);
	assert_int_equal(ms, INT64_C(100000000) - 21600000);
}

static void test_addr(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	struct prefix p, q;
	char buf[64];

	assert_int_equal(addr_parse("192.0.2.1", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(addr_parse("2001:db8::1", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(addr_parse("192.0.2.256", &ss), -1);
	assert_int_equal(addr_parse("2001:db8:::1", &ss), -1);

	assert_int_equal(prefix_parse("175.45.176.0/22", &p), 0);
	prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "175.45.176.0/22");
	assert_int_equal(prefix_parse("175.45.177.0/22", &p), -1); /* host bits set */
	assert_int_equal(prefix_parse("175.45.176.0/33", &p), -1);
	assert_int_equal(prefix_parse("175.45.176.0", &p), -1);
	assert_int_equal(prefix_parse("175.45.176.0/", &p), -1);
	assert_int_equal(prefix_parse("2001:db8::/32", &p), 0);
	assert_int_equal(prefix_parse("2001:db8::/129", &p), -1);

	assert_int_equal(prefix_parse("175.45.176.0/22", &p), 0);
	assert_int_equal(addr_parse("175.45.179.255", &ss), 0);
	assert_true(prefix_contains_addr(&p, &ss));
	assert_int_equal(addr_parse("175.45.180.0", &ss), 0);
	assert_false(prefix_contains_addr(&p, &ss));
	assert_int_equal(prefix_parse("175.45.178.0/24", &q), 0);
	assert_true(prefix_covers(&p, &q));
	assert_false(prefix_covers(&q, &p));
	assert_true(prefix_overlaps(&q, &p));

	assert_true(hostname_valid("naenara.com.kp"));
	assert_true(hostname_valid("kp."));
	assert_true(hostname_valid("a-b.example"));
	assert_false(hostname_valid("-a.example"));
	assert_false(hostname_valid("a-.example"));
	assert_false(hostname_valid("a..example"));
	assert_false(hostname_valid("bad host"));
	assert_false(hostname_valid("192.0.2.300"));
	assert_false(hostname_valid(""));
}

static void test_model_names(void **state)
{
	(void)state;
	for (int k = 0; k < KIND_COUNT; k++)
		assert_int_equal(kind_from_name(kind_name((enum probe_kind)k)), k);
	assert_int_equal(role_from_name("router"), ROLE_ROUTER);
	assert_int_equal(role_from_name("control"), -1);
	assert_int_equal(outcome_from_name("unreachable"), OUTCOME_UNREACHABLE);
	assert_string_equal(state_name(STATE_DEGRADED), "degraded");
}

/* ---- timer heap ---- */

struct timer_log {
	uint64_t order[4096];
	size_t n;
	int rearm_left;
	uint64_t delete_me;
};

static int64_t record_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
	struct timer_log *log = arg;
	if (log->n < 4096)
		log->order[log->n++] = id;
	if (log->delete_me != 0) {
		assert_int_equal(ev_del_timer(loop, log->delete_me), 0);
		log->delete_me = 0;
	}
	return EV_TIMER_DONE;
}

static void test_timer_order(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_new();
	struct timer_log log = {0};
	uint64_t ids[2000];
	int64_t delays[2000];
	assert_non_null(loop);
	/* pseudo-random delays with many ties */
	uint32_t x = 12345;
	for (int i = 0; i < 2000; i++) {
		x = x * 1103515245u + 12345u;
		delays[i] = (int64_t)((x >> 16) % 50) * 10000; /* 0..0.49 ms */
		ids[i] = ev_add_timer(loop, delays[i], record_timer, &log);
		assert_true(ids[i] != 0);
	}
	/* delete every third */
	size_t deleted = 0;
	for (int i = 0; i < 2000; i += 3) {
		assert_int_equal(ev_del_timer(loop, ids[i]), 0);
		assert_int_equal(ev_del_timer(loop, ids[i]), -1);
		deleted++;
	}
	assert_int_equal(ev_timer_count(loop), 2000 - deleted);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(log.n, 2000 - deleted);
	/* order must be by deadline, ties by id */
	for (size_t i = 1; i < log.n; i++) {
		uint64_t a = log.order[i - 1], b = log.order[i];
		int64_t da = delays[a - ids[0]], db = delays[b - ids[0]];
		assert_true(da < db || (da == db && a < b));
	}
	ev_free(loop);
}

static int64_t rearm_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct timer_log *log = arg;
	log->n++;
	return --log->rearm_left > 0 ? 1000 : EV_TIMER_DONE;
}

static void test_timer_rearm_and_self_delete(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_new();
	struct timer_log log = {.rearm_left = 5};
	assert_true(ev_add_timer(loop, 0, rearm_timer, &log) != 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(log.n, 5);

	/* a callback deleting another pending timer */
	struct timer_log log2 = {0};
	uint64_t first = ev_add_timer(loop, 0, record_timer, &log2);
	uint64_t second = ev_add_timer(loop, 5 * NS_PER_MS, record_timer, &log2);
	log2.delete_me = second;
	assert_true(first && second);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(log2.n, 1);
	assert_int_equal(log2.order[0], first);
	assert_int_equal(ev_timer_deadline(loop, second), -1);
	ev_free(loop);
}

static int pipe_fds[2];
static int io_hits;

static void on_readable(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)arg;
	char c;
	assert_true(events & EV_READ);
	assert_int_equal(read(fd, &c, 1), 1);
	io_hits++;
	ev_del_fd(loop, fd);
}

static int64_t write_later(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	(void)arg;
	assert_int_equal(write(pipe_fds[1], "x", 1), 1);
	return EV_TIMER_DONE;
}

static void test_fd_and_timer(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_new();
	assert_int_equal(pipe(pipe_fds), 0);
	assert_int_equal(ev_add_fd(loop, pipe_fds[0], EV_READ, on_readable, NULL), 0);
	ev_add_timer(loop, 2 * NS_PER_MS, write_later, NULL);

	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(io_hits, 1);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	ev_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_parse),
	    cmocka_unit_test(test_duration_format),
	    cmocka_unit_test(test_rfc3339),
	    cmocka_unit_test(test_addr),
	    cmocka_unit_test(test_model_names),
	    cmocka_unit_test(test_timer_order),
	    cmocka_unit_test(test_timer_rearm_and_self_delete),
	    cmocka_unit_test(test_fd_and_timer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
