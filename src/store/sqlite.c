/* The SQLite back end of the store (store.h).
 *
 * Two connections per store: `db` serves the calling threads (target sync,
 * reads, prune) under a recursive lock, so a read callback may call another
 * reading function; `wdb` belongs to the writer thread alone.  Both run in
 * WAL mode with synchronous=NORMAL: a kill -9 loses at most the batch being
 * written, never integrity, and readers in other processes never block the
 * writer.
 *
 * The queue is a ring of fixed-size records.  The writer takes up to
 * STORE_BATCH_MAX records (or what arrived within STORE_BATCH_WAIT_MS of
 * the first), writes them in one transaction in place, then frees their
 * slots.  Slots being written still count as queued.
 *
 * Reservation: measurements may fill only the first 90% of the ring
 * (capacity - max(1, capacity / 10) slots, at least one); the rest is kept
 * for state changes, incidents and BGP events, which are rarer and worth
 * more.  A record that does not fit is dropped and counted in
 * store_dropped(); so is a batch whose transaction fails (its error is
 * reported by the next store_flush or store_close).
 *
 * Reading callbacks: a non-zero return stops the iteration and is returned
 * as is (err is left empty).  store_each_target calls fn for every target
 * of cfg, stored or not (state "unknown" when nothing was recorded);
 * ordering "then target" means by stored target id, which follows the
 * order of the first configuration that registered the targets. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "store/store.h"

#define STORE_DEFAULT_QUEUE   65536
#define STORE_BATCH_MAX       4096
#define STORE_BATCH_WAIT_MS   100
#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_PRUNE_CHUNK     10000
#define STORE_MAX_CODES       64
#define STORE_NO_INDEX        UINT32_MAX

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
};
#define STORE_SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

enum rec_type { REC_MEASUREMENT, REC_STATE, REC_INCIDENT, REC_BGP, REC_META };

struct rec_state {
	uint32_t target; /* stored id */
	uint32_t round;
	int64_t at_ms;
	enum target_state from, to;
	char detail[MEASUREMENT_DETAIL_LEN];
};

/* Strings point into buf, one allocation per record. */
struct rec_incident {
	int64_t id, start_ms, end_ms;
	bool open;
	char *buf;
	const char *network; /* NULL for vantage incidents */
	const char *cause;   /* may be NULL */
	const char *json;
};

struct rec_bgp {
	int64_t at_ms;
	bool announce;
	char *buf;
	const char *peer, *prefix, *as_path;
};

struct rec_meta {
	char *buf;
	const char *key, *value;
};

struct rec {
	enum rec_type type;
	union {
		struct measurement m; /* m.target holds the stored id */
		struct rec_state sc;
		struct rec_incident inc;
		struct rec_bgp bgp;
		struct rec_meta meta;
	} u;
};

enum wstmt {
	W_BEGIN,
	W_COMMIT,
	W_ROLLBACK,
	W_MEAS,
	W_LATEST_MEAS,
	W_STATE,
	W_LATEST_STATE,
	W_INCIDENT,
	W_BGP,
	W_META,
	W_COUNT
};

static const char *const wsql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    /* A second record for the same (time, target, round) is the same probe
     * round: the later one wins rather than failing the batch. */
    [W_MEAS] = "INSERT INTO measurements (at_ms, target, round, outcome, rtt_ms, loss, sent, received,"
	       " from_addr, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
	       " ON CONFLICT (at_ms, target, round) DO UPDATE SET outcome = excluded.outcome,"
	       " rtt_ms = excluded.rtt_ms, loss = excluded.loss, sent = excluded.sent,"
	       " received = excluded.received, from_addr = excluded.from_addr, detail = excluded.detail",
    [W_LATEST_MEAS] = "INSERT INTO latest (target, at_ms, outcome, rtt_ms, detail) VALUES (?1, ?2, ?3, ?4, ?5)"
		      " ON CONFLICT (target) DO UPDATE SET at_ms = excluded.at_ms, outcome = excluded.outcome,"
		      " rtt_ms = excluded.rtt_ms, detail = excluded.detail"
		      " WHERE latest.at_ms IS NULL OR excluded.at_ms >= latest.at_ms",
    [W_STATE] = "INSERT INTO state_changes (target, at_ms, round, from_state, to_state, detail)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [W_LATEST_STATE] = "INSERT INTO latest (target, state, since_ms) VALUES (?1, ?2, ?3)"
		       " ON CONFLICT (target) DO UPDATE SET state = excluded.state, since_ms = excluded.since_ms"
		       " WHERE latest.since_ms IS NULL OR excluded.since_ms >= latest.since_ms",
    [W_INCIDENT] = "INSERT INTO incidents (id, network, start_ms, end_ms, open, cause, json)"
		   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		   " ON CONFLICT (id) DO UPDATE SET network = excluded.network, start_ms = excluded.start_ms,"
		   " end_ms = excluded.end_ms, open = excluded.open, cause = excluded.cause, json = excluded.json",
    [W_BGP] = "INSERT INTO bgp_events (at_ms, peer, prefix, announce, as_path) VALUES (?1, ?2, ?3, ?4, ?5)",
    [W_META] = "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
};

/* Stored id -> config index (STORE_NO_INDEX for targets cfg lacks). */
struct idx_map {
	uint32_t *of;
	size_t n;
};

struct store {
	char *path;
	bool writer;

	/* The id -> index map of the last configuration read with, kept
	 * while its targets and the targets table are unchanged (reading in
	 * slices must not sort every target's name again each time).
	 * Guarded by db_lock. */
	struct idx_map idx;
	const struct config *idx_cfg; /* configurations are immutable: */
	const void *idx_targets;      /* the same object, the same targets */
	size_t idx_ntargets;
	sqlite3_int64 idx_maxid;

	/* Caller side. */
	sqlite3 *db;
	pthread_mutex_t db_lock;                  /* recursive */
	int code_of[OUTCOME_COUNT];               /* outcome -> stored code */
	enum outcome outcome_of[STORE_MAX_CODES]; /* stored code -> outcome */

	/* Writer side: everything below `lock` is guarded by it. */
	sqlite3 *wdb;
	sqlite3_stmt *ws[W_COUNT];
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t work; /* producers, flush and close -> writer */
	pthread_cond_t done; /* writer -> flush */
	struct rec *ring;
	size_t cap, meas_limit, head, count;
	uint64_t enq_seq, done_seq, flush_seq;
	bool stop;
	uint32_t *idmap; /* config index -> stored id (0: none) */
	size_t nidmap;
	char werr[512];
	bool werr_pending;

	_Atomic size_t depth;
	_Atomic uint64_t dropped, written;
};

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void clearerr_buf(char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
}

/* "cannot WHAT store PATH: sqlite's reason". */
static int dberr(const struct store *st, sqlite3 *db, const char *what, char *err, size_t errlen)
{
	seterr(err, errlen, "cannot %s store %s: %s", what, st->path, db ? sqlite3_errmsg(db) : "out of memory");
	return -1;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_text(char *dst, size_t len, const unsigned char *src)
{
	snprintf(dst, len, "%s", src ? (const char *)src : "");
}

static const char *target_network(const struct config *cfg, const struct target_cfg *t)
{
	if (t->network == CONFIG_NO_NETWORK || t->network >= cfg->nnetworks || !cfg->networks[t->network].name)
		return "";
	return cfg->networks[t->network].name;
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	return sqlite3_prepare_v2(db, sql, -1, out, NULL);
}

/* Opens one connection with the pragmas every connection needs. */
static int open_conn(const struct store *st, sqlite3 **out, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	int rc = -1;

	if (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		dberr(st, db, "open", err, errlen);
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	/* Also the first read of the file: a non-database fails here. */
	if (prep(db, "PRAGMA journal_mode = WAL", &s) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		dberr(st, db, "open", err, errlen);
		goto out;
	}
	mode = sqlite3_column_text(s, 0);
	if (!mode || strcmp((const char *)mode, "wal") != 0) {
		seterr(err, errlen, "cannot open store %s: cannot enable WAL mode (journal mode is %s)", st->path,
		       mode ? (const char *)mode : "unknown");
		goto out;
	}
	/* Keep the WAL file from staying huge after a burst. */
	if (sqlite3_exec(db, "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		dberr(st, db, "open", err, errlen);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	if (rc < 0) {
		sqlite3_close(db);
		db = NULL;
	}
	*out = db;
	return rc;
}

/* Returns the schema version (0 for a fresh file) or -1. */
static int schema_version(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int v = -1;

	if (prep(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'", &s) !=
		SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto out;
	if (sqlite3_column_int(s, 0) == 0) {
		v = 0;
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (prep(db, "SELECT coalesce(max(version), 0) FROM schema_version", &s) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto out;
	v = sqlite3_column_int(s, 0);
out:
	sqlite3_finalize(s);
	return v;
}

static int newer_schema(const struct store *st, int v, char *err, size_t errlen)
{
	seterr(err, errlen,
	       "cannot open store %s: its schema version %d is newer than this program's %d (written by a newer "
	       "lightsout)",
	       st->path, v, STORE_SCHEMA_VERSION);
	return -1;
}

/* Applies the missing migrations, one transaction each. */
static int migrate(struct store *st, char *err, size_t errlen)
{
	sqlite3 *db = st->db;
	sqlite3_stmt *s = NULL;
	bool in_txn = false;
	int v, rc = -1;

	v = schema_version(db);
	if (v < 0) {
		dberr(st, db, "open", err, errlen);
		goto out;
	}
	if (v > STORE_SCHEMA_VERSION) {
		newer_schema(st, v, err, errlen);
		goto out;
	}
	while (v < STORE_SCHEMA_VERSION) {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
			dberr(st, db, "open", err, errlen);
			goto out;
		}
		in_txn = true;
		/* Another process may have migrated while we waited. */
		v = schema_version(db);
		if (v < 0) {
			dberr(st, db, "open", err, errlen);
			goto out;
		}
		if (v > STORE_SCHEMA_VERSION) {
			newer_schema(st, v, err, errlen);
			goto out;
		}
		if (v == STORE_SCHEMA_VERSION)
			break;
		if (sqlite3_exec(db,
				 "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
				 " applied_ms INTEGER NOT NULL)",
				 NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
			seterr(err, errlen, "cannot migrate store %s to schema version %d: %s", st->path, v + 1,
			       sqlite3_errmsg(db));
			goto out;
		}
		if (prep(db, "INSERT INTO schema_version (version, applied_ms) VALUES (?1, ?2)", &s) != SQLITE_OK) {
			dberr(st, db, "open", err, errlen);
			goto out;
		}
		sqlite3_bind_int(s, 1, v + 1);
		sqlite3_bind_int64(s, 2, wall_ms());
		if (sqlite3_step(s) != SQLITE_DONE) {
			dberr(st, db, "open", err, errlen);
			goto out;
		}
		sqlite3_finalize(s);
		s = NULL;
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			dberr(st, db, "open", err, errlen);
			goto out;
		}
		in_txn = false;
		v++;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	if (in_txn)
		sqlite3_exec(db, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	return rc;
}

/* Maps outcome names to stored codes; the writer adds names it lacks. */
static int load_codes(struct store *st, char *err, size_t errlen)
{
	sqlite3 *db = st->db;
	sqlite3_stmt *s = NULL;
	int r, rc = -1;

	for (size_t i = 0; i < STORE_MAX_CODES; i++)
		st->outcome_of[i] = OUTCOME_ERROR;
	for (size_t i = 0; i < OUTCOME_COUNT; i++)
		st->code_of[i] = -1;
	if (st->writer) {
		if (prep(db,
			 "INSERT OR IGNORE INTO outcomes (code, name)"
			 " VALUES ((SELECT coalesce(max(code), -1) + 1 FROM outcomes), ?1)",
			 &s) != SQLITE_OK) {
			dberr(st, db, "open", err, errlen);
			goto out;
		}
		for (int o = 0; o < OUTCOME_COUNT; o++) {
			sqlite3_bind_text(s, 1, outcome_name((enum outcome)o), -1, SQLITE_STATIC);
			r = sqlite3_step(s);
			sqlite3_reset(s);
			if (r != SQLITE_DONE) {
				dberr(st, db, "open", err, errlen);
				goto out;
			}
		}
		sqlite3_finalize(s);
		s = NULL;
	}
	if (prep(db, "SELECT code, name FROM outcomes", &s) != SQLITE_OK) {
		dberr(st, db, "open", err, errlen);
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		sqlite3_int64 code = sqlite3_column_int64(s, 0);
		const unsigned char *name = sqlite3_column_text(s, 1);
		int o = name ? outcome_from_name((const char *)name) : -1;

		if (code < 0 || code >= STORE_MAX_CODES)
			continue;
		if (o >= 0 && o < OUTCOME_COUNT) {
			st->outcome_of[code] = (enum outcome)o;
			st->code_of[o] = (int)code;
		}
	}
	if (r != SQLITE_DONE) {
		dberr(st, db, "open", err, errlen);
		goto out;
	}
	if (st->writer) {
		for (size_t i = 0; i < OUTCOME_COUNT; i++) {
			if (st->code_of[i] < 0) {
				seterr(err, errlen, "cannot open store %s: no code for outcome %s", st->path,
				       outcome_name((enum outcome)i));
				goto out;
			}
		}
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

/* ---- writer thread ---- */

static void rec_free(struct rec *r)
{
	if (r->type == REC_INCIDENT)
		free(r->u.inc.buf);
	else if (r->type == REC_BGP)
		free(r->u.bgp.buf);
	else if (r->type == REC_META)
		free(r->u.meta.buf);
}

static int step_reset(sqlite3_stmt *s)
{
	int r = sqlite3_step(s);

	sqlite3_reset(s);
	return r;
}

static int code_for(const struct store *st, enum outcome o)
{
	if ((int)o < 0 || o >= OUTCOME_COUNT)
		o = OUTCOME_ERROR;
	return st->code_of[o];
}

static const char *state_text(enum target_state s)
{
	if ((int)s < 0 || s >= STATE_COUNT)
		s = STATE_UNKNOWN;
	return state_name(s);
}

static int write_rec(struct store *st, const struct rec *r)
{
	sqlite3_stmt *s;

	switch (r->type) {
	case REC_MEASUREMENT: {
		const struct measurement *m = &r->u.m;

		s = st->ws[W_MEAS];
		sqlite3_bind_int64(s, 1, m->at_ms);
		sqlite3_bind_int64(s, 2, m->target);
		sqlite3_bind_int64(s, 3, m->round);
		sqlite3_bind_int(s, 4, code_for(st, m->outcome));
		sqlite3_bind_double(s, 5, m->rtt_ms);
		sqlite3_bind_double(s, 6, m->loss);
		sqlite3_bind_int(s, 7, m->sent);
		sqlite3_bind_int(s, 8, m->received);
		sqlite3_bind_text(s, 9, m->from, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 10, m->detail, -1, SQLITE_STATIC);
		if (step_reset(s) != SQLITE_DONE)
			return -1;
		s = st->ws[W_LATEST_MEAS];
		sqlite3_bind_int64(s, 1, m->target);
		sqlite3_bind_int64(s, 2, m->at_ms);
		sqlite3_bind_int(s, 3, code_for(st, m->outcome));
		sqlite3_bind_double(s, 4, m->rtt_ms);
		sqlite3_bind_text(s, 5, m->detail, -1, SQLITE_STATIC);
		return step_reset(s) == SQLITE_DONE ? 0 : -1;
	}
	case REC_STATE: {
		const struct rec_state *c = &r->u.sc;

		s = st->ws[W_STATE];
		sqlite3_bind_int64(s, 1, c->target);
		sqlite3_bind_int64(s, 2, c->at_ms);
		sqlite3_bind_int64(s, 3, c->round);
		sqlite3_bind_text(s, 4, state_text(c->from), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, state_text(c->to), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 6, c->detail, -1, SQLITE_STATIC);
		if (step_reset(s) != SQLITE_DONE)
			return -1;
		s = st->ws[W_LATEST_STATE];
		sqlite3_bind_int64(s, 1, c->target);
		sqlite3_bind_text(s, 2, state_text(c->to), -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, c->at_ms);
		return step_reset(s) == SQLITE_DONE ? 0 : -1;
	}
	case REC_INCIDENT: {
		const struct rec_incident *in = &r->u.inc;

		s = st->ws[W_INCIDENT];
		sqlite3_bind_int64(s, 1, in->id);
		if (in->network)
			sqlite3_bind_text(s, 2, in->network, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 2);
		sqlite3_bind_int64(s, 3, in->start_ms);
		sqlite3_bind_int64(s, 4, in->end_ms);
		sqlite3_bind_int(s, 5, in->open);
		if (in->cause)
			sqlite3_bind_text(s, 6, in->cause, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 6);
		sqlite3_bind_text(s, 7, in->json, -1, SQLITE_STATIC);
		return step_reset(s) == SQLITE_DONE ? 0 : -1;
	}
	case REC_BGP: {
		const struct rec_bgp *b = &r->u.bgp;

		s = st->ws[W_BGP];
		sqlite3_bind_int64(s, 1, b->at_ms);
		sqlite3_bind_text(s, 2, b->peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, b->prefix, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 4, b->announce);
		sqlite3_bind_text(s, 5, b->as_path, -1, SQLITE_STATIC);
		return step_reset(s) == SQLITE_DONE ? 0 : -1;
	}
	case REC_META:
		s = st->ws[W_META];
		sqlite3_bind_text(s, 1, r->u.meta.key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, r->u.meta.value, -1, SQLITE_STATIC);
		return step_reset(s) == SQLITE_DONE ? 0 : -1;
	}
	return -1;
}

/* Writes ring[head .. head + n) in one transaction and frees the records.
 * Runs without the lock: producers never touch slots still counted. */
static int write_batch(struct store *st, size_t head, size_t n, char *msg, size_t msglen)
{
	bool in_txn = false;
	int rc = -1;

	if (step_reset(st->ws[W_BEGIN]) != SQLITE_DONE) {
		dberr(st, st->wdb, "write", msg, msglen);
		goto out;
	}
	in_txn = true;
	for (size_t i = 0; i < n; i++) {
		if (write_rec(st, &st->ring[(head + i) % st->cap]) < 0) {
			dberr(st, st->wdb, "write", msg, msglen);
			goto out;
		}
	}
	if (step_reset(st->ws[W_COMMIT]) != SQLITE_DONE) {
		dberr(st, st->wdb, "write", msg, msglen);
		goto out;
	}
	in_txn = false;
	rc = 0;
out:
	if (in_txn)
		step_reset(st->ws[W_ROLLBACK]);
	for (size_t i = 0; i < n; i++)
		rec_free(&st->ring[(head + i) % st->cap]);
	return rc;
}

static bool batch_ready(const struct store *st)
{
	return st->count >= STORE_BATCH_MAX || st->stop || st->flush_seq > st->done_seq;
}

static void *writer_main(void *arg)
{
	struct store *st = arg;
	char msg[sizeof(st->werr)];
	struct timespec deadline;
	size_t head, n;
	int rc;

	pthread_mutex_lock(&st->lock);
	for (;;) {
		while (st->count == 0 && !st->stop)
			pthread_cond_wait(&st->work, &st->lock);
		if (st->count == 0)
			break; /* stopping and drained */
		if (!batch_ready(st)) {
			/* Gather a batch for up to STORE_BATCH_WAIT_MS. */
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			deadline.tv_nsec += STORE_BATCH_WAIT_MS * 1000000L;
			deadline.tv_sec += deadline.tv_nsec / 1000000000L;
			deadline.tv_nsec %= 1000000000L;
			while (!batch_ready(st)) {
				if (pthread_cond_timedwait(&st->work, &st->lock, &deadline) == ETIMEDOUT)
					break;
			}
		}
		head = st->head;
		n = st->count < STORE_BATCH_MAX ? st->count : STORE_BATCH_MAX;
		pthread_mutex_unlock(&st->lock);

		rc = write_batch(st, head, n, msg, sizeof(msg));

		pthread_mutex_lock(&st->lock);
		st->head = (head + n) % st->cap;
		st->count -= n;
		st->done_seq += n;
		atomic_store(&st->depth, st->count);
		if (rc == 0) {
			atomic_fetch_add(&st->written, n);
		} else {
			/* The batch is lost: count it, report it at the next flush. */
			atomic_fetch_add(&st->dropped, n);
			memcpy(st->werr, msg, sizeof(st->werr));
			st->werr_pending = true;
		}
		pthread_cond_broadcast(&st->done);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

static int start_writer(struct store *st, size_t queue_len, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc = -1, r;

	st->cap = queue_len ? queue_len : STORE_DEFAULT_QUEUE;
	st->meas_limit = st->cap - (st->cap / 10 ? st->cap / 10 : 1);
	if (st->meas_limit == 0)
		st->meas_limit = 1;
	st->ring = calloc(st->cap, sizeof(*st->ring));
	if (!st->ring) {
		seterr(err, errlen, "cannot open store %s: out of memory for a queue of %zu records", st->path,
		       st->cap);
		goto out;
	}
	if (open_conn(st, &st->wdb, err, errlen) < 0)
		goto out;
	for (int i = 0; i < W_COUNT; i++) {
		if (sqlite3_prepare_v3(st->wdb, wsql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->ws[i], NULL) !=
		    SQLITE_OK) {
			dberr(st, st->wdb, "open", err, errlen);
			goto out;
		}
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&st->done, NULL);
	/* The writer takes no signals: they belong to the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&st->thread, NULL, writer_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		seterr(err, errlen, "cannot open store %s: cannot start writer thread: %s", st->path, strerror(r));
		pthread_cond_destroy(&st->work);
		pthread_cond_destroy(&st->done);
		goto out;
	}
	st->thread_started = true;
	rc = 0;
out:
	return rc;
}

static void store_free(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < W_COUNT; i++)
		sqlite3_finalize(st->ws[i]);
	sqlite3_close(st->wdb);
	sqlite3_close(st->db);
	if (st->thread_started) {
		pthread_cond_destroy(&st->work);
		pthread_cond_destroy(&st->done);
	}
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->db_lock);
	free(st->ring);
	free(st->idx.of);
	free(st->idmap);
	free(st->path);
	free(st);
}

struct store *store_open(const struct config *cfg, bool writer, size_t queue_len, char *err, size_t errlen)
{
	struct store *st = NULL;
	pthread_mutexattr_t ma;
	bool ok = false;

	clearerr_buf(err, errlen);
	if (!cfg || !cfg->store || !cfg->store[0]) {
		seterr(err, errlen, "cannot open store: no store path configured");
		goto out;
	}
	/* The URI may carry a password: do not echo it. */
	if (strncmp(cfg->store, "postgresql://", 13) == 0 || strncmp(cfg->store, "postgres://", 11) == 0) {
		seterr(err, errlen, "cannot open store: PostgreSQL store not built yet (use a SQLite file path)");
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		seterr(err, errlen, "cannot open store %s: out of memory", cfg->store);
		goto out;
	}
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&st->db_lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_mutex_init(&st->lock, NULL);
	st->writer = writer;
	st->path = strdup(cfg->store);
	if (!st->path) {
		seterr(err, errlen, "cannot open store %s: out of memory", cfg->store);
		goto out;
	}
	if (open_conn(st, &st->db, err, errlen) < 0)
		goto out;
	/* SQLite falls back to read-only on a write-protected file: say so now
	 * rather than at the first batch. */
	if (writer && sqlite3_db_readonly(st->db, "main") == 1) {
		seterr(err, errlen, "cannot open store %s: attempt to write a readonly database", st->path);
		goto out;
	}
	if (migrate(st, err, errlen) < 0)
		goto out;
	if (load_codes(st, err, errlen) < 0)
		goto out;
	if (writer && start_writer(st, queue_len, err, errlen) < 0)
		goto out;
	ok = true;
out:
	if (!ok) {
		store_free(st);
		st = NULL;
	}
	return st;
}

static int take_werr(struct store *st, char *err, size_t errlen)
{
	int rc = 0;

	if (st->werr_pending) {
		seterr(err, errlen, "%s", st->werr);
		st->werr_pending = false;
		rc = -1;
	}
	return rc;
}

int store_flush(struct store *st, char *err, size_t errlen)
{
	uint64_t target;
	int rc;

	clearerr_buf(err, errlen);
	if (!st->thread_started)
		return 0;
	pthread_mutex_lock(&st->lock);
	target = st->enq_seq;
	if (st->flush_seq < target)
		st->flush_seq = target;
	pthread_cond_signal(&st->work);
	while (st->done_seq < target)
		pthread_cond_wait(&st->done, &st->lock);
	rc = take_werr(st, err, errlen);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int store_close(struct store *st, char *err, size_t errlen)
{
	int rc = 0;

	clearerr_buf(err, errlen);
	if (!st)
		return 0;
	if (st->thread_started) {
		pthread_mutex_lock(&st->lock);
		st->stop = true;
		pthread_cond_signal(&st->work);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->thread, NULL); /* drains the queue first */
		rc = take_werr(st, err, errlen);
	}
	store_free(st);
	return rc;
}

/* ---- queued writes ---- */

/* Reserves a slot for a record of type; NULL (and counted) if none.
 * Called and returns with st->lock held. */
static struct rec *slot_take(struct store *st, enum rec_type type)
{
	size_t limit = type == REC_MEASUREMENT ? st->meas_limit : st->cap;
	struct rec *r;

	if (!st->thread_started || st->stop || st->count >= limit)
		return NULL;
	r = &st->ring[(st->head + st->count) % st->cap];
	r->type = type;
	return r;
}

static void slot_commit(struct store *st)
{
	st->count++;
	st->enq_seq++;
	atomic_store(&st->depth, st->count);
	/* Wake an idle writer, or one gathering a batch that is now full. */
	if (st->count == 1 || st->count == STORE_BATCH_MAX)
		pthread_cond_signal(&st->work);
}

static uint32_t id_of(const struct store *st, uint32_t index)
{
	return index < st->nidmap ? st->idmap[index] : 0;
}

static bool dropped(struct store *st)
{
	atomic_fetch_add(&st->dropped, 1);
	return false;
}

bool store_put_measurement(struct store *st, const struct measurement *m)
{
	struct rec *r;
	uint32_t id;

	if (!st->thread_started)
		return dropped(st);
	pthread_mutex_lock(&st->lock);
	id = id_of(st, m->target);
	r = id ? slot_take(st, REC_MEASUREMENT) : NULL;
	if (!r) {
		pthread_mutex_unlock(&st->lock);
		return dropped(st);
	}
	r->u.m = *m;
	r->u.m.target = id;
	r->u.m.from[sizeof(r->u.m.from) - 1] = '\0';
	r->u.m.detail[sizeof(r->u.m.detail) - 1] = '\0';
	slot_commit(st);
	pthread_mutex_unlock(&st->lock);
	return true;
}

bool store_put_state_change(struct store *st, uint32_t target, int64_t at_ms, enum target_state from,
			    enum target_state to, uint32_t round, const char *detail)
{
	struct rec *r;
	uint32_t id;

	if (!st->thread_started)
		return dropped(st);
	pthread_mutex_lock(&st->lock);
	id = id_of(st, target);
	r = id ? slot_take(st, REC_STATE) : NULL;
	if (!r) {
		pthread_mutex_unlock(&st->lock);
		return dropped(st);
	}
	r->u.sc.target = id;
	r->u.sc.at_ms = at_ms;
	r->u.sc.from = from;
	r->u.sc.to = to;
	r->u.sc.round = round;
	snprintf(r->u.sc.detail, sizeof(r->u.sc.detail), "%s", detail ? detail : "");
	slot_commit(st);
	pthread_mutex_unlock(&st->lock);
	return true;
}

/* Copies n strings (NULL kept as NULL) into one allocation. */
static char *pack_strings(size_t n, const char *const *in, const char **out)
{
	size_t len[4], total = 0;
	char *buf, *p;

	for (size_t i = 0; i < n; i++) {
		len[i] = in[i] ? strlen(in[i]) + 1 : 0;
		total += len[i];
	}
	buf = malloc(total ? total : 1);
	if (!buf)
		return NULL;
	p = buf;
	for (size_t i = 0; i < n; i++) {
		out[i] = in[i] ? p : NULL;
		if (in[i]) {
			memcpy(p, in[i], len[i]);
			p += len[i];
		}
	}
	return buf;
}

bool store_put_incident(struct store *st, int64_t id, const char *network, int64_t start_ms, int64_t end_ms, bool open,
			const char *cause, const char *json)
{
	const char *in[3] = {network, cause, json ? json : "null"}, *out[3];
	struct rec *r;
	char *buf;

	if (!st->thread_started)
		return dropped(st);
	buf = pack_strings(3, in, out);
	if (!buf)
		return dropped(st);
	pthread_mutex_lock(&st->lock);
	r = slot_take(st, REC_INCIDENT);
	if (!r) {
		pthread_mutex_unlock(&st->lock);
		free(buf);
		return dropped(st);
	}
	r->u.inc = (struct rec_incident){.id = id,
					 .start_ms = start_ms,
					 .end_ms = end_ms,
					 .open = open,
					 .buf = buf,
					 .network = out[0],
					 .cause = out[1],
					 .json = out[2]};
	slot_commit(st);
	pthread_mutex_unlock(&st->lock);
	return true;
}

bool store_put_bgp_event(struct store *st, int64_t at_ms, const char *peer, const char *prefix, bool announce,
			 const char *as_path)
{
	const char *in[3] = {peer ? peer : "", prefix ? prefix : "", as_path ? as_path : ""}, *out[3];
	struct rec *r;
	char *buf;

	if (!st->thread_started)
		return dropped(st);
	buf = pack_strings(3, in, out);
	if (!buf)
		return dropped(st);
	pthread_mutex_lock(&st->lock);
	r = slot_take(st, REC_BGP);
	if (!r) {
		pthread_mutex_unlock(&st->lock);
		free(buf);
		return dropped(st);
	}
	r->u.bgp = (struct rec_bgp){
	    .at_ms = at_ms, .announce = announce, .buf = buf, .peer = out[0], .prefix = out[1], .as_path = out[2]};
	slot_commit(st);
	pthread_mutex_unlock(&st->lock);
	return true;
}

bool store_put_meta(struct store *st, const char *key, const char *value)
{
	const char *in[2] = {key, value ? value : ""}, *out[2];
	struct rec *r;
	char *buf;

	if (!st->thread_started)
		return dropped(st);
	buf = pack_strings(2, in, out);
	if (!buf)
		return dropped(st);
	pthread_mutex_lock(&st->lock);
	r = slot_take(st, REC_META);
	if (!r) {
		pthread_mutex_unlock(&st->lock);
		free(buf);
		return dropped(st);
	}
	r->u.meta = (struct rec_meta){.buf = buf, .key = out[0], .value = out[1]};
	slot_commit(st);
	pthread_mutex_unlock(&st->lock);
	return true;
}

char *store_get_meta(struct store *st, const char *key)
{
	sqlite3_stmt *s = NULL;
	char *value = NULL;

	pthread_mutex_lock(&st->db_lock);
	if (prep(st->db, "SELECT value FROM meta WHERE key = ?1", &s) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
			value = strdup((const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->db_lock);
	return value;
}

size_t store_queue_depth(const struct store *st)
{
	return atomic_load(&st->depth);
}

uint64_t store_dropped(const struct store *st)
{
	return atomic_load(&st->dropped);
}

uint64_t store_written(const struct store *st)
{
	return atomic_load(&st->written);
}

/* ---- targets ---- */

int store_sync_targets(struct store *st, const struct config *cfg, char *err, size_t errlen)
{
	sqlite3_stmt *clear = NULL, *up = NULL, *meta = NULL;
	uint32_t *map = NULL;
	bool in_txn = false;
	int64_t now = wall_ms();
	int rc = -1;

	clearerr_buf(err, errlen);
	pthread_mutex_lock(&st->db_lock);
	/* a (re)synced configuration may reuse the memory of an older one */
	free(st->idx.of);
	st->idx.of = NULL;
	map = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*map));
	if (!map) {
		seterr(err, errlen, "cannot write store %s: out of memory", st->path);
		goto out;
	}
	if (prep(st->db, "UPDATE targets SET cfg_index = NULL WHERE cfg_index IS NOT NULL", &clear) != SQLITE_OK ||
	    prep(st->db,
		 "INSERT INTO targets (network, name, role, kind, cfg_index, first_seen_ms)"
		 " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (network, name) DO UPDATE SET role = excluded.role,"
		 " kind = excluded.kind, cfg_index = excluded.cfg_index RETURNING id",
		 &up) != SQLITE_OK ||
	    prep(st->db,
		 "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		 &meta) != SQLITE_OK) {
		dberr(st, st->db, "write", err, errlen);
		goto out;
	}
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		dberr(st, st->db, "write", err, errlen);
		goto out;
	}
	in_txn = true;
	if (sqlite3_step(clear) != SQLITE_DONE) {
		dberr(st, st->db, "write", err, errlen);
		goto out;
	}
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target_cfg *t = &cfg->targets[i];
		sqlite3_int64 id;

		sqlite3_bind_text(up, 1, target_network(cfg, t), -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 2, t->name ? t->name : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 3, role_name(t->role), -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 4, kind_name(t->kind), -1, SQLITE_STATIC);
		sqlite3_bind_int64(up, 5, (sqlite3_int64)i);
		sqlite3_bind_int64(up, 6, now);
		if (sqlite3_step(up) != SQLITE_ROW) {
			dberr(st, st->db, "write", err, errlen);
			sqlite3_reset(up);
			goto out;
		}
		id = sqlite3_column_int64(up, 0);
		/* Drain RETURNING so the statement completes. */
		while (sqlite3_step(up) == SQLITE_ROW)
			;
		if (sqlite3_reset(up) != SQLITE_OK) {
			dberr(st, st->db, "write", err, errlen);
			goto out;
		}
		if (id <= 0 || id > UINT32_MAX) {
			seterr(err, errlen, "cannot write store %s: target id %lld out of range", st->path,
			       (long long)id);
			goto out;
		}
		map[i] = (uint32_t)id;
	}
	sqlite3_bind_text(meta, 1, "vantage", -1, SQLITE_STATIC);
	sqlite3_bind_text(meta, 2, cfg->vantage ? cfg->vantage : "", -1, SQLITE_STATIC);
	if (step_reset(meta) != SQLITE_DONE) {
		dberr(st, st->db, "write", err, errlen);
		goto out;
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		dberr(st, st->db, "write", err, errlen);
		goto out;
	}
	in_txn = false;
	pthread_mutex_lock(&st->lock);
	free(st->idmap);
	st->idmap = map;
	st->nidmap = cfg->ntargets;
	map = NULL;
	pthread_mutex_unlock(&st->lock);
	rc = 0;
out:
	if (in_txn)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(clear);
	sqlite3_finalize(up);
	sqlite3_finalize(meta);
	free(map);
	pthread_mutex_unlock(&st->db_lock);
	return rc;
}

/* ---- reading ---- */

struct cfg_key {
	const char *network, *name;
	uint32_t index;
};

static int cfg_key_cmp(const void *a, const void *b)
{
	const struct cfg_key *x = a, *y = b;
	int c = strcmp(x->network, y->network);

	return c ? c : strcmp(x->name, y->name);
}

static uint32_t idx_lookup(const struct idx_map *im, sqlite3_int64 id)
{
	return id >= 0 && (size_t)id < im->n ? im->of[id] : STORE_NO_INDEX;
}

static int idx_build(struct store *st, const struct config *cfg, struct idx_map *im, char *err, size_t errlen)
{
	struct cfg_key *keys = NULL, k, *hit;
	sqlite3_stmt *s = NULL;
	sqlite3_int64 maxid = 0;
	int r, rc = -1;

	im->of = NULL;
	im->n = 0;
	keys = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*keys));
	if (!keys) {
		seterr(err, errlen, "cannot read store %s: out of memory", st->path);
		goto out;
	}
	for (size_t i = 0; i < cfg->ntargets; i++) {
		keys[i].network = target_network(cfg, &cfg->targets[i]);
		keys[i].name = cfg->targets[i].name ? cfg->targets[i].name : "";
		keys[i].index = (uint32_t)i;
	}
	qsort(keys, cfg->ntargets, sizeof(*keys), cfg_key_cmp);
	if (prep(st->db, "SELECT coalesce(max(id), 0) FROM targets", &s) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	maxid = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (maxid < 0 || maxid > UINT32_MAX) {
		seterr(err, errlen, "cannot read store %s: target id %lld out of range", st->path, (long long)maxid);
		goto out;
	}
	im->n = (size_t)maxid + 1;
	im->of = malloc(im->n * sizeof(*im->of));
	if (!im->of) {
		seterr(err, errlen, "cannot read store %s: out of memory", st->path);
		goto out;
	}
	for (size_t i = 0; i < im->n; i++)
		im->of[i] = STORE_NO_INDEX;
	if (prep(st->db, "SELECT id, network, name FROM targets", &s) != SQLITE_OK) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(s, 0);
		const unsigned char *net = sqlite3_column_text(s, 1), *name = sqlite3_column_text(s, 2);

		if (id < 0 || (size_t)id >= im->n || !net || !name)
			continue;
		k.network = (const char *)net;
		k.name = (const char *)name;
		hit = cfg->ntargets ? bsearch(&k, keys, cfg->ntargets, sizeof(*keys), cfg_key_cmp) : NULL;
		if (hit)
			im->of[id] = hit->index;
	}
	if (r != SQLITE_DONE) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	free(keys);
	if (rc < 0) {
		free(im->of);
		im->of = NULL;
		im->n = 0;
	}
	return rc;
}

/* The cached map for cfg, rebuilt when cfg's targets or the targets
 * table (a sync added rows) changed.  Called with db_lock held. */
static int idx_get(struct store *st, const struct config *cfg, const struct idx_map **out, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	sqlite3_int64 maxid = -1;

	if (prep(st->db, "SELECT coalesce(max(id), 0) FROM targets", &s) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		maxid = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (st->idx.of == NULL || st->idx_maxid != maxid || st->idx_cfg != cfg || st->idx_targets != cfg->targets ||
	    st->idx_ntargets != cfg->ntargets) {
		free(st->idx.of);
		st->idx.of = NULL;
		if (idx_build(st, cfg, &st->idx, err, errlen) < 0) {
			free(st->idx.of);
			st->idx.of = NULL;
			return -1;
		}
		st->idx_maxid = maxid;
		st->idx_cfg = cfg;
		st->idx_targets = cfg->targets;
		st->idx_ntargets = cfg->ntargets;
	}
	*out = &st->idx;
	return 0;
}

static enum outcome outcome_of_code(const struct store *st, sqlite3_int64 code)
{
	return code >= 0 && code < STORE_MAX_CODES ? st->outcome_of[code] : OUTCOME_ERROR;
}

static enum target_state state_of_text(const unsigned char *s)
{
	int v = s ? state_from_name((const char *)s) : -1;

	return v >= 0 && v < STATE_COUNT ? (enum target_state)v : STATE_UNKNOWN;
}

int store_each_target(struct store *st, const struct config *cfg,
		      int (*fn)(const struct store_target_row *row, void *arg), void *arg, char *err, size_t errlen)
{
	struct store_target_row *rows = NULL;
	const struct idx_map *im = NULL;
	sqlite3_stmt *s = NULL;
	int r, rc = -1;

	clearerr_buf(err, errlen);
	pthread_mutex_lock(&st->db_lock);
	rows = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*rows));
	if (!rows) {
		seterr(err, errlen, "cannot read store %s: out of memory", st->path);
		goto out;
	}
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target_cfg *t = &cfg->targets[i];
		struct store_target_row *w = &rows[i];

		w->index = (uint32_t)i;
		snprintf(w->network, sizeof(w->network), "%s", target_network(cfg, t));
		snprintf(w->name, sizeof(w->name), "%s", t->name ? t->name : "");
		snprintf(w->role, sizeof(w->role), "%s", role_name(t->role));
		snprintf(w->kind, sizeof(w->kind), "%s", kind_name(t->kind));
		snprintf(w->state, sizeof(w->state), "%s", state_name(STATE_UNKNOWN));
		w->last_rtt_ms = -1;
	}
	if (idx_get(st, cfg, &im, err, errlen) < 0)
		goto out;
	if (prep(st->db, "SELECT target, at_ms, outcome, rtt_ms, detail, state, since_ms FROM latest", &s) !=
	    SQLITE_OK) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		uint32_t i = idx_lookup(im, sqlite3_column_int64(s, 0));
		struct store_target_row *w;

		if (i == STORE_NO_INDEX)
			continue;
		w = &rows[i];
		if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
			w->last_at_ms = sqlite3_column_int64(s, 1);
			snprintf(w->last_outcome, sizeof(w->last_outcome), "%s",
				 outcome_name(outcome_of_code(st, sqlite3_column_int64(s, 2))));
			w->last_rtt_ms = sqlite3_column_type(s, 3) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 3);
			copy_text(w->last_detail, sizeof(w->last_detail), sqlite3_column_text(s, 4));
		}
		if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
			snprintf(w->state, sizeof(w->state), "%s",
				 state_name(state_of_text(sqlite3_column_text(s, 5))));
			w->since_ms = sqlite3_column_int64(s, 6);
		}
	}
	if (r != SQLITE_DONE) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	rc = 0;
	for (size_t i = 0; i < cfg->ntargets && rc == 0; i++)
		rc = fn(&rows[i], arg);
out:
	sqlite3_finalize(s);
	free(rows);
	pthread_mutex_unlock(&st->db_lock);
	return rc;
}

int store_each_measurement(struct store *st, const struct config *cfg, int64_t since_ms, int64_t until_ms,
			   int (*fn)(const struct measurement *m, void *arg), void *arg, char *err, size_t errlen)
{
	const struct idx_map *im = NULL;
	sqlite3_stmt *s = NULL;
	struct measurement m;
	int r, rc = -1;

	clearerr_buf(err, errlen);
	pthread_mutex_lock(&st->db_lock);
	if (idx_get(st, cfg, &im, err, errlen) < 0)
		goto out;
	if (prep(st->db,
		 "SELECT at_ms, target, round, outcome, rtt_ms, loss, sent, received, from_addr, detail"
		 " FROM measurements WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY at_ms, target, round",
		 &s) != SQLITE_OK) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	sqlite3_bind_int64(s, 1, since_ms);
	sqlite3_bind_int64(s, 2, until_ms);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		uint32_t i = idx_lookup(im, sqlite3_column_int64(s, 1));

		if (i == STORE_NO_INDEX)
			continue;
		memset(&m, 0, sizeof(m));
		m.target = i;
		m.at_ms = sqlite3_column_int64(s, 0);
		m.round = (uint32_t)sqlite3_column_int64(s, 2);
		m.outcome = outcome_of_code(st, sqlite3_column_int64(s, 3));
		m.rtt_ms = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 4);
		m.loss = (float)sqlite3_column_double(s, 5);
		m.sent = (uint16_t)sqlite3_column_int(s, 6);
		m.received = (uint16_t)sqlite3_column_int(s, 7);
		copy_text(m.from, sizeof(m.from), sqlite3_column_text(s, 8));
		copy_text(m.detail, sizeof(m.detail), sqlite3_column_text(s, 9));
		r = fn(&m, arg);
		if (r != 0) {
			rc = r;
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->db_lock);
	return rc;
}

int store_each_state_change(struct store *st, const struct config *cfg, int64_t since_ms, int64_t until_ms,
			    int (*fn)(const struct store_state_change *c, void *arg), void *arg, char *err,
			    size_t errlen)
{
	const struct idx_map *im = NULL;
	sqlite3_stmt *s = NULL;
	struct store_state_change c;
	int r, rc = -1;

	clearerr_buf(err, errlen);
	pthread_mutex_lock(&st->db_lock);
	if (idx_get(st, cfg, &im, err, errlen) < 0)
		goto out;
	if (prep(st->db,
		 "SELECT target, at_ms, round, from_state, to_state, detail FROM state_changes"
		 " WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY at_ms, id",
		 &s) != SQLITE_OK) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	sqlite3_bind_int64(s, 1, since_ms);
	sqlite3_bind_int64(s, 2, until_ms);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		uint32_t i = idx_lookup(im, sqlite3_column_int64(s, 0));

		if (i == STORE_NO_INDEX)
			continue;
		memset(&c, 0, sizeof(c));
		c.target = i;
		c.at_ms = sqlite3_column_int64(s, 1);
		c.round = (uint32_t)sqlite3_column_int64(s, 2);
		c.from = state_of_text(sqlite3_column_text(s, 3));
		c.to = state_of_text(sqlite3_column_text(s, 4));
		copy_text(c.detail, sizeof(c.detail), sqlite3_column_text(s, 5));
		r = fn(&c, arg);
		if (r != 0) {
			rc = r;
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->db_lock);
	return rc;
}

int store_each_incident(struct store *st, const char *network, int64_t since_ms, int64_t until_ms,
			int (*fn)(int64_t id, const char *json, void *arg), void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int r, rc = -1;

	clearerr_buf(err, errlen);
	pthread_mutex_lock(&st->db_lock);
	/* Overlap of [start, end) with [since, until); open incidents have no end. */
	if (prep(st->db,
		 "SELECT id, json FROM incidents WHERE (?1 IS NULL OR network = ?1)"
		 " AND (?3 < 0 OR start_ms < ?3) AND (open <> 0 OR end_ms >= ?2) ORDER BY start_ms, id",
		 &s) != SQLITE_OK) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	if (network)
		sqlite3_bind_text(s, 1, network, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 1);
	sqlite3_bind_int64(s, 2, since_ms);
	sqlite3_bind_int64(s, 3, until_ms);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *json = sqlite3_column_text(s, 1);

		r = fn(sqlite3_column_int64(s, 0), json ? (const char *)json : "null", arg);
		if (r != 0) {
			rc = r;
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->db_lock);
	return rc;
}

/* -1 when the store cannot be read. */
int64_t store_max_incident_id(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int64_t id = -1;

	pthread_mutex_lock(&st->db_lock);
	if (prep(st->db, "SELECT coalesce(max(id), 0) FROM incidents", &s) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->db_lock);
	return id;
}

int store_each_bgp_event(struct store *st, int64_t since_ms, int64_t until_ms,
			 int (*fn)(const struct store_bgp_event *e, void *arg), void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	struct store_bgp_event e;
	int r, rc = -1;

	clearerr_buf(err, errlen);
	pthread_mutex_lock(&st->db_lock);
	if (prep(st->db,
		 "SELECT at_ms, peer, prefix, announce FROM bgp_events WHERE at_ms >= ?1 AND at_ms < ?2"
		 " ORDER BY at_ms, id",
		 &s) != SQLITE_OK) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	sqlite3_bind_int64(s, 1, since_ms);
	sqlite3_bind_int64(s, 2, until_ms);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.at_ms = sqlite3_column_int64(s, 0);
		copy_text(e.peer, sizeof(e.peer), sqlite3_column_text(s, 1));
		copy_text(e.prefix, sizeof(e.prefix), sqlite3_column_text(s, 2));
		e.announce = sqlite3_column_int(s, 3) != 0;
		r = fn(&e, arg);
		if (r != 0) {
			rc = r;
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		dberr(st, st->db, "read", err, errlen);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->db_lock);
	return rc;
}

/* Deletes in chunks of about STORE_PRUNE_CHUNK rows, one autocommit
 * transaction each, so the writer (and readers' WAL) never wait long. */
int store_prune(struct store *st, int64_t cutoff_ms, char *err, size_t errlen)
{
	sqlite3_stmt *bound = NULL, *del = NULL;
	int64_t upto;
	bool last = false;
	int r, rc = -1;

	clearerr_buf(err, errlen);
	pthread_mutex_lock(&st->db_lock);
	if (prep(st->db, "SELECT at_ms FROM measurements WHERE at_ms < ?1 ORDER BY at_ms LIMIT 1 OFFSET ?2", &bound) !=
		SQLITE_OK ||
	    prep(st->db, "DELETE FROM measurements WHERE at_ms <= ?1", &del) != SQLITE_OK) {
		dberr(st, st->db, "prune", err, errlen);
		goto out;
	}
	while (!last) {
		sqlite3_bind_int64(bound, 1, cutoff_ms);
		sqlite3_bind_int(bound, 2, STORE_PRUNE_CHUNK - 1);
		r = sqlite3_step(bound);
		if (r == SQLITE_ROW) {
			/* Rows sharing this at_ms go too: a chunk grows by at most one ms. */
			upto = sqlite3_column_int64(bound, 0);
		} else if (r == SQLITE_DONE) {
			if (cutoff_ms == INT64_MIN)
				break;
			upto = cutoff_ms - 1;
			last = true;
		} else {
			dberr(st, st->db, "prune", err, errlen);
			sqlite3_reset(bound);
			goto out;
		}
		sqlite3_reset(bound);
		sqlite3_bind_int64(del, 1, upto);
		if (step_reset(del) != SQLITE_DONE) {
			dberr(st, st->db, "prune", err, errlen);
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(bound);
	sqlite3_finalize(del);
	pthread_mutex_unlock(&st->db_lock);
	return rc;
}
