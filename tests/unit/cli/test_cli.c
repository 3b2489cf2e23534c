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
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "config/config.h"
#include "core/log.h"
#include "core/model.h"
#include "core/timeutil.h"
#include "store/store.h"

/* Reads back and closes a capture file. */
static void capture_end(int fd, int saved, int target, char *buf, size_t len)
{
	dup2(saved, target);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	ssize_t n = buf != NULL ? read(fd, buf, len - 1) : 0;
	if (buf != NULL)
		buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

static int capture_start(int target, int *saved)
{
	char path[] = "/tmp/lightsout-cli-out-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	*saved = dup(target);
	dup2(fd, target);
	return fd;
}

/* Runs a verb with stdout captured into out (NULL: dropped) and stderr
 * into buf. */
static int run_verb_out(int (*verb)(int, char **), char *out, size_t outlen, char *buf, size_t len, int argc,
			char **argv)
{
	int saved_out, saved_err;
	fflush(stdout);
	fflush(stderr);
	int fd_out = capture_start(STDOUT_FILENO, &saved_out);
	int fd_err = capture_start(STDERR_FILENO, &saved_err);
	int rc = verb(argc, argv);
	fflush(stdout);
	fflush(stderr);
	capture_end(fd_err, saved_err, STDERR_FILENO, buf, len);
	capture_end(fd_out, saved_out, STDOUT_FILENO, out, outlen);
	return rc;
}

static int run_verb(int (*verb)(int, char **), char *buf, size_t len, int argc, char **argv)
{
	return run_verb_out(verb, NULL, 0, buf, len, argc, argv);
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

/* A TCP listener on 127.0.0.1 that completes handshakes (the kernel
 * does, from the backlog); returns the fd and the port as a URL. */
static int tcp_listener(char *url, size_t len)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(url, len, "tcp://127.0.0.1:%u", ntohs(sin.sin_port));
	return fd;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* A UDP name server on 127.0.0.1 answering one query NOERROR with no
 * records (the question echoed, QR AA set). */
struct dns_responder {
	int fd;
	uint16_t port;
};

static void *dns_respond(void *arg)
{
	struct dns_responder *d = arg;
	struct pollfd p = {.fd = d->fd, .events = POLLIN};
	uint8_t q[512];
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	if (poll(&p, 1, 10000) != 1)
		return NULL;
	ssize_t n = recvfrom(d->fd, q, sizeof(q), 0, (struct sockaddr *)&peer, &pl);
	if (n < 12)
		return NULL;
	q[2] = 0x84;
	q[3] = 0;
	memset(q + 6, 0, 6); /* no answer, authority or additional records */
	sendto(d->fd, q, (size_t)n, 0, (struct sockaddr *)&peer, pl);
	return NULL;
}

/* probe dns://SERVER:PORT/NAME/TYPE asks that port. */
static void t_probe_dns_port(void **state)
{
	(void)state;
	struct dns_responder d = {.fd = socket(AF_INET, SOCK_DGRAM, 0)};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	pthread_t th;
	char url[96], out[4096], buf[2048];
	assert_true(d.fd >= 0);
	assert_int_equal(bind(d.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(d.fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(url, sizeof(url), "dns://127.0.0.1:%u/lab.test./A", ntohs(sin.sin_port));
	assert_int_equal(pthread_create(&th, NULL, dns_respond, &d), 0);
	char *argv[] = {"probe", "--format", "json", url, NULL};
	int rc = run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 4, argv);
	pthread_join(th, NULL);
	close(d.fd);
	assert_string_equal(buf, "");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"outcome\":\"ok\""));
}

/* trace://HOST takes a bare IPv6 literal (no port to confuse it with);
 * the shared URL splitter alone refused it. */
static void t_probe_trace_ipv6_literal(void **state)
{
	(void)state;
	char out[4096], buf[2048];
	char *argv[] = {"probe", "--format", "json", "--timeout", "500ms", "trace://::1", NULL};
	int rc = run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 6, argv);
	assert_int_not_equal(rc, 2);
	assert_null(strstr(buf, "not a target"));
	assert_non_null(strstr(out, "\"target\":\"trace://::1\""));
}

/* probe's text lines that start with prefix */
static size_t lines_starting(const char *out, const char *prefix)
{
	size_t n = 0;
	for (const char *l = out; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
		n += strncmp(l, prefix, strlen(prefix)) == 0;
	return n;
}

/* -g sweeps an IPv4 prefix as fping does: no network or broadcast
 * address below /31; at most 65536 addresses. */
static void t_probe_generate(void **state)
{
	(void)state;
	char out[8192], buf[2048];
	char *g30[] = {"probe", "--timeout", "500ms", "-g", "127.0.0.0/30", NULL};
	assert_int_equal(run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 5, g30), 0);
	assert_int_equal(count_lines(out), 2);
	assert_int_equal(lines_starting(out, "127.0.0.1 "), 1);
	assert_int_equal(lines_starting(out, "127.0.0.2 "), 1);
	char *g31[] = {"probe", "--timeout", "500ms", "-g", "127.0.0.2/31", NULL};
	run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 5, g31);
	assert_int_equal(lines_starting(out, "127.0.0.2 "), 1);
	assert_int_equal(lines_starting(out, "127.0.0.3 "), 1);
	char *g32[] = {"probe", "--timeout", "500ms", "-g", "127.0.0.1/32", "127.0.0.2", NULL};
	assert_int_equal(run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 6, g32), 0);
	assert_int_equal(count_lines(out), 2);
	char *big[] = {"probe", "-g", "127.0.0.0/15", NULL};
	assert_int_equal(run_verb(cli_probe, buf, sizeof(buf), 3, big), EXIT_USAGE);
	assert_string_equal(
	    buf,
	    "lightsout: probe: -g: 127.0.0.0/15 has 131070 addresses, more than 65536 (see lightsout probe --help)\n");
	char *v6[] = {"probe", "-g", "::1/128", NULL};
	assert_int_equal(run_verb(cli_probe, buf, sizeof(buf), 3, v6), EXIT_USAGE);
	assert_non_null(strstr(buf, "only IPv4 prefixes"));
}

/* -f reads one target a line, with # comments. */
static void t_probe_file(void **state)
{
	(void)state;
	char path[] = "/tmp/lightsout-cli-targets-XXXXXX", out[8192], buf[2048];
	static const char text[] = "# loopback\n127.0.0.1  # the first\n\n\t127.0.0.2\r\n   # done\n";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	char *file[] = {"probe", "--timeout", "500ms", "-f", path, NULL};
	int rc = run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 5, file);
	assert_int_equal(rc, 0);
	assert_string_equal(buf, "");
	assert_int_equal(count_lines(out), 2);
	assert_int_equal(lines_starting(out, "127.0.0.1 "), 1);
	assert_int_equal(lines_starting(out, "127.0.0.2 "), 1);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "127.0.0.1\n127.0.0.1 127.0.0.2\n", 30), 30);
	close(fd);
	assert_int_equal(run_verb(cli_probe, buf, sizeof(buf), 5, file), EXIT_USAGE);
	assert_non_null(strstr(buf, ":2: one target per line"));

	/* - is stdin */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "127.0.0.3\n", 10), 10);
	close(fd);
	int saved_in = dup(STDIN_FILENO);
	fd = open(path, O_RDONLY);
	dup2(fd, STDIN_FILENO);
	close(fd);
	char *from_stdin[] = {"probe", "--timeout", "500ms", "-f", "-", NULL};
	rc = run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 5, from_stdin);
	dup2(saved_in, STDIN_FILENO);
	close(saved_in);
	assert_int_equal(rc, 0);
	assert_int_equal(lines_starting(out, "127.0.0.3 "), 1);
	unlink(path);
	char *missing[] = {"probe", "-f", "/nonexistent/targets", NULL};
	assert_int_equal(run_verb(cli_probe, buf, sizeof(buf), 3, missing), EXIT_USAGE);
	assert_memory_equal(buf, "lightsout: probe: /nonexistent/targets: ", 40);
}

/* --count N ends with fping -c's summary per target. */
static void t_probe_summary(void **state)
{
	(void)state;
	char url[64], out[8192], buf[2048];
	int lfd = tcp_listener(url, sizeof(url));
	char *text[] = {"probe", "--count", "3", "--interval", "10ms", url, NULL};
	assert_int_equal(run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 6, text), 0);
	assert_int_equal(count_lines(out), 4);
	char want[128];
	snprintf(want, sizeof(want), "%s : xmt/rcv/%%loss = 3/3/0%%, min/avg/max = ", url);
	assert_int_equal(lines_starting(out, want), 1);
	assert_non_null(strstr(strstr(out, want), "/"));
	char *json[] = {"probe", "--count", "2", "--interval", "10ms", "--format", "json", url, NULL};
	assert_int_equal(run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 8, json), 0);
	assert_int_equal(count_lines(out), 3);
	const char *last = strstr(out, "\"summary\":true");
	assert_non_null(last);
	assert_non_null(strstr(last, "\"sent\":2,\"received\":2,\"loss\":0.0,\"rtt_min_ms\":"));
	assert_non_null(strstr(last, "\"rtt_avg_ms\":"));
	assert_non_null(strstr(last, "\"rtt_max_ms\":"));
	/* round is a uint32_t: never printed negative (it was, as an int) */
	assert_null(strstr(out, "\"round\":-"));
	close(lfd);

	/* nothing answers: 100% loss, no RTTs */
	char *lost[] = {"probe", "--count", "2", "--interval", "10ms", "--format", "json", url, NULL};
	assert_int_equal(run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 8, lost), 1);
	assert_non_null(strstr(out, "\"sent\":2,\"received\":0,\"loss\":1.0,\"rtt_min_ms\":null"));
	char *lost_text[] = {"probe", "--count", "1", url, NULL};
	run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 4, lost_text);
	snprintf(want, sizeof(want), "%s : xmt/rcv/%%loss = 1/0/100%%\n", url);
	assert_non_null(strstr(out, want));
	/* no --count, no summary */
	char *once[] = {"probe", url, NULL};
	run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 2, once);
	assert_int_equal(count_lines(out), 1);
}

/* Options anywhere on the line, "--" ends them (fping, GNU habits). */
static void t_options_anywhere(void **state)
{
	(void)state;
	char url[64], out[8192], buf[2048];
	int lfd = tcp_listener(url, sizeof(url));
	char *late[] = {"probe", url, "--count", "2", "--interval", "10ms", NULL};
	assert_int_equal(run_verb_out(cli_probe, out, sizeof(out), buf, sizeof(buf), 6, late), 0);
	assert_string_equal(buf, "");
	assert_non_null(strstr(out, url));
	char *dashdash[] = {"probe", url, "--", "--count", NULL};
	assert_int_equal(run_verb(cli_probe, buf, sizeof(buf), 4, dashdash), EXIT_USAGE);
	assert_string_equal(buf, "lightsout: probe: --count: not a target (see lightsout probe --help)\n");
	close(lfd);
}

/* A verb that stopped inside an option cluster ("-Zx" at 'x') must not
 * leave the next verb's parse reading the old argv. */
static void t_options_start_afresh(void **state)
{
	(void)state;
	char buf[2048];
	char *bad[] = {"status", "-Zx", NULL};
	assert_int_equal(run_verb(cli_status, buf, sizeof(buf), 2, bad), EXIT_USAGE);
	char *help[] = {"status", "--help", NULL};
	assert_int_equal(run_verb(cli_status, buf, sizeof(buf), 2, help), 0);
	assert_string_equal(buf, "");
}

/* A DURATION option that must be positive says so, not "bad". */
static void t_duration_options(void **state)
{
	(void)state;
	char buf[2048];
	char *zero[] = {"probe", "--timeout", "0s", "127.0.0.1", NULL};
	assert_int_equal(run_verb(cli_probe, buf, sizeof(buf), 4, zero), EXIT_USAGE);
	assert_string_equal(buf, "lightsout: probe: --timeout must be greater than 0 (see lightsout probe --help)\n");
	char *bad[] = {"probe", "--interval", "30s1m", "127.0.0.1", NULL};
	assert_int_equal(run_verb(cli_probe, buf, sizeof(buf), 4, bad), EXIT_USAGE);
	assert_string_equal(buf,
			    "lightsout: probe: --interval: bad duration \"30s1m\" (integers with units d, h, m, s, "
			    "ms, largest first: 90s, 1h30m) (see lightsout probe --help)\n");
}

/* -v/-q move the level from the configuration's log_level. */
static void t_log_level(void **state)
{
	(void)state;
	char path[] = "/tmp/lightsout-cli-cfg-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "log_level: error\n", 17), 17);
	close(fd);

	cli_options_start();
	assert_int_equal(log_get_level(), LOG_LEVEL_INFO);
	assert_int_equal(cli_common_option('v'), 1);
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
	struct config *cfg = cli_load_config(path);
	assert_non_null(cfg);
	assert_int_equal(log_get_level(), LOG_LEVEL_WARN);
	config_free(cfg);

	cli_options_start();
	cli_common_option('q');
	cli_common_option('q');
	cli_common_option('q');
	assert_int_equal(log_get_level(), LOG_LEVEL_ERROR);
	cfg = cli_load_config(path);
	assert_int_equal(log_get_level(), LOG_LEVEL_ERROR);
	config_free(cfg);
	unlink(path);
	cli_options_start();
}

/* A store written ago_ms ago by "watch" (one measurement of one target
 * with interval 10s); the configuration's path into cfg_path. */
static void stale_store(char *cfg_path, const char *dir, int64_t ago_ms)
{
	char text[512], err[512];
	snprintf(cfg_path, 256, "%s/lightsout.yaml", dir);
	snprintf(text, sizeof(text),
		 "vantage: v\nstore: %s/lightsout.db\ninterval: 10s\n"
		 "controls:\n  - {name: lo, kind: icmp, host: 127.0.0.1}\n",
		 dir);
	FILE *f = fopen(cfg_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	if (ago_ms < 0)
		return;
	struct config *cfg = config_load(cfg_path, err, sizeof(err));
	assert_non_null(cfg);
	struct store *st = store_open(cfg, true, 0, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_sync_targets(st, cfg, err, sizeof(err)), 0);
	struct measurement m = {.target = 0, .at_ms = wall_now_ms() - ago_ms, .outcome = OUTCOME_OK, .rtt_ms = 0.1};
	assert_true(store_put_measurement(st, &m));
	assert_int_equal(store_flush(st, err, sizeof(err)), 0);
	assert_int_equal(store_close(st, err, sizeof(err)), 0);
	config_free(cfg);
}

/* status says when no watch has written for 3 intervals. */
static void t_status_stale(void **state)
{
	(void)state;
	char dir[] = "/tmp/lightsout-cli-stale-XXXXXX", cfg_path[256], out[8192], buf[2048], cmd[300];
	assert_non_null(mkdtemp(dir));
	char *text[] = {"status", "-c", cfg_path, NULL};
	char *json[] = {"status", "-c", cfg_path, "--format", "json", NULL};

	stale_store(cfg_path, dir, 31000);
	assert_int_equal(run_verb_out(cli_status, out, sizeof(out), buf, sizeof(buf), 3, text), 0);
	assert_memory_equal(out, "stale: no measurement since ", 28);
	assert_non_null(strstr(out, "(watch not running?)\n"));
	assert_int_equal(run_verb_out(cli_status, out, sizeof(out), buf, sizeof(buf), 5, json), 0);
	assert_non_null(strstr(out, "\"stale\": true"));
	assert_non_null(strstr(out, "\"last_measurement\": \"20"));

	/* a newer measurement: fresh */
	stale_store(cfg_path, dir, 1000);
	assert_int_equal(run_verb_out(cli_status, out, sizeof(out), buf, sizeof(buf), 3, text), 0);
	assert_memory_equal(out, "vantage v, store ", 17);
	assert_int_equal(run_verb_out(cli_status, out, sizeof(out), buf, sizeof(buf), 5, json), 0);
	assert_non_null(strstr(out, "\"stale\": false"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);

	/* never measured */
	assert_non_null(mkdtemp(strcpy(dir, "/tmp/lightsout-cli-stale-XXXXXX")));
	stale_store(cfg_path, dir, -1);
	char err[512];
	struct config *cfg = config_load(cfg_path, err, sizeof(err));
	struct store *st = store_open(cfg, true, 0, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_close(st, err, sizeof(err)), 0);
	config_free(cfg);
	assert_int_equal(run_verb_out(cli_status, out, sizeof(out), buf, sizeof(buf), 3, text), 0);
	assert_memory_equal(out, "stale: no measurement yet (watch not running?)\n", 47);
	assert_int_equal(run_verb_out(cli_status, out, sizeof(out), buf, sizeof(buf), 5, json), 0);
	assert_non_null(strstr(out, "\"last_measurement\": null"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void t_version(void **state)
{
	(void)state;
	char out[512], buf[512];
	char *json[] = {"version", "--format", "json", NULL};
	assert_int_equal(run_verb_out(cli_version, out, sizeof(out), buf, sizeof(buf), 3, json), 0);
	assert_memory_equal(out, "{\"version\":\"", 12);
	char *text[] = {"version", NULL};
	assert_int_equal(run_verb_out(cli_version, out, sizeof(out), buf, sizeof(buf), 1, text), 0);
	assert_memory_equal(out, "lightsout ", 10);
	char *help[] = {"version", "--help", NULL};
	assert_int_equal(run_verb_out(cli_version, out, sizeof(out), buf, sizeof(buf), 2, help), 0);
	assert_memory_equal(out, "usage: lightsout version", 24);
	char *extra[] = {"version", "now", NULL};
	assert_int_equal(run_verb(cli_version, buf, sizeof(buf), 2, extra), EXIT_USAGE);
	assert_string_equal(buf, "lightsout: version: unexpected argument \"now\" (see lightsout version --help)\n");
	char *html[] = {"version", "--format", "html", NULL};
	assert_int_equal(run_verb(cli_version, buf, sizeof(buf), 3, html), EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_config_errors_say_lightsout),
	    cmocka_unit_test(t_usage_errors),
	    cmocka_unit_test(t_options_anywhere),
	    cmocka_unit_test(t_probe_dns_port),
	    cmocka_unit_test(t_probe_trace_ipv6_literal),
	    cmocka_unit_test(t_probe_generate),
	    cmocka_unit_test(t_probe_file),
	    cmocka_unit_test(t_probe_summary),
	    cmocka_unit_test(t_options_start_afresh),
	    cmocka_unit_test(t_version),
	    cmocka_unit_test(t_duration_options),
	    cmocka_unit_test(t_log_level),
	    cmocka_unit_test(t_status_stale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
