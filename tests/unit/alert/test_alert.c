/* Unit tests of src/alert: back-off schedule, webhook and Alertmanager
 * bodies, and delivery against an in-process receiver (libmicrohttpd on
 * 127.0.0.1) that refuses the first posts: retried, in order, counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "alert/alert.h"
#include "config/config.h"
#include "core/timeutil.h"

static const char incident_json[] =
    "{\"id\": 7, \"network\": \"north-korea\", \"start\": \"2026-01-26T09:00:00.000Z\", \"end\": null,"
    " \"duration_s\": 600.0, \"cause\": \"stress\", \"confidence\": 0.85, \"max_down_fraction\": 1.0,"
    " \"severity\": 3.5, \"evidence\": [\"loss rose <script>&\\\"\"],"
    " \"phases\": [{\"at\": \"2026-01-26T09:00:00.000Z\", \"event\": \"degradation_start\"}], \"targets\": []}";

/* curl_global_init is not thread-safe: main calls it once before any
 * thread starts, so no module may call it again (meson.build wraps it). */
static int global_inits;
CURLcode __real_curl_global_init(long flags);
CURLcode __wrap_curl_global_init(long flags);
CURLcode __wrap_curl_global_init(long flags)
{
	global_inits++;
	return __real_curl_global_init(flags);
}

static void t_backoff(void **state)
{
	(void)state;
	assert_int_equal(alert_backoff_ms(1), 1000);
	assert_int_equal(alert_backoff_ms(2), 2000);
	assert_int_equal(alert_backoff_ms(3), 4000);
	assert_int_equal(alert_backoff_ms(6), 32000);
	assert_int_equal(alert_backoff_ms(7), ALERT_BACKOFF_MAX_MS);
	assert_int_equal(alert_backoff_ms(1000), ALERT_BACKOFF_MAX_MS);
	/* never shrinks */
	for (unsigned i = 1; i < 100; i++)
		assert_true(alert_backoff_ms(i + 1) >= alert_backoff_ms(i));
}

static void t_bodies(void **state)
{
	(void)state;
	json_t *inc = json_loads(incident_json, 0, NULL);
	assert_non_null(inc);

	json_t *w = alert_webhook_body("lab-1", ALERT_EVENT_OPEN, inc, "story", INT64_C(1769418000000));
	assert_int_equal(json_integer_value(json_object_get(w, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(w, "event")), "open");
	assert_string_equal(json_string_value(json_object_get(w, "vantage")), "lab-1");
	assert_string_equal(json_string_value(json_object_get(w, "sent")), "2026-01-26T09:00:00.000Z");
	assert_true(json_equal(json_object_get(w, "incident"), inc));
	assert_string_equal(json_string_value(json_object_get(w, "text")), "story");
	json_decref(w);
	w = alert_webhook_body("lab-1", ALERT_EVENT_CAUSE, inc, NULL, 0);
	assert_string_equal(json_string_value(json_object_get(w, "event")), "cause_change");
	json_decref(w);

	int64_t now = INT64_C(1769418600000); /* 09:10 */
	json_t *a = alert_am_alert("lab-1", inc, "stress", "story", false, now, "http://127.0.0.1:9470/incident/7");
	json_t *l = json_object_get(a, "labels");
	assert_string_equal(json_string_value(json_object_get(l, "alertname")), "LightsoutIncident");
	assert_string_equal(json_string_value(json_object_get(l, "network")), "north-korea");
	assert_string_equal(json_string_value(json_object_get(l, "cause")), "stress");
	assert_string_equal(json_string_value(json_object_get(l, "vantage")), "lab-1");
	assert_string_equal(json_string_value(json_object_get(l, "incident")), "7");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "annotations"), "description")),
			    "story");
	assert_string_equal(json_string_value(json_object_get(a, "startsAt")), "2026-01-26T09:00:00.000Z");
	/* firing: endsAt four re-send periods ahead */
	assert_string_equal(json_string_value(json_object_get(a, "endsAt")), "2026-01-26T09:14:00.000Z");
	assert_string_equal(json_string_value(json_object_get(a, "generatorURL")), "http://127.0.0.1:9470/incident/7");
	json_decref(a);
	/* resolved without an end in the document: now */
	a = alert_am_alert("lab-1", inc, "stress", "story", true, now, NULL);
	assert_string_equal(json_string_value(json_object_get(a, "endsAt")), "2026-01-26T09:10:00.000Z");
	assert_null(json_object_get(a, "generatorURL"));
	json_decref(a);
	/* resolved: the incident's end */
	json_object_set_new(inc, "end", json_string("2026-01-26T09:05:00.000Z"));
	a = alert_am_alert("lab-1", inc, "stress", "story", true, now, NULL);
	assert_string_equal(json_string_value(json_object_get(a, "endsAt")), "2026-01-26T09:05:00.000Z");
	json_decref(a);
	/* vantage incident: network label empty */
	json_object_set_new(inc, "network", json_null());
	a = alert_am_alert("lab-1", inc, "vantage", "story", false, now, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "labels"), "network")), "");
	json_decref(a);
	json_decref(inc);
}

/* ---- delivery against a receiver that refuses the first posts ---- */

/* The worker's clock: moved by the test, so back-off never sleeps. */
static int64_t fake_now(void *arg)
{
	return atomic_load((_Atomic int64_t *)arg);
}

static struct alert_stats total(struct alert *a, size_t n)
{
	struct alert_stats t = {0}, one;
	for (size_t i = 0; i < n; i++) {
		alert_stats(a, i, &one);
		t.sent += one.sent;
		t.failures += one.failures;
		t.dropped += one.dropped;
		t.queued += one.queued;
	}
	return t;
}

static void nap_ms(long ms)
{
	nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

struct receiver {
	pthread_mutex_t mu;
	int refuse; /* answer 503 to this many posts first */
	int posts;
	json_t *got; /* bodies accepted, in order */
};

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *data, size_t *size, void **con)
{
	struct receiver *r = cls;
	char **buf = (char **)con;
	struct MHD_Response *resp;
	enum MHD_Result rc;
	int status;

	(void)url;
	(void)method;
	(void)version;
	if (!*buf) {
		*buf = calloc(1, 65536);
		return *buf ? MHD_YES : MHD_NO;
	}
	if (*size) {
		size_t have = strlen(*buf);
		if (have + *size < 65535)
			memcpy(*buf + have, data, *size);
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&r->mu);
	r->posts++;
	if (r->refuse > 0) {
		r->refuse--;
		status = 503;
	} else {
		json_t *o = json_loads(*buf, 0, NULL);
		if (o)
			json_array_append_new(r->got, o);
		status = 200;
	}
	pthread_mutex_unlock(&r->mu);
	free(*buf);
	*buf = NULL;
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	rc = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static size_t received(struct receiver *r)
{
	size_t n;

	pthread_mutex_lock(&r->mu);
	n = json_array_size(r->got);
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void wait_for(struct receiver *r, size_t n, int seconds)
{
	for (int i = 0; i < seconds * 20 && received(r) < n; i++)
		nap_ms(50);
}

static void wait_failures(struct alert *a, size_t nrx, uint64_t n, int seconds)
{
	for (int i = 0; i < seconds * 20 && total(a, nrx).failures < n; i++)
		nap_ms(50);
}

static void t_delivery(void **state)
{
	(void)state;
	struct receiver r = {.refuse = 2, .got = json_array()};
	struct MHD_Daemon *d;
	char yaml[1024], err[512];
	struct config *cfg;
	struct alert *a = NULL;
	_Atomic int64_t now = INT64_C(1769418000000);
	uint16_t port;

	pthread_mutex_init(&r.mu, NULL);
	d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_req, &r, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
	    MHD_OPTION_END);
	assert_non_null(d);
	port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
	snprintf(yaml, sizeof(yaml),
		 "vantage: lab-1\nstore: /nonexistent.db\nlisten: \"off\"\nnetworks:\n  - name: nk\n    targets:\n"
		 "      - {name: gw, role: router, kind: icmp, host: 198.18.10.1}\n"
		 "alerts:\n  - {kind: webhook, url: \"http://127.0.0.1:%u/hook\"}\n"
		 "  - {kind: webhook, url: \"http://127.0.0.1:%u/api/v2/alerts\", format: alertmanager}\n",
		 port, port);
	cfg = config_parse("t.yaml", yaml, strlen(yaml), err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "%s\n", err);
	assert_non_null(cfg);
	global_inits = 0;
	assert_int_equal(alert_new(cfg, &(struct alert_clock){fake_now, &now}, &a, err, sizeof(err)), 0);
	assert_non_null(a);
	assert_int_equal(global_inits, 0); /* the worker started without it */

	json_t *inc = json_loads(incident_json, 0, NULL);
	json_object_set_new(inc, "network", json_string("nk"));
	json_t *open_doc = json_deep_copy(inc);
	json_object_set_new(inc, "cause", json_string("power"));
	json_t *cause_doc = json_deep_copy(inc);
	json_object_set_new(inc, "end", json_string("2026-01-26T09:30:00.000Z"));
	json_t *close_doc = json_deep_copy(inc);

	alert_incident(a, 7, "nk", true, "stress", open_doc);
	alert_incident(a, 7, "nk", true, "stress", open_doc); /* no change: not sent again */
	alert_incident(a, 7, "nk", true, "power", cause_doc);
	alert_incident(a, 7, "nk", false, "power", close_doc);
	/* each receiver's first post is refused; the retry waits for the
	 * clock to pass the back-off, however long the test really takes */
	wait_failures(a, 2, 2, 20);
	assert_int_equal(total(a, 2).failures, 2);
	nap_ms(300);
	assert_int_equal(r.posts, 2);
	assert_int_equal(received(&r), 0);
	atomic_fetch_add(&now, ALERT_BACKOFF_FIRST_MS);
	alert_wake(a);
	/* then 6 posts accepted (3 per receiver), in order */
	wait_for(&r, 6, 20);
	assert_int_equal(received(&r), 6);
	assert_int_equal(r.posts, 8);

	/* webhook: open, cause_change, close in order; alertmanager arrays */
	const char *want[] = {"open", "cause_change", "close"};
	size_t wi = 0, ami = 0;
	for (size_t i = 0; i < json_array_size(r.got); i++) {
		json_t *b = json_array_get(r.got, i);
		if (json_is_object(b)) {
			assert_true(wi < 3);
			assert_string_equal(json_string_value(json_object_get(b, "event")), want[wi]);
			assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "incident"), "id")), 7);
			assert_non_null(strstr(json_string_value(json_object_get(b, "text")), "nk"));
			wi++;
		} else {
			assert_true(json_is_array(b));
			json_t *first = json_array_get(b, 0);
			const char *cause =
			    json_string_value(json_object_get(json_object_get(first, "labels"), "cause"));
			if (ami == 0) {
				assert_int_equal(json_array_size(b), 1);
				assert_string_equal(cause, "stress");
			} else if (ami == 1) {
				/* the old cause resolved, the new one firing */
				assert_int_equal(json_array_size(b), 2);
				assert_string_equal(cause, "stress");
				assert_string_equal(json_string_value(json_object_get(
							json_object_get(json_array_get(b, 1), "labels"), "cause")),
						    "power");
			} else {
				assert_int_equal(json_array_size(b), 1);
				assert_string_equal(cause, "power");
				assert_string_equal(json_string_value(json_object_get(first, "endsAt")),
						    "2026-01-26T09:30:00.000Z");
			}
			ami++;
		}
	}
	assert_int_equal(wi, 3);
	assert_int_equal(ami, 3);

	struct alert_stats t = total(a, 2);
	assert_int_equal(t.sent, 6);
	assert_int_equal(t.failures, 2);
	assert_int_equal(t.dropped, 0);
	assert_int_equal(t.queued, 0);

	assert_int_equal(alert_stop(a, 1000), 0);
	json_decref(open_doc);
	json_decref(cause_doc);
	json_decref(close_doc);
	json_decref(inc);
	config_free(cfg);
	MHD_stop_daemon(d);
	json_decref(r.got);
	pthread_mutex_destroy(&r.mu);
}

/* A receiver that never answers: alert_stop is bounded by its flush time
 * and counts what it could not deliver. */
static void t_stop_bounded(void **state)
{
	(void)state;
	const char yaml[] = "vantage: lab-1\nstore: /nonexistent.db\nlisten: \"off\"\nnetworks:\n  - name: nk\n"
			    "    targets:\n      - {name: gw, role: router, kind: icmp, host: 198.18.10.1}\n"
			    "alerts:\n  - {kind: webhook, url: \"http://127.0.0.1:1/hook\"}\n";
	char err[512];
	struct config *cfg = config_parse("t.yaml", yaml, strlen(yaml), err, sizeof(err));
	struct alert *a = NULL;

	assert_non_null(cfg);
	assert_int_equal(alert_new(cfg, NULL, &a, err, sizeof(err)), 0);
	json_t *doc = json_loads(incident_json, 0, NULL);
	assert_non_null(doc);
	alert_incident(a, 7, "nk", true, "stress", doc);
	json_decref(doc);
	wait_failures(a, 1, 1, 20);
	assert_int_equal(total(a, 1).sent, 0);
	assert_true(total(a, 1).failures >= 1);
	assert_int_equal(alert_stop(a, 1500), 1); /* undelivered */
	config_free(cfg);
}

int main(void)
{
	/* as the lightsout binary does, before any thread */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_backoff),
	    cmocka_unit_test(t_bodies),
	    cmocka_unit_test(t_delivery),
	    cmocka_unit_test(t_stop_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
