/* Bounded incremental SMTP reply reader (see smtp_reader.h). */
#include "probe/smtp_reader.h"

#include <stdio.h>
#include <string.h>

void probe_smtp_reader_init(struct probe_smtp_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->code = -1;
}

/* Keeps printable text only: the banner ends up in details and on the
 * dashboard, and the server is not trusted. */
static void keep_text(struct probe_smtp_reader *r, const char *s, size_t n)
{
	if (r->textlen > 0 && r->textlen + 1 < sizeof(r->text))
		r->text[r->textlen++] = ' ';
	for (size_t i = 0; i < n && r->textlen + 1 < sizeof(r->text); i++) {
		unsigned char c = (unsigned char)s[i];
		r->text[r->textlen++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	r->text[r->textlen] = '\0';
}

/* One complete line (without CRLF).  Returns MORE for a continuation line. */
static enum probe_smtp_status end_line(struct probe_smtp_reader *r, char *err, size_t errlen)
{
	const char *l = r->line;
	size_t n = r->linelen;
	int code;
	char sep;

	if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' || l[2] > '9') {
		snprintf(err, errlen, "malformed reply line");
		return PROBE_SMTP_ERROR;
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	sep = n > 3 ? l[3] : ' ';
	if (sep != ' ' && sep != '-') {
		snprintf(err, errlen, "malformed reply line");
		return PROBE_SMTP_ERROR;
	}
	if (r->code >= 0 && code != r->code) {
		snprintf(err, errlen, "reply code changed from %d to %d within a reply", r->code, code);
		return PROBE_SMTP_ERROR;
	}
	r->code = code;
	if (n > 4)
		keep_text(r, l + 4, n - 4);
	r->nlines++;
	r->linelen = 0;
	if (sep == ' ')
		return PROBE_SMTP_DONE;
	if (r->nlines >= PROBE_SMTP_LINES_MAX) {
		snprintf(err, errlen, "reply longer than %d lines", PROBE_SMTP_LINES_MAX);
		return PROBE_SMTP_ERROR;
	}
	return PROBE_SMTP_MORE;
}

enum probe_smtp_status probe_smtp_reader_feed(struct probe_smtp_reader *r, const char *buf, size_t len, size_t *used,
					      char *err, size_t errlen)
{
	size_t i;
	enum probe_smtp_status st = PROBE_SMTP_MORE;

	for (i = 0; i < len; i++) {
		char c = buf[i];
		if (r->total >= PROBE_SMTP_REPLY_MAX) {
			snprintf(err, errlen, "reply longer than %d bytes", PROBE_SMTP_REPLY_MAX);
			st = PROBE_SMTP_ERROR;
			break;
		}
		r->total++;
		if (c == '\n') {
			/* CRLF is the standard; a bare LF is tolerated. */
			if (r->linelen > 0 && r->line[r->linelen - 1] == '\r')
				r->linelen--;
			st = end_line(r, err, errlen);
			if (st != PROBE_SMTP_MORE) {
				i++;
				break;
			}
			continue;
		}
		if (c == '\0') {
			snprintf(err, errlen, "NUL byte in reply");
			st = PROBE_SMTP_ERROR;
			i++;
			break;
		}
		if (r->linelen + 1 >= PROBE_SMTP_LINE_MAX) {
			snprintf(err, errlen, "reply line longer than %d bytes", PROBE_SMTP_LINE_MAX);
			st = PROBE_SMTP_ERROR;
			i++;
			break;
		}
		r->line[r->linelen++] = c;
	}
	*used = i;
	return st;
}
