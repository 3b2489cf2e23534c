/* The http and smtp kinds end to end through the real engine and event
 * loop, against tiny servers on 127.0.0.1 run by this test: the `contains`
 * check across chunk boundaries and beyond the window, the `status` list,
 * and the SMTP `expect_banner` check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "core/ev.h"
#include "probe/probe.h"

#define MAX_RESULTS 16

struct results {
	size_t n;
	struct measurement m[MAX_RESULTS];
};

static void sink(const struct measurement *m, void *arg)
{
	struct results *r = arg;
	if (r->n < MAX_RESULTS)
		r->m[r->n++] = *m;
}

static int listen_any(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* Serves `count` HTTP connections (bounded by a 10 s poll each). */
struct http_server {
	int fd;
	int count;
};

static void *http_serve(void *arg)
{
	struct http_server *hs = arg;
	for (int i = 0; i < hs->count; i++) {
		struct pollfd p = {.fd = hs->fd, .events = POLLIN};
		char req[2048] = "";
		if (poll(&p, 1, 10000) != 1)
			break;
		int c = accept(hs->fd, NULL, NULL);
		if (c < 0)
			break;
		ssize_t n = recv(c, req, sizeof(req) - 1, 0);
		if (n > 0 && strncmp(req, "GET /split", 10) == 0) {
			/* the needle arrives one byte per packet */
			const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 22\r\nConnection: close\r\n\r\nsome "
					   "text, a needle!\r\n";
			send_all(c, head, strlen(head) - 22);
			for (const char *b = head + strlen(head) - 22; *b != '\0'; b++) {
				send_all(c, b, 1);
				usleep(2000);
			}
		} else if (n > 0 && strncmp(req, "GET /far", 8) == 0) {
			/* the needle only after 100 KiB: outside the window */
			char *body = malloc(100 * 1024);
			const char *head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
			assert_non_null(body);
			memset(body, 'x', 100 * 1024);
			send_all(c, head, strlen(head));
			send_all(c, body, 100 * 1024);
			send_all(c, "needle", 6);
			free(body);
		} else if (n > 0 && strncmp(req, "GET /teapot", 11) == 0) {
			const char *r = "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
			send_all(c, r, strlen(r));
		} else {
			const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
			send_all(c, r, strlen(r));
		}
		close(c);
	}
	return NULL;
}

static void *smtp_serve(void *arg)
{
	struct http_server *hs = arg;
	for (int i = 0; i < hs->count; i++) {
		struct pollfd p = {.fd = hs->fd, .events = POLLIN};
		char buf[512];
		if (poll(&p, 1, 10000) != 1)
			break;
		int c = accept(hs->fd, NULL, NULL);
		if (c < 0)
			break;
		send_all(c, "220 mx.loopback.test ESMTP Frobnicator\r\n", 40);
		for (int k = 0; k < 2; k++) {
			ssize_t n = recv(c, buf, sizeof(buf), 0);
			if (n <= 0)
				break;
			if (strncmp(buf, "QUIT", 4) == 0) {
				send_all(c, "221 bye\r\n", 9);
				break;
			}
			send_all(c, "250 hello\r\n", 11);
		}
		close(c);
	}
	return NULL;
}

static const struct measurement *by_target(const struct results *r, uint32_t target)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->m[i].target == target)
			return &r->m[i];
	fail_msg("no result for target %u", target);
	return NULL;
}

static void run_config(const char *yaml, struct results *res, size_t want)
{
	char err[256];
	struct config *cfg = config_parse("test.yaml", yaml, strlen(yaml), err, sizeof(err));
	if (cfg == NULL)
		fail_msg("config: %s", err);
	struct ev_loop *loop = ev_new();
	struct probe_engine_opts opts = {.rounds = 1, .align_first_round = true};
	struct probe_engine *e = probe_engine_new(loop, cfg, &opts, sink, res, err, sizeof(err));
	assert_non_null(e);
	if (probe_engine_start(e, err, sizeof(err)) < 0)
		fail_msg("engine: %s", err);
	assert_int_equal(ev_run(loop), 0);
	probe_engine_stop(e);
	probe_engine_free(e);
	ev_free(loop);
	config_free(cfg);
	assert_int_equal(res->n, want);
}

static void test_http_checks(void **state)
{
	(void)state;
	struct http_server hs = {.count = 5};
	struct results res = {0};
	pthread_t th;
	uint16_t port;
	char yaml[2048];

	hs.fd = listen_any(&port);
	assert_int_equal(pthread_create(&th, NULL, http_serve, &hs), 0);
	snprintf(
	    yaml, sizeof(yaml),
	    "listen: \"off\"\n"
	    "timeout: 5s\n"
	    "networks:\n"
	    "  - name: lab\n"
	    "    prefixes: [192.0.2.0/24]\n"
	    "    targets:\n"
	    "      - {name: split, role: web, kind: http, url: \"http://127.0.0.1:%u/split\", contains: \"needle!\"}\n"
	    "      - {name: far, role: web, kind: http, url: \"http://127.0.0.1:%u/far\", contains: needle}\n"
	    "      - {name: teapot, role: web, kind: http, url: \"http://127.0.0.1:%u/teapot\", status: [418]}\n"
	    "      - {name: strict, role: web, kind: http, url: \"http://127.0.0.1:%u/ok\", status: [201, 204]}\n"
	    "      - {name: plain, role: web, kind: http, url: \"http://127.0.0.1:%u/ok\"}\n",
	    port, port, port, port, port);
	run_config(yaml, &res, 5);
	pthread_join(th, NULL);
	close(hs.fd);

	const struct measurement *m = by_target(&res, 0);
	assert_int_equal(m->outcome, OUTCOME_OK);
	assert_non_null(strstr(m->detail, "HTTP 200"));
	m = by_target(&res, 1);
	assert_int_equal(m->outcome, OUTCOME_ERROR);
	assert_non_null(strstr(m->detail, "body check failed"));
	m = by_target(&res, 2);
	assert_int_equal(m->outcome, OUTCOME_OK);
	assert_non_null(strstr(m->detail, "HTTP 418"));
	m = by_target(&res, 3);
	assert_int_equal(m->outcome, OUTCOME_ERROR);
	assert_true(strncmp(m->detail, "HTTP 200 (", 10) == 0);
	m = by_target(&res, 4);
	assert_int_equal(m->outcome, OUTCOME_OK);
	assert_true(m->rtt_ms >= 0);
	assert_int_equal(m->loss, 0);
}

static void test_smtp_banner(void **state)
{
	(void)state;
	struct http_server hs = {.count = 2};
	struct results res = {0};
	pthread_t th;
	uint16_t port;
	char yaml[1024];

	hs.fd = listen_any(&port);
	assert_int_equal(pthread_create(&th, NULL, smtp_serve, &hs), 0);
	snprintf(yaml, sizeof(yaml),
		 "listen: \"off\"\n"
		 "timeout: 5s\n"
		 "networks:\n"
		 "  - name: lab\n"
		 "    prefixes: [192.0.2.0/24]\n"
		 "    targets:\n"
		 "      - {name: good, role: mail, kind: smtp, host: 127.0.0.1, port: %u, expect_banner: Frobnicator}\n"
		 "      - {name: bad, role: mail, kind: smtp, host: 127.0.0.1, port: %u, expect_banner: Postfix}\n",
		 port, port);
	run_config(yaml, &res, 2);
	pthread_join(th, NULL);
	close(hs.fd);

	const struct measurement *m = by_target(&res, 0);
	assert_int_equal(m->outcome, OUTCOME_OK);
	assert_string_equal(m->detail, "220 mx.loopback.test ESMTP Frobnicator");
	m = by_target(&res, 1);
	assert_int_equal(m->outcome, OUTCOME_ERROR);
	assert_string_equal(m->detail, "banner check failed: 220 mx.loopback.test ESMTP Frobnicator");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_checks),
	    cmocka_unit_test(test_smtp_banner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
