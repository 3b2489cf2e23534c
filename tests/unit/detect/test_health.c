/* Per-target state machine: down_after/up_after, baseline, degraded,
 * flapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "detect/health.h"

static struct detect_cfg cfg(void)
{
	struct detect_cfg d;

	memset(&d, 0, sizeof(d));
	d.down_after = 3;
	d.up_after = 2;
	d.baseline_rounds = 20;
	d.degraded_loss = 0.2;
	d.degraded_rtt_factor = 4;
	d.degraded_rtt_min_ms = 20;
	return d;
}

static struct measurement meas(uint32_t round, enum outcome o, double rtt, float loss)
{
	struct measurement m;

	memset(&m, 0, sizeof(m));
	m.round = round;
	m.at_ms = (int64_t)round * 60000;
	m.outcome = o;
	m.rtt_ms = o == OUTCOME_OK ? rtt : -1;
	m.loss = o == OUTCOME_OK ? loss : 1.0f;
	m.sent = 3;
	m.received = o == OUTCOME_OK ? 3 : 0;
	return m;
}

/* Feeds one round; returns the new state and whether it changed. */
static enum target_state feed(struct target_health *h, const struct detect_cfg *d, uint32_t r, enum outcome o,
			      double rtt, float loss, bool *changed)
{
	struct measurement m = meas(r, o, rtt, loss);
	enum target_state from = STATE_COUNT, to = STATE_COUNT;
	bool c = health_update(h, d, &m, &from, &to);

	if (c) {
		assert_int_not_equal(from, to);
		assert_int_equal(to, h->state);
	} else {
		assert_int_equal(from, STATE_COUNT);
	}
	if (changed)
		*changed = c;
	return h->state;
}

static void test_unknown_first_good_is_up(void **state)
{
	(void)state;
	struct detect_cfg d = cfg();
	struct target_health h;
	bool c;

	health_init(&h);
	assert_int_equal(h.state, STATE_UNKNOWN);
	assert_int_equal(feed(&h, &d, 0, OUTCOME_OK, 10, 0, &c), STATE_UP);
	assert_true(c);
	assert_int_equal(feed(&h, &d, 1, OUTCOME_OK, 10, 0, &c), STATE_UP);
	assert_false(c);
}

static void test_unknown_to_down(void **state)
{
	(void)state;
	struct detect_cfg d = cfg();
	struct target_health h;
	bool c;

	health_init(&h);
	assert_int_equal(feed(&h, &d, 0, OUTCOME_TIMEOUT, 0, 0, &c), STATE_UNKNOWN);
	assert_false(c);
	assert_int_equal(feed(&h, &d, 1, OUTCOME_TIMEOUT, 0, 0, &c), STATE_UNKNOWN);
	assert_false(c);
	assert_int_equal(feed(&h, &d, 2, OUTCOME_UNREACHABLE, 0, 0, &c), STATE_DOWN);
	assert_true(c);
}

static void test_down_after_up_after(void **state)
{
	(void)state;
	for (unsigned down_after = 1; down_after <= 5; down_after++) {
		for (unsigned up_after = 1; up_after <= 4; up_after++) {
			struct detect_cfg d = cfg();
			struct target_health h;
			uint32_t r = 0;
			bool c;

			d.down_after = down_after;
			d.up_after = up_after;
			health_init(&h);
			for (int i = 0; i < 10; i++)
				feed(&h, &d, r++, OUTCOME_OK, 10, 0, NULL);
			assert_int_equal(h.state, STATE_UP);
			for (unsigned i = 1; i <= down_after; i++) {
				enum target_state s = feed(&h, &d, r++, OUTCOME_TIMEOUT, 0, 0, &c);
				if (i < down_after) {
					assert_int_not_equal(s, STATE_DOWN);
				} else {
					assert_int_equal(s, STATE_DOWN);
					assert_true(c);
				}
			}
			for (unsigned i = 1; i <= up_after; i++) {
				enum target_state s = feed(&h, &d, r++, OUTCOME_OK, 10, 0, &c);
				if (i < up_after) {
					assert_int_equal(s, STATE_DOWN);
				} else {
					assert_int_equal(s, STATE_UP);
					assert_true(c);
				}
			}
		}
	}
}

static void test_failed_streak_resets(void **state)
{
	(void)state;
	struct detect_cfg d = cfg();
	struct target_health h;
	uint32_t r = 0;

	health_init(&h);
	feed(&h, &d, r++, OUTCOME_OK, 10, 0, NULL);
	/* two failures, one success, two failures: never 3 in a row */
	for (int k = 0; k < 5; k++) {
		feed(&h, &d, r++, OUTCOME_TIMEOUT, 0, 0, NULL);
		feed(&h, &d, r++, OUTCOME_REFUSED, 0, 0, NULL);
		assert_int_not_equal(feed(&h, &d, r++, OUTCOME_OK, 10, 0, NULL), STATE_DOWN);
	}
	assert_int_not_equal(h.state, STATE_DOWN);
}

static void test_baseline_converges_and_not_poisoned(void **state)
{
	(void)state;
	struct detect_cfg d = cfg();
	struct target_health h;
	uint32_t r = 0;

	health_init(&h);
	assert_false(health_has_baseline(&h));
	for (int i = 0; i < 40; i++)
		feed(&h, &d, r++, OUTCOME_OK, 100.0 + (i % 2 ? 2.0 : -2.0), 0, NULL);
	assert_true(health_has_baseline(&h));
	assert_true(h.rtt_mean > 99.0 && h.rtt_mean < 101.0);
	assert_true(h.rtt_var > 1.0 && h.rtt_var < 8.0);
	double mean = h.rtt_mean, var = h.rtt_var;

	/* slow rounds and failed rounds do not move the baseline */
	for (int i = 0; i < 10; i++)
		feed(&h, &d, r++, OUTCOME_OK, 400.0, 0, NULL);
	for (int i = 0; i < 5; i++)
		feed(&h, &d, r++, OUTCOME_TIMEOUT, 0, 0, NULL);
	for (int i = 0; i < 3; i++)
		feed(&h, &d, r++, OUTCOME_OK, 101.0, 0.67f, NULL);
	assert_true(h.rtt_mean == mean);
	assert_true(h.rtt_var == var);
	assert_true(h.loss_mean == 0.0);
}

static void test_degraded_by_rtt(void **state)
{
	(void)state;
	struct detect_cfg d = cfg();
	struct target_health h;
	uint32_t r = 0;
	bool c;

	health_init(&h);
	for (int i = 0; i < 30; i++)
		feed(&h, &d, r++, OUTCOME_OK, 50.0 + (i % 3), 0, NULL);
	/* well above k*stddev but below the absolute floor: still good */
	feed(&h, &d, r++, OUTCOME_OK, 65.0, 0, NULL);
	assert_int_equal(h.last, HEALTH_ROUND_GOOD);
	/* one slow round is a degraded round but not yet a degraded state */
	assert_int_equal(feed(&h, &d, r++, OUTCOME_OK, 300.0, 0, &c), STATE_UP);
	assert_int_equal(h.last, HEALTH_ROUND_DEGRADED);
	assert_int_equal(h.last_why, HEALTH_WHY_RTT);
	assert_int_equal(feed(&h, &d, r++, OUTCOME_OK, 300.0, 0, &c), STATE_DEGRADED);
	assert_true(c);
	/* back to normal after up_after good rounds */
	assert_int_equal(feed(&h, &d, r++, OUTCOME_OK, 51.0, 0, &c), STATE_DEGRADED);
	assert_int_equal(feed(&h, &d, r++, OUTCOME_OK, 51.0, 0, &c), STATE_UP);
	assert_true(c);
}

static void test_degraded_by_loss(void **state)
{
	(void)state;
	struct detect_cfg d = cfg();
	struct target_health h;
	uint32_t r = 0;

	health_init(&h);
	for (int i = 0; i < 10; i++)
		feed(&h, &d, r++, OUTCOME_OK, 5.0, 0, NULL);
	feed(&h, &d, r++, OUTCOME_OK, 5.0, 0.34f, NULL);
	assert_int_equal(h.last_why, HEALTH_WHY_LOSS);
	assert_int_equal(h.state, STATE_UP);
	/* below the loss threshold: good */
	feed(&h, &d, r++, OUTCOME_OK, 5.0, 0.1f, NULL);
	assert_int_equal(h.last, HEALTH_ROUND_GOOD);
	feed(&h, &d, r++, OUTCOME_OK, 5.0, 0.67f, NULL);
	assert_int_equal(feed(&h, &d, r++, OUTCOME_OK, 5.0, 0.34f, NULL), STATE_DEGRADED);
	/* a failure after degradation keeps it degraded until down_after */
	assert_int_equal(feed(&h, &d, r++, OUTCOME_TIMEOUT, 0, 0, NULL), STATE_DEGRADED);
	assert_int_equal(feed(&h, &d, r++, OUTCOME_TIMEOUT, 0, 0, NULL), STATE_DEGRADED);
	assert_int_equal(feed(&h, &d, r++, OUTCOME_TIMEOUT, 0, 0, NULL), STATE_DOWN);
	/* answering but lossy: comes back degraded, then up */
	assert_int_equal(feed(&h, &d, r++, OUTCOME_OK, 5.0, 0.34f, NULL), STATE_DOWN);
	assert_int_equal(feed(&h, &d, r++, OUTCOME_OK, 5.0, 0.34f, NULL), STATE_DEGRADED);
	assert_int_equal(feed(&h, &d, r++, OUTCOME_OK, 5.0, 0, NULL), STATE_DEGRADED);
	assert_int_equal(feed(&h, &d, r++, OUTCOME_OK, 5.0, 0, NULL), STATE_UP);
}

static void test_flapping(void **state)
{
	(void)state;
	struct detect_cfg d = cfg();
	struct target_health h;
	uint32_t r = 0;
	unsigned changes = 0, downs = 0;
	bool c;

	health_init(&h);
	for (int i = 0; i < 10; i++)
		feed(&h, &d, r++, OUTCOME_OK, 5.0, 0, NULL);
	/* fail, ok, fail, ok ...: never down; one change to degraded */
	for (int i = 0; i < 20; i++) {
		enum target_state s = feed(&h, &d, r++, i % 2 ? OUTCOME_OK : OUTCOME_TIMEOUT, 5.0, 0, &c);
		changes += c;
		downs += s == STATE_DOWN;
	}
	assert_int_equal(downs, 0);
	assert_true(changes <= 1);
	/* down/up/down/up with full streaks: every transition reported once */
	changes = 0;
	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < 3; i++) {
			feed(&h, &d, r++, OUTCOME_TIMEOUT, 0, 0, &c);
			changes += c;
		}
		assert_int_equal(h.state, STATE_DOWN);
		for (int i = 0; i < 2; i++) {
			feed(&h, &d, r++, OUTCOME_OK, 5.0, 0, &c);
			changes += c;
		}
		assert_int_equal(h.state, STATE_UP);
	}
	/* each cycle: up->degraded (2nd failure), degraded->down, down->up */
	assert_true(changes >= 6 && changes <= 9);
}

static void test_rebaseline_after_lasting_shift(void **state)
{
	(void)state;
	struct detect_cfg d = cfg();
	struct target_health h;
	uint32_t r = 0;

	health_init(&h);
	for (int i = 0; i < 30; i++)
		feed(&h, &d, r++, OUTCOME_OK, 10.0, 0, NULL);
	for (int i = 0; i < 3 * 20 + 10; i++)
		feed(&h, &d, r++, OUTCOME_OK, 200.0, 0, NULL);
	/* a new path: after 3 x baseline_rounds of RTT-only slowness it is normal */
	assert_int_equal(h.last, HEALTH_ROUND_GOOD);
	assert_int_equal(h.state, STATE_UP);
	assert_true(h.rtt_mean > 150.0);
}

static void test_defaults_from_zero(void **state)
{
	(void)state;
	struct detect_cfg z, p;

	memset(&z, 0, sizeof(z));
	health_params(&z, &p);
	assert_int_equal(p.down_after, 3);
	assert_int_equal(p.up_after, 2);
	assert_int_equal(p.baseline_rounds, 20);
	assert_true(p.network_fraction == 0.5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_first_good_is_up),
	    cmocka_unit_test(test_unknown_to_down),
	    cmocka_unit_test(test_down_after_up_after),
	    cmocka_unit_test(test_failed_streak_resets),
	    cmocka_unit_test(test_baseline_converges_and_not_poisoned),
	    cmocka_unit_test(test_degraded_by_rtt),
	    cmocka_unit_test(test_degraded_by_loss),
	    cmocka_unit_test(test_flapping),
	    cmocka_unit_test(test_rebaseline_after_lasting_shift),
	    cmocka_unit_test(test_defaults_from_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
