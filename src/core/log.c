#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_LEVEL_INFO;
static int to_syslog;
static enum { PLAIN, STAMPED, JOURNAL } line_style = PLAIN;

/* journald sets JOURNAL_STREAM to the device and inode of the stream it
 * reads; a match means our stderr goes straight to the journal (not
 * through a pipe or a file a user redirected to). */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_daemon(int on)
{
	if (!on)
		line_style = PLAIN;
	else
		line_style = stderr_is_journal() ? JOURNAL : STAMPED;
}

void log_init(enum log_level level, int use_syslog)
{
	current_level = level;
	to_syslog = use_syslog;
	if (use_syslog)
		openlog("lightsout", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int log_level_parse(const char *word)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(word, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *log_level_name(int level)
{
	return level >= 0 && (size_t)level < sizeof(level_names) / sizeof(level_names[0]) ? level_names[level] : "?";
}

bool log_limit_pass(struct log_limit *ll, int64_t now_ms, unsigned burst, int64_t window_ms,
		    unsigned long long *suppressed_before)
{
	*suppressed_before = 0;
	if (now_ms - ll->window_start_ms >= window_ms || now_ms < ll->window_start_ms) {
		*suppressed_before = ll->suppressed;
		ll->window_start_ms = now_ms;
		ll->lines = 0;
		ll->suppressed = 0;
	}
	if (ll->lines >= burst) {
		ll->suppressed++;
		return false;
	}
	ll->lines++;
	return true;
}

static void vlog(enum log_level level, int errnum, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char msg[1024];

	if (level > current_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum) {
		size_t used = strlen(msg);
		snprintf(msg + used, sizeof(msg) - used, ": %s", strerror(errnum));
	}
	if (to_syslog) {
		syslog(prio[level], "%s", msg);
	} else if (line_style == JOURNAL) {
		/* sd-daemon(3)'s "<N>" prefix: journald files the line at that priority */
		fprintf(stderr, "<%d>%s\n", prio[level], msg);
	} else if (line_style == STAMPED) {
		struct timespec now;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ lightsout: %s\n", stamp, now.tv_nsec / 1000000, msg);
	} else {
		fprintf(stderr, "lightsout: %s\n", msg);
	}
}

#define LOG_BODY(level, errnum)                                                                                        \
	do {                                                                                                           \
		va_list ap;                                                                                            \
		va_start(ap, fmt);                                                                                     \
		vlog(level, errnum, fmt, ap);                                                                          \
		va_end(ap);                                                                                            \
	} while (0)

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	LOG_BODY(LOG_LEVEL_WARN, saved);
	errno = saved;
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 0);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, 0);
}

void log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, 0);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	LOG_BODY(LOG_LEVEL_ERROR, saved);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
	exit(1);
}
