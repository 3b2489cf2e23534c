/* Per-target health: the state machine of one target (unknown, up,
 * degraded, down) with hysteresis counted in rounds, an RTT baseline
 * (EWMA of mean and variance) and a loss EWMA.  Pure: no clock, no I/O;
 * the same rounds in the same order give the same states. */
#ifndef LIGHTSOUT_HEALTH_H
#define LIGHTSOUT_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/model.h"

/* How one round of one target was judged. */
enum health_round {
	HEALTH_ROUND_NONE,     /* no round seen yet */
	HEALTH_ROUND_GOOD,     /* answered, loss and RTT within the baseline */
	HEALTH_ROUND_DEGRADED, /* answered, but lossy or slow */
	HEALTH_ROUND_FAILED,   /* outcome != ok */
};

/* Why a round was degraded (bits). */
#define HEALTH_WHY_LOSS 1u
#define HEALTH_WHY_RTT  2u

/* Thresholds the configuration does not name (yet): one place. */
#define HEALTH_DEGRADED_AFTER 2u /* consecutive degraded/failed rounds before UP becomes DEGRADED */
#define HEALTH_MIN_BASELINE   5u /* clean rounds before the RTT baseline judges anything */
#define HEALTH_REBASE_FACTOR  3u /* RTT-only degradation for this many x baseline_rounds: accept the new level */

struct target_health {
	enum target_state state;
	enum health_round last;   /* judgment of the last round fed */
	uint8_t last_why;         /* HEALTH_WHY_* of the last round */
	uint16_t fail_streak;     /* consecutive failed rounds */
	uint16_t bad_streak;      /* consecutive degraded or failed rounds */
	uint16_t ok_streak;       /* consecutive answered rounds (degraded or good) */
	uint16_t good_streak;     /* consecutive good rounds */
	uint16_t rtt_only_streak; /* consecutive rounds degraded by RTT alone */
	uint32_t baseline_n;      /* clean rounds in the baseline (saturates) */
	double rtt_mean;          /* baseline RTT, ms (valid when baseline_n > 0) */
	double rtt_var;           /* baseline RTT variance, ms^2 */
	double loss_mean;         /* baseline loss ratio 0..1 */
};

void health_init(struct target_health *h);

/* Feeds one completed round of this target; returns true iff the state
 * changed (from/to filled; either may be NULL).  Pure. */
bool health_update(struct target_health *h, const struct detect_cfg *d, const struct measurement *m,
		   enum target_state *from, enum target_state *to);

/* The same with the round's fields given and p already resolved by
 * health_params (the detector's fast path). */
bool health_step(struct target_health *h, const struct detect_cfg *p, enum outcome outcome, double rtt_ms, double loss,
		 enum target_state *from, enum target_state *to);

/* True when the RTT baseline is established enough to judge slowness. */
bool health_has_baseline(const struct target_health *h);

/* Effective thresholds: zero fields of d replaced by SPEC/docs defaults. */
void health_params(const struct detect_cfg *d, struct detect_cfg *out);

#endif
