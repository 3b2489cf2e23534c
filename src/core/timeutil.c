#include "core/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t mono_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int64_t wall_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Largest first: the order the parts of a DURATION must come in. */
static const struct {
	const char *unit;
	int64_t ms;
} units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};

#define NUNITS (sizeof(units) / sizeof(units[0]))

/* The unit at *p ("ms" before "m"), or NUNITS. */
static size_t unit_at(const char *p, size_t *len)
{
	size_t best = NUNITS, best_len = 0;

	for (size_t i = 0; i < NUNITS; i++) {
		size_t n = strlen(units[i].unit);
		if (strncmp(p, units[i].unit, n) == 0 && n > best_len) {
			best = i;
			best_len = n;
		}
	}
	*len = best_len;
	return best;
}

int duration_parse_ms(const char *s, int64_t *out_ms)
{
	int64_t total = 0;
	size_t next = 0; /* the largest unit still allowed */
	const char *p = s;

	if (*p == '\0')
		return DURATION_BAD;
	while (*p != '\0') {
		int64_t value = 0;
		size_t ulen, u;

		if (!isdigit((unsigned char)*p))
			return DURATION_BAD;
		for (; isdigit((unsigned char)*p); p++) {
			if (value > (INT64_MAX - (*p - '0')) / 10)
				return DURATION_BAD;
			value = value * 10 + (*p - '0');
		}
		u = unit_at(p, &ulen);
		if (u == NUNITS || u < next || value > (INT64_MAX - total) / units[u].ms)
			return DURATION_BAD;
		total += value * units[u].ms;
		next = u + 1;
		p += ulen;
	}
	if (total == 0)
		return DURATION_ZERO;
	*out_ms = total;
	return 0;
}

const char *duration_why(int rc)
{
	return rc == DURATION_ZERO ? "must be greater than 0" : "bad duration";
}

/* ms in the units of the bit set `which` (bit i: units[i]), each taking
 * what it can; the length written, or 0 if they do not add up exactly
 * or a unit would be zero. */
static size_t format_in(int64_t ms, unsigned which, char *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < NUNITS; i++) {
		if (!(which & (1u << i)))
			continue;
		int64_t n = ms / units[i].ms;
		if (n == 0)
			return 0;
		ms -= n * units[i].ms;
		int w = snprintf(buf + o, o < len ? len - o : 0, "%lld%s", (long long)n, units[i].unit);
		o += (size_t)w;
	}
	return ms == 0 ? o : 0;
}

void duration_format(int64_t ms, char *buf, size_t len)
{
	char best[96] = "", tmp[96];
	size_t best_len = 0;

	if (ms <= 0) {
		snprintf(buf, len, "%lldms", (long long)ms);
		return;
	}
	/* every choice of units (32): the shortest text wins; on a tie the
	 * first, which has the larger leading unit */
	for (unsigned which = 1; which < (1u << NUNITS); which++) {
		size_t n = format_in(ms, which, tmp, sizeof(tmp));
		if (n > 0 && n < sizeof(tmp) && (best_len == 0 || n < best_len)) {
			memcpy(best, tmp, n + 1);
			best_len = n;
		}
	}
	snprintf(buf, len, "%s", best);
}

void rfc3339_format(int64_t epoch_ms, char *buf, size_t len)
{
	time_t secs = (time_t)(epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000);
	int millis = (int)(epoch_ms - (int64_t)secs * 1000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, len, "invalid");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

static int read_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int expect_char(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

int rfc3339_parse(const char *s, int64_t *epoch_ms)
{
	const char *p = s;
	int year, mon, day, hour, min, sec, millis = 0;
	struct tm tm = {0};

	if (read_digits(&p, 4, &year) || expect_char(&p, '-') || read_digits(&p, 2, &mon) || expect_char(&p, '-') ||
	    read_digits(&p, 2, &day))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (read_digits(&p, 2, &hour) || expect_char(&p, ':') || read_digits(&p, 2, &min) || expect_char(&p, ':') ||
	    read_digits(&p, 2, &sec))
		return -1;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return -1;
	if (*p == '.') {
		int scale = 100, digits = 0;
		for (p++; isdigit((unsigned char)*p); p++, digits++) {
			millis += (*p - '0') * scale;
			scale /= 10;
		}
		if (digits == 0)
			return -1;
	}
	int offset_min = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if (read_digits(&p, 2, &oh) || expect_char(&p, ':') || read_digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
		offset_min = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec == 60 ? 59 : sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 && !(year == 1969 && mon == 12 && day == 31))
		return -1;
	/* timegm normalises 2023-02-29 to March 1st: a day that does not
	 * exist comes back as another date and is refused */
	if (tm.tm_year != year - 1900 || tm.tm_mon != mon - 1 || tm.tm_mday != day)
		return -1;
	*epoch_ms = ((int64_t)t - (int64_t)offset_min * 60) * 1000 + millis;
	return 0;
}

int time_arg_parse(const char *s, int64_t now_ms, int64_t *epoch_ms)
{
	int64_t back;
	if (duration_parse_ms(s, &back) == 0) {
		*epoch_ms = now_ms - back;
		return 0;
	}
	return rfc3339_parse(s, epoch_ms);
}
