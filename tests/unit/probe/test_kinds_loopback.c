/* The http, smtp and dns kinds end to end through the real engine and
 * event loop, against tiny servers on 127.0.0.1 run by this test: the
 * `contains` check across chunk boundaries and beyond the window, the
 * `status` list, the SMTP `expect_banner` check, and the DNS judgement
 * (expect, expect_rcode, SERVFAIL, REFUSED, wrong answer). */
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
#include "harness.h"
#include "probe/probe.h"

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

static void run_config(const char *yaml, struct results *res, size_t want)
{
	struct config *cfg = harness_config(yaml);
	struct harness h;

	harness_run(&h, cfg, res);
	harness_end(&h);
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

	hs.fd = harness_listen(&port);
	assert_int_equal(pthread_create(&th, NULL, http_serve, &hs), 0);
	snprintf(
	    yaml, sizeof(yaml),
	    HARNESS_YAML_TARGETS
	    "      - {name: split, role: web, kind: http, url: \"http://127.0.0.1:%u/split\", contains: \"needle!\"}\n"
	    "      - {name: far, role: web, kind: http, url: \"http://127.0.0.1:%u/far\", contains: needle}\n"
	    "      - {name: teapot, role: web, kind: http, url: \"http://127.0.0.1:%u/teapot\", status: [418]}\n"
	    "      - {name: strict, role: web, kind: http, url: \"http://127.0.0.1:%u/ok\", status: [201, 204]}\n"
	    "      - {name: plain, role: web, kind: http, url: \"http://127.0.0.1:%u/ok\"}\n",
	    port, port, port, port, port);
	run_config(yaml, &res, 5);
	pthread_join(th, NULL);
	close(hs.fd);

	const struct measurement *m = harness_by_target(&res, 0);
	assert_int_equal(m->outcome, OUTCOME_OK);
	assert_non_null(strstr(m->detail, "HTTP 200"));
	m = harness_by_target(&res, 1);
	assert_int_equal(m->outcome, OUTCOME_ERROR);
	assert_non_null(strstr(m->detail, "body check failed"));
	assert_int_equal(m->failure, FAILURE_CHECK);
	m = harness_by_target(&res, 2);
	assert_int_equal(m->outcome, OUTCOME_OK);
	assert_non_null(strstr(m->detail, "HTTP 418"));
	m = harness_by_target(&res, 3);
	assert_int_equal(m->outcome, OUTCOME_ERROR);
	assert_true(strncmp(m->detail, "HTTP 200 (", 10) == 0);
	assert_int_equal(m->failure, FAILURE_PROTOCOL);
	assert_true(m->rtt_ms >= 0); /* the request completed */
	m = harness_by_target(&res, 4);
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

	hs.fd = harness_listen(&port);
	assert_int_equal(pthread_create(&th, NULL, smtp_serve, &hs), 0);
	snprintf(yaml, sizeof(yaml),
		 HARNESS_YAML_TARGETS
		 "      - {name: good, role: mail, kind: smtp, host: 127.0.0.1, port: %u, expect_banner: Frobnicator}\n"
		 "      - {name: bad, role: mail, kind: smtp, host: 127.0.0.1, port: %u, expect_banner: Postfix}\n",
		 port, port);
	run_config(yaml, &res, 2);
	pthread_join(th, NULL);
	close(hs.fd);

	const struct measurement *m = harness_by_target(&res, 0);
	assert_int_equal(m->outcome, OUTCOME_OK);
	assert_string_equal(m->detail, "220 mx.loopback.test ESMTP Frobnicator");
	m = harness_by_target(&res, 1);
	assert_int_equal(m->outcome, OUTCOME_ERROR);
	assert_string_equal(m->detail, "banner check failed: 220 mx.loopback.test ESMTP Frobnicator");
	assert_int_equal(m->failure, FAILURE_CHECK);
}

/* max_pps holds for http requests and smtp connections too: eight due at
 * once under max_pps 10 go out one every 100 ms, and the wait counts
 * neither into their timeout nor their RTT. */
static void test_rate_cap_http_smtp(void **state)
{
	(void)state;
	struct http_server web = {.count = 4}, mail = {.count = 4};
	struct results res = {0};
	pthread_t tw, tm;
	uint16_t wport, mport;
	char yaml[4096];
	int n = snprintf(yaml, sizeof(yaml), "max_pps: 10\n" HARNESS_YAML_TARGETS);

	web.fd = harness_listen(&wport);
	mail.fd = harness_listen(&mport);
	assert_int_equal(pthread_create(&tw, NULL, http_serve, &web), 0);
	assert_int_equal(pthread_create(&tm, NULL, smtp_serve, &mail), 0);
	for (int i = 0; i < 4; i++)
		n += snprintf(
		    yaml + n, sizeof(yaml) - (size_t)n,
		    "      - {name: w%d, role: web, kind: http, url: \"http://127.0.0.1:%u/ok\", timeout: 1s}\n"
		    "      - {name: m%d, role: mail, kind: smtp, host: 127.0.0.1, port: %u, timeout: 1s}\n",
		    i, wport, i, mport);
	run_config(yaml, &res, 8);
	pthread_join(tw, NULL);
	pthread_join(tm, NULL);
	close(web.fd);
	close(mail.fd);
	for (size_t i = 0; i < res.n; i++) {
		assert_int_equal(res.m[i].outcome, OUTCOME_OK);
		assert_true(res.m[i].rtt_ms < 300);
	}
	assert_true(harness_min_gap_ms(&res) >= 40); /* 100, less only on a loaded machine */
}

/* A UDP DNS server answering by the first label of the query name:
 * "a" -> A 192.0.2.9, "servfail" -> SERVFAIL, "refused" -> REFUSED,
 * "nx" -> NXDOMAIN, "mx" -> MX 10 mail.lab.test. */
struct dns_server {
	int fd;
	int count;
};

static void *dns_serve(void *arg)
{
	struct dns_server *ds = arg;
	for (int i = 0; i < ds->count; i++) {
		struct pollfd p = {.fd = ds->fd, .events = POLLIN};
		uint8_t q[512], r[600];
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		if (poll(&p, 1, 10000) != 1)
			break;
		ssize_t n = recvfrom(ds->fd, q, sizeof(q), 0, (struct sockaddr *)&peer, &pl);
		if (n < 17)
			continue;
		size_t qend = 12;
		while (qend < (size_t)n && q[qend] != 0)
			qend += (size_t)q[qend] + 1;
		qend += 5; /* root label, type, class */
		if (qend > (size_t)n)
			continue;
		char first[16] = "";
		memcpy(first, q + 13, q[12] < sizeof(first) - 1 ? q[12] : sizeof(first) - 1);
		memcpy(r, q, qend);
		r[2] = 0x84; /* QR AA */
		r[3] = 0;
		r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
		size_t len = qend;
		if (strcmp(first, "servfail") == 0) {
			r[3] = 2;
		} else if (strcmp(first, "refused") == 0) {
			r[2] = 0x80;
			r[3] = 5;
		} else if (strcmp(first, "nx") == 0) {
			r[3] = 3;
		} else if (strcmp(first, "mx") == 0) {
			static const uint8_t rr[] = {0xc0, 0x0c, 0,  15, 0,   1,   0,   0,   1,    0,       0,
						     9,    0,    10, 4,  'm', 'a', 'i', 'l', 0xc0, 0x0c + 3};
			r[7] = 1;
			memcpy(r + len, rr, sizeof(rr));
			len += sizeof(rr);
		} else {
			static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 192, 0, 2, 9};
			r[7] = 1;
			memcpy(r + len, rr, sizeof(rr));
			len += sizeof(rr);
		}
		sendto(ds->fd, r, len, 0, (struct sockaddr *)&peer, pl);
	}
	return NULL;
}

static void test_dns_judgement(void **state)
{
	(void)state;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	struct dns_server ds = {.count = 7};
	struct results res = {0};
	struct network_cfg net = {.name = "lab"};
	struct target_cfg t[7];
	struct config cfg = {.vantage = "test", .interval_ms = 60000, .timeout_ms = 3000};
	static const struct {
		const char *query, *expect, *rcode;
	} cases[7] = {
	    {"a.lab.test A", "192.0.2.9", NULL},
	    {"a.lab.test A", "192.0.2.10", NULL},
	    {"servfail.lab.test A", NULL, NULL},
	    {"refused.lab.test A", NULL, NULL},
	    {"nx.lab.test A", NULL, NULL},
	    {"nx.lab.test A", NULL, "NXDOMAIN"},
	    {"mx.lab.test MX", "mail.lab.test", NULL},
	};
	pthread_t th;

	ds.fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(ds.fd >= 0);
	assert_int_equal(bind(ds.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(ds.fd, (struct sockaddr *)&sin, &sl), 0);
	memset(t, 0, sizeof(t));
	for (int i = 0; i < 7; i++) {
		t[i].name = (char *)"dns";
		t[i].role = ROLE_DNS;
		t[i].kind = KIND_DNS;
		t[i].network = 0;
		t[i].server = (char *)"127.0.0.1";
		t[i].port = ntohs(sin.sin_port);
		t[i].query = (char *)cases[i].query;
		t[i].expect = (char *)cases[i].expect;
		t[i].expect_rcode = (char *)cases[i].rcode;
		t[i].interval_ms = 60000;
		t[i].timeout_ms = 3000;
	}
	cfg.networks = &net;
	cfg.nnetworks = 1;
	cfg.targets = t;
	cfg.ntargets = 7;
	assert_int_equal(pthread_create(&th, NULL, dns_serve, &ds), 0);

	struct harness h;
	harness_run(&h, &cfg, &res);
	harness_end(&h);
	pthread_join(th, NULL);
	close(ds.fd);
	assert_int_equal(res.n, 7);

	const struct measurement *m = harness_by_target(&res, 0);
	assert_int_equal(m->outcome, OUTCOME_OK);
	assert_int_equal(m->failure, FAILURE_NONE);
	assert_string_equal(m->detail, "NOERROR aa, 1 answer");
	m = harness_by_target(&res, 1);
	assert_int_equal(m->outcome, OUTCOME_ERROR);
	assert_string_equal(m->detail, "wrong answer 192.0.2.9");
	assert_int_equal(m->failure, FAILURE_CHECK);
	m = harness_by_target(&res, 2);
	assert_int_equal(m->outcome, OUTCOME_ERROR);
	assert_string_equal(m->detail, "SERVFAIL");
	assert_int_equal(m->failure, FAILURE_PROTOCOL);
	m = harness_by_target(&res, 3);
	assert_int_equal(m->outcome, OUTCOME_REFUSED);
	assert_string_equal(m->detail, "REFUSED");
	assert_int_equal(m->failure, FAILURE_REFUSED);
	m = harness_by_target(&res, 4);
	assert_int_equal(m->outcome, OUTCOME_ERROR);
	assert_string_equal(m->detail, "NXDOMAIN (expected NOERROR)");
	m = harness_by_target(&res, 5);
	assert_int_equal(m->outcome, OUTCOME_OK);
	m = harness_by_target(&res, 6);
	assert_int_equal(m->outcome, OUTCOME_OK);
	assert_true(m->rtt_ms >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_checks),
	    cmocka_unit_test(test_smtp_banner),
	    cmocka_unit_test(test_rate_cap_http_smtp),
	    cmocka_unit_test(test_dns_judgement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
