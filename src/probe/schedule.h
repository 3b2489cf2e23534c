/* The engine's arithmetic, apart so it can be tested with injected time:
 * the wall-clock aligned schedule, the token bucket of the rate cap, and
 * the resolver thread's monotonic wait. */
#ifndef LIGHTSOUT_PROBE_SCHEDULE_H
#define LIGHTSOUT_PROBE_SCHEDULE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Round r of a target with interval I runs in the wall-clock slot
 * [r*I, (r+1)*I) at a pseudo-random offset within it (SipHash of the
 * target index under seed), so every vantage and every restart agrees on
 * round numbers and no network gets a burst. */
int64_t probe_schedule_offset_ms(uint64_t seed, uint32_t target, int64_t interval_ms);

struct probe_first_round {
	uint32_t round;   /* its number */
	int64_t start_ms; /* wall clock, >= now_ms */
};

/* The first round to run at or after now_ms; with align, at now_ms itself
 * (the probe verb: every target at once). */
struct probe_first_round probe_schedule_first(int64_t now_ms, int64_t interval_ms, uint64_t seed, uint32_t target,
					      bool align);

/* A round timer that fires at now_ns for a round planned at planned_ns:
 * how many rounds to skip (0: run the planned one now).  Late by up to
 * probe_schedule_late_max_ns(interval) is loop jitter and the round runs,
 * stamped with the real time; later means the process stood still
 * (SIGSTOP, a VM pause): those rounds are past, and running them now
 * would fire them back to back, so they are skipped to the first round
 * that can still run on time (it may be at once, or still ahead). */
int64_t probe_schedule_late_max_ns(int64_t interval_ns);
uint32_t probe_schedule_skip(int64_t planned_ns, int64_t now_ns, int64_t interval_ns);

/* Token bucket of the packets-per-second cap; pps 0 means no cap. */
struct probe_bucket {
	unsigned pps;
	double tokens;
	int64_t at_ns; /* monotonic time of the last refill */
};

void probe_bucket_init(struct probe_bucket *b, unsigned pps, int64_t now_ns);
/* True if a packet may go at now_ns (and takes its token). */
bool probe_bucket_take(struct probe_bucket *b, int64_t now_ns);
/* When the next token will be there (> now_ns unless one is). */
int64_t probe_bucket_next_ns(struct probe_bucket *b, int64_t now_ns);

/* A condition variable for timed waits, and the deadline after_ms from now
 * on the clock its waits use: CLOCK_MONOTONIC. */
int probe_wait_init(pthread_cond_t *cv);
void probe_wait_deadline(struct timespec *until, int64_t after_ms);

#endif
