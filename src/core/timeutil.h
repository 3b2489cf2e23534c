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

/* "250ms", "5s", "2m", "6h", "1d": integer with unit.  Returns 0 and the
 * value in milliseconds, or -1 (bad syntax, zero/negative, overflow). */
int duration_parse_ms(const char *s, int64_t *out_ms);
/* Shortest exact form ("90s" -> "90s", "60000ms" -> "1m"). */
void duration_format(int64_t ms, char *buf, size_t len);

/* "2026-01-26T09:00:00.000Z": RFC 3339 UTC with milliseconds; buf >= 25. */
#define RFC3339_LEN 32
void rfc3339_format(int64_t epoch_ms, char *buf, size_t len);
/* Accepts RFC 3339 with optional fraction and Z or +hh:mm offset. */
int rfc3339_parse(const char *s, int64_t *epoch_ms);
/* --since/--until: RFC 3339, or a DURATION back from now_ms. */
int time_arg_parse(const char *s, int64_t now_ms, int64_t *epoch_ms);

#endif
