/* Rendering: the January 2022 golden story (stress; text names the order)
 * against the reviewed tests/data/detect/january-2022.json (UPDATE_GOLDEN=1
 * rewrites it for review), escaping of hostile names in HTML and JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/timeutil.h"
#include "detect/detect.h"
#include "render/render.h"
#include "synth.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data/detect"
#endif

#define IV 60000

/* 2022-01-26T08:02:00Z: round 60 is 09:02 UTC */
#define T0 INT64_C(1643184120000)

static const char *const january_yaml =
    "vantage: london-1\n"
    "interval: 60s\n"
    "networks:\n"
    "  - name: north-korea\n"
    "    asn: [131279]\n"
    "    prefixes: [175.45.176.0/22]\n"
    "    targets:\n"
    "      - {name: naenara, role: web, kind: http, url: \"http://naenara.com.kp/\"}\n"
    "      - {name: kcna, role: web, kind: tcp, host: 175.45.176.71, port: 80}\n"
    "      - {name: silibank, role: mail, kind: smtp, host: 175.45.176.70, port: 25}\n"
    "      - {name: ns1, role: dns, kind: dns, server: 175.45.176.15, query: \"kp. SOA\"}\n"
    "      - {name: ns2, role: dns, kind: dns, server: 175.45.176.16, query: \"kp. SOA\"}\n"
    "      - {name: edge, role: router, kind: trace, host: 175.45.176.67}\n"
    "      - {name: gw, role: router, kind: icmp, host: 175.45.176.1}\n";

/* Gradual timeouts from 09:02, web falls, then the name servers, mail,
 * the routers; the prefixes are withdrawn at the apex; mail comes back
 * first, web last, about six hours later. */
static const struct synth_seg january[] = {
    {"*", 60.2, 428.2, FAILURE_NONE, 650, 0.34f}, {"kcna", 64.3, 65.3, FAILURE_TIMEOUT},
    {"naenara", 66.4, 67.4, FAILURE_TIMEOUT},     {"kcna", 68.3, 69.3, FAILURE_TIMEOUT},
    {"kcna", 74.3, 428.2, FAILURE_TIMEOUT},       {"naenara", 75.4, 427.5, FAILURE_TIMEOUT},
    {"ns1", 80.3, 425.0, FAILURE_TIMEOUT},        {"ns2", 80.6, 425.0, FAILURE_TIMEOUT},
    {"silibank", 86.5, 418.0, FAILURE_TIMEOUT},   {"edge", 96.2, 422.0, FAILURE_TIMEOUT},
    {"gw", 96.5, 422.0, FAILURE_TIMEOUT},
};

struct got {
	json_t *last;
	size_t n;
};

static void on_incident(void *arg, int64_t id, const char *network, int64_t start_ms, int64_t end_ms, bool open,
			const char *cause, const json_t *doc)
{
	struct got *g = arg;

	(void)network;
	(void)start_ms;
	(void)end_ms;
	(void)open;
	(void)cause;
	if (id > (int64_t)g->n)
		g->n = (size_t)id;
	json_decref(g->last);
	g->last = json_deep_copy(doc);
}

static json_t *january_incident(void)
{
	char err[256];
	struct config *cfg = config_parse("january.yaml", january_yaml, strlen(january_yaml), err, sizeof(err));
	struct detect_hooks hooks = {.on_incident = on_incident};
	struct got g = {0};
	struct measurement *m;
	struct prefix p;

	assert_non_null(cfg);
	struct synth s = {.cfg = cfg,
			  .t0_ms = T0,
			  .rounds = 450,
			  .segs = january,
			  .nsegs = sizeof(january) / sizeof(january[0]),
			  .seed = 2022};
	size_t n = synth_generate(&s, &m);
	struct detector *d = detect_new(cfg, &hooks, &g);
	assert_int_equal(prefix_parse("175.45.176.0/22", &p), 0);
	detect_bgp(d, 0, T0 + 1000, false, &p, 1);
	bool wd = false, rs = false;
	for (size_t i = 0; i < n; i++) {
		if (!wd && m[i].at_ms >= T0 + 98 * IV) {
			detect_bgp(d, 0, T0 + 98 * IV, true, &p, 1);
			wd = true;
		}
		if (!rs && m[i].at_ms >= T0 + 421 * IV) {
			detect_bgp(d, 0, T0 + 421 * IV, false, &p, 1);
			rs = true;
		}
		detect_feed(d, &m[i]);
	}
	detect_finish(d);
	detect_free(d);
	free(m);
	config_free(cfg);
	assert_int_equal(g.n, 1);
	return g.last;
}

static char *render_text(json_t *inc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	render_incident_text(f, inc);
	fclose(f);
	/* a heap copy: the stream's buffer confuses -Wdangling-pointer */
	char *copy = strdup(buf);
	free(buf);
	assert_non_null(copy);
	return copy;
}

#define GOLDEN_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12))

/* Compares inc with the reviewed golden file at path: 0 when equal.  The
 * file is only ever read (a missing one fails), except under UPDATE_GOLDEN=1,
 * which writes it for review and still fails: that run compared nothing. */
static int golden_compare(json_t *inc, const char *path)
{
	const char *update = getenv("UPDATE_GOLDEN");
	json_error_t je;

	if (update && strcmp(update, "1") == 0) {
		if (json_dump_file(inc, path, GOLDEN_FLAGS) != 0)
			fprintf(stderr, "%s: cannot write\n", path);
		else
			fprintf(stderr, "wrote %s: review it (git diff), then run again without UPDATE_GOLDEN\n", path);
		return -1;
	}
	json_t *golden = json_load_file(path, 0, &je);
	if (!golden) {
		fprintf(stderr, "%s: %s (golden files are committed; UPDATE_GOLDEN=1 writes one for review)\n", path,
			je.text);
		return -1;
	}
	int equal = json_equal(golden, inc);
	if (!equal) {
		char *s = json_dumps(inc, GOLDEN_FLAGS);
		fprintf(stderr, "differs from %s:\n%s\n", path, s);
		free(s);
	}
	json_decref(golden);
	return equal ? 0 : -1;
}

/* A missing golden file fails and stays missing, whatever else is set;
 * only UPDATE_GOLDEN=1 writes one (and fails all the same). */
static void test_golden_never_written_by_default(void **state)
{
	(void)state;
	char dir[] = "/tmp/lightsout-golden.XXXXXX";
	char path[64];
	json_t *inc = json_pack("{s:i, s:s}", "id", 1, "cause", "stress");
	const char *const other[][2] = {
	    {"UPDATE_GOLDEN", "0"}, {"UPDATE_GOLDEN", ""}, {"UPDATE_GOLDEN", "yes"}, {"DETECT_UPDATE_GOLDEN", "1"}};

	assert_non_null(inc);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.json", dir);
	unsetenv("UPDATE_GOLDEN");
	assert_int_equal(golden_compare(inc, path), -1);
	assert_int_not_equal(access(path, F_OK), 0);
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_int_equal(setenv(other[i][0], other[i][1], 1), 0);
		assert_int_equal(golden_compare(inc, path), -1);
		assert_int_not_equal(access(path, F_OK), 0);
		unsetenv(other[i][0]);
	}
	assert_int_equal(setenv("UPDATE_GOLDEN", "1", 1), 0);
	assert_int_equal(golden_compare(inc, path), -1);
	unsetenv("UPDATE_GOLDEN");
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(golden_compare(inc, path), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	json_decref(inc);
}

/* a failed check above leaves its variable set: never for the next test */
static int unset_golden_env(void **state)
{
	(void)state;
	unsetenv("UPDATE_GOLDEN");
	unsetenv("DETECT_UPDATE_GOLDEN");
	return 0;
}

static void test_january_golden(void **state)
{
	(void)state;
	json_t *inc = january_incident();

	if (strcmp(json_string_value(json_object_get(inc, "cause")), "stress") != 0) {
		char *s = json_dumps(inc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fprintf(stderr, "%s\n", s);
		free(s);
	}
	assert_string_equal(json_string_value(json_object_get(inc, "cause")), "stress");
	assert_int_equal(golden_compare(inc, TEST_DATA_DIR "/january-2022.json"), 0);

	/* the story names the order */
	char *text = render_text(inc);
	const char *web = strstr(text, "the web servers fell"), *routers = strstr(text, "the routers fell");
	const char *built = strstr(text, "built up for"), *mail = strstr(text, "The mail servers came back first");
	const char *webup = strstr(text, "then the web servers (");
	if (!web || !routers || !built || !mail || !webup)
		fprintf(stderr, "%s\n", text);
	assert_non_null(built);
	assert_non_null(web);
	assert_non_null(routers);
	assert_true(built < web && web < routers);
	assert_non_null(mail);
	assert_non_null(webup);
	assert_true(mail < webup);
	assert_non_null(strstr(text, "north-korea went dark at 2022-01-26 09:02 UTC for 6 h 8 min"));
	assert_non_null(strstr(text, "network stress"));
	assert_non_null(strstr(text, "not a power cut"));
	free(text);
	json_decref(inc);
}

static const char *const evil = "<script>alert(\"x\")&amp;</script>'";

static json_t *evil_incident(void)
{
	json_t *o =
	    json_pack("{s:i, s:s, s:s, s:n, s:f, s:s, s:f, s:f, s:f, s:[s], s:[{s:s, s:s, s:[s]}], s:[]}", "id", 3,
		      "network", evil, "start", "2026-01-26T09:00:00.000Z", "end", "duration_s", 600.0, "cause", "host",
		      "confidence", 0.8, "max_down_fraction", 0.25, "severity", 2.5, "evidence", evil, "phases", "at",
		      "2026-01-26T09:00:00.000Z", "event", "first_down", "targets", evil, "targets");
	assert_non_null(o);
	return o;
}

static void test_html_escaping(void **state)
{
	(void)state;
	json_t *arr = json_array();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	json_array_append_new(arr, evil_incident());
	render_html(f, evil, 0, arr, NULL);
	fclose(f);
	assert_null(strstr(buf, "<script"));
	assert_null(strstr(buf, "alert(\""));
	assert_null(strstr(buf, "&amp;</"));
	assert_non_null(strstr(buf, "&lt;script&gt;alert(&quot;x&quot;)&amp;amp;&lt;/script&gt;&#39;"));
	/* self-contained: no external assets */
	assert_null(strstr(buf, "src="));
	assert_null(strstr(buf, "href="));
	assert_non_null(strstr(buf, "<svg"));
	free(buf);
	json_decref(arr);
}

static void test_json_escaping(void **state)
{
	(void)state;
	json_t *arr = json_array();
	json_array_append_new(arr, evil_incident());
	json_t *doc = render_report_json(evil, 0, arr);
	char *s = json_dumps(doc, JSON_ESCAPE_SLASH);
	json_t *back = json_loads(s, 0, NULL);

	assert_non_null(back);
	assert_null(strstr(s, "</script>"));
	assert_non_null(strstr(s, "\\\"x\\\""));
	assert_string_equal(json_string_value(json_object_get(back, "vantage")), evil);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(back, "incidents"), 0), "network")), evil);
	assert_string_equal(json_string_value(json_object_get(back, "generated")), "1970-01-01T00:00:00.000Z");
	free(s);
	json_decref(back);
	json_decref(doc);
	json_decref(arr);
}

static void test_series_and_svg(void **state)
{
	(void)state;
	char err[256];
	struct config *cfg = config_parse("january.yaml", january_yaml, strlen(january_yaml), err, sizeof(err));
	struct measurement *m;
	struct synth s = {.cfg = cfg, .t0_ms = T0, .rounds = 120, .segs = january, .nsegs = 11, .seed = 1};
	size_t n = synth_generate(&s, &m);
	struct render_series *rs = render_series_new(cfg, 0, T0, T0 + 120 * IV);
	json_t *arr = json_array();
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(rs);
	for (size_t i = 0; i < n; i++)
		render_series_add(rs, cfg, 0, &m[i]);
	/* round 10: all up; round 110: web all down */
	assert_int_equal(rs->ok[ROLE_WEB][10], 2);
	assert_int_equal(rs->ok[ROLE_WEB][110], 0);
	assert_int_equal(rs->seen[ROLE_WEB][110], 2);
	json_array_append_new(arr, january_incident());
	f = open_memstream(&buf, &len);
	render_html(f, "london-1", T0, arr, &rs);
	fclose(f);
	assert_non_null(strstr(buf, "<polyline"));
	assert_non_null(strstr(buf, "share up: web"));
	assert_non_null(strstr(buf, "role_down"));
	free(buf);
	json_decref(arr);
	render_series_free(rs);
	free(m);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_january_golden),
	    cmocka_unit_test_teardown(test_golden_never_written_by_default, unset_golden_env),
	    cmocka_unit_test(test_html_escaping),
	    cmocka_unit_test(test_json_escaping),
	    cmocka_unit_test(test_series_and_svg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
