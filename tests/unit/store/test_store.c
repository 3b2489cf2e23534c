/* Unit tests of the SQLite store: round trips, stable ids, overflow,
 * errors, schema versions, prune.  Each test works in its own temporary
 * directory under /tmp, removed at the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/addr.h"
#include "store/store.h"

/* A hand-built configuration: networks n1 (a, b) and n2 (c), control ctl. */
struct tcfg {
	struct config cfg;
	struct network_cfg nets[4];
	struct target_cfg t[8];
	char dir[64];
	char path[128];
};

static void add_net(struct tcfg *c, const char *name)
{
	c->nets[c->cfg.nnetworks].name = (char *)name;
	c->cfg.nnetworks++;
}

static void add_target(struct tcfg *c, size_t net, const char *name, enum role role, enum probe_kind kind)
{
	struct target_cfg *t = &c->t[c->cfg.ntargets++];

	t->name = (char *)name;
	t->network = net;
	t->role = role;
	t->kind = kind;
}

static void tcfg_init(struct tcfg *c, const char *dir, const char *file)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(c->path, sizeof(c->path), "%s/%s", dir, file);
	c->cfg.store = c->path;
	c->cfg.vantage = (char *)"test-vantage";
	c->cfg.networks = c->nets;
	c->cfg.targets = c->t;
}

/* The standard layout: A = [n1/a, n1/b, n2/c, ctl]. */
static void tcfg_standard(struct tcfg *c, const char *dir)
{
	tcfg_init(c, dir, "s.db");
	add_net(c, "n1");
	add_net(c, "n2");
	add_target(c, 0, "a", ROLE_WEB, KIND_HTTP);
	add_target(c, 0, "b", ROLE_DNS, KIND_DNS);
	add_target(c, 1, "c", ROLE_ROUTER, KIND_ICMP);
	add_target(c, CONFIG_NO_NETWORK, "ctl", ROLE_CONTROL, KIND_ICMP);
}

static char *make_dir(void)
{
	char tmpl[] = "/tmp/store-test.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void remove_dir(char *d)
{
	assert_int_equal(nftw(d, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(d);
}

static struct measurement meas(uint32_t target, int64_t at, uint32_t round, enum outcome o, double rtt, float loss,
			       const char *from, const char *detail)
{
	struct measurement m;

	memset(&m, 0, sizeof(m));
	m.target = target;
	m.at_ms = at;
	m.round = round;
	m.outcome = o;
	m.rtt_ms = rtt;
	m.loss = loss;
	m.sent = 3;
	m.received = (uint16_t)(3 - (int)(loss * 3));
	m.failure = outcome_failure(o);
	snprintf(m.from, sizeof(m.from), "%s", from);
	if (from[0]) {
		struct sockaddr_storage ss;
		assert_int_equal(addr_parse(from, &ss), 0);
		ip_addr_from_sockaddr(&m.from_ip, &ss);
	}
	snprintf(m.detail, sizeof(m.detail), "%s", detail);
	return m;
}

/* Collectors. */
struct mlist {
	struct measurement m[64];
	size_t n;
	size_t total;
};

static int collect_m(const struct measurement *m, void *arg)
{
	struct mlist *l = arg;

	if (l->n < 64)
		l->m[l->n++] = *m;
	l->total++;
	return 0;
}

static void assert_meas_equal(const struct measurement *a, const struct measurement *b)
{
	assert_int_equal(a->target, b->target);
	assert_int_equal(a->at_ms, b->at_ms);
	assert_int_equal(a->round, b->round);
	assert_int_equal(a->outcome, b->outcome);
	assert_true(a->rtt_ms == b->rtt_ms);
	assert_true(a->loss == b->loss);
	assert_int_equal(a->sent, b->sent);
	assert_int_equal(a->received, b->received);
	assert_string_equal(a->from, b->from);
	assert_string_equal(a->detail, b->detail);
	assert_int_equal(a->failure, b->failure);
	assert_int_equal(a->icmp_family, b->icmp_family);
	assert_int_equal(a->icmp_type, b->icmp_type);
	assert_int_equal(a->icmp_code, b->icmp_code);
	assert_int_equal(a->from_ip.family, b->from_ip.family);
	assert_memory_equal(a->from_ip.bytes, b->from_ip.bytes, sizeof(a->from_ip.bytes));
}

struct sclist {
	struct store_state_change c[16];
	size_t n;
};

static int collect_sc(const struct store_state_change *c, void *arg)
{
	struct sclist *l = arg;

	assert_true(l->n < 16);
	l->c[l->n++] = *c;
	return 0;
}

struct trows {
	struct store_target_row r[8];
	size_t n;
};

static int collect_t(const struct store_target_row *row, void *arg)
{
	struct trows *l = arg;

	assert_true(l->n < 8);
	l->r[l->n++] = *row;
	return 0;
}

struct ilist {
	int64_t id[8];
	char json[8][128];
	size_t n;
};

static int collect_i(int64_t id, const char *json, void *arg)
{
	struct ilist *l = arg;

	assert_true(l->n < 8);
	l->id[l->n] = id;
	snprintf(l->json[l->n], sizeof(l->json[0]), "%s", json);
	l->n++;
	return 0;
}

struct blist {
	struct store_bgp_event e[8];
	size_t n;
};

static int collect_b(const struct store_bgp_event *e, void *arg)
{
	struct blist *l = arg;

	assert_true(l->n < 8);
	l->e[l->n++] = *e;
	return 0;
}

static struct store *open_or_fail(const struct config *cfg, bool writer, size_t qlen)
{
	char err[512];
	struct store *st = store_open(cfg, writer, qlen, err, sizeof(err));

	if (!st)
		fail_msg("store_open: %s", err);
	return st;
}

static void close_ok(struct store *st)
{
	char err[512];

	if (store_close(st, err, sizeof(err)) != 0)
		fail_msg("store_close: %s", err);
}

static void flush_ok(struct store *st)
{
	char err[512];

	if (store_flush(st, err, sizeof(err)) != 0)
		fail_msg("store_flush: %s", err);
}

static void sync_ok(struct store *st, const struct config *cfg)
{
	char err[512];

	if (store_sync_targets(st, cfg, err, sizeof(err)) != 0)
		fail_msg("store_sync_targets: %s", err);
}

/* Runs one SQL statement returning one integer on a raw connection. */
static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int64_t target_id(const char *path, const char *net, const char *name)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT id FROM targets WHERE network = ?1 AND name = ?2", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void test_roundtrip(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *w, *r;
	struct measurement in[5];
	struct mlist ml = {0};
	struct sclist sl = {0};
	struct trows tr = {0};
	struct ilist il = {0};
	struct blist bl = {0};
	char err[512];
	const int64_t T = INT64_C(1769418000000); /* 2026-01-26T09:00:00Z */

	tcfg_standard(&c, dir);
	w = open_or_fail(&c.cfg, true, 0);
	sync_ok(w, &c.cfg);

	in[0] = meas(0, T, 10, OUTCOME_OK, 12.345678901, 0.0f, "", "HTTP 200");
	in[1] = meas(2, T, 10, OUTCOME_UNREACHABLE, -1, 1.0f, "198.51.100.1", "host unreachable from 198.51.100.1");
	in[2] = meas(1, T + 5, 10, OUTCOME_TIMEOUT, -1, 1.0f, "", "timeout");
	in[3] = meas(3, T + 7, 10, OUTCOME_OK, 0.071, 1.0f / 3.0f, "", "");
	in[4] = meas(0, T + 60000, 11, OUTCOME_ERROR, 250.5, 0.0f, "", "HTTP 500");
	for (size_t i = 0; i < 5; i++)
		assert_true(store_put_measurement(w, &in[i]));
	assert_true(store_put_state_change(w, 0, T + 60000, STATE_UP, STATE_DEGRADED, 11, "HTTP 500"));
	assert_true(store_put_state_change(w, 2, T, STATE_UNKNOWN, STATE_DOWN, 10, "host unreachable"));
	assert_true(store_put_incident(w, 1, "n1", T, T + 120000, false, "dns", "{\"id\":1,\"v\":1}"));
	assert_true(store_put_incident(w, 2, NULL, T + 1000, -1, true, "vantage", "{\"id\":2}"));
	assert_true(store_put_incident(w, 3, "n2", T + 500, -1, true, "power", "{\"id\":3}"));
	/* Upsert by id: the second version of incident 1 replaces the first. */
	assert_true(store_put_incident(w, 1, "n1", T, T + 180000, false, "stress", "{\"id\":1,\"v\":2}"));
	assert_true(store_put_bgp_event(w, T + 3, "192.0.2.9", "198.18.0.0/15", false, ""));
	assert_true(store_put_bgp_event(w, T + 1, "192.0.2.9", "198.18.0.0/15", true, "64500 64501"));
	flush_ok(w);
	assert_int_equal(store_written(w), 13);
	assert_int_equal(store_dropped(w), 0);
	assert_int_equal(store_queue_depth(w), 0);

	/* Read through a second, reading store while the writer stays open. */
	r = open_or_fail(&c.cfg, false, 0);
	assert_int_equal(store_each_measurement(r, &c.cfg, T, T + 60001, collect_m, &ml, err, sizeof(err)), 0);
	assert_int_equal(ml.n, 5);
	/* Time order, then target: in[0] (a, T) before in[1] (c, T). */
	const size_t order[5] = {0, 1, 2, 3, 4};
	for (size_t i = 0; i < 5; i++)
		assert_meas_equal(&ml.m[i], &in[order[i]]);

	/* Half-open range: until excludes. */
	memset(&ml, 0, sizeof(ml));
	assert_int_equal(store_each_measurement(r, &c.cfg, T + 5, T + 60000, collect_m, &ml, err, sizeof(err)), 0);
	assert_int_equal(ml.n, 2);
	assert_meas_equal(&ml.m[0], &in[2]);
	assert_meas_equal(&ml.m[1], &in[3]);

	assert_int_equal(store_each_state_change(r, &c.cfg, 0, INT64_MAX, collect_sc, &sl, err, sizeof(err)), 0);
	assert_int_equal(sl.n, 2);
	assert_int_equal(sl.c[0].target, 2);
	assert_int_equal(sl.c[0].at_ms, T);
	assert_int_equal(sl.c[0].from, STATE_UNKNOWN);
	assert_int_equal(sl.c[0].to, STATE_DOWN);
	assert_int_equal(sl.c[0].round, 10);
	assert_string_equal(sl.c[0].detail, "host unreachable");
	assert_int_equal(sl.c[1].target, 0);
	assert_int_equal(sl.c[1].from, STATE_UP);
	assert_int_equal(sl.c[1].to, STATE_DEGRADED);
	assert_string_equal(sl.c[1].detail, "HTTP 500");

	assert_int_equal(store_each_target(r, &c.cfg, collect_t, &tr, err, sizeof(err)), 0);
	assert_int_equal(tr.n, 4);
	assert_int_equal(tr.r[0].index, 0);
	assert_string_equal(tr.r[0].network, "n1");
	assert_string_equal(tr.r[0].name, "a");
	assert_string_equal(tr.r[0].role, "web");
	assert_string_equal(tr.r[0].kind, "http");
	assert_string_equal(tr.r[0].state, "degraded");
	assert_int_equal(tr.r[0].since_ms, T + 60000);
	assert_int_equal(tr.r[0].last_at_ms, T + 60000);
	assert_string_equal(tr.r[0].last_outcome, "error");
	assert_true(tr.r[0].last_rtt_ms == 250.5);
	assert_string_equal(tr.r[0].last_detail, "HTTP 500");
	assert_string_equal(tr.r[1].state, "unknown");
	assert_int_equal(tr.r[1].since_ms, 0);
	assert_string_equal(tr.r[1].last_outcome, "timeout");
	assert_string_equal(tr.r[2].network, "n2");
	assert_string_equal(tr.r[2].state, "down");
	assert_string_equal(tr.r[2].last_detail, "host unreachable from 198.51.100.1");
	assert_string_equal(tr.r[3].network, "");
	assert_string_equal(tr.r[3].name, "ctl");
	assert_string_equal(tr.r[3].role, "control");
	assert_true(tr.r[3].last_rtt_ms == 0.071);

	/* All incidents, by start: 1 (T), 3 (T+500), 2 (T+1000). */
	assert_int_equal(store_each_incident(r, NULL, 0, -1, collect_i, &il, err, sizeof(err)), 0);
	assert_int_equal(il.n, 3);
	assert_int_equal(il.id[0], 1);
	assert_string_equal(il.json[0], "{\"id\":1,\"v\":2}");
	assert_int_equal(il.id[1], 3);
	assert_int_equal(il.id[2], 2);
	assert_string_equal(il.json[2], "{\"id\":2}");
	/* One network. */
	memset(&il, 0, sizeof(il));
	assert_int_equal(store_each_incident(r, "n2", 0, -1, collect_i, &il, err, sizeof(err)), 0);
	assert_int_equal(il.n, 1);
	assert_int_equal(il.id[0], 3);
	/* After incident 1 ended only the open ones overlap. */
	memset(&il, 0, sizeof(il));
	assert_int_equal(store_each_incident(r, NULL, T + 180001, -1, collect_i, &il, err, sizeof(err)), 0);
	assert_int_equal(il.n, 2);
	assert_int_equal(il.id[0], 3);
	assert_int_equal(il.id[1], 2);
	/* Before T + 600 only 1 and 3 had started. */
	memset(&il, 0, sizeof(il));
	assert_int_equal(store_each_incident(r, NULL, 0, T + 600, collect_i, &il, err, sizeof(err)), 0);
	assert_int_equal(il.n, 2);
	assert_int_equal(il.id[0], 1);
	assert_int_equal(il.id[1], 3);
	assert_int_equal(store_max_incident_id(r), 3);

	assert_int_equal(store_each_bgp_event(r, 0, INT64_MAX, collect_b, &bl, err, sizeof(err)), 0);
	assert_int_equal(bl.n, 2);
	assert_int_equal(bl.e[0].at_ms, T + 1);
	assert_true(bl.e[0].announce);
	assert_string_equal(bl.e[0].peer, "192.0.2.9");
	assert_string_equal(bl.e[0].prefix, "198.18.0.0/15");
	assert_int_equal(bl.e[1].at_ms, T + 3);
	assert_false(bl.e[1].announce);

	close_ok(r);
	close_ok(w);

	/* Reopen: a row per schema version (two), vantage recorded, data intact. */
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM schema_version"), 2);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM meta WHERE key = 'vantage' AND value = 'test-vantage'"),
			 1);
	r = open_or_fail(&c.cfg, false, 0);
	memset(&ml, 0, sizeof(ml));
	assert_int_equal(store_each_measurement(r, &c.cfg, INT64_MIN, INT64_MAX, collect_m, &ml, err, sizeof(err)), 0);
	assert_int_equal(ml.n, 5);
	close_ok(r);
	remove_dir(dir);
}

/* A callback may stop the iteration, and may call the store again. */
struct nested {
	struct store *st;
	size_t bgp;
	int calls;
};

static int count_b(const struct store_bgp_event *e, void *arg)
{
	(void)e;
	((struct nested *)arg)->bgp++;
	return 0;
}

static int nested_i(int64_t id, const char *json, void *arg)
{
	struct nested *n = arg;
	char err[256];

	(void)id;
	(void)json;
	n->calls++;
	assert_int_equal(store_each_bgp_event(n->st, 0, INT64_MAX, count_b, n, err, sizeof(err)), 0);
	return 7;
}

/* A measurement keeps its failure class, ICMP error and router (what the
 * live detector judged), so a rejudge reads what it saw. */
static void test_failure_roundtrip(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *w;
	struct measurement in[4];
	struct mlist ml = {0};
	char err[512];
	const int64_t T = INT64_C(1769418000000);

	tcfg_standard(&c, dir);
	w = open_or_fail(&c.cfg, true, 0);
	sync_ok(w, &c.cfg);
	/* words that say otherwise: the class is kept, not re-read */
	in[0] = meas(2, T, 10, OUTCOME_UNREACHABLE, -1, 1.0f, "198.51.100.1", "port unreachable from 198.51.100.1");
	in[0].failure = FAILURE_HOST_UNREACH;
	in[0].icmp_family = AF_INET;
	in[0].icmp_type = 3;
	in[0].icmp_code = 1;
	in[1] = meas(3, T, 10, OUTCOME_UNREACHABLE, -1, 1.0f, "2001:db8::1", "");
	in[1].failure = FAILURE_ADMIN;
	in[1].icmp_family = AF_INET6;
	in[1].icmp_type = 1;
	in[1].icmp_code = 1;
	in[2] = meas(0, T + 1, 10, OUTCOME_ERROR, 12.5, 0.0f, "", "certificate expired");
	in[2].failure = FAILURE_TLS;
	in[3] = meas(1, T + 2, 10, OUTCOME_ERROR, -1, 1.0f, "", "SERVFAIL");
	in[3].failure = FAILURE_PROTOCOL;
	for (size_t i = 0; i < 4; i++)
		assert_true(store_put_measurement(w, &in[i]));
	flush_ok(w);
	assert_int_equal(store_each_measurement(w, &c.cfg, T, T + 10, collect_m, &ml, err, sizeof(err)), 0);
	assert_int_equal(ml.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_meas_equal(&ml.m[i], &in[i]);
	close_ok(w);
	remove_dir(dir);
}

/* Rows a schema-1 store kept have no class: the reader derives it once,
 * from the outcome and the ICMP words of the detail. */
static void test_failure_legacy(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *w;
	struct mlist ml = {0};
	char err[512];
	const int64_t T = INT64_C(1769418000000);
	static const struct {
		int outcome; /* stored code (schema 1's outcomes table) */
		const char *detail;
		enum failure want;
	} rows[] = {
	    {3, "host unreachable from 198.51.100.1", FAILURE_HOST_UNREACH},
	    {3, "unreachable (type 3 code 3) from 203.0.113.9 at hop 4", FAILURE_PORT_UNREACH},
	    {3, "net unreachable from 203.0.113.2", FAILURE_NET_UNREACH},
	    {3, "administratively prohibited from 192.0.2.1", FAILURE_ADMIN},
	    {3, "unreachable", FAILURE_UNREACH_OTHER},
	    {1, "host unreachable", FAILURE_TIMEOUT},
	    {2, "connection refused", FAILURE_REFUSED},
	    {4, "HTTP 500", FAILURE_LOCAL},
	    {0, "", FAILURE_NONE},
	};
	const size_t n = sizeof(rows) / sizeof(rows[0]);
	char sql[512];

	tcfg_standard(&c, dir);
	w = open_or_fail(&c.cfg, true, 0);
	sync_ok(w, &c.cfg);
	close_ok(w);
	/* back to schema 1, as an older lightsout left it */
	sql_exec(c.path, "DELETE FROM schema_version WHERE version = 2; DROP TABLE failures;"
			 " ALTER TABLE measurements DROP COLUMN failure;"
			 " ALTER TABLE measurements DROP COLUMN icmp_version;"
			 " ALTER TABLE measurements DROP COLUMN icmp_type;"
			 " ALTER TABLE measurements DROP COLUMN icmp_code;");
	for (size_t i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO measurements (at_ms, target, round, outcome, rtt_ms, loss, sent, received,"
			 " from_addr, detail) VALUES (%lld, %lld, 10, %d, NULL, 1, 1, 0, '', '%s')",
			 (long long)(T + (int64_t)i), (long long)target_id(c.path, "n1", "a"), rows[i].outcome,
			 rows[i].detail);
		sql_exec(c.path, sql);
	}
	w = open_or_fail(&c.cfg, true, 0); /* migrates to schema 2 */
	assert_int_equal(sql_int(c.path, "SELECT max(version) FROM schema_version"), 2);
	assert_int_equal(store_each_measurement(w, &c.cfg, T, T + 100, collect_m, &ml, err, sizeof(err)), 0);
	assert_int_equal(ml.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ml.m[i].failure, rows[i].want);
		assert_int_equal(failure_outcome(ml.m[i].failure), ml.m[i].outcome);
	}
	close_ok(w);
	remove_dir(dir);
}

static void test_callbacks(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *w;
	struct nested n = {0};
	char err[256];

	tcfg_standard(&c, dir);
	w = open_or_fail(&c.cfg, true, 0);
	sync_ok(w, &c.cfg);
	assert_true(store_put_incident(w, 1, "n1", 1, 2, false, "host", "{}"));
	assert_true(store_put_incident(w, 2, "n1", 3, 4, false, "host", "{}"));
	assert_true(store_put_bgp_event(w, 5, "p", "198.18.0.0/16", true, "1"));
	flush_ok(w);
	n.st = w;
	assert_int_equal(store_each_incident(w, NULL, 0, -1, nested_i, &n, err, sizeof(err)), 7);
	assert_int_equal(n.calls, 1);
	assert_int_equal(n.bgp, 1);
	close_ok(w);
	remove_dir(dir);
}

static void test_stable_ids(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg a, b;
	struct store *st;
	struct measurement m;
	struct mlist ml = {0};
	struct sclist sl = {0};
	struct trows tr = {0};
	char err[512];
	int64_t id_a, id_b, id_c, id_ctl;

	tcfg_standard(&a, dir);
	st = open_or_fail(&a.cfg, true, 0);
	sync_ok(st, &a.cfg);
	for (uint32_t i = 0; i < 4; i++) {
		m = meas(i, 1000 + i, 1, OUTCOME_OK, 1.0 + i, 0, "", a.t[i].name);
		assert_true(store_put_measurement(st, &m));
	}
	assert_true(store_put_state_change(st, 1, 1500, STATE_UP, STATE_DOWN, 1, "b down"));
	close_ok(st);
	id_a = target_id(a.path, "n1", "a");
	id_b = target_id(a.path, "n1", "b");
	id_c = target_id(a.path, "n2", "c");
	id_ctl = target_id(a.path, "", "ctl");

	/* B: networks swapped, targets reordered, n2/c gone, n1/d new. */
	tcfg_init(&b, dir, "s.db");
	add_net(&b, "n2");
	add_net(&b, "n1");
	add_target(&b, CONFIG_NO_NETWORK, "ctl", ROLE_CONTROL, KIND_ICMP);
	add_target(&b, 1, "d", ROLE_MAIL, KIND_SMTP);
	add_target(&b, 1, "b", ROLE_DNS, KIND_DNS);
	add_target(&b, 1, "a", ROLE_WEB, KIND_HTTP);
	st = open_or_fail(&b.cfg, true, 0);
	sync_ok(st, &b.cfg);
	m = meas(1, 2000, 2, OUTCOME_REFUSED, -1, 1, "", "d");
	assert_true(store_put_measurement(st, &m));
	flush_ok(st);

	assert_int_equal(target_id(b.path, "n1", "a"), id_a);
	assert_int_equal(target_id(b.path, "n1", "b"), id_b);
	assert_int_equal(target_id(b.path, "n2", "c"), id_c);
	assert_int_equal(target_id(b.path, "", "ctl"), id_ctl);
	assert_true(target_id(b.path, "n1", "d") > id_ctl);

	/* Read with B: indices are B's; c's rows are skipped. */
	assert_int_equal(store_each_measurement(st, &b.cfg, 0, INT64_MAX, collect_m, &ml, err, sizeof(err)), 0);
	assert_int_equal(ml.n, 4);
	assert_int_equal(ml.m[0].target, 3); /* a */
	assert_string_equal(ml.m[0].detail, "a");
	assert_int_equal(ml.m[1].target, 2); /* b */
	assert_string_equal(ml.m[1].detail, "b");
	assert_int_equal(ml.m[2].target, 0); /* ctl (c at 1002 skipped) */
	assert_int_equal(ml.m[2].at_ms, 1003);
	assert_string_equal(ml.m[2].detail, "ctl");
	assert_int_equal(ml.m[3].target, 1); /* d */
	assert_int_equal(ml.m[3].outcome, OUTCOME_REFUSED);
	assert_int_equal(store_each_state_change(st, &b.cfg, 0, INT64_MAX, collect_sc, &sl, err, sizeof(err)), 0);
	assert_int_equal(sl.n, 1);
	assert_int_equal(sl.c[0].target, 2);
	assert_int_equal(store_each_target(st, &b.cfg, collect_t, &tr, err, sizeof(err)), 0);
	assert_int_equal(tr.n, 4);
	assert_string_equal(tr.r[0].name, "ctl");
	assert_int_equal(tr.r[0].last_at_ms, 1003);
	assert_string_equal(tr.r[1].name, "d");
	assert_string_equal(tr.r[1].last_outcome, "refused");
	assert_string_equal(tr.r[2].name, "b");
	assert_string_equal(tr.r[2].state, "down");
	assert_int_equal(tr.r[3].index, 3);
	assert_string_equal(tr.r[3].network, "n1");
	assert_string_equal(tr.r[3].name, "a");
	assert_string_equal(tr.r[3].last_detail, "a");
	close_ok(st);

	/* Back to A: d's measurement is skipped, c's is back. */
	st = open_or_fail(&a.cfg, false, 0);
	memset(&ml, 0, sizeof(ml));
	assert_int_equal(store_each_measurement(st, &a.cfg, 0, INT64_MAX, collect_m, &ml, err, sizeof(err)), 0);
	assert_int_equal(ml.n, 4);
	assert_int_equal(ml.m[2].target, 2);
	assert_string_equal(ml.m[2].detail, "c");
	close_ok(st);
	remove_dir(dir);
}

static void test_unsynced_target_dropped(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *st;
	struct measurement m = meas(0, 1, 1, OUTCOME_OK, 1, 0, "", "");

	tcfg_standard(&c, dir);
	st = open_or_fail(&c.cfg, true, 0);
	/* Before sync no target has an id: dropped and counted, not lost silently. */
	assert_false(store_put_measurement(st, &m));
	sync_ok(st, &c.cfg);
	m.target = 99; /* out of range */
	assert_false(store_put_measurement(st, &m));
	assert_false(store_put_state_change(st, 99, 1, STATE_UP, STATE_DOWN, 1, ""));
	assert_int_equal(store_dropped(st), 3);
	m.target = 0;
	assert_true(store_put_measurement(st, &m));
	flush_ok(st);
	assert_int_equal(store_written(st), 1);
	close_ok(st);
	remove_dir(dir);
}

static void test_overflow(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *st;
	struct measurement m;
	sqlite3 *lock = NULL;
	size_t accepted = 0;
	uint64_t expect_dropped;

	tcfg_standard(&c, dir);
	st = open_or_fail(&c.cfg, true, 10);
	/* Nothing is written before the flush: not the clock, the test says
	 * when the writer may start (and meet the lock below). */
	store_set_batch_window(st, -1);
	sync_ok(st, &c.cfg);
	/* Hold the write lock from outside so the writer cannot free a slot:
	 * the puts below must drop rather than wait. */
	assert_int_equal(sqlite3_open_v2(c.path, &lock, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	for (uint32_t i = 0; i < 1000; i++) {
		m = meas(i % 4, 10000 + i, i, OUTCOME_OK, 1, 0, "", "");
		accepted += store_put_measurement(st, &m);
	}
	/* Measurements may fill 9 of 10 slots; the last is reserved. */
	assert_int_equal(accepted, 9);
	assert_int_equal(store_dropped(st), 991);
	assert_int_equal(store_queue_depth(st), 9);
	assert_true(store_put_incident(st, 1, "n1", 1, -1, true, "unknown", "{}"));
	assert_false(store_put_incident(st, 2, "n1", 1, -1, true, "unknown", "{}"));
	assert_false(store_put_state_change(st, 0, 1, STATE_UP, STATE_DOWN, 1, ""));
	assert_false(store_put_bgp_event(st, 1, "p", "198.18.0.0/16", true, ""));
	expect_dropped = 994;
	assert_int_equal(store_dropped(st), expect_dropped);
	assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(lock);
	flush_ok(st);
	assert_int_equal(store_written(st), 10);
	assert_int_equal(store_dropped(st), expect_dropped);
	close_ok(st);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM measurements"), 9);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM incidents"), 1);
	remove_dir(dir);
}

/* A BGP peer flooding UPDATEs may fill only half the queue: the
 * measurements behind it and the state changes and incidents still fit,
 * and the drops are counted by kind. */
static void test_bgp_share(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *st;
	struct measurement m;
	sqlite3 *lock = NULL;
	size_t bgp = 0, meas_ok = 0;
	struct store_stats ss;

	tcfg_standard(&c, dir);
	st = open_or_fail(&c.cfg, true, 10);
	store_set_batch_window(st, -1);
	sync_ok(st, &c.cfg);
	assert_int_equal(sqlite3_open_v2(c.path, &lock, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < 100; i++)
		bgp += store_put_bgp_event(st, i, "p", "198.18.0.0/16", i % 2, "");
	assert_int_equal(bgp, 5);
	for (uint32_t i = 0; i < 100; i++) {
		m = meas(i % 4, 10000 + i, i, OUTCOME_OK, 1, 0, "", "");
		meas_ok += store_put_measurement(st, &m);
	}
	assert_int_equal(meas_ok, 4);
	assert_true(store_put_state_change(st, 0, 1, STATE_UP, STATE_DOWN, 1, ""));
	store_get_stats(st, &ss);
	assert_int_equal(ss.dropped[STORE_BGP_EVENT], 95);
	assert_int_equal(ss.dropped[STORE_MEASUREMENT], 96);
	assert_int_equal(ss.dropped[STORE_STATE_CHANGE], 0);
	assert_int_equal(ss.dropped[STORE_INCIDENT], 0);
	assert_int_equal(ss.queue_depth, 10);
	assert_int_equal(store_dropped(st), 95 + 96);
	assert_false(store_put_incident(st, 2, "n1", 1, -1, true, "unknown", "{}"));
	store_get_stats(st, &ss);
	assert_int_equal(ss.dropped[STORE_INCIDENT], 1);
	assert_string_equal(store_kind_name(STORE_BGP_EVENT), "bgp_event");
	assert_string_equal(store_kind_name(STORE_STATE_CHANGE), "state_change");
	assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(lock);
	flush_ok(st);
	close_ok(st);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM measurements"), 4);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM state_changes"), 1);
	remove_dir(dir);
}

static void test_write_error_reported(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *st;
	struct measurement m = meas(0, 5, 1, OUTCOME_OK, 1, 0, "", "");
	char err[512];

	tcfg_standard(&c, dir);
	st = open_or_fail(&c.cfg, true, 0);
	/* Both records below in one batch, however slow the machine. */
	store_set_batch_window(st, -1);
	sync_ok(st, &c.cfg);
	sql_exec(c.path, "CREATE TRIGGER boom BEFORE INSERT ON bgp_events BEGIN SELECT RAISE(ABORT, 'boom'); END");
	assert_true(store_put_measurement(st, &m));
	assert_true(store_put_bgp_event(st, 1, "p", "198.18.0.0/16", true, ""));
	struct store_stats ss;
	store_get_stats(st, &ss);
	assert_false(ss.failing);
	assert_int_equal(store_flush(st, err, sizeof(err)), -1);
	char want[256];
	snprintf(want, sizeof(want), "cannot write store %s: boom", c.path);
	assert_string_equal(err, want);
	/* The failed batch is counted as dropped, by kind, and reported once;
	 * the writer says it fails until a batch succeeds. */
	assert_int_equal(store_dropped(st), 2);
	assert_int_equal(store_written(st), 0);
	store_get_stats(st, &ss);
	assert_true(ss.failing);
	assert_string_equal(ss.error, want);
	assert_int_equal(ss.write_errors, 1);
	assert_int_equal(ss.dropped[STORE_MEASUREMENT], 1);
	assert_int_equal(ss.dropped[STORE_BGP_EVENT], 1);
	assert_int_equal(store_flush(st, err, sizeof(err)), 0);
	store_get_stats(st, &ss);
	assert_true(ss.failing); /* no batch since */
	sql_exec(c.path, "DROP TRIGGER boom");
	assert_true(store_put_measurement(st, &m));
	flush_ok(st);
	assert_int_equal(store_written(st), 1);
	store_get_stats(st, &ss);
	assert_false(ss.failing);
	assert_string_equal(ss.error, "");
	assert_int_equal(ss.write_errors, 1);
	close_ok(st);
	remove_dir(dir);
}

static void test_open_errors(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	char err[512], want[512];
	FILE *f;

	tcfg_init(&c, dir, "x.db");
	c.cfg.store = (char *)"/nonexistent/x.db";
	assert_null(store_open(&c.cfg, true, 0, err, sizeof(err)));
	assert_string_equal(err, "cannot open store /nonexistent/x.db: unable to open database file");
	assert_null(store_open(&c.cfg, false, 0, err, sizeof(err)));
	assert_string_equal(err, "cannot open store /nonexistent/x.db: unable to open database file");

	c.cfg.store = (char *)"postgresql://user:secret@127.0.0.1/lightsout";
	assert_null(store_open(&c.cfg, true, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "PostgreSQL store not built yet"));
	assert_null(strstr(err, "secret"));

	c.cfg.store = NULL;
	assert_null(store_open(&c.cfg, true, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "no store path"));

	/* Not a database. */
	c.cfg.store = c.path;
	f = fopen(c.path, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an sqlite database at all. ", f);
	fclose(f);
	assert_null(store_open(&c.cfg, true, 0, err, sizeof(err)));
	snprintf(want, sizeof(want), "cannot open store %s: file is not a database", c.path);
	assert_string_equal(err, want);

	/* A directory. */
	c.cfg.store = c.dir;
	assert_null(store_open(&c.cfg, true, 0, err, sizeof(err)));
	assert_non_null(strstr(err, c.dir));
	assert_true(strncmp(err, "cannot open store ", 18) == 0);
	remove_dir(dir);
}

static void test_newer_schema(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *st;
	char err[512], want[512];

	tcfg_standard(&c, dir);
	st = open_or_fail(&c.cfg, true, 0);
	close_ok(st);
	sql_exec(c.path, "INSERT INTO schema_version (version, applied_ms) VALUES (99, 0)");
	assert_null(store_open(&c.cfg, true, 0, err, sizeof(err)));
	snprintf(want, sizeof(want), "cannot open store %s: its schema version 99 is newer than this program's",
		 c.path);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	assert_null(store_open(&c.cfg, false, 0, err, sizeof(err)));
	assert_true(strncmp(err, want, strlen(want)) == 0);
	remove_dir(dir);
}

static void test_prune(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *st;
	struct measurement m;
	struct mlist ml = {0};
	struct sclist sl = {0};
	struct ilist il = {0};
	char err[512];
	const uint32_t n = 30000; /* several prune chunks */
	const int64_t cutoff = 20000;

	tcfg_standard(&c, dir);
	st = open_or_fail(&c.cfg, true, 0);
	sync_ok(st, &c.cfg);
	for (uint32_t i = 0; i < n; i++) {
		/* Two targets share each millisecond. */
		m = meas(i % 2, i / 2 * 2, i, OUTCOME_OK, 1, 0, "", "");
		while (!store_put_measurement(st, &m))
			flush_ok(st);
	}
	assert_true(store_put_state_change(st, 0, 10, STATE_UP, STATE_DOWN, 1, "old"));
	assert_true(store_put_incident(st, 1, "n1", 5, 10, false, "host", "{}"));
	assert_true(store_put_bgp_event(st, 3, "p", "198.18.0.0/16", false, ""));
	/* Route events fall under the retention, visibility changes do not. */
	assert_true(store_put_bgp_event(st, 4, "*", "198.18.0.0/16", false, ""));
	assert_true(store_put_bgp_event(st, cutoff, "p", "198.18.0.0/16", true, "64500"));
	flush_ok(st);
	assert_int_equal(store_written(st), n + 5);
	assert_int_equal(store_dropped(st), 0);
	/* Queued for the writer: done by the next flush. */
	assert_int_equal(store_prune(st, cutoff, err, sizeof(err)), 0);
	flush_ok(st);
	assert_int_equal(store_each_measurement(st, &c.cfg, INT64_MIN, INT64_MAX, collect_m, &ml, err, sizeof(err)), 0);
	assert_int_equal(ml.total, n - (uint32_t)cutoff);
	assert_int_equal(ml.m[0].at_ms, cutoff);
	assert_int_equal(sql_int(c.path, "SELECT min(at_ms) FROM measurements"), cutoff);
	/* Kept for ever. */
	assert_int_equal(store_each_state_change(st, &c.cfg, 0, INT64_MAX, collect_sc, &sl, err, sizeof(err)), 0);
	assert_int_equal(sl.n, 1);
	assert_int_equal(store_each_incident(st, NULL, 0, -1, collect_i, &il, err, sizeof(err)), 0);
	assert_int_equal(il.n, 1);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM bgp_events"), 2);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM bgp_events WHERE peer = '*' AND at_ms = 4"), 1);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM bgp_events WHERE peer = 'p' AND at_ms = 20000"), 1);
	/* The latest row of each target survives the prune. */
	struct trows tr = {0};
	assert_int_equal(store_each_target(st, &c.cfg, collect_t, &tr, err, sizeof(err)), 0);
	assert_int_equal(tr.r[0].last_at_ms, n - 2);
	/* Pruning everything, then again on an empty table. */
	assert_int_equal(store_prune(st, INT64_MAX, err, sizeof(err)), 0);
	flush_ok(st);
	assert_int_equal(store_prune(st, INT64_MAX, err, sizeof(err)), 0);
	flush_ok(st);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM measurements"), 0);
	close_ok(st);
	remove_dir(dir);
}

static void test_reader_mode(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *st;
	struct measurement m = meas(0, 1, 1, OUTCOME_OK, 1, 0, "", "");
	struct trows tr = {0};
	char err[512];

	tcfg_standard(&c, dir);
	/* A reader on a fresh path creates the schema and sees no data. */
	st = open_or_fail(&c.cfg, false, 0);
	assert_false(store_put_measurement(st, &m));
	assert_int_equal(store_dropped(st), 1);
	assert_int_equal(store_flush(st, err, sizeof(err)), 0);
	assert_int_equal(store_each_target(st, &c.cfg, collect_t, &tr, err, sizeof(err)), 0);
	assert_int_equal(tr.n, 4);
	assert_string_equal(tr.r[1].state, "unknown");
	assert_int_equal(tr.r[1].last_at_ms, 0);
	assert_int_equal(store_max_incident_id(st), 0);
	close_ok(st);
	assert_int_equal(store_close(NULL, err, sizeof(err)), 0);
	remove_dir(dir);
}

/* A reader held inside its callback (a slow dashboard request, the
 * timeline backfill) must not hold up the write path: a prune, queued
 * writes, their flush and another reader all complete while it is still
 * held.  The reader lets go when the main thread says so; its deadline
 * only turns a stall into a failure instead of a hang. */
struct held {
	struct store *st;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool inside, release, gave_up;
	int rc;
};

static int hold_i(int64_t id, const char *json, void *arg)
{
	struct held *h = arg;
	struct timespec deadline;

	(void)id;
	(void)json;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 20;
	pthread_mutex_lock(&h->mu);
	h->inside = true;
	pthread_cond_broadcast(&h->cv);
	while (!h->release && !h->gave_up)
		if (pthread_cond_timedwait(&h->cv, &h->mu, &deadline) == ETIMEDOUT)
			h->gave_up = true;
	pthread_mutex_unlock(&h->mu);
	return 0;
}

static void *hold_main(void *arg)
{
	struct held *h = arg;
	char err[256];

	h->rc = store_each_incident(h->st, NULL, 0, -1, hold_i, h, err, sizeof(err));
	return NULL;
}

static void test_slow_reader(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *w;
	struct measurement m;
	struct mlist ml = {0};
	struct held h = {.rc = -1};
	pthread_t t;
	char err[512], *json = NULL;

	tcfg_standard(&c, dir);
	w = open_or_fail(&c.cfg, true, 0);
	sync_ok(w, &c.cfg);
	for (uint32_t i = 1; i <= 10; i++) {
		m = meas(0, i, i, OUTCOME_OK, 1, 0, "", "");
		assert_true(store_put_measurement(w, &m));
	}
	assert_true(store_put_incident(w, 1, "n1", 1, -1, true, "host", "{\"id\":1}"));
	flush_ok(w);

	h.st = w;
	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	assert_int_equal(pthread_create(&t, NULL, hold_main, &h), 0);
	pthread_mutex_lock(&h.mu);
	while (!h.inside)
		pthread_cond_wait(&h.cv, &h.mu);
	pthread_mutex_unlock(&h.mu);

	/* The reader is held: the loop's housekeeping and writes go on. */
	if (store_prune(w, 6, err, sizeof(err)) != 0)
		fail_msg("store_prune: %s", err);
	m = meas(1, 100, 11, OUTCOME_TIMEOUT, -1, 1, "", "late");
	assert_true(store_put_measurement(w, &m));
	assert_true(store_put_incident(w, 2, "n2", 50, -1, true, "host", "{\"id\":2}"));
	flush_ok(w);
	assert_int_equal(store_each_measurement(w, &c.cfg, INT64_MIN, INT64_MAX, collect_m, &ml, err, sizeof(err)), 0);
	assert_int_equal(store_get_incident(w, 2, &json, err, sizeof(err)), 1);
	assert_string_equal(json, "{\"id\":2}");
	free(json);

	pthread_mutex_lock(&h.mu);
	assert_false(h.gave_up); /* all of the above finished while it was held */
	h.release = true;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(h.rc, 0);
	pthread_cond_destroy(&h.cv);
	pthread_mutex_destroy(&h.mu);

	/* Pruned before 6, the late write is there. */
	assert_int_equal(ml.total, 6);
	assert_int_equal(ml.m[0].at_ms, 6);
	assert_int_equal(ml.m[5].at_ms, 100);
	assert_string_equal(ml.m[5].detail, "late");
	close_ok(w);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM incidents"), 2);
	remove_dir(dir);
}

/* One incident by id (one indexed query, what the dashboard asks for). */
static void test_watch_lock(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *a, *b, *r;
	char err[512];

	tcfg_standard(&c, dir);
	a = open_or_fail(&c.cfg, true, 0);
	sync_ok(a, &c.cfg);
	assert_int_equal(store_lock_watch(a, err, sizeof(err)), 0);
	assert_int_equal(store_lock_watch(a, err, sizeof(err)), 0); /* already held: fine */
	/* a second watch on the same store is refused with a clear reason */
	b = open_or_fail(&c.cfg, true, 0);
	assert_int_equal(store_lock_watch(b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "in use by another lightsout watch"));
	assert_non_null(strstr(err, c.cfg.store));
	/* readers (status, report, the dashboard) never need the lock */
	r = open_or_fail(&c.cfg, false, 0);
	assert_true(store_put_incident(a, 1, "n1", 10, 20, false, "host", "{}"));
	flush_ok(a);
	close_ok(r);
	/* the lock goes with the store, and the store still works under it */
	close_ok(a);
	assert_int_equal(store_lock_watch(b, err, sizeof(err)), 0);
	close_ok(b);
	remove_dir(dir);
}

static void test_get_incident(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *w, *r;
	char err[512], *json = NULL;

	tcfg_standard(&c, dir);
	w = open_or_fail(&c.cfg, true, 0);
	sync_ok(w, &c.cfg);
	assert_true(store_put_incident(w, 1, "n1", 10, 20, false, "host", "{\"id\":1}"));
	assert_true(store_put_incident(w, 7, NULL, 30, -1, true, "vantage", "{\"id\":7}"));
	assert_true(store_put_incident(w, 7, NULL, 30, 40, false, "vantage", "{\"id\":7,\"v\":2}"));
	flush_ok(w);
	r = open_or_fail(&c.cfg, false, 0);
	assert_int_equal(store_get_incident(r, 7, &json, err, sizeof(err)), 1);
	assert_string_equal(json, "{\"id\":7,\"v\":2}");
	free(json);
	assert_int_equal(store_get_incident(w, 1, &json, err, sizeof(err)), 1);
	assert_string_equal(json, "{\"id\":1}");
	free(json);
	json = (char *)"stale";
	assert_int_equal(store_get_incident(r, 2, &json, err, sizeof(err)), 0);
	assert_null(json);
	assert_int_equal(store_get_incident(r, INT64_MIN, &json, err, sizeof(err)), 0);
	assert_null(json);
	close_ok(r);
	close_ok(w);
	remove_dir(dir);
}

/* A failed prune is reported by the next prune (the retention timer logs
 * it), or by close if no prune came; flush waits for it but reports only
 * lost writes. */
static void test_prune_error(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *st;
	struct measurement m;
	char err[512], want[512];

	tcfg_standard(&c, dir);
	st = open_or_fail(&c.cfg, true, 0);
	sync_ok(st, &c.cfg);
	for (uint32_t i = 0; i < 10; i++) {
		m = meas(0, i, i, OUTCOME_OK, 1, 0, "", "");
		assert_true(store_put_measurement(st, &m));
	}
	flush_ok(st);
	snprintf(want, sizeof(want), "cannot prune store %s: boom", c.path);
	sql_exec(c.path, "CREATE TRIGGER boom BEFORE DELETE ON measurements BEGIN SELECT RAISE(ABORT, 'boom'); END");
	assert_int_equal(store_prune(st, 5, err, sizeof(err)), 0);
	flush_ok(st);
	sql_exec(c.path, "DROP TRIGGER boom");
	assert_int_equal(store_prune(st, 5, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	flush_ok(st); /* the second one was queued all the same */
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM measurements"), 5);
	assert_int_equal(store_prune(st, 6, err, sizeof(err)), 0);
	flush_ok(st);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM measurements"), 4);

	sql_exec(c.path, "CREATE TRIGGER boom BEFORE DELETE ON measurements BEGIN SELECT RAISE(ABORT, 'boom'); END");
	assert_int_equal(store_prune(st, 8, err, sizeof(err)), 0);
	assert_int_equal(store_close(st, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_int_equal(sql_int(c.path, "SELECT count(*) FROM measurements"), 4);

	/* A reader cannot prune. */
	st = open_or_fail(&c.cfg, false, 0);
	assert_int_equal(store_prune(st, 8, err, sizeof(err)), -1);
	close_ok(st);
	remove_dir(dir);
}

/* watch drops privileges after store_open and may then be unable to open
 * the file again: a writer's store opens its readers' connections at
 * once (here the file moves away instead), four readers at a time. */
struct deep {
	struct store *st;
	int depth, max;
};

static int deeper(int64_t id, const char *json, void *arg)
{
	struct deep *d = arg;
	char err[256];

	(void)id;
	(void)json;
	if (++d->depth < d->max)
		assert_int_equal(store_each_incident(d->st, NULL, 0, -1, deeper, d, err, sizeof(err)), 0);
	return 0;
}

static void test_readers_preopened(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct tcfg c;
	struct store *w;
	struct deep d = {.max = 4};
	char moved[96], err[512];

	tcfg_standard(&c, dir);
	w = open_or_fail(&c.cfg, true, 0);
	sync_ok(w, &c.cfg);
	assert_true(store_put_incident(w, 1, "n1", 1, -1, true, "host", "{}"));
	flush_ok(w);
	snprintf(moved, sizeof(moved), "%s.moved", dir);
	assert_int_equal(rename(dir, moved), 0);
	d.st = w;
	assert_int_equal(store_each_incident(w, NULL, 0, -1, deeper, &d, err, sizeof(err)), 0);
	assert_int_equal(d.depth, 4);
	assert_int_equal(store_max_incident_id(w), 1);
	assert_int_equal(rename(moved, dir), 0);
	close_ok(w);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_failure_roundtrip),
	    cmocka_unit_test(test_failure_legacy),
	    cmocka_unit_test(test_callbacks),
	    cmocka_unit_test(test_stable_ids),
	    cmocka_unit_test(test_unsynced_target_dropped),
	    cmocka_unit_test(test_overflow),
	    cmocka_unit_test(test_bgp_share),
	    cmocka_unit_test(test_write_error_reported),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_newer_schema),
	    cmocka_unit_test(test_prune),
	    cmocka_unit_test(test_reader_mode),
	    cmocka_unit_test(test_slow_reader),
	    cmocka_unit_test(test_get_incident),
	    cmocka_unit_test(test_watch_lock),
	    cmocka_unit_test(test_prune_error),
	    cmocka_unit_test(test_readers_preopened),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
