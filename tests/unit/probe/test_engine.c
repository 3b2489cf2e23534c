/* The probe engine's own rules, with injected time where time matters:
 * rounds aligned to wall-clock slots, the SipHash offset spread within the
 * interval, the token bucket of the rate cap, the resolver's monotonic
 * wait, and exactly one completion per (target, round). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/ev.h"
#include "core/timeutil.h"
#include "harness.h"
#include "probe/probe.h"
#include "probe/schedule.h"

static void test_first_round_aligned(void **state)
{
	(void)state;
	static const int64_t intervals[] = {1000, 30000, 60000, 7000};
	/* 2026-01-26T09:00:00Z and odd moments around it */
	static const int64_t nows[] = {1769418000000, 1769418000001, 1769418059999, 1769418033333, 7};

	for (size_t i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++) {
		for (size_t j = 0; j < sizeof(nows) / sizeof(nows[0]); j++) {
			int64_t I = intervals[i], now = nows[j];
			for (uint32_t target = 0; target < 50; target++) {
				int64_t off = probe_schedule_offset_ms(42, target, I);
				struct probe_first_round f = probe_schedule_first(now, I, 42, target, false);
				/* the round's slot is [round*I, (round+1)*I), its start at the offset */
				assert_int_equal(f.start_ms, (int64_t)f.round * I + off);
				/* the first such start not in the past, and within an interval */
				assert_true(f.start_ms >= now);
				assert_true(f.start_ms - now < I);
				/* every vantage, every restart: the same numbers */
				struct probe_first_round again = probe_schedule_first(now, I, 42, target, false);
				assert_int_equal(again.round, f.round);
				assert_int_equal(again.start_ms, f.start_ms);
			}
			/* the probe verb: all at once, in the slot of now */
			struct probe_first_round a = probe_schedule_first(now, I, 42, 3, true);
			assert_int_equal(a.start_ms, now);
			assert_int_equal(a.round, (uint32_t)(now / I));
		}
	}
}

static void test_offset_spread(void **state)
{
	(void)state;
	enum { N = 4000, BUCKETS = 10 };
	const int64_t I = 60000;
	unsigned hist[BUCKETS] = {0};
	unsigned same = 0;

	for (uint32_t t = 0; t < N; t++) {
		int64_t off = probe_schedule_offset_ms(0x1234567890abcdefULL, t, I);
		assert_true(off >= 0 && off < I);
		hist[off * BUCKETS / I]++;
		same += off == probe_schedule_offset_ms(0x1234567890abcdeeULL, t, I);
	}
	/* evenly over the interval: 400 expected per tenth, far from a burst */
	for (int b = 0; b < BUCKETS; b++)
		assert_in_range(hist[b], N / BUCKETS * 3 / 4, N / BUCKETS * 5 / 4);
	/* another seed, another order */
	assert_true(same < N / 100);
}

static void test_token_bucket(void **state)
{
	(void)state;
	struct probe_bucket b;
	const int64_t t0 = 1000 * NS_PER_S;
	int n;

	/* no cap */
	probe_bucket_init(&b, 0, t0);
	for (int i = 0; i < 100000; i++)
		assert_true(probe_bucket_take(&b, t0));
	assert_int_equal(probe_bucket_next_ns(&b, t0), t0);

	/* 100 per second: empty at the start, one token every 10 ms */
	probe_bucket_init(&b, 100, t0);
	assert_false(probe_bucket_take(&b, t0));
	int64_t next = probe_bucket_next_ns(&b, t0);
	assert_in_range(next, t0 + 10 * NS_PER_MS, t0 + 10 * NS_PER_MS + 1000);
	assert_false(probe_bucket_take(&b, next - 1000));
	assert_true(probe_bucket_take(&b, next));
	assert_false(probe_bucket_take(&b, next));

	/* a second of 100 pps at any pace is 100 packets, never more */
	probe_bucket_init(&b, 100, t0);
	n = 0;
	for (int64_t t = t0; t <= t0 + NS_PER_S; t += NS_PER_MS)
		n += probe_bucket_take(&b, t);
	assert_in_range(n, 99, 100);

	/* idle time buys at most the burst: 64, or 1/50 s worth when more */
	probe_bucket_init(&b, 100, t0);
	for (n = 0; probe_bucket_take(&b, t0 + 3600 * NS_PER_S); n++)
		;
	assert_int_equal(n, 64);
	probe_bucket_init(&b, 100000, t0);
	for (n = 0; probe_bucket_take(&b, t0 + 10 * NS_PER_S); n++)
		;
	assert_int_equal(n, 2000);
	/* and the wait for the next one is one token's worth */
	next = probe_bucket_next_ns(&b, t0 + 10 * NS_PER_S);
	assert_in_range(next - (t0 + 10 * NS_PER_S), 1, 10 * 1000 + 1);
}

/* A round timer that fires late: within the tolerance the round runs;
 * later, the rounds already past are skipped to the first one that can
 * run on time, never run back to back. */
static void test_skip_past_rounds(void **state)
{
	(void)state;
	const int64_t I = 2 * NS_PER_S, t0 = 5000 * NS_PER_S;

	/* a quarter of the interval, at most a second */
	assert_int_equal(probe_schedule_late_max_ns(I), 500 * NS_PER_MS);
	assert_int_equal(probe_schedule_late_max_ns(60 * NS_PER_S), NS_PER_S);
	/* on time, early, or late by jitter: run it */
	assert_int_equal(probe_schedule_skip(t0, t0, I), 0);
	assert_int_equal(probe_schedule_skip(t0, t0 - NS_PER_MS, I), 0);
	assert_int_equal(probe_schedule_skip(t0, t0 + 500 * NS_PER_MS, I), 0);
	/* just beyond: the next round, 1.5 s ahead */
	assert_int_equal(probe_schedule_skip(t0, t0 + 500 * NS_PER_MS + 1, I), 1);
	/* the reported stall: 32 s at 2 s; round 16 is due at once, 15 are past */
	assert_int_equal(probe_schedule_skip(t0, t0 + 32 * NS_PER_S, I), 16);
	assert_int_equal(probe_schedule_skip(t0, t0 + 32 * NS_PER_S + 400 * NS_PER_MS, I), 16);
	assert_int_equal(probe_schedule_skip(t0, t0 + 32 * NS_PER_S + 600 * NS_PER_MS, I), 17);
	/* whatever the stall, what runs next is late by at most the tolerance
	 * or still ahead, so two runs are at least 3/4 interval apart */
	for (int64_t late = 0; late < 20 * I; late += 37 * NS_PER_MS) {
		uint32_t skip = probe_schedule_skip(t0, t0 + late, I);
		int64_t next = t0 + (int64_t)skip * I;
		assert_true(t0 + late - next <= probe_schedule_late_max_ns(I));
		assert_true(next - (t0 + late) < I);
	}
}

/* The engine after a stall (the sink holds the loop 1.1 s, as SIGSTOP
 * would): every round is stamped with when it really ran, rounds of a
 * target stay at least half an interval apart, and what was skipped is
 * counted. */
struct stall_run {
	int64_t received_ms[HARNESS_MAX_RESULTS];
	size_t n;
};

static void stall_sink(const struct measurement *m, void *arg)
{
	struct stall_run *s = arg;
	(void)m;
	s->received_ms[s->n++] = wall_now_ms();
	if (s->n == 2)
		usleep(1100 * 1000);
}

static void test_stall_rounds_skipped(void **state)
{
	(void)state;
	uint16_t port;
	int lfd = harness_listen(&port);
	struct results res = {0};
	struct stall_run sr = {0};
	struct harness h;
	char yaml[1024];
	struct probe_engine_opts opts = {.rounds = 6, .align_first_round = true};

	snprintf(yaml, sizeof(yaml),
		 HARNESS_YAML_TARGETS
		 "      - {name: t, role: host, kind: tcp, host: 127.0.0.1, port: %u, interval: 200ms}\n",
		 port);
	struct config *cfg = harness_config(yaml);
	harness_run_opts(&h, cfg, &opts, &res, stall_sink, &sr);
	assert_int_equal(res.n, 6);
	/* 1.1 s at 200 ms: four or five rounds past */
	assert_in_range(probe_engine_missed_rounds(h.e), 4, 10); /* more if the machine is slow */
	for (size_t i = 0; i < res.n; i++) {
		/* stamped when it ran (a loopback connect takes no time) */
		assert_in_range(sr.received_ms[i] - res.m[i].at_ms, 0, 100);
		if (i > 0) {
			assert_true(res.m[i].round > res.m[i - 1].round);
			assert_true(res.m[i].at_ms - res.m[i - 1].at_ms >= 100);
		}
	}
	assert_true(res.m[2].round - res.m[1].round >= 5);
	harness_end(&h);
	config_free(cfg);
	close(lfd);
}

/* max_pps holds for connection attempts: twelve tcp targets due at once
 * under max_pps 10 go out one every 100 ms (the bucket starts empty), each
 * stamped when its SYN went, and each one's deadline counts from there. */
static void test_rate_cap_connects(void **state)
{
	(void)state;
	uint16_t port;
	int lfd = harness_listen(&port);
	struct results res = {0};
	struct harness h;
	char yaml[4096];
	int n = snprintf(yaml, sizeof(yaml), "max_pps: 10\n" HARNESS_YAML_TARGETS);

	for (int i = 0; i < 12; i++)
		n += snprintf(yaml + n, sizeof(yaml) - (size_t)n,
			      "      - {name: t%d, role: host, kind: tcp, host: 127.0.0.1, port: %u, timeout: 1s}\n", i,
			      port);
	struct config *cfg = harness_config(yaml);
	int64_t t0 = wall_now_ms();
	harness_run(&h, cfg, &res);
	int64_t took = wall_now_ms() - t0;
	assert_int_equal(res.n, 12);
	for (size_t i = 0; i < res.n; i++) {
		/* the last waited 1.2 s, beyond its 1 s timeout: still ok */
		assert_int_equal(res.m[i].outcome, OUTCOME_OK);
		assert_true(res.m[i].rtt_ms < 100);
	}
	/* 100 ms apart, less only when a loaded machine wakes the loop late */
	assert_true(harness_min_gap_ms(&res) >= 40);
	assert_in_range(took, 1100, 5000);
	harness_end(&h);
	config_free(cfg);
	close(lfd);
}

/* The resolver thread's wait: the deadline is on the monotonic clock and
 * the condition variable waits on that same clock, so a step of the wall
 * clock neither stalls nor hurries the re-resolution. */
static void test_resolver_wait_monotonic(void **state)
{
	(void)state;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	struct timespec until, now;

	assert_int_equal(probe_wait_init(&cv), 0);
	clock_gettime(CLOCK_MONOTONIC, &now);
	probe_wait_deadline(&until, 30);
	int64_t ahead_ns = ((int64_t)until.tv_sec - now.tv_sec) * NS_PER_S + (until.tv_nsec - now.tv_nsec);
	assert_in_range(ahead_ns, 30 * NS_PER_MS, 30 * NS_PER_MS + 5 * NS_PER_S);
	assert_in_range(until.tv_nsec, 0, NS_PER_S - 1);

	pthread_mutex_lock(&mu);
	int rc;
	while ((rc = pthread_cond_timedwait(&cv, &mu, &until)) == 0)
		;
	pthread_mutex_unlock(&mu);
	assert_int_equal(rc, ETIMEDOUT);
	/* it waited until the deadline on the monotonic clock */
	clock_gettime(CLOCK_MONOTONIC, &now);
	assert_true(now.tv_sec > until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec));
	pthread_cond_destroy(&cv);
}

/* A tcp round completes once; a second completion of it, and one of a
 * round that never started, are refused and counted. */
static void test_complete_exactly_once(void **state)
{
	(void)state;
	uint16_t open_port, closed_port;
	int lfd = harness_listen(&open_port), cfd = harness_listen(&closed_port);
	struct results res = {0};
	struct harness h;
	char yaml[1024];

	close(cfd); /* nothing listens there now: a reset */
	snprintf(yaml, sizeof(yaml),
		 HARNESS_YAML_TARGETS "      - {name: open, role: host, kind: tcp, host: 127.0.0.1, port: %u}\n"
				      "      - {name: closed, role: host, kind: tcp, host: 127.0.0.1, port: %u}\n",
		 open_port, closed_port);
	struct config *cfg = harness_config(yaml);
	harness_run(&h, cfg, &res);
	assert_int_equal(res.n, 2);
	assert_int_equal(probe_engine_refused_completions(h.e), 0);

	struct measurement again = res.m[0];
	probe_complete(h.e, &again);
	assert_int_equal(res.n, 2);
	assert_int_equal(probe_engine_refused_completions(h.e), 1);
	again.round++; /* never started */
	probe_complete(h.e, &again);
	assert_int_equal(res.n, 2);
	assert_int_equal(probe_engine_refused_completions(h.e), 2);

	harness_end(&h);
	config_free(cfg);
	close(lfd);

	/* the typed result beside the text */
	const struct measurement *ok = harness_by_target(&res, 0), *refused = harness_by_target(&res, 1);
	assert_int_equal(ok->outcome, OUTCOME_OK);
	assert_int_equal(ok->failure, FAILURE_NONE);
	assert_true(ok->rtt_ms >= 0);
	assert_int_equal(refused->outcome, OUTCOME_REFUSED);
	assert_int_equal(refused->failure, FAILURE_REFUSED);
	assert_int_equal(refused->icmp_family, 0);
	assert_int_equal(refused->from_ip.family, 0);
	assert_string_equal(refused->from, "");
}

struct stamp {
	struct ev_loop *loop;
	int64_t at_ms, seen_ms;
	uint32_t round;
	size_t n;
};

static void stamp_sink(const struct measurement *m, void *arg)
{
	struct stamp *s = arg;

	s->at_ms = m->at_ms;
	s->round = m->round;
	s->seen_ms = wall_now_ms();
	s->n++;
	ev_stop(s->loop);
}

/* An engine started while the loop's clock is behind (a long start, or a
 * reload in a callback) still starts a round in its own slot, not earlier
 * by the lag. */
static void test_start_with_stale_loop_clock(void **state)
{
	(void)state;
	uint16_t port;
	int lfd = harness_listen(&port);
	struct stamp st = {0};
	char yaml[512], err[256];

	snprintf(yaml, sizeof(yaml),
		 "interval: 1s\n" HARNESS_YAML_TARGETS
		 "      - {name: a, role: host, kind: tcp, host: 127.0.0.1, port: %u, timeout: 500ms}\n",
		 port);
	struct config *cfg = harness_config(yaml);
	st.loop = ev_new();
	assert_non_null(st.loop);
	struct timespec lag = {.tv_sec = 0, .tv_nsec = 600 * 1000 * 1000};
	nanosleep(&lag, NULL); /* the loop's idea of now is 600 ms old */
	struct probe_engine_opts opts = {.rounds = 1};
	struct probe_engine *e = probe_engine_new(st.loop, cfg, &opts, stamp_sink, &st, err, sizeof(err));
	assert_non_null(e);
	assert_int_equal(probe_engine_start(e, err, sizeof(err)), 0);
	assert_int_equal(ev_run(st.loop), 0);
	assert_int_equal(st.n, 1);
	assert_true(st.at_ms <= st.seen_ms);
	/* the slot's start, less a little for the wall clock being slewed */
	assert_true(st.at_ms >=
		    (int64_t)st.round * 1000 + probe_schedule_offset_ms(probe_engine_seed(e), 0, 1000) - 10);
	probe_engine_stop(e);
	probe_engine_free(e);
	ev_free(st.loop);
	config_free(cfg);
	close(lfd);
}

/* Reload: rounds per target, from the old engine and then the new one. */
struct handover {
	struct ev_loop *loop;
	uint32_t rounds[2][16];
	size_t n[2];
	size_t want; /* stop the loop once every target has this many */
};

static void handover_sink(const struct measurement *m, void *arg)
{
	struct handover *h = arg;

	assert_true(m->target < 2);
	if (h->n[m->target] < 16)
		h->rounds[m->target][h->n[m->target]++] = m->round;
	if (h->n[0] >= h->want && h->n[1] >= h->want)
		ev_stop(h->loop);
}

/* A new engine that resumes an old one's rounds (seed kept, or not: then
 * a slot may have just passed) continues each target's rounds with
 * neither a gap nor a repeat while the old one finishes what it opened. */
static void handover(uint64_t seed_delta)
{
	uint16_t port;
	int lfd = harness_listen(&port);
	struct handover h = {.want = 2};
	char yaml[1024], err[256];

	snprintf(yaml, sizeof(yaml),
		 "interval: 1s\n" HARNESS_YAML_TARGETS
		 "      - {name: a, role: host, kind: tcp, host: 127.0.0.1, port: %u, timeout: 500ms}\n"
		 "      - {name: b, role: host, kind: tcp, host: 127.0.0.1, port: %u, timeout: 500ms}\n",
		 port, port);
	struct config *cfg = harness_config(yaml);
	h.loop = ev_new();
	assert_non_null(h.loop);
	struct probe_engine_opts opts = {0};
	struct probe_engine *old = probe_engine_new(h.loop, cfg, &opts, handover_sink, &h, err, sizeof(err));
	assert_non_null(old);
	assert_int_equal(probe_engine_start(old, err, sizeof(err)), 0);
	assert_int_equal(ev_run(h.loop), 0);

	opts.seed = probe_engine_seed(old) + seed_delta;
	struct probe_engine *e = probe_engine_new(h.loop, cfg, &opts, handover_sink, &h, err, sizeof(err));
	assert_non_null(e);
	for (uint32_t i = 0; i < 2; i++)
		probe_engine_resume_round(e, i, probe_engine_next_round(old, i));
	assert_int_equal(probe_engine_start(e, err, sizeof(err)), 0);
	probe_engine_retire(old, e, handover_sink, &h);
	h.want = 5;
	assert_int_equal(ev_run(h.loop), 0);
	assert_true(probe_engine_idle(old));
	probe_engine_forget_predecessor(e);
	probe_engine_stop(old);
	probe_engine_free(old);
	probe_engine_stop(e);
	probe_engine_free(e);
	ev_free(h.loop);
	config_free(cfg);
	close(lfd);

	for (int t = 0; t < 2; t++)
		for (size_t i = 1; i < h.n[t]; i++)
			assert_int_equal(h.rounds[t][i], h.rounds[t][i - 1] + 1);
}

static void test_reload_same_seed(void **state)
{
	(void)state;
	handover(0);
}

static void test_reload_other_seed(void **state)
{
	(void)state;
	handover(0x9e3779b97f4a7c15ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_round_aligned),
	    cmocka_unit_test(test_offset_spread),
	    cmocka_unit_test(test_token_bucket),
	    cmocka_unit_test(test_resolver_wait_monotonic),
	    cmocka_unit_test(test_complete_exactly_once),
	    cmocka_unit_test(test_skip_past_rounds),
	    cmocka_unit_test(test_stall_rounds_skipped),
	    cmocka_unit_test(test_rate_cap_connects),
	    cmocka_unit_test(test_reload_same_seed),
	    cmocka_unit_test(test_reload_other_seed),
	    cmocka_unit_test(test_start_with_stale_loop_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
