/* Incremental reader of one SMTP reply ("220 ...", or multi-line
 * "220-...\r\n220 ...\r\n"), bounded in line length, line count and total
 * size, so a server that streams a megabyte of greeting or never ends a
 * line is cut off after a few KiB.  Pure code: no sockets, no logging. */
#ifndef LIGHTSOUT_PROBE_SMTP_READER_H
#define LIGHTSOUT_PROBE_SMTP_READER_H

#include <stdbool.h>
#include <stddef.h>

#define PROBE_SMTP_LINE_MAX  1000 /* RFC 5321 4.5.3.1.5, CRLF included */
#define PROBE_SMTP_REPLY_MAX 8192
#define PROBE_SMTP_LINES_MAX 64
#define PROBE_SMTP_TEXT_MAX  512 /* text kept for the detail and banner check */

enum probe_smtp_status {
	PROBE_SMTP_MORE,  /* reply incomplete: feed more bytes */
	PROBE_SMTP_DONE,  /* reply complete: code and text are set */
	PROBE_SMTP_ERROR, /* malformed or over a bound: err says which */
};

struct probe_smtp_reader {
	int code;        /* 3-digit reply code once known */
	size_t total;    /* bytes consumed so far */
	unsigned nlines; /* complete lines */
	size_t linelen;  /* bytes of the current line buffered */
	char line[PROBE_SMTP_LINE_MAX + 1];
	size_t textlen;
	char text[PROBE_SMTP_TEXT_MAX]; /* text of the lines, joined by ' ' */
};

void probe_smtp_reader_init(struct probe_smtp_reader *r);
/* Consumes bytes from buf; *used tells how many (bytes after a complete
 * reply are left to the caller).  Once DONE or ERROR, init again before
 * reading the next reply. */
enum probe_smtp_status probe_smtp_reader_feed(struct probe_smtp_reader *r, const char *buf, size_t len, size_t *used,
					      char *err, size_t errlen);

#endif
