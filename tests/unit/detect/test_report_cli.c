/* `lightsout report` end to end against a real store: a live-style run
 * (detector hooks writing incidents) and --rejudge from the stored
 * measurements give the same incidents; text, JSON and HTML are written;
 * usage errors exit 2. */
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

#include "cli/report.h"
#include "config/config.h"
#include "detect/detect.h"
#include "store/store.h"
#include "synth.h"

#define T0 INT64_C(1767258000000)
#define IV 60000

static char dir[64], cfgpath[128], outpath[128];

/* a macro, so the format stays a literal the compiler checks */
#define YAML_FMT                                                                                                       \
	"vantage: test-1\n"                                                                                            \
	"store: %s/lo.db\n"                                                                                            \
	"interval: 60s\n"                                                                                              \
	"bgp:\n"                                                                                                       \
	"  peers:\n"                                                                                                   \
	"    - {address: 192.0.2.9, remote_as: 64500, local_as: 64501, hold_time: 240s}\n"                             \
	"networks:\n"                                                                                                  \
	"  - name: north\n"                                                                                            \
	"    prefixes: [198.51.100.0/25, 198.51.100.128/25]\n"                                                         \
	"    targets:\n"                                                                                               \
	"      - {name: web1, role: web, kind: icmp, host: 198.51.100.10}\n"                                           \
	"      - {name: web2, role: web, kind: icmp, host: 198.51.100.11}\n"                                           \
	"      - {name: mail, role: mail, kind: icmp, host: 198.51.100.20}\n"                                          \
	"      - {name: gw, role: router, kind: icmp, host: 198.51.100.1}\n"                                           \
	"  - name: south\n"                                                                                            \
	"    prefixes: [203.0.113.0/24]\n"                                                                             \
	"    targets:\n"                                                                                               \
	"      - {name: s1, role: web, kind: icmp, host: 203.0.113.1}\n"                                               \
	"      - {name: s2, role: dns, kind: icmp, host: 203.0.113.2}\n"                                               \
	"  - name: east\n"                                                                                             \
	"    prefixes: [198.18.0.0/24]\n"                                                                              \
	"    targets:\n"                                                                                               \
	"      - {name: e1, role: web, kind: icmp, host: 198.18.0.10}\n"                                               \
	"      - {name: e2, role: mail, kind: icmp, host: 198.18.0.20}\n"                                              \
	"      - {name: erouter, role: router, kind: icmp, host: 198.18.1.1}\n"

static void on_incident(void *arg, int64_t id, const char *network, int64_t start_ms, int64_t end_ms, bool open,
			const char *cause, const json_t *doc)
{
	char *json = detect_incident_text(doc);

	assert_true(store_put_incident(arg, id, network, start_ms, end_ms, open, cause, json));
	free(json);
}

/* BGP visibility as watch stores and feeds it: one event per network
 * change, every prefix of it; first sight of each network is "visible". */
struct vis {
	double at; /* rounds */
	size_t net;
	bool withdrawn;
	const char *prefixes[2];
};

static const struct vis vis[] = {
    {0.1, 0, false, {"198.51.100.0/25", "198.51.100.128/25"}},
    {0.1, 1, false, {"203.0.113.0/24"}},
    {0.2, 2, false, {"198.18.0.0/24"}},
    {40.3, 2, true, {"198.18.0.0/24"}},                         /* routing: withdrawn before the loss */
    {70.2, 2, false, {"198.18.0.0/24"}},                        /* restored */
    {104.4, 0, true, {"198.51.100.0/25", "198.51.100.128/25"}}, /* power: after the silence, within a hold time */
};

static void put_vis(struct store *st, struct detector *d, const struct vis *v)
{
	struct prefix p[2];
	size_t n = 0;

	for (; n < 2 && v->prefixes[n]; n++) {
		assert_int_equal(prefix_parse(v->prefixes[n], &p[n]), 0);
		assert_true(store_put_bgp_event(st, T0 + (int64_t)(v->at * IV), STORE_BGP_VISIBILITY, v->prefixes[n],
						!v->withdrawn, ""));
	}
	detect_bgp(d, v->net, T0 + (int64_t)(v->at * IV), v->withdrawn, p, n);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/lo-report-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cfgpath, sizeof(cfgpath), "%s/lightsout.yaml", dir);
	snprintf(outpath, sizeof(outpath), "%s/out", dir);
	FILE *f = fopen(cfgpath, "w");
	assert_non_null(f);
	fprintf(f, YAML_FMT, dir);
	fclose(f);

	char err[256];
	struct config *cfg = config_load(cfgpath, err, sizeof(err));
	assert_non_null(cfg);
	struct store *st = store_open(cfg, true, 0, err, sizeof(err));
	if (!st)
		fprintf(stderr, "%s\n", err);
	assert_non_null(st);
	assert_int_equal(store_sync_targets(st, cfg, err, sizeof(err)), 0);
	/* mail's last hop reports it gone, in words that say otherwise: the
	 * rejudge must read the stored class, not the detail */
	struct synth_seg segs[] = {
	    {"web1", 30.5, 50.5, FAILURE_TIMEOUT},
	    {"s1", 60.5, 90.5, FAILURE_TIMEOUT},
	    {"s2", 60.5, 90.5, FAILURE_TIMEOUT},
	    {"web1", 100.5, 200, FAILURE_TIMEOUT},
	    {"web2", 100.5, 200, FAILURE_TIMEOUT},
	    {"mail", 100.5, 200, FAILURE_HOST_UNREACH, 0, 0, "198.51.100.1", "port unreachable from 198.51.100.1"},
	    {"gw", 100.5, 200, FAILURE_TIMEOUT},
	    {"e1", 40.5, 70.5, FAILURE_TIMEOUT},
	    {"e2", 40.5, 70.5, FAILURE_TIMEOUT}};
	struct synth s = {.cfg = cfg, .t0_ms = T0, .rounds = 130, .segs = segs, .nsegs = 9, .seed = 9, .shuffle = true};
	struct measurement *m;
	size_t n = synth_generate(&s, &m);
	struct detect_hooks hooks = {.on_incident = on_incident};
	struct detector *d = detect_new(cfg, &hooks, st);
	/* live order: an event arrives when it happens, a probe when it
	 * completes (a timeout 5 s after it started) */
	size_t b = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t done = m[i].at_ms + (m[i].outcome == OUTCOME_OK ? 1 : 5000);
		while (b < sizeof(vis) / sizeof(vis[0]) && T0 + (int64_t)(vis[b].at * IV) <= done)
			put_vis(st, d, &vis[b++]);
		assert_true(store_put_measurement(st, &m[i]));
		detect_feed(d, &m[i]);
	}
	while (b < sizeof(vis) / sizeof(vis[0]))
		put_vis(st, d, &vis[b++]);
	detect_finish(d);
	detect_free(d);
	free(m);
	assert_int_equal(store_close(st, err, sizeof(err)), 0);
	config_free(cfg);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int report(const char *a1, const char *a2, const char *a3)
{
	char *argv[12];
	int argc = 0;

	argv[argc++] = "report";
	argv[argc++] = "-c";
	argv[argc++] = cfgpath;
	argv[argc++] = "-o";
	argv[argc++] = outpath;
	if (a1)
		argv[argc++] = (char *)a1;
	if (a2)
		argv[argc++] = (char *)a2;
	if (a3)
		argv[argc++] = (char *)a3;
	argv[argc] = NULL;
	return cli_report(argc, argv);
}

static json_t *incidents(const char *flag)
{
	json_error_t je;

	assert_int_equal(report("--format", "json", flag), 0);
	json_t *doc = json_load_file(outpath, 0, &je);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "vantage")), "test-1");
	assert_true(json_is_string(json_object_get(doc, "generated")));
	json_t *a = json_incref(json_object_get(doc, "incidents"));
	json_decref(doc);
	return a;
}

static void test_rejudge_equals_live(void **state)
{
	(void)state;
	json_t *live = incidents(NULL), *again = incidents("--rejudge");

	assert_int_equal(json_array_size(live), 4);
	if (!json_equal(live, again)) {
		char *a = json_dumps(live, JSON_INDENT(1)), *b = json_dumps(again, JSON_INDENT(1));
		fprintf(stderr, "live:\n%s\nrejudged:\n%s\n", a, b);
		free(a);
		free(b);
	}
	assert_true(json_equal(live, again));
	assert_string_equal(json_string_value(json_object_get(json_array_get(live, 0), "cause")), "host");
	assert_string_equal(json_string_value(json_object_get(json_array_get(live, 1), "network")), "east");
	assert_string_equal(json_string_value(json_object_get(json_array_get(live, 1), "cause")), "routing");
	/* south: silent for 30 rounds while its prefix stayed announced */
	assert_string_equal(json_string_value(json_object_get(json_array_get(live, 2), "network")), "south");
	assert_string_equal(json_string_value(json_object_get(json_array_get(live, 2), "cause")), "filtering");
	assert_string_equal(json_string_value(json_object_get(json_array_get(live, 3), "cause")), "power");
	assert_true(json_is_null(json_object_get(json_array_get(live, 3), "end")));
	/* both prefixes of north in one phase, live and rejudged */
	json_t *ph = json_object_get(json_array_get(live, 3), "phases");
	size_t nwd = 0;
	for (size_t i = 0; i < json_array_size(ph); i++) {
		json_t *p = json_array_get(ph, i);
		if (strcmp(json_string_value(json_object_get(p, "event")), "bgp_withdrawn") != 0)
			continue;
		nwd++;
		assert_int_equal(json_array_size(json_object_get(p, "prefixes")), 2);
	}
	assert_int_equal(nwd, 1);
	json_decref(live);
	json_decref(again);
}

static char *slurp(void)
{
	FILE *f = fopen(outpath, "r");
	static char buf[1 << 20];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void test_formats_and_filters(void **state)
{
	(void)state;
	assert_int_equal(report("--network", "south", NULL), 0);
	char *t = slurp();
	assert_non_null(strstr(t, "south went dark"));
	assert_null(strstr(t, "north"));
	assert_int_equal(report("--format", "html", "--rejudge"), 0);
	t = slurp();
	assert_non_null(strstr(t, "<svg"));
	assert_non_null(strstr(t, "share up: web"));
	assert_int_equal(report("--since", "2026-01-01T11:00:00Z", NULL), 0);
	t = slurp();
	assert_null(strstr(t, "(incident 1)"));
	assert_non_null(strstr(t, "incident 4, open"));
	assert_int_equal(report("--format", "xml", NULL), 2);
	assert_int_equal(report("--since", "yesterday", NULL), 2);
	/* before 1970 was read as "no bound" and returned 2026's incidents */
	assert_int_equal(report("--until", "1969-12-31T23:59:59Z", NULL), 2);
	assert_int_equal(report("--since", "1969-12-31T23:59:59Z", NULL), 2);
	assert_int_equal(report("--network", "nowhere", NULL), 2);
	assert_int_equal(report("extra", NULL, NULL), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rejudge_equals_live),
	    cmocka_unit_test(test_formats_and_filters),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
