/* The verbs' shared parts: every error is one stderr line "lightsout: ..."
 * (SPEC.md), whichever verb meets it, with the same exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"

/* Runs a verb with stderr captured into buf. */
static int run_verb(int (*verb)(int, char **), char *buf, size_t len, int argc, char **argv)
{
	char path[] = "/tmp/lightsout-cli-err-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	int rc = verb(argc, argv);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return rc;
}

static void t_config_errors_say_lightsout(void **state)
{
	(void)state;
	char bad[] = "/tmp/lightsout-cli-bad-XXXXXX", buf[2048];
	int fd = mkstemp(bad);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "networks: [\n", 12), 12);
	close(fd);

	char *check[] = {"check-config", "-c", bad, NULL};
	assert_int_equal(run_verb(cli_check_config, buf, sizeof(buf), 3, check), EXIT_USAGE);
	assert_memory_equal(buf, "lightsout: ", 11);
	assert_non_null(strstr(buf, bad));
	char *status[] = {"status", "-c", bad, NULL};
	assert_int_equal(run_verb(cli_status, buf, sizeof(buf), 3, status), EXIT_USAGE);
	assert_memory_equal(buf, "lightsout: ", 11);
	char *missing[] = {"status", "-c", "/nonexistent/lightsout.yaml", NULL};
	assert_int_equal(run_verb(cli_status, buf, sizeof(buf), 3, missing), EXIT_USAGE);
	assert_memory_equal(buf, "lightsout: /nonexistent/lightsout.yaml", 38);
	unlink(bad);
}

static void t_usage_errors(void **state)
{
	(void)state;
	char buf[2048];
	char *extra[] = {"status", "surplus", NULL};
	assert_int_equal(run_verb(cli_status, buf, sizeof(buf), 2, extra), EXIT_USAGE);
	assert_string_equal(buf, "lightsout: status: unexpected argument \"surplus\" (see lightsout status --help)\n");
	char *bad[] = {"check-config", "--nope", NULL};
	assert_int_equal(run_verb(cli_check_config, buf, sizeof(buf), 2, bad), EXIT_USAGE);
	assert_non_null(strstr(buf, "lightsout: check-config: bad option (see lightsout check-config --help)\n"));
	char *help[] = {"status", "--help", NULL};
	assert_int_equal(run_verb(cli_status, buf, sizeof(buf), 2, help), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_config_errors_say_lightsout),
	    cmocka_unit_test(t_usage_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
