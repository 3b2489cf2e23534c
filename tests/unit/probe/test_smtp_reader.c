/* SMTP reply reader: bounded, multi-line aware, strict about codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "probe/smtp_reader.h"

static enum probe_smtp_status feed_all(struct probe_smtp_reader *r, const char *s, size_t len, size_t *used, char *err,
				       size_t errlen)
{
	return probe_smtp_reader_feed(r, s, len, used, err, errlen);
}

static void test_single_line(void **state)
{
	(void)state;
	struct probe_smtp_reader r;
	char err[128];
	size_t used;
	const char *g = "220 mail.lab.example ESMTP OpenSMTPD\r\nEXTRA";

	probe_smtp_reader_init(&r);
	assert_int_equal(feed_all(&r, g, strlen(g), &used, err, sizeof(err)), PROBE_SMTP_DONE);
	assert_int_equal(r.code, 220);
	assert_string_equal(r.text, "mail.lab.example ESMTP OpenSMTPD");
	assert_int_equal(used, strlen(g) - 5); /* bytes after the reply are left */
}

static void test_multi_line(void **state)
{
	(void)state;
	struct probe_smtp_reader r;
	char err[128];
	size_t used;
	const char *g = "220-mail.lab.example ESMTP\r\n220-second line\r\n220 last\r\n";

	probe_smtp_reader_init(&r);
	assert_int_equal(feed_all(&r, g, strlen(g), &used, err, sizeof(err)), PROBE_SMTP_DONE);
	assert_int_equal(r.code, 220);
	assert_int_equal(r.nlines, 3);
	assert_string_equal(r.text, "mail.lab.example ESMTP second line last");

	/* the same, one byte at a time (a slow server) */
	probe_smtp_reader_init(&r);
	for (size_t i = 0; i < strlen(g); i++) {
		enum probe_smtp_status st = feed_all(&r, g + i, 1, &used, err, sizeof(err));
		assert_int_equal(used, 1);
		assert_int_equal(st, i + 1 == strlen(g) ? PROBE_SMTP_DONE : PROBE_SMTP_MORE);
	}

	/* a code that changes within a reply is malformed */
	probe_smtp_reader_init(&r);
	g = "220-hello\r\n250 other\r\n";
	assert_int_equal(feed_all(&r, g, strlen(g), &used, err, sizeof(err)), PROBE_SMTP_ERROR);
	assert_non_null(strstr(err, "code changed"));
}

static void test_error_codes(void **state)
{
	(void)state;
	struct probe_smtp_reader r;
	char err[128];
	size_t used;
	const char *g = "554 5.3.2 no service for you\r\n";

	probe_smtp_reader_init(&r);
	assert_int_equal(feed_all(&r, g, strlen(g), &used, err, sizeof(err)), PROBE_SMTP_DONE);
	assert_int_equal(r.code, 554);
	assert_string_equal(r.text, "5.3.2 no service for you");
	probe_smtp_reader_init(&r);
	g = "421 busy\n"; /* bare LF tolerated */
	assert_int_equal(feed_all(&r, g, strlen(g), &used, err, sizeof(err)), PROBE_SMTP_DONE);
	assert_int_equal(r.code, 421);
	assert_string_equal(r.text, "busy");
	probe_smtp_reader_init(&r);
	g = "220\r\n"; /* code alone is a complete reply */
	assert_int_equal(feed_all(&r, g, strlen(g), &used, err, sizeof(err)), PROBE_SMTP_DONE);
	assert_int_equal(r.code, 220);
}

static void test_malformed(void **state)
{
	(void)state;
	struct probe_smtp_reader r;
	char err[128];
	size_t used;
	const char *bad[] = {"HTTP/1.1 200 OK\r\n", "22\r\n", "220x\r\n", "620 hi\r\n", "\r\n", "SSH-2.0-x\r\n"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		probe_smtp_reader_init(&r);
		assert_int_equal(feed_all(&r, bad[i], strlen(bad[i]), &used, err, sizeof(err)), PROBE_SMTP_ERROR);
	}
	probe_smtp_reader_init(&r);
	assert_int_equal(feed_all(&r, "220 a\0b\r\n", 9, &used, err, sizeof(err)), PROBE_SMTP_ERROR);
	assert_non_null(strstr(err, "NUL"));
	/* control bytes in the text are neutralised */
	probe_smtp_reader_init(&r);
	assert_int_equal(feed_all(&r, "220 a\033[2Jb\r\n", 12, &used, err, sizeof(err)), PROBE_SMTP_DONE);
	assert_string_equal(r.text, "a?[2Jb");
}

static void test_one_megabyte(void **state)
{
	(void)state;
	struct probe_smtp_reader r;
	char err[128];
	size_t used, total = 0, size = 1 << 20;
	char *big = malloc(size);
	enum probe_smtp_status st = PROBE_SMTP_MORE;

	assert_non_null(big);
	/* one endless line */
	memset(big, 'A', size);
	memcpy(big, "220 ", 4);
	probe_smtp_reader_init(&r);
	st = feed_all(&r, big, size, &used, err, sizeof(err));
	assert_int_equal(st, PROBE_SMTP_ERROR);
	assert_true(used <= PROBE_SMTP_LINE_MAX);
	assert_non_null(strstr(err, "line longer"));

	/* many short continuation lines, fed in 4 KiB chunks */
	for (size_t i = 0; i + 10 <= size; i += 10)
		memcpy(big + i, "220-xxxx\r\n", 10);
	probe_smtp_reader_init(&r);
	st = PROBE_SMTP_MORE;
	while (st == PROBE_SMTP_MORE && total < size) {
		size_t n = size - total < 4096 ? size - total : 4096;
		st = feed_all(&r, big + total, n, &used, err, sizeof(err));
		total += used;
	}
	assert_int_equal(st, PROBE_SMTP_ERROR);
	assert_true(total <= PROBE_SMTP_REPLY_MAX);
	assert_non_null(strstr(err, "lines"));

	/* long lines under the line cap, until the total cap */
	for (size_t i = 0; i + 900 <= size; i += 900) {
		memset(big + i, 'B', 900);
		memcpy(big + i, "220-", 4);
		memcpy(big + i + 898, "\r\n", 2);
	}
	probe_smtp_reader_init(&r);
	st = feed_all(&r, big, size, &used, err, sizeof(err));
	assert_int_equal(st, PROBE_SMTP_ERROR);
	assert_true(used <= PROBE_SMTP_REPLY_MAX);
	assert_non_null(strstr(err, "bytes"));
	assert_true(strlen(r.text) < PROBE_SMTP_TEXT_MAX);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_line), cmocka_unit_test(test_multi_line),   cmocka_unit_test(test_error_codes),
	    cmocka_unit_test(test_malformed),   cmocka_unit_test(test_one_megabyte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
