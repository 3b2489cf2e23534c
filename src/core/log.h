/* Logging in the OpenBGPD manner: log_warn adds strerror(errno),
 * log_warnx does not; fatal/fatalx exit 1. */
#ifndef LIGHTSOUT_LOG_H
#define LIGHTSOUT_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_init(enum log_level level, int use_syslog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* For long-running verbs: every line starts with its UTC time, or, when
 * stderr is the systemd journal, with the line's syslog priority. */
void log_set_daemon(int on);
/* "error", "warning", "info", "debug" (the config's log_level words);
 * -1 for anything else. */
int log_level_parse(const char *word);
const char *log_level_name(int level);

/* Lines of one kind that may come in storms (a peer reconnecting in a
 * loop): at most `burst` per `window_ms`; the rest are counted, and the
 * count of a finished window is handed to the next line that passes. */
struct log_limit {
	int64_t window_start_ms;
	unsigned lines;
	unsigned long long suppressed;
};
bool log_limit_pass(struct log_limit *ll, int64_t now_ms, unsigned burst, int64_t window_ms,
		    unsigned long long *suppressed_before);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
