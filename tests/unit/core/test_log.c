#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/log.h"

/* stderr goes to a temporary file for the length of one test, so what
 * log_* writes can be read back. */
static int saved_stderr = -1;
static char path[64];

static int capture_start(void **state)
{
	(void)state;
	int fd;

	snprintf(path, sizeof(path), "/tmp/lightsout-test-log.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return 0;
}

static void capture_read(char *buf, size_t size)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static int capture_stop(void **state)
{
	(void)state;
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	unlink(path);
	unsetenv("JOURNAL_STREAM");
	log_set_daemon(0);
	log_set_level(LOG_LEVEL_INFO);
	return 0;
}

static void test_plain_lines(void **state)
{
	(void)state;
	char out[512];

	log_set_daemon(0);
	log_info("hello %d", 42);
	capture_read(out, sizeof(out));
	assert_string_equal(out, "lightsout: hello 42\n");
}

static void test_stamped_lines(void **state)
{
	(void)state;
	char out[512];
	int y, mo, d, h, mi, s, ms;

	unsetenv("JOURNAL_STREAM");
	log_set_daemon(1);
	log_warnx("queue full");
	capture_read(out, sizeof(out));
	assert_int_equal(sscanf(out, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ ", &y, &mo, &d, &h, &mi, &s, &ms), 7);
	assert_non_null(strstr(out, "Z lightsout: queue full\n"));
}

static void test_journal_priorities(void **state)
{
	(void)state;
	char out[512], env[64];
	struct stat st;

	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_set_daemon(1);
	log_warnx("w");
	log_info("i");
	log_debug("hidden at info");
	capture_read(out, sizeof(out));
	assert_string_equal(out, "<4>w\n<6>i\n");
}

static void test_journal_stream_of_another_file(void **state)
{
	(void)state;
	char out[512];

	/* a stale JOURNAL_STREAM (stderr redirected by the user) is not the journal */
	setenv("JOURNAL_STREAM", "1:1", 1);
	log_set_daemon(1);
	log_info("x");
	capture_read(out, sizeof(out));
	assert_non_null(strstr(out, "Z lightsout: x\n"));
}

static void test_levels(void **state)
{
	(void)state;
	char out[512];

	assert_int_equal(log_level_parse("error"), LOG_LEVEL_ERROR);
	assert_int_equal(log_level_parse("warning"), LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("info"), LOG_LEVEL_INFO);
	assert_int_equal(log_level_parse("debug"), LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("verbose"), -1);
	log_set_daemon(0);
	log_set_level(LOG_LEVEL_WARN);
	log_info("dropped");
	log_warnx("kept");
	capture_read(out, sizeof(out));
	assert_string_equal(out, "lightsout: kept\n");
}

static void test_limit(void **state)
{
	(void)state;
	struct log_limit ll = {0};
	unsigned long long before;
	unsigned passed = 0;

	for (int i = 0; i < 100; i++)
		passed += log_limit_pass(&ll, 1000 + i, 20, 60000, &before);
	assert_int_equal(passed, 20);
	assert_int_equal(ll.suppressed, 80);
	/* the next window's first line carries the count of the last one */
	assert_true(log_limit_pass(&ll, 1000 + 60000, 20, 60000, &before));
	assert_int_equal(before, 80);
	assert_true(log_limit_pass(&ll, 1000 + 60001, 20, 60000, &before));
	assert_int_equal(before, 0);
	/* a clock that steps back starts a new window instead of muting for ever */
	assert_true(log_limit_pass(&ll, 5, 20, 60000, &before));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plain_lines, capture_start, capture_stop),
	    cmocka_unit_test_setup_teardown(test_stamped_lines, capture_start, capture_stop),
	    cmocka_unit_test_setup_teardown(test_journal_priorities, capture_start, capture_stop),
	    cmocka_unit_test_setup_teardown(test_journal_stream_of_another_file, capture_start, capture_stop),
	    cmocka_unit_test_setup_teardown(test_levels, capture_start, capture_stop),
	    cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
