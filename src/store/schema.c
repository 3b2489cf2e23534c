/* The store's schema: migrations, and the outcome and failure codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "store/sqlite_int.h"

/* Each entry moves the schema from version i to i + 1 in one transaction.
 * Append only: never edit an entry that has shipped. */
static const char *const migrations[] = {
    /* 1: the initial schema. */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    /* Keyed by (network, name) so ids survive reordering; cfg_index is the
     * position at the last sync, NULL once a target leaves the config. */
    "CREATE TABLE targets (id INTEGER PRIMARY KEY, network TEXT NOT NULL, name TEXT NOT NULL,"
    " role TEXT NOT NULL, kind TEXT NOT NULL, cfg_index INTEGER, first_seen_ms INTEGER NOT NULL,"
    " UNIQUE (network, name));"
    /* Outcomes are stored as small codes named here, so reordering the
     * enum in model.h never misreads old rows. */
    "CREATE TABLE outcomes (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "INSERT INTO outcomes (code, name) VALUES (0, 'ok'), (1, 'timeout'), (2, 'refused'),"
    " (3, 'unreachable'), (4, 'error');"
    /* Raw samples: the primary key is the read order (time, then target)
     * and the prune order, so no second index is needed. */
    "CREATE TABLE measurements (at_ms INTEGER NOT NULL, target INTEGER NOT NULL, round INTEGER NOT NULL,"
    " outcome INTEGER NOT NULL, rtt_ms REAL, loss REAL NOT NULL, sent INTEGER NOT NULL,"
    " received INTEGER NOT NULL, from_addr TEXT NOT NULL, detail TEXT NOT NULL,"
    " PRIMARY KEY (at_ms, target, round)) WITHOUT ROWID;"
    /* Last measurement and state per target, for status without scanning
     * the raw table (it survives prune). */
    "CREATE TABLE latest (target INTEGER PRIMARY KEY, at_ms INTEGER, outcome INTEGER, rtt_ms REAL,"
    " detail TEXT, state TEXT, since_ms INTEGER);"
    "CREATE TABLE state_changes (id INTEGER PRIMARY KEY, target INTEGER NOT NULL, at_ms INTEGER NOT NULL,"
    " round INTEGER NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE INDEX state_changes_target_at ON state_changes (target, at_ms);"
    "CREATE INDEX state_changes_at ON state_changes (at_ms);"
    "CREATE TABLE incidents (id INTEGER PRIMARY KEY, network TEXT, start_ms INTEGER NOT NULL,"
    " end_ms INTEGER NOT NULL, open INTEGER NOT NULL, cause TEXT, json TEXT NOT NULL);"
    "CREATE INDEX incidents_start ON incidents (start_ms);"
    "CREATE TABLE bgp_events (id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, peer TEXT NOT NULL,"
    " prefix TEXT NOT NULL, announce INTEGER NOT NULL, as_path TEXT NOT NULL);"
    "CREATE INDEX bgp_events_at ON bgp_events (at_ms);",
    /* 2: what ended each round as the probe classed it, so a rejudge sees
     * what the live detector saw.  failure is a code named in failures
     * (like outcomes); NULL on rows of schema 1, whose class the reader
     * derives (read.c).  The ICMP error: version 4 or 6 (0: none), type,
     * code. */
    "CREATE TABLE failures (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "INSERT INTO failures (code, name) VALUES (0, 'none'), (1, 'timeout'), (2, 'refused'),"
    " (3, 'net-unreachable'), (4, 'host-unreachable'), (5, 'port-unreachable'), (6, 'admin-prohibited'),"
    " (7, 'ttl-exceeded'), (8, 'unreachable'), (9, 'resolve'), (10, 'protocol'), (11, 'check'), (12, 'tls'),"
    " (13, 'local');"
    "ALTER TABLE measurements ADD COLUMN failure INTEGER;"
    "ALTER TABLE measurements ADD COLUMN icmp_version INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE measurements ADD COLUMN icmp_type INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE measurements ADD COLUMN icmp_code INTEGER NOT NULL DEFAULT 0;",
};
#define STORE_SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Returns the schema version (0 for a fresh file) or -1 (err filled). */
static int schema_version(struct store *st, sqlite3 *db, char *err, size_t errlen)
{
	int64_t n, v;

	if (sq_int(st, db, "open",
		   "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'", SQ_NO_ARGS,
		   &n, err, errlen) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (sq_int(st, db, "open", "SELECT coalesce(max(version), 0) FROM schema_version", SQ_NO_ARGS, &v, err,
		   errlen) < 0)
		return -1;
	return v < 0 || v > INT32_MAX ? INT32_MAX : (int)v;
}

/* The schema version if this program knows it, else -1 (err filled). */
static int known_version(struct store *st, sqlite3 *db, char *err, size_t errlen)
{
	int v = schema_version(st, db, err, errlen);

	if (v > STORE_SCHEMA_VERSION) {
		sq_seterr(err, errlen,
			  "cannot open store %s: its schema version %d is newer than this program's %d (written by a "
			  "newer lightsout)",
			  st->path, v, STORE_SCHEMA_VERSION);
		return -1;
	}
	return v;
}

int schema_migrate(struct store *st, sqlite3 *db, char *err, size_t errlen)
{
	bool in_txn = false;
	int v, rc = -1;

	v = known_version(st, db, err, errlen);
	if (v < 0)
		goto out;
	while (v < STORE_SCHEMA_VERSION) {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
			sq_dberr(st, db, "open", err, errlen);
			goto out;
		}
		in_txn = true;
		/* Another process may have migrated while we waited. */
		v = known_version(st, db, err, errlen);
		if (v < 0)
			goto out;
		if (v == STORE_SCHEMA_VERSION)
			break;
		if (sqlite3_exec(db,
				 "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
				 " applied_ms INTEGER NOT NULL)",
				 NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
			sq_seterr(err, errlen, "cannot migrate store %s to schema version %d: %s", st->path, v + 1,
				  sqlite3_errmsg(db));
			goto out;
		}
		if (sq_rows(st, db, "open", "INSERT INTO schema_version (version, applied_ms) VALUES (?1, ?2)",
			    SQ_ARGS(SQ_INT(v + 1), SQ_INT(wall_now_ms())), NULL, NULL, err, errlen) < 0)
			goto out;
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			sq_dberr(st, db, "open", err, errlen);
			goto out;
		}
		in_txn = false;
		v++;
	}
	rc = 0;
out:
	if (in_txn)
		sqlite3_exec(db, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	return rc;
}

/* A table of names stored as small codes (outcomes, failures): n names
 * (name(i) for i < n), code_of[i] its code, value_of[code] the name's
 * index or -1. */
struct code_table {
	const char *table;
	int n;
	const char *(*name)(int i);
	int *code_of;
	int *value_of;
};

static const char *outcome_i(int i)
{
	return outcome_name((enum outcome)i);
}

static const char *failure_i(int i)
{
	return failure_name((enum failure)i);
}

static int code_row(sqlite3_stmt *s, void *arg)
{
	const struct code_table *t = arg;
	sqlite3_int64 code = sqlite3_column_int64(s, 0);
	const unsigned char *name = sqlite3_column_text(s, 1);

	for (int i = 0; name && i < t->n; i++) {
		if (code >= 0 && code < STORE_MAX_CODES && strcmp((const char *)name, t->name(i)) == 0) {
			t->value_of[code] = i;
			t->code_of[i] = (int)code;
		}
	}
	return 0;
}

/* Maps t's names to their stored codes; a writer adds names it lacks. */
static int load_codes(struct store *st, sqlite3 *db, const struct code_table *t, char *err, size_t errlen)
{
	char sql[160];

	for (size_t i = 0; i < STORE_MAX_CODES; i++)
		t->value_of[i] = -1;
	for (int i = 0; i < t->n; i++)
		t->code_of[i] = -1;
	snprintf(sql, sizeof(sql),
		 "INSERT OR IGNORE INTO %s (code, name) VALUES ((SELECT coalesce(max(code), -1) + 1 FROM %s), ?1)",
		 t->table, t->table);
	for (int i = 0; st->writer && i < t->n; i++)
		if (sq_rows(st, db, "open", sql, SQ_ARGS(SQ_TEXT(t->name(i))), NULL, NULL, err, errlen) < 0)
			return -1;
	snprintf(sql, sizeof(sql), "SELECT code, name FROM %s", t->table);
	if (sq_rows(st, db, "open", sql, SQ_NO_ARGS, code_row, (void *)t, err, errlen) < 0)
		return -1;
	for (int i = 0; st->writer && i < t->n; i++) {
		if (t->code_of[i] < 0) {
			sq_seterr(err, errlen, "cannot open store %s: no code for %s %s", st->path, t->table,
				  t->name(i));
			return -1;
		}
	}
	return 0;
}

int schema_load_codes(struct store *st, sqlite3 *db, char *err, size_t errlen)
{
	const struct code_table outcomes = {"outcomes", OUTCOME_COUNT, outcome_i, st->code_of, st->outcome_of};
	const struct code_table failures = {"failures", FAILURE_COUNT, failure_i, st->fcode_of, st->failure_of};

	return load_codes(st, db, &outcomes, err, errlen) < 0 || load_codes(st, db, &failures, err, errlen) < 0 ? -1
														: 0;
}
