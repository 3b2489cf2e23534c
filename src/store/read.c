/* Reading: every query runs through sq_rows on a connection of the calling
 * thread, and rows of targets are translated to configuration indices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/addr.h"
#include "store/sqlite_int.h"

static enum outcome outcome_of_code(const struct store *st, sqlite3_int64 code)
{
	int o = code >= 0 && code < STORE_MAX_CODES ? st->outcome_of[code] : -1;

	return o >= 0 ? (enum outcome)o : OUTCOME_ERROR;
}

/* Legacy: rows of schema 1 have no failure class.  It is derived here,
 * once, from what they kept: the outcome, and for an unreachable the
 * ICMP error's words in the detail (src/probe/errqueue.c's, or trace's
 * "(type T code C)").  Nothing else reads the detail for meaning. */
static enum failure legacy_failure(enum outcome o, const char *detail)
{
	static const struct {
		const char *words;
		enum failure f;
	} unreach[] = {
	    {"host unreachable", FAILURE_HOST_UNREACH}, {"address unreachable", FAILURE_HOST_UNREACH},
	    {"(type 3 code 1)", FAILURE_HOST_UNREACH},  {"(type 1 code 3)", FAILURE_HOST_UNREACH},
	    {"port unreachable", FAILURE_PORT_UNREACH}, {"protocol unreachable", FAILURE_PORT_UNREACH},
	    {"(type 3 code 2)", FAILURE_PORT_UNREACH},  {"(type 3 code 3)", FAILURE_PORT_UNREACH},
	    {"(type 1 code 4)", FAILURE_PORT_UNREACH},  {"net unreachable", FAILURE_NET_UNREACH},
	    {"no route", FAILURE_NET_UNREACH},          {"administratively prohibited", FAILURE_ADMIN},
	    {"TTL exceeded", FAILURE_TTL_EXCEEDED},     {"hop limit exceeded", FAILURE_TTL_EXCEEDED},
	};

	if (o == OUTCOME_UNREACHABLE)
		for (size_t i = 0; i < sizeof(unreach) / sizeof(unreach[0]); i++)
			if (strstr(detail, unreach[i].words))
				return unreach[i].f;
	return outcome_failure(o);
}

/* The stored class (column col), or the legacy one when there is none or
 * its code is unknown. */
static enum failure failure_of_row(const struct store *st, sqlite3_stmt *s, int col, const struct measurement *m)
{
	sqlite3_int64 code = sqlite3_column_int64(s, col);
	int f = sqlite3_column_type(s, col) != SQLITE_NULL && code >= 0 && code < STORE_MAX_CODES ? st->failure_of[code]
												  : -1;

	return f >= 0 ? (enum failure)f : legacy_failure(m->outcome, m->detail);
}

static enum target_state state_of_text(const unsigned char *s)
{
	int v = s ? state_from_name((const char *)s) : -1;

	return v >= 0 && v < STATE_COUNT ? (enum target_state)v : STATE_UNKNOWN;
}

/* What the row callbacks need: the caller's callback and argument, and
 * for target-keyed tables the id -> index map. */
struct rows_ctx {
	const struct store *st;
	const struct idx_map *im;
	union {
		int (*measurement)(const struct measurement *m, void *arg);
		int (*change)(const struct store_state_change *c, void *arg);
		int (*incident)(int64_t id, const char *json, void *arg);
		int (*bgp)(const struct store_bgp_event *e, void *arg);
	} fn;
	void *arg;
	struct store_target_row *rows;
};

/* The rows of a target-keyed query over [since, until) (?1, ?2). */
static int each_keyed(struct store *st, const struct config *cfg, const char *sql, int64_t since_ms, int64_t until_ms,
		      int (*row)(sqlite3_stmt *s, void *arg), struct rows_ctx *c, char *err, size_t errlen)
{
	struct idx_map *im = NULL;
	int rc;

	sq_clearerr(err, errlen);
	if (idx_get(st, cfg, &im, err, errlen) < 0)
		return -1;
	c->im = im;
	rc = sq_rows(st, NULL, "read", sql, SQ_ARGS(SQ_INT(since_ms), SQ_INT(until_ms)), row, c, err, errlen);
	idx_put(st, im);
	return rc;
}

static int latest_row(sqlite3_stmt *s, void *arg)
{
	struct rows_ctx *c = arg;
	uint32_t i = idx_lookup(c->im, sqlite3_column_int64(s, 0));
	struct store_target_row *w;

	if (i == STORE_NO_INDEX)
		return 0;
	w = &c->rows[i];
	if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
		w->last_at_ms = sqlite3_column_int64(s, 1);
		snprintf(w->last_outcome, sizeof(w->last_outcome), "%s",
			 outcome_name(outcome_of_code(c->st, sqlite3_column_int64(s, 2))));
		w->last_rtt_ms = sqlite3_column_type(s, 3) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 3);
		sq_copy_text(w->last_detail, sizeof(w->last_detail), sqlite3_column_text(s, 4));
	}
	if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
		snprintf(w->state, sizeof(w->state), "%s", state_name(state_of_text(sqlite3_column_text(s, 5))));
		w->since_ms = sqlite3_column_int64(s, 6);
	}
	return 0;
}

int store_each_target(struct store *st, const struct config *cfg,
		      int (*fn)(const struct store_target_row *row, void *arg), void *arg, char *err, size_t errlen)
{
	struct rows_ctx c = {.st = st};
	struct idx_map *im = NULL;
	int rc = -1;

	sq_clearerr(err, errlen);
	c.rows = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*c.rows));
	if (!c.rows) {
		sq_seterr(err, errlen, "cannot read store %s: out of memory", st->path);
		goto out;
	}
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target_cfg *t = &cfg->targets[i];
		struct store_target_row *w = &c.rows[i];

		w->index = (uint32_t)i;
		snprintf(w->network, sizeof(w->network), "%s", sq_target_network(cfg, t));
		snprintf(w->name, sizeof(w->name), "%s", t->name ? t->name : "");
		snprintf(w->role, sizeof(w->role), "%s", role_name(t->role));
		snprintf(w->kind, sizeof(w->kind), "%s", kind_name(t->kind));
		snprintf(w->state, sizeof(w->state), "%s", state_name(STATE_UNKNOWN));
		w->last_rtt_ms = -1;
	}
	if (idx_get(st, cfg, &im, err, errlen) < 0)
		goto out;
	c.im = im;
	if (sq_rows(st, NULL, "read", "SELECT target, at_ms, outcome, rtt_ms, detail, state, since_ms FROM latest",
		    SQ_NO_ARGS, latest_row, &c, err, errlen) < 0)
		goto out;
	/* Called once the query is done: fn may take its time. */
	rc = 0;
	for (size_t i = 0; i < cfg->ntargets && rc == 0; i++)
		rc = fn(&c.rows[i], arg);
out:
	if (im)
		idx_put(st, im);
	free(c.rows);
	return rc;
}

static int measurement_row(sqlite3_stmt *s, void *arg)
{
	const struct rows_ctx *c = arg;
	uint32_t i = idx_lookup(c->im, sqlite3_column_int64(s, 1));
	struct measurement m;

	if (i == STORE_NO_INDEX)
		return 0;
	memset(&m, 0, sizeof(m));
	m.target = i;
	m.at_ms = sqlite3_column_int64(s, 0);
	m.round = (uint32_t)sqlite3_column_int64(s, 2);
	m.outcome = outcome_of_code(c->st, sqlite3_column_int64(s, 3));
	m.rtt_ms = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 4);
	m.loss = (float)sqlite3_column_double(s, 5);
	m.sent = (uint16_t)sqlite3_column_int(s, 6);
	m.received = (uint16_t)sqlite3_column_int(s, 7);
	sq_copy_text(m.from, sizeof(m.from), sqlite3_column_text(s, 8));
	sq_copy_text(m.detail, sizeof(m.detail), sqlite3_column_text(s, 9));
	m.failure = failure_of_row(c->st, s, 10, &m);
	switch (sqlite3_column_int(s, 11)) {
	case 4:
		m.icmp_family = AF_INET;
		break;
	case 6:
		m.icmp_family = AF_INET6;
		break;
	}
	if (m.icmp_family) {
		m.icmp_type = (uint8_t)sqlite3_column_int(s, 12);
		m.icmp_code = (uint8_t)sqlite3_column_int(s, 13);
	}
	if (m.from[0]) {
		struct sockaddr_storage ss;
		if (addr_parse(m.from, &ss) == 0)
			ip_addr_from_sockaddr(&m.from_ip, &ss);
	}
	return c->fn.measurement(&m, c->arg);
}

int store_each_measurement(struct store *st, const struct config *cfg, int64_t since_ms, int64_t until_ms,
			   int (*fn)(const struct measurement *m, void *arg), void *arg, char *err, size_t errlen)
{
	struct rows_ctx c = {.st = st, .fn.measurement = fn, .arg = arg};

	return each_keyed(st, cfg,
			  "SELECT at_ms, target, round, outcome, rtt_ms, loss, sent, received, from_addr, detail,"
			  " failure, icmp_version, icmp_type, icmp_code FROM measurements"
			  " WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY at_ms, target, round",
			  since_ms, until_ms, measurement_row, &c, err, errlen);
}

static int change_row(sqlite3_stmt *s, void *arg)
{
	const struct rows_ctx *c = arg;
	uint32_t i = idx_lookup(c->im, sqlite3_column_int64(s, 0));
	struct store_state_change sc;

	if (i == STORE_NO_INDEX)
		return 0;
	memset(&sc, 0, sizeof(sc));
	sc.target = i;
	sc.at_ms = sqlite3_column_int64(s, 1);
	sc.round = (uint32_t)sqlite3_column_int64(s, 2);
	sc.from = state_of_text(sqlite3_column_text(s, 3));
	sc.to = state_of_text(sqlite3_column_text(s, 4));
	sq_copy_text(sc.detail, sizeof(sc.detail), sqlite3_column_text(s, 5));
	return c->fn.change(&sc, c->arg);
}

int store_each_state_change(struct store *st, const struct config *cfg, int64_t since_ms, int64_t until_ms,
			    int (*fn)(const struct store_state_change *c, void *arg), void *arg, char *err,
			    size_t errlen)
{
	struct rows_ctx c = {.st = st, .fn.change = fn, .arg = arg};

	return each_keyed(st, cfg,
			  "SELECT target, at_ms, round, from_state, to_state, detail FROM state_changes"
			  " WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY at_ms, id",
			  since_ms, until_ms, change_row, &c, err, errlen);
}

static int incident_row(sqlite3_stmt *s, void *arg)
{
	const struct rows_ctx *c = arg;
	const unsigned char *json = sqlite3_column_text(s, 1);

	return c->fn.incident(sqlite3_column_int64(s, 0), json ? (const char *)json : "null", c->arg);
}

int store_each_incident(struct store *st, const char *network, int64_t since_ms, int64_t until_ms,
			int (*fn)(int64_t id, const char *json, void *arg), void *arg, char *err, size_t errlen)
{
	struct rows_ctx c = {.st = st, .fn.incident = fn, .arg = arg};

	sq_clearerr(err, errlen);
	/* Overlap of [start, end) with [since, until); open incidents have no end. */
	return sq_rows(st, NULL, "read",
		       "SELECT id, json FROM incidents WHERE (?1 IS NULL OR network = ?1)"
		       " AND (?3 < 0 OR start_ms < ?3) AND (open <> 0 OR end_ms >= ?2) ORDER BY start_ms, id",
		       SQ_ARGS(SQ_TEXT(network), SQ_INT(since_ms), SQ_INT(until_ms)), incident_row, &c, err, errlen);
}

/* Copies the first column of the row as a string (SQL NULL: none). */
static int text_row(sqlite3_stmt *s, void *arg)
{
	char **out = arg;
	const unsigned char *v = sqlite3_column_text(s, 0);

	*out = v ? strdup((const char *)v) : NULL;
	return v && !*out ? -2 : 1;
}

/* The text of a one-row query: 1 (*out malloc'd), 0 (no row, *out NULL)
 * or -1 (err filled). */
static int get_text(struct store *st, const char *sql, const struct sq_arg *args, size_t nargs, char **out, char *err,
		    size_t errlen)
{
	int r;

	*out = NULL;
	sq_clearerr(err, errlen);
	r = sq_rows(st, NULL, "read", sql, args, nargs, text_row, out, err, errlen);
	if (r == -2)
		sq_seterr(err, errlen, "cannot read store %s: out of memory", st->path);
	return r < 0 ? -1 : *out != NULL;
}

int store_get_incident(struct store *st, int64_t id, char **json, char *err, size_t errlen)
{
	return get_text(st, "SELECT json FROM incidents WHERE id = ?1", SQ_ARGS(SQ_INT(id)), json, err, errlen);
}

char *store_get_meta(struct store *st, const char *key)
{
	char *value;

	get_text(st, "SELECT value FROM meta WHERE key = ?1", SQ_ARGS(SQ_TEXT(key)), &value, NULL, 0);
	return value;
}

/* -1 when the store cannot be read. */
int64_t store_max_incident_id(struct store *st)
{
	int64_t id;

	if (sq_int(st, NULL, "read", "SELECT coalesce(max(id), 0) FROM incidents", SQ_NO_ARGS, &id, NULL, 0) < 0)
		return -1;
	return id;
}

static int bgp_row(sqlite3_stmt *s, void *arg)
{
	const struct rows_ctx *c = arg;
	struct store_bgp_event e;

	memset(&e, 0, sizeof(e));
	e.at_ms = sqlite3_column_int64(s, 0);
	sq_copy_text(e.peer, sizeof(e.peer), sqlite3_column_text(s, 1));
	sq_copy_text(e.prefix, sizeof(e.prefix), sqlite3_column_text(s, 2));
	e.announce = sqlite3_column_int(s, 3) != 0;
	return c->fn.bgp(&e, c->arg);
}

int store_each_bgp_event(struct store *st, int64_t since_ms, int64_t until_ms,
			 int (*fn)(const struct store_bgp_event *e, void *arg), void *arg, char *err, size_t errlen)
{
	struct rows_ctx c = {.st = st, .fn.bgp = fn, .arg = arg};

	sq_clearerr(err, errlen);
	return sq_rows(st, NULL, "read",
		       "SELECT at_ms, peer, prefix, announce FROM bgp_events WHERE at_ms >= ?1 AND at_ms < ?2"
		       " ORDER BY at_ms, id",
		       SQ_ARGS(SQ_INT(since_ms), SQ_INT(until_ms)), bgp_row, &c, err, errlen);
}
