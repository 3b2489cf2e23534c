/* Internals of the SQLite back end of the store (store.h), shared by its
 * files:
 *   sqlite.c   connections, the reader pool, the row iterator, open/close
 *   schema.c   migrations, outcome and failure codes
 *   writer.c   the queue, the writer thread and its batches, prune
 *   targets.c  target sync and the stored id -> config index map
 *   read.c     the reading functions */
#ifndef LIGHTSOUT_STORE_SQLITE_INT_H
#define LIGHTSOUT_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_MAX_CODES 64
#define STORE_NO_INDEX  UINT32_MAX
#define STORE_IDLE_MAX  8 /* reader connections kept open while unused */
/* Reader connections a writer's store opens at once: watch may drop
 * privileges after store_open, and then may not open the file again.
 * Enough for its readers at once: the HTTP threads, the timeline
 * backfill and the loop. */
#define STORE_POOL_OPEN 4

struct target_cfg;
struct writer; /* writer.c */

/* Stored target id -> configuration index (STORE_NO_INDEX for targets the
 * configuration lacks), with what it was built from.  Shared by readers:
 * refs counts them and the cache; freed at zero (idx_lock). */
struct idx_map {
	uint32_t *of;
	size_t n;
	const struct config *cfg; /* configurations are immutable: */
	const void *targets;      /* the same object, the same targets */
	size_t ntargets;
	sqlite3_int64 maxid;
	unsigned refs;
};

struct store {
	char *path;
	bool writer;
	int code_of[OUTCOME_COUNT];      /* outcome -> stored code */
	int outcome_of[STORE_MAX_CODES]; /* stored code -> outcome, -1 unknown */
	int fcode_of[FAILURE_COUNT];     /* failure class -> stored code */
	int failure_of[STORE_MAX_CODES]; /* stored code -> failure class, -1 unknown */

	/* Connections of the calling threads not in use.  Each reading call
	 * (and a target sync) takes one, or opens one, for its duration, so
	 * readers in different threads never wait for each other and a read
	 * from inside a callback gets its own. */
	pthread_mutex_t pool_lock;
	sqlite3 *idle[STORE_IDLE_MAX];
	size_t nidle;

	/* The map of the last configuration read with, kept while its
	 * targets and the targets table are unchanged (reading in slices
	 * must not sort every target's name again each time). */
	pthread_mutex_t idx_lock;
	struct idx_map *idx;

	int watch_lock_fd; /* -1, or the descriptor holding store_lock_watch's flock */

	struct writer *w; /* NULL without the writer thread */
	_Atomic size_t depth;
	_Atomic uint64_t written;
	_Atomic uint64_t dropped[STORE_KIND_COUNT];
};

/* ---- sqlite.c ---- */

__attribute__((format(printf, 3, 4))) void sq_seterr(char *err, size_t errlen, const char *fmt, ...);
void sq_clearerr(char *err, size_t errlen);
/* "cannot WHAT store PATH: sqlite's reason"; returns -1. */
int sq_dberr(const struct store *st, sqlite3 *db, const char *what, char *err, size_t errlen);
/* Opens one connection with the pragmas every connection needs. */
int sq_open_conn(const struct store *st, sqlite3 **out, char *err, size_t errlen);
/* A connection for the calling thread (an idle one or a new one), and
 * its return; NULL with err filled if none can be opened. */
sqlite3 *sq_conn_get(struct store *st, char *err, size_t errlen);
void sq_conn_put(struct store *st, sqlite3 *db);
int sq_step_reset(sqlite3_stmt *s);
void sq_copy_text(char *dst, size_t len, const unsigned char *src);
const char *sq_target_network(const struct config *cfg, const struct target_cfg *t);

/* One bound parameter: an integer, a real, or text (NULL binds NULL). */
struct sq_arg {
	enum { SQ_ARG_INT, SQ_ARG_REAL, SQ_ARG_TEXT } kind;
	int64_t i;
	double r;
	const char *t;
};
#define SQ_INT(v)  ((struct sq_arg){.kind = SQ_ARG_INT, .i = (v)})
#define SQ_REAL(v) ((struct sq_arg){.kind = SQ_ARG_REAL, .r = (v)})
#define SQ_TEXT(v) ((struct sq_arg){.kind = SQ_ARG_TEXT, .t = (v)})
/* A parameter list: SQ_ARGS(SQ_INT(a), SQ_TEXT(b)) binds ?1 and ?2. */
#define SQ_ARGS(...)                                                                                                   \
	(const struct sq_arg[]){__VA_ARGS__}, sizeof((struct sq_arg[]){__VA_ARGS__}) / sizeof(struct sq_arg)
#define SQ_NO_ARGS NULL, 0

/* Binds args to the prepared statement s, runs it to completion (it
 * returns no rows) and resets it: 0, or -1 (the connection's error). */
int sq_step_args(sqlite3_stmt *s, const struct sq_arg *args, size_t nargs);

/* The row iterator: runs sql on db (NULL: a connection of the pool, for
 * the call's duration) with args bound to ?1.. and calls row (if not
 * NULL) for every result row.  row's non-zero return stops the iteration
 * and is returned as is (err left alone); 0 once every row was seen; -1
 * with err filled ("cannot WHAT store PATH: reason") on an error. */
int sq_rows(struct store *st, sqlite3 *db, const char *what, const char *sql, const struct sq_arg *args, size_t nargs,
	    int (*row)(sqlite3_stmt *s, void *arg), void *arg, char *err, size_t errlen);
/* sq_rows of a query of one integer (its first row's first column). */
int sq_int(struct store *st, sqlite3 *db, const char *what, const char *sql, const struct sq_arg *args, size_t nargs,
	   int64_t *out, char *err, size_t errlen);

/* ---- schema.c ---- */

/* Applies the missing migrations, one transaction each. */
int schema_migrate(struct store *st, sqlite3 *db, char *err, size_t errlen);
/* Maps outcome and failure names to stored codes; a writer adds names it
 * lacks. */
int schema_load_codes(struct store *st, sqlite3 *db, char *err, size_t errlen);

/* ---- writer.c ---- */

int writer_start(struct store *st, size_t queue_len, char *err, size_t errlen);
/* Drains the queue, stops the thread, frees it; -1 with err filled if a
 * batch was lost since the last flush, or a prune failed unreported. */
int writer_stop(struct store *st, char *err, size_t errlen);
/* Config index -> stored id for the queued writes (takes map). */
void writer_set_ids(struct store *st, uint32_t *map, size_t n);

/* ---- targets.c ---- */

/* The cached map for cfg (a reference: give it back with idx_put),
 * rebuilt when cfg's targets or the targets table changed. */
int idx_get(struct store *st, const struct config *cfg, struct idx_map **out, char *err, size_t errlen);
void idx_put(struct store *st, struct idx_map *im);
/* Forgets the cached map (a sync, close). */
void idx_drop(struct store *st);

static inline uint32_t idx_lookup(const struct idx_map *im, sqlite3_int64 id)
{
	return id >= 0 && (size_t)id < im->n ? im->of[id] : STORE_NO_INDEX;
}

#endif
