/* The SQLite back end of the store (store.h): connections, the row
 * iterator, open and close.
 *
 * Connections: the writer thread has its own (writer.c); the calling
 * threads (readers, target sync, migrations at open) take one from a small
 * pool for the duration of a call and give it back (a writer's store opens
 * a few at once, see STORE_POOL_OPEN).  No lock is held while a callback
 * runs, so a slow reader (a dashboard request, the timeline backfill)
 * never delays another reader or the writer, and a callback may call
 * another reading function (it gets a connection of its own).  All
 * connections run in WAL mode with synchronous=NORMAL: a kill -9 loses at
 * most the batch being written, never integrity, and readers never block
 * the writer.
 *
 * Reading callbacks: a non-zero return stops the iteration and is returned
 * as is (err is left empty).  store_each_target calls fn for every target
 * of cfg, stored or not (state "unknown" when nothing was recorded);
 * ordering "then target" means by stored target id, which follows the
 * order of the first configuration that registered the targets. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "store/sqlite_int.h"

#include <sys/file.h>
#include <unistd.h>

#define STORE_BUSY_TIMEOUT_MS 5000

void sq_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void sq_clearerr(char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
}

int sq_dberr(const struct store *st, sqlite3 *db, const char *what, char *err, size_t errlen)
{
	sq_seterr(err, errlen, "cannot %s store %s: %s", what, st->path, db ? sqlite3_errmsg(db) : "out of memory");
	return -1;
}

int sq_step_reset(sqlite3_stmt *s)
{
	int r = sqlite3_step(s);

	sqlite3_reset(s);
	return r;
}

void sq_copy_text(char *dst, size_t len, const unsigned char *src)
{
	snprintf(dst, len, "%s", src ? (const char *)src : "");
}

const char *sq_target_network(const struct config *cfg, const struct target_cfg *t)
{
	if (t->network == CONFIG_NO_NETWORK || t->network >= cfg->nnetworks || !cfg->networks[t->network].name)
		return "";
	return cfg->networks[t->network].name;
}

int sq_open_conn(const struct store *st, sqlite3 **out, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	int rc = -1;

	if (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		sq_dberr(st, db, "open", err, errlen);
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	/* Also the first read of the file: a non-database fails here. */
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		sq_dberr(st, db, "open", err, errlen);
		goto out;
	}
	mode = sqlite3_column_text(s, 0);
	if (!mode || strcmp((const char *)mode, "wal") != 0) {
		sq_seterr(err, errlen, "cannot open store %s: cannot enable WAL mode (journal mode is %s)", st->path,
			  mode ? (const char *)mode : "unknown");
		goto out;
	}
	/* Keep the WAL file from staying huge after a burst. */
	if (sqlite3_exec(db, "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		sq_dberr(st, db, "open", err, errlen);
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

sqlite3 *sq_conn_get(struct store *st, char *err, size_t errlen)
{
	sqlite3 *db = NULL;

	pthread_mutex_lock(&st->pool_lock);
	if (st->nidle > 0)
		db = st->idle[--st->nidle];
	pthread_mutex_unlock(&st->pool_lock);
	/* Opened outside the lock: it reads the file. */
	if (!db && sq_open_conn(st, &db, err, errlen) < 0)
		return NULL;
	return db;
}

void sq_conn_put(struct store *st, sqlite3 *db)
{
	pthread_mutex_lock(&st->pool_lock);
	if (st->nidle < STORE_IDLE_MAX) {
		st->idle[st->nidle++] = db;
		db = NULL;
	}
	pthread_mutex_unlock(&st->pool_lock);
	sqlite3_close(db);
}

static int bind_args(sqlite3_stmt *s, const struct sq_arg *args, size_t nargs)
{
	int r = SQLITE_OK;

	for (size_t i = 0; i < nargs && r == SQLITE_OK; i++) {
		const struct sq_arg *a = &args[i];

		if (a->kind == SQ_ARG_INT)
			r = sqlite3_bind_int64(s, (int)i + 1, a->i);
		else if (a->kind == SQ_ARG_REAL)
			r = sqlite3_bind_double(s, (int)i + 1, a->r);
		else if (a->t)
			r = sqlite3_bind_text(s, (int)i + 1, a->t, -1, SQLITE_STATIC);
		else
			r = sqlite3_bind_null(s, (int)i + 1);
	}
	return r;
}

int sq_step_args(sqlite3_stmt *s, const struct sq_arg *args, size_t nargs)
{
	if (bind_args(s, args, nargs) != SQLITE_OK) {
		sqlite3_reset(s);
		return -1;
	}
	return sq_step_reset(s) == SQLITE_DONE ? 0 : -1;
}

int sq_rows(struct store *st, sqlite3 *db, const char *what, const char *sql, const struct sq_arg *args, size_t nargs,
	    int (*row)(sqlite3_stmt *s, void *arg), void *arg, char *err, size_t errlen)
{
	sqlite3 *conn = db ? db : sq_conn_get(st, err, errlen);
	sqlite3_stmt *s = NULL;
	int r, rc = -1;

	if (!conn)
		return -1;
	if (sqlite3_prepare_v2(conn, sql, -1, &s, NULL) != SQLITE_OK || bind_args(s, args, nargs) != SQLITE_OK) {
		sq_dberr(st, conn, what, err, errlen);
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		int stop = row ? row(s, arg) : 0;

		if (stop != 0) {
			rc = stop;
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		sq_dberr(st, conn, what, err, errlen);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	if (!db)
		sq_conn_put(st, conn);
	return rc;
}

static int int_row(sqlite3_stmt *s, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(s, 0);
	return 1;
}

int sq_int(struct store *st, sqlite3 *db, const char *what, const char *sql, const struct sq_arg *args, size_t nargs,
	   int64_t *out, char *err, size_t errlen)
{
	int r = sq_rows(st, db, what, sql, args, nargs, int_row, out, err, errlen);

	if (r == 0) {
		sq_seterr(err, errlen, "cannot %s store %s: no result", what, st->path);
		return -1;
	}
	return r < 0 ? -1 : 0;
}

static void store_free(struct store *st)
{
	if (!st)
		return;
	idx_drop(st);
	for (size_t i = 0; i < st->nidle; i++)
		sqlite3_close(st->idle[i]);
	/* after every connection: closing another descriptor of the file
	 * while SQLite held fcntl locks on it would drop those */
	if (st->watch_lock_fd >= 0)
		close(st->watch_lock_fd);
	pthread_mutex_destroy(&st->pool_lock);
	pthread_mutex_destroy(&st->idx_lock);
	free(st->path);
	free(st);
}

struct store *store_open(const struct config *cfg, bool writer, size_t queue_len, char *err, size_t errlen)
{
	struct store *st = NULL;
	sqlite3 *db = NULL;
	bool ok = false;

	sq_clearerr(err, errlen);
	if (!cfg || !cfg->store || !cfg->store[0]) {
		sq_seterr(err, errlen, "cannot open store: no store path configured");
		goto out;
	}
	/* The URI may carry a password: do not echo it. */
	if (strncmp(cfg->store, "postgresql://", 13) == 0 || strncmp(cfg->store, "postgres://", 11) == 0) {
		sq_seterr(err, errlen, "cannot open store: PostgreSQL store not built yet (use a SQLite file path)");
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		sq_seterr(err, errlen, "cannot open store %s: out of memory", cfg->store);
		goto out;
	}
	pthread_mutex_init(&st->pool_lock, NULL);
	pthread_mutex_init(&st->idx_lock, NULL);
	st->watch_lock_fd = -1;
	st->writer = writer;
	st->path = strdup(cfg->store);
	if (!st->path) {
		sq_seterr(err, errlen, "cannot open store %s: out of memory", cfg->store);
		goto out;
	}
	db = sq_conn_get(st, err, errlen);
	if (!db)
		goto out;
	/* SQLite falls back to read-only on a write-protected file: say so now
	 * rather than at the first batch. */
	if (writer && sqlite3_db_readonly(db, "main") == 1) {
		sq_seterr(err, errlen, "cannot open store %s: attempt to write a readonly database", st->path);
		goto out;
	}
	if (schema_migrate(st, db, err, errlen) < 0 || schema_load_codes(st, db, err, errlen) < 0)
		goto out;
	sq_conn_put(st, db); /* the first reader's */
	db = NULL;
	for (size_t i = 1; writer && i < STORE_POOL_OPEN; i++) {
		if (sq_open_conn(st, &db, err, errlen) < 0)
			goto out;
		sq_conn_put(st, db);
		db = NULL;
	}
	if (writer && writer_start(st, queue_len, err, errlen) < 0)
		goto out;
	ok = true;
out:
	if (!ok) {
		sqlite3_close(db);
		store_free(st);
		st = NULL;
	}
	return st;
}

int store_lock_watch(struct store *st, char *err, size_t errlen)
{
	int fd;

	sq_clearerr(err, errlen);
	if (st->watch_lock_fd >= 0)
		return 0;
	fd = open(st->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sq_seterr(err, errlen, "cannot lock store %s: %s", st->path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			sq_seterr(err, errlen,
				  "store %s is in use by another lightsout watch: one watch per store (give each "
				  "vantage its own store file)",
				  st->path);
		else
			sq_seterr(err, errlen, "cannot lock store %s: %s", st->path, strerror(e));
		return -1;
	}
	st->watch_lock_fd = fd;
	return 0;
}

int store_close(struct store *st, char *err, size_t errlen)
{
	int rc = 0;

	sq_clearerr(err, errlen);
	if (!st)
		return 0;
	if (st->w)
		rc = writer_stop(st, err, errlen); /* drains the queue first */
	store_free(st);
	return rc;
}
