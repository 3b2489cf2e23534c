/* Synthetic measurement streams for detector tests and the benchmark:
 * every target answers normally unless a segment says otherwise.  Times
 * are in rounds (fractional): a segment [from, to) applies to a target's
 * round when the probe's start time falls inside it, and probes are spread
 * over the interval as the engine spreads them. */
#ifndef LIGHTSOUT_TEST_SYNTH_H
#define LIGHTSOUT_TEST_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/model.h"

struct synth_seg {
	const char *target; /* name, "*" = every target of every network, "ctl" = controls */
	double from, to;    /* in rounds since t0 */
	enum failure f;     /* the round's failure class (the outcome follows) */
	double rtt;         /* none: ms (0 = the target's normal RTT) */
	float loss;         /* none: loss ratio */
	const char *via;    /* unreachable: reporting router */
	const char *detail; /* measurement detail (default: the outcome's name) */
	double share;       /* in (0, 1): each round takes this segment with this probability, else times out
			     * (rate-limited ICMP errors) */
};

struct synth {
	const struct config *cfg;
	int64_t t0_ms;
	uint32_t rounds;
	const struct synth_seg *segs;
	size_t nsegs;
	uint64_t seed; /* jitter and (with shuffle) order within rounds */
	bool shuffle;  /* shuffle within each round instead of time order */
};

/* All measurements, round by round.  Caller frees *out. */
size_t synth_generate(const struct synth *s, struct measurement **out);
/* splitmix64 step */
uint64_t synth_rand(uint64_t *state);

#endif
