/* `lightsout import mrt`: summaries, exit codes, events stored for watched
 * networks.  import.c is compiled into this test (see meson.build). */
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

#include "bgp/bgp.h"
#include "cli/import.h"
#include "config/config.h"
#include "core/ev.h"
#include "store/store.h"

#ifndef SHARED_DATA_DIR
#define SHARED_DATA_DIR "../shared/data"
#endif

static char out_path[] = "/tmp/lightsout-import-out-XXXXXX";

/* Runs cli_import with stdout captured into buf. */
static int run(char *buf, size_t len, int argc, char **argv)
{
	int fd = mkstemp(out_path);
	assert_true(fd >= 0);
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	int rc = cli_import(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(out_path);
	strcpy(out_path + strlen(out_path) - 6, "XXXXXX");
	return rc;
}

static void test_usage(void **state)
{
	(void)state;
	char buf[4096];
	char *a1[] = {"import", NULL};
	assert_int_equal(run(buf, sizeof(buf), 1, a1), 2);
	char *a2[] = {"import", "bmp", "x", NULL};
	assert_int_equal(run(buf, sizeof(buf), 3, a2), 2);
	char *a3[] = {"import", "mrt", "--format", "xml", "x", NULL};
	assert_int_equal(run(buf, sizeof(buf), 5, a3), 2);
	char *a4[] = {"import", "mrt", NULL};
	assert_int_equal(run(buf, sizeof(buf), 2, a4), 2);
	char *a5[] = {"import", "mrt", "--help", NULL};
	assert_int_equal(run(buf, sizeof(buf), 3, a5), 0);
	assert_non_null(strstr(buf, "usage: lightsout import mrt"));
}

static void test_json_summaries(void **state)
{
	(void)state;
	char buf[4096];
	char *argv[] = {"import",
			"mrt",
			"--format",
			"json",
			SHARED_DATA_DIR "/bgpdump/test_data/updates.long_withdrawal.gz",
			SHARED_DATA_DIR "/bgpdump/test_data/bview.64k_stream_overflow.gz",
			NULL};
	assert_int_equal(run(buf, sizeof(buf), 6, argv), 0);
	json_error_t je;
	char *line2 = strchr(buf, '\n');
	assert_non_null(line2);
	*line2++ = '\0';
	json_t *o = json_loads(buf, 0, &je);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "file")), argv[4]);
	assert_int_equal(json_integer_value(json_object_get(o, "records")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "withdrawals")), 4096);
	assert_int_equal(json_integer_value(json_object_get(o, "announcements")), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "errors")), 0);
	json_decref(o);
	o = json_loads(line2, JSON_DISABLE_EOF_CHECK, &je);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "rib_entries")), 23);
	assert_int_equal(json_integer_value(json_object_get(o, "records")), 2);
	json_decref(o);
}

static void test_truncated_file_fails(void **state)
{
	(void)state;
	char buf[4096];
	char *argv[] = {"import",
			"mrt",
			"--format",
			"json",
			SHARED_DATA_DIR "/pyasn/data/rib6.20151101.0600_firstMB.bz2",
			"/nonexistent/file.mrt",
			NULL};
	assert_int_equal(run(buf, sizeof(buf), 6, argv), 1);
	json_error_t je;
	json_t *o = json_loads(buf, JSON_DISABLE_EOF_CHECK, &je);
	assert_non_null(o);
	/* everything before the cut is counted */
	assert_int_equal(json_integer_value(json_object_get(o, "rib_entries")), 149578);
	assert_true(json_integer_value(json_object_get(o, "errors")) > 0);
	json_decref(o);
	assert_non_null(strstr(buf, "\"file\":\"/nonexistent/file.mrt\""));

	char *t[] = {"import", "mrt", SHARED_DATA_DIR "/mrtparse/samples/quagga_rib", NULL};
	assert_int_equal(run(buf, sizeof(buf), 3, t), 0);
	assert_non_null(
	    strstr(buf, "7 records, 0 announcements, 0 withdrawals, 9 RIB entries, 0 state changes, 0 errors"));
}

/* A directory with a configuration (store inside it) of one network. */
struct workdir {
	char dir[64], cfgp[256], db[256];
};

static void workdir_new(struct workdir *w, const char *network_yaml)
{
	snprintf(w->dir, sizeof(w->dir), "/tmp/lightsout-import-XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	snprintf(w->cfgp, sizeof(w->cfgp), "%s/c.yaml", w->dir);
	snprintf(w->db, sizeof(w->db), "%s/s.db", w->dir);
	FILE *f = fopen(w->cfgp, "w");
	assert_non_null(f);
	fprintf(f,
		"store: %s\nlisten: \"off\"\nnetworks:\n  - name: a\n%s"
		"    targets:\n      - {name: t, role: host, kind: icmp, host: 192.0.2.1}\n",
		w->db, network_yaml);
	fclose(f);
}

static void workdir_free(struct workdir *w)
{
	static const char *const side[] = {"", "-wal", "-shm"};
	char path[300];
	unlink(w->cfgp);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", w->db, side[i]);
		unlink(path);
	}
	rmdir(w->dir);
}

struct seen {
	int announce, withdraw;
	int masked;
	int visible;
};

static int count_ev(const struct store_bgp_event *e, void *arg)
{
	struct seen *s = arg;
	if (strcmp(e->peer, STORE_BGP_VISIBILITY) == 0) {
		/* the network's visibility, judged over all peers */
		if (e->announce && strcmp(e->prefix, "11.0.0.0/8") == 0)
			s->visible++;
		return 0;
	}
	if (e->announce)
		s->announce++;
	else
		s->withdraw++;
	if (strcmp(e->prefix, "11.8.0.0/13") == 0)
		s->masked++;
	return 0;
}

static void test_stores_watched_events(void **state)
{
	(void)state;
	struct workdir w;
	char buf[4096], err[256];
	/* 11.0.0.0/8 covers the masked NLRI */
	workdir_new(&w, "    prefixes: [11.0.0.0/8]\n");
	char *argv[] = {
	    "import", "mrt", "-c", w.cfgp, SHARED_DATA_DIR "/bgpdump/test_data/updates.nlri_mask_trailing_bits.gz",
	    NULL};
	assert_int_equal(run(buf, sizeof(buf), 5, argv), 0);
	struct config *cfg = config_load(w.cfgp, err, sizeof(err));
	assert_non_null(cfg);
	struct store *st = store_open(cfg, false, 0, err, sizeof(err));
	assert_non_null(st);
	struct seen s = {0};
	assert_int_equal(store_each_bgp_event(st, 0, INT64_MAX, count_ev, &s, err, sizeof(err)), 0);
	assert_int_equal(s.announce, 1);
	assert_int_equal(s.masked, 1);
	assert_int_equal(s.visible, 1); /* the only peer sees a route inside 11.0.0.0/8 */
	store_close(st, err, sizeof(err));
	config_free(cfg);
	workdir_free(&w);
}

/* Route events as "peer prefix A|W", sorted: what each path stored. */
struct routes {
	json_t *lines;
};

static void add_route(struct routes *r, const char *peer, const char *prefix, bool announce)
{
	char line[160];
	snprintf(line, sizeof(line), "%s %s %c", peer, prefix, announce ? 'A' : 'W');
	json_array_append_new(r->lines, json_string(line));
}

static int stored_route(const struct store_bgp_event *e, void *arg)
{
	if (strcmp(e->peer, STORE_BGP_VISIBILITY) != 0)
		add_route(arg, e->peer, e->prefix, e->announce);
	return 0;
}

static void replayed_route(const struct bgp_event *ev, void *arg)
{
	char pfx[64];
	if (ev->kind != BGP_EV_ROUTE)
		return;
	prefix_format(&ev->prefix, pfx, sizeof(pfx));
	add_route(arg, ev->peer, pfx, ev->announce);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static void sort_lines(json_t *a)
{
	size_t n = json_array_size(a);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof(*v), by_text);
	json_array_clear(a);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, v[i]);
	free(v);
}

/* `import mrt` and watch's MRT replay (the live sessions' rule) keep
 * exactly the same routes of one archive: prefixes overlapping the
 * network's, routes of its AS, and withdrawals of either — also
 * withdrawals whose announcement predates the archive. */
static void test_import_and_watch_keep_the_same_routes(void **state)
{
	(void)state;
	struct workdir w;
	char buf[4096], err[256];
	workdir_new(&w, "    prefixes: [85.0.0.0/8, 203.0.0.0/8]\n    asn: [11500]\n");
	char file[] = SHARED_DATA_DIR "/bgpdump/test_data/updates.20071015.1505.gz";
	char *argv[] = {"import", "mrt", "-c", w.cfgp, file, NULL};
	assert_int_equal(run(buf, sizeof(buf), 5, argv), 0);

	struct config *cfg = config_load(w.cfgp, err, sizeof(err));
	assert_non_null(cfg);
	struct routes imported = {json_array()}, replayed = {json_array()};
	struct store *st = store_open(cfg, false, 0, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_each_bgp_event(st, 0, INT64_MAX, stored_route, &imported, err, sizeof(err)), 0);
	store_close(st, err, sizeof(err));

	struct ev_loop *loop = ev_new();
	assert_non_null(loop);
	struct bgp *b = bgp_new(loop, cfg, replayed_route, &replayed, err, sizeof(err));
	assert_non_null(b);
	assert_int_equal(bgp_replay_mrt(b, file, err, sizeof(err)), 0);
	bgp_free(b);
	ev_free(loop);

	sort_lines(imported.lines);
	sort_lines(replayed.lines);
	assert_true(json_array_size(imported.lines) > 100);
	size_t n = json_array_size(imported.lines), m = json_array_size(replayed.lines);
	for (size_t i = 0; i < n && i < m; i++)
		assert_string_equal(json_string_value(json_array_get(imported.lines, i)),
				    json_string_value(json_array_get(replayed.lines, i)));
	assert_int_equal(n, m);

	json_decref(imported.lines);
	json_decref(replayed.lines);
	config_free(cfg);
	workdir_free(&w);
}

/* watch opens the configured MRT files before it drops privileges and
 * reads them after: what bgp_open opened, bgp_start reads even when the
 * file could no longer be opened by then. */
static void test_mrt_opened_then_read(void **state)
{
	(void)state;
	struct workdir w;
	char err[256], copy[300], chunk[65536];
	struct routes replayed = {json_array()};
	workdir_new(&w, "    prefixes: [85.0.0.0/8, 203.0.0.0/8]\n    asn: [11500]\n");
	snprintf(copy, sizeof(copy), "%s/u.gz", w.dir);
	FILE *in = fopen(SHARED_DATA_DIR "/bgpdump/test_data/updates.20071015.1505.gz", "rb"), *out = fopen(copy, "wb");
	assert_non_null(in);
	assert_non_null(out);
	for (size_t n; (n = fread(chunk, 1, sizeof(chunk), in)) > 0;)
		assert_int_equal(fwrite(chunk, 1, n, out), n);
	fclose(in);
	fclose(out);
	FILE *f = fopen(w.cfgp, "a");
	assert_non_null(f);
	fprintf(f, "bgp:\n  mrt: [\"%s\"]\n", copy);
	fclose(f);

	struct config *cfg = config_load(w.cfgp, err, sizeof(err));
	assert_non_null(cfg);
	struct ev_loop *loop = ev_new();
	assert_non_null(loop);
	struct bgp *b = bgp_new(loop, cfg, replayed_route, &replayed, err, sizeof(err));
	assert_non_null(b);
	assert_int_equal(bgp_open(b, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(replayed.lines), 0); /* nothing read yet */
	assert_int_equal(unlink(copy), 0);
	assert_int_equal(bgp_start(b, err, sizeof(err)), 0);
	assert_true(json_array_size(replayed.lines) > 100);
	bgp_free(b);
	ev_free(loop);
	json_decref(replayed.lines);
	config_free(cfg);
	workdir_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_json_summaries),
	    cmocka_unit_test(test_truncated_file_fails),
	    cmocka_unit_test(test_stores_watched_events),
	    cmocka_unit_test(test_import_and_watch_keep_the_same_routes),
	    cmocka_unit_test(test_mrt_opened_then_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
