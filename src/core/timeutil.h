/* Time: monotonic clock for deadlines, wall clock for timestamps,
 * DURATION and RFC 3339 parsing/printing as SPEC.md defines them. */
#ifndef LIGHTSOUT_TIMEUTIL_H
#define LIGHTSOUT_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S  INT64_C(1000000000)

int64_t mono_now_ns(void);
int64_t wall_now_ms(void); /* milliseconds since the Unix epoch, UTC */

/* DURATION: integers with units, largest unit first, each unit at most
 * once: "250ms", "5s", "90s", "1m30s", "1h30m", "1d12h".  Returns 0 and
 * the value in milliseconds, DURATION_ZERO for a zero duration ("0s"),
 * or DURATION_BAD (syntax, units out of order, overflow). */
enum { DURATION_BAD = -1, DURATION_ZERO = -2 };
int duration_parse_ms(const char *s, int64_t *out_ms);
/* Why duration_parse_ms returned rc: "must be greater than 0" or "bad
 * duration" (then quote the text and add DURATION_HINT). */
const char *duration_why(int rc);
#define DURATION_HINT "integers with units d, h, m, s, ms, largest first: 90s, 1h30m"
/* Shortest exact form ("90000ms" -> "90s", "60000ms" -> "1m",
 * "86401000ms" -> "1d1s"). */
void duration_format(int64_t ms, char *buf, size_t len);

/* "2026-01-26T09:00:00.000Z": RFC 3339 UTC with milliseconds; buf >= 25. */
#define RFC3339_LEN 32
void rfc3339_format(int64_t epoch_ms, char *buf, size_t len);
/* Accepts RFC 3339 with optional fraction and Z or +hh:mm offset. */
int rfc3339_parse(const char *s, int64_t *epoch_ms);
/* --since/--until: RFC 3339, or a DURATION back from now_ms. */
int time_arg_parse(const char *s, int64_t now_ms, int64_t *epoch_ms);

#endif
