#include "probe/schedule.h"

#include <string.h>

#include "core/siphash.h"
#include "core/timeutil.h"

int64_t probe_schedule_offset_ms(uint64_t seed, uint32_t target, int64_t interval_ms)
{
	uint8_t key[16] = {0};

	memcpy(key, &seed, sizeof(seed));
	return (int64_t)(siphash24(key, &target, sizeof(target)) % (uint64_t)interval_ms);
}

struct probe_first_round probe_schedule_first(int64_t now_ms, int64_t interval_ms, uint64_t seed, uint32_t target,
					      bool align)
{
	int64_t offset_ms = probe_schedule_offset_ms(seed, target, interval_ms);
	int64_t start_ms = now_ms - now_ms % interval_ms + offset_ms;

	if (align)
		return (struct probe_first_round){.round = (uint32_t)(now_ms / interval_ms), .start_ms = now_ms};
	if (start_ms < now_ms)
		start_ms += interval_ms;
	return (struct probe_first_round){.round = (uint32_t)((start_ms - offset_ms) / interval_ms),
					  .start_ms = start_ms};
}

int64_t probe_schedule_late_max_ns(int64_t interval_ns)
{
	/* a quarter keeps two runs of a target at least 3/4 of an interval
	 * apart; the second caps how many targets a stall lets go at once */
	int64_t q = interval_ns / 4;
	return q < NS_PER_S ? q : NS_PER_S;
}

uint32_t probe_schedule_skip(int64_t planned_ns, int64_t now_ns, int64_t interval_ns)
{
	int64_t late = now_ns - planned_ns - probe_schedule_late_max_ns(interval_ns);

	if (late <= 0 || interval_ns <= 0)
		return 0;
	/* the first round planned at or after now minus the tolerance */
	int64_t skip = (late + interval_ns - 1) / interval_ns;
	return skip > UINT32_MAX ? UINT32_MAX : (uint32_t)skip;
}

void probe_bucket_init(struct probe_bucket *b, unsigned pps, int64_t now_ns)
{
	*b = (struct probe_bucket){.pps = pps, .at_ns = now_ns};
}

static void refill(struct probe_bucket *b, int64_t now_ns)
{
	double cap = b->pps;
	/* a burst of at most 1/50 s worth keeps sends smooth yet batchable */
	double burst = cap / 50 > 64 ? cap / 50 : 64;

	b->tokens += (double)(now_ns - b->at_ns) * cap / (double)NS_PER_S;
	if (b->tokens > burst)
		b->tokens = burst;
	b->at_ns = now_ns;
}

bool probe_bucket_take(struct probe_bucket *b, int64_t now_ns)
{
	if (b->pps == 0)
		return true;
	refill(b, now_ns);
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

int64_t probe_bucket_next_ns(struct probe_bucket *b, int64_t now_ns)
{
	if (b->pps == 0)
		return now_ns;
	refill(b, now_ns);
	double missing = b->tokens >= 1 ? 0 : 1 - b->tokens;
	return now_ns + (int64_t)(missing * (double)NS_PER_S / b->pps) + 1;
}

/* Both on CLOCK_MONOTONIC: a wall-clock step neither stalls nor hurries
 * the wait. */
int probe_wait_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	int rc;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
	return rc;
}

void probe_wait_deadline(struct timespec *until, int64_t after_ms)
{
	clock_gettime(CLOCK_MONOTONIC, until);
	until->tv_sec += (time_t)(after_ms / 1000);
	until->tv_nsec += (long)(after_ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}
