/* The store's writer: a bounded queue (ring) of fixed-size records and
 * the thread that writes them on its own connection.
 *
 * The writer takes up to STORE_BATCH_MAX records (or what arrived within
 * the batch window, STORE_BATCH_WAIT_MS, of the first), writes them in one
 * transaction in place, then frees their slots.  Slots being written still
 * count as queued.
 *
 * Reservation: a record is queued only while the ring holds fewer than
 * its kind's limit.  BGP route events may fill half the ring, measurements
 * 90% (capacity - max(1, capacity / 10) slots, at least one); state
 * changes, incidents and meta documents all of it.  So a BGP peer
 * flooding UPDATEs never takes the room of measurements, and neither
 * takes the room of state changes and incidents, which are rarer and
 * worth more.  A record that does not fit is dropped and counted per kind;
 * so is a batch whose transaction fails: it is logged at once (rate-
 * limited), /healthz reports it until a batch succeeds, and its error is
 * returned by the next store_flush or store_close.
 *
 * Prune is a request to the writer, never run by the caller (the event
 * loop): the writer deletes in chunks of about STORE_PRUNE_CHUNK rows
 * (measurements first, then single peers' BGP route events), one
 * transaction each, and writes what was queued between two chunks, so
 * neither the queue nor readers' WAL wait long. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "store/sqlite_int.h"

#define STORE_DEFAULT_QUEUE 65536
#define STORE_BATCH_MAX     4096
#define STORE_BATCH_WAIT_MS 100
#define STORE_PRUNE_CHUNK   10000
/* Failed batches logged per window: a full disk fails every batch. */
#define STORE_ERR_LOG_BURST     3
#define STORE_ERR_LOG_WINDOW_MS 60000

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
	enum store_kind type;
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
	W_PRUNE_BOUND,
	W_PRUNE_DELETE,
	W_PRUNE_BGP,
	W_COUNT
};

static const char *const wsql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    /* A second record for the same (time, target, round) is the same probe
     * round: the later one wins rather than failing the batch. */
    [W_MEAS] = "INSERT INTO measurements (at_ms, target, round, outcome, rtt_ms, loss, sent, received,"
	       " from_addr, detail, failure, icmp_version, icmp_type, icmp_code)"
	       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
	       " ON CONFLICT (at_ms, target, round) DO UPDATE SET outcome = excluded.outcome,"
	       " rtt_ms = excluded.rtt_ms, loss = excluded.loss, sent = excluded.sent,"
	       " received = excluded.received, from_addr = excluded.from_addr, detail = excluded.detail,"
	       " failure = excluded.failure, icmp_version = excluded.icmp_version,"
	       " icmp_type = excluded.icmp_type, icmp_code = excluded.icmp_code",
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
    /* The at_ms ending a prune chunk (rows sharing it go too: a chunk
     * grows by at most one ms), and the chunk's delete. */
    [W_PRUNE_BOUND] = "SELECT at_ms FROM measurements WHERE at_ms < ?1 ORDER BY at_ms LIMIT 1 OFFSET ?2",
    [W_PRUNE_DELETE] = "DELETE FROM measurements WHERE at_ms <= ?1",
    /* A chunk of single peers' route events (a flooding peer's can be
     * millions); the visibility rows stay, rejudge replays them. */
    [W_PRUNE_BGP] = "DELETE FROM bgp_events WHERE id IN (SELECT id FROM bgp_events WHERE at_ms < ?1"
		    " AND peer <> '" STORE_BGP_VISIBILITY "' ORDER BY at_ms LIMIT ?2)",
};

struct writer {
	sqlite3 *db;
	sqlite3_stmt *s[W_COUNT];
	pthread_t thread;

	/* Everything below is guarded by lock. */
	pthread_mutex_t lock;
	pthread_cond_t work; /* producers, flush, prune and close -> writer */
	pthread_cond_t done; /* writer -> flush */
	struct rec *ring;
	size_t cap, head, count;
	size_t limit[STORE_KIND_COUNT]; /* queued records below which a kind may queue */
	uint64_t enq_seq, done_seq, flush_seq;
	int64_t window_ms; /* < 0: gather until asked to write */
	bool stop;
	/* Prune requests made and finished; the cutoff of the newest. */
	uint64_t prune_req, prune_done;
	int64_t prune_cutoff;
	uint32_t *idmap; /* config index -> stored id (0: none) */
	size_t nidmap;
	char err[512]; /* a lost batch, for the next flush or close */
	bool err_pending;
	/* Whether the last batch failed, and why (/healthz); failed batches. */
	bool failing;
	char fail[sizeof(((struct store_stats *)0)->error)];
	uint64_t write_errors;
	struct log_limit fail_log; /* writer thread only */
	char perr[512];            /* a failed prune, for the next prune (or close) */
	bool perr_pending;
};

static void rec_free(struct rec *r)
{
	if (r->type == STORE_INCIDENT)
		free(r->u.inc.buf);
	else if (r->type == STORE_BGP_EVENT)
		free(r->u.bgp.buf);
	else if (r->type == STORE_META)
		free(r->u.meta.buf);
}

static int code_for(const struct store *st, enum outcome o)
{
	if ((int)o < 0 || o >= OUTCOME_COUNT)
		o = OUTCOME_ERROR;
	return st->code_of[o];
}

/* The ICMP error's version as stored: 4, 6, or 0 for none. */
static int icmp_version(const struct measurement *m)
{
	return m->icmp_family == AF_INET ? 4 : m->icmp_family == AF_INET6 ? 6 : 0;
}

static const char *state_text(enum target_state s)
{
	if ((int)s < 0 || s >= STATE_COUNT)
		s = STATE_UNKNOWN;
	return state_name(s);
}

static int write_rec(struct store *st, const struct rec *r)
{
	sqlite3_stmt *const *ws = st->w->s;

	switch (r->type) {
	case STORE_MEASUREMENT: {
		const struct measurement *m = &r->u.m;

		if (sq_step_args(ws[W_MEAS],
				 SQ_ARGS(SQ_INT(m->at_ms), SQ_INT(m->target), SQ_INT(m->round),
					 SQ_INT(code_for(st, m->outcome)), SQ_REAL(m->rtt_ms), SQ_REAL(m->loss),
					 SQ_INT(m->sent), SQ_INT(m->received), SQ_TEXT(m->from), SQ_TEXT(m->detail),
					 SQ_INT(st->fcode_of[measurement_failure(m)]), SQ_INT(icmp_version(m)),
					 SQ_INT(icmp_version(m) ? m->icmp_type : 0),
					 SQ_INT(icmp_version(m) ? m->icmp_code : 0))) < 0)
			return -1;
		return sq_step_args(ws[W_LATEST_MEAS],
				    SQ_ARGS(SQ_INT(m->target), SQ_INT(m->at_ms), SQ_INT(code_for(st, m->outcome)),
					    SQ_REAL(m->rtt_ms), SQ_TEXT(m->detail)));
	}
	case STORE_STATE_CHANGE: {
		const struct rec_state *c = &r->u.sc;

		if (sq_step_args(ws[W_STATE], SQ_ARGS(SQ_INT(c->target), SQ_INT(c->at_ms), SQ_INT(c->round),
						      SQ_TEXT(state_text(c->from)), SQ_TEXT(state_text(c->to)),
						      SQ_TEXT(c->detail))) < 0)
			return -1;
		return sq_step_args(ws[W_LATEST_STATE],
				    SQ_ARGS(SQ_INT(c->target), SQ_TEXT(state_text(c->to)), SQ_INT(c->at_ms)));
	}
	case STORE_INCIDENT: {
		const struct rec_incident *in = &r->u.inc;

		return sq_step_args(ws[W_INCIDENT], SQ_ARGS(SQ_INT(in->id), SQ_TEXT(in->network), SQ_INT(in->start_ms),
							    SQ_INT(in->end_ms), SQ_INT(in->open), SQ_TEXT(in->cause),
							    SQ_TEXT(in->json)));
	}
	case STORE_BGP_EVENT: {
		const struct rec_bgp *b = &r->u.bgp;

		return sq_step_args(ws[W_BGP], SQ_ARGS(SQ_INT(b->at_ms), SQ_TEXT(b->peer), SQ_TEXT(b->prefix),
						       SQ_INT(b->announce), SQ_TEXT(b->as_path)));
	}
	case STORE_META:
		return sq_step_args(ws[W_META], SQ_ARGS(SQ_TEXT(r->u.meta.key), SQ_TEXT(r->u.meta.value)));
	case STORE_KIND_COUNT:
		break;
	}
	return -1;
}

/* Writes ring[head .. head + n) in one transaction and frees the records.
 * Runs without the lock: producers never touch slots still counted. */
static int write_batch(struct store *st, size_t head, size_t n, uint64_t *kinds, char *msg, size_t msglen)
{
	struct writer *w = st->w;
	bool in_txn = false;
	int rc = -1;

	if (sq_step_reset(w->s[W_BEGIN]) != SQLITE_DONE) {
		sq_dberr(st, w->db, "write", msg, msglen);
		goto out;
	}
	in_txn = true;
	for (size_t i = 0; i < n; i++) {
		if (write_rec(st, &w->ring[(head + i) % w->cap]) < 0) {
			sq_dberr(st, w->db, "write", msg, msglen);
			goto out;
		}
	}
	if (sq_step_reset(w->s[W_COMMIT]) != SQLITE_DONE) {
		sq_dberr(st, w->db, "write", msg, msglen);
		goto out;
	}
	in_txn = false;
	rc = 0;
out:
	if (in_txn)
		sq_step_reset(w->s[W_ROLLBACK]);
	for (size_t i = 0; i < n; i++) {
		struct rec *r = &w->ring[(head + i) % w->cap];
		kinds[r->type]++;
		rec_free(r);
	}
	return rc;
}

/* Deletes the oldest rows before cutoff, about STORE_PRUNE_CHUNK of them,
 * in one (autocommit) transaction; *more: rows may remain. */
static int prune_chunk(struct store *st, int64_t cutoff, bool *more, char *msg, size_t msglen)
{
	struct writer *w = st->w;
	sqlite3_stmt *bound = w->s[W_PRUNE_BOUND], *del = w->s[W_PRUNE_DELETE];
	int64_t upto = 0;
	int r;

	*more = false;
	sqlite3_bind_int64(bound, 1, cutoff);
	sqlite3_bind_int(bound, 2, STORE_PRUNE_CHUNK - 1);
	r = sqlite3_step(bound);
	if (r == SQLITE_ROW) {
		upto = sqlite3_column_int64(bound, 0);
		*more = true;
	} else if (r != SQLITE_DONE) {
		sq_dberr(st, w->db, "prune", msg, msglen);
		sqlite3_reset(bound);
		return -1;
	}
	sqlite3_reset(bound);
	if (!*more) {
		if (cutoff == INT64_MIN)
			return 0;
		upto = cutoff - 1;
	}
	if (sq_step_args(del, SQ_ARGS(SQ_INT(upto))) < 0)
		return sq_dberr(st, w->db, "prune", msg, msglen);
	if (*more)
		return 0;
	/* Measurements are done: the route events' turn. */
	if (sq_step_args(w->s[W_PRUNE_BGP], SQ_ARGS(SQ_INT(cutoff), SQ_INT(STORE_PRUNE_CHUNK))) < 0)
		return sq_dberr(st, w->db, "prune", msg, msglen);
	*more = sqlite3_changes(w->db) >= STORE_PRUNE_CHUNK;
	return 0;
}

static bool prune_pending(const struct writer *w)
{
	return w->prune_done < w->prune_req;
}

static bool batch_ready(const struct writer *w)
{
	return w->count >= STORE_BATCH_MAX || w->stop || w->flush_seq > w->done_seq || prune_pending(w);
}

/* Waits (lock held) until the batch is full, asked for, or the window
 * after its first record has passed. */
static void gather(struct writer *w)
{
	struct timespec deadline;

	if (w->window_ms < 0) {
		while (!batch_ready(w))
			pthread_cond_wait(&w->work, &w->lock);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)(w->window_ms / 1000);
	deadline.tv_nsec += (long)(w->window_ms % 1000) * 1000000L;
	deadline.tv_sec += deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	while (!batch_ready(w))
		if (pthread_cond_timedwait(&w->work, &w->lock, &deadline) == ETIMEDOUT)
			break;
}

/* A failed batch is logged at once with SQLite's reason (a full disk
 * fails them all: a few lines a minute, then a count), and so is the first
 * batch that succeeds again.  Writer thread, without the lock: fail_log
 * and failing change only in this thread. */
static void log_batch(struct writer *w, int rc, size_t n, const char *msg)
{
	unsigned long long unlogged;

	if (rc == 0) {
		if (w->failing)
			log_info("store: writing again after failed batches");
		return;
	}
	if (!log_limit_pass(&w->fail_log, wall_now_ms(), STORE_ERR_LOG_BURST, STORE_ERR_LOG_WINDOW_MS, &unlogged))
		return;
	if (unlogged)
		log_warnx("store: %llu failed batches not logged (more than %d a minute)", unlogged,
			  STORE_ERR_LOG_BURST);
	log_warnx("store: %s: %zu records lost", msg, n);
}

/* Writes one batch (lock held; released while writing). */
static void batch_step(struct store *st, char *msg, size_t msglen)
{
	struct writer *w = st->w;
	size_t head = w->head, n = w->count < STORE_BATCH_MAX ? w->count : STORE_BATCH_MAX;
	uint64_t kinds[STORE_KIND_COUNT] = {0};
	int rc;

	pthread_mutex_unlock(&w->lock);
	rc = write_batch(st, head, n, kinds, msg, msglen);
	log_batch(w, rc, n, msg);
	pthread_mutex_lock(&w->lock);
	w->head = (head + n) % w->cap;
	w->count -= n;
	w->done_seq += n;
	atomic_store(&st->depth, w->count);
	w->failing = rc < 0;
	if (rc == 0) {
		atomic_fetch_add(&st->written, n);
	} else {
		/* The batch is lost: count it, report it at the next flush. */
		for (int k = 0; k < STORE_KIND_COUNT; k++)
			atomic_fetch_add(&st->dropped[k], kinds[k]);
		memcpy(w->err, msg, sizeof(w->err));
		w->err_pending = true;
		snprintf(w->fail, sizeof(w->fail), "%s", msg);
		w->write_errors++;
	}
	pthread_cond_broadcast(&w->done);
}

/* One chunk of the pending prune (lock held; released while deleting). */
static void prune_step(struct store *st, char *msg, size_t msglen)
{
	struct writer *w = st->w;
	int64_t cutoff = w->prune_cutoff;
	uint64_t req = w->prune_req;
	bool more;
	int rc;

	pthread_mutex_unlock(&w->lock);
	rc = prune_chunk(st, cutoff, &more, msg, msglen);
	pthread_mutex_lock(&w->lock);
	if (rc < 0) {
		memcpy(w->perr, msg, sizeof(w->perr));
		w->perr_pending = true;
	}
	/* A request made meanwhile (a later cutoff) keeps it pending. */
	if (rc < 0 || !more) {
		w->prune_done = req;
		pthread_cond_broadcast(&w->done);
	}
}

static void *writer_main(void *arg)
{
	struct store *st = arg;
	struct writer *w = st->w;
	char msg[sizeof(w->err)];

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->count == 0 && !prune_pending(w) && !w->stop)
			pthread_cond_wait(&w->work, &w->lock);
		if (w->count == 0 && !prune_pending(w))
			break; /* stopping and drained */
		if (w->count > 0) {
			gather(w);
			batch_step(st, msg, sizeof(msg));
		}
		if (prune_pending(w))
			prune_step(st, msg, sizeof(msg));
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void writer_free(struct writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < W_COUNT; i++)
		sqlite3_finalize(w->s[i]);
	sqlite3_close(w->db);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->lock);
	free(w->ring);
	free(w->idmap);
	free(w);
}

int writer_start(struct store *st, size_t queue_len, char *err, size_t errlen)
{
	struct writer *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	if (!w) {
		sq_seterr(err, errlen, "cannot open store %s: out of memory", st->path);
		return -1;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&w->done, NULL);
	w->window_ms = STORE_BATCH_WAIT_MS;
	w->cap = queue_len ? queue_len : STORE_DEFAULT_QUEUE;
	for (int k = 0; k < STORE_KIND_COUNT; k++)
		w->limit[k] = w->cap;
	w->limit[STORE_MEASUREMENT] = w->cap - (w->cap / 10 ? w->cap / 10 : 1);
	w->limit[STORE_BGP_EVENT] = w->cap / 2;
	for (int k = 0; k < STORE_KIND_COUNT; k++)
		if (w->limit[k] == 0)
			w->limit[k] = 1;
	w->ring = calloc(w->cap, sizeof(*w->ring));
	if (!w->ring) {
		sq_seterr(err, errlen, "cannot open store %s: out of memory for a queue of %zu records", st->path,
			  w->cap);
		goto fail;
	}
	if (sq_open_conn(st, &w->db, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < W_COUNT; i++) {
		if (sqlite3_prepare_v3(w->db, wsql[i], -1, SQLITE_PREPARE_PERSISTENT, &w->s[i], NULL) != SQLITE_OK) {
			sq_dberr(st, w->db, "open", err, errlen);
			goto fail;
		}
	}
	st->w = w;
	/* The writer takes no signals: they belong to the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->thread, NULL, writer_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		sq_seterr(err, errlen, "cannot open store %s: cannot start writer thread: %s", st->path, strerror(r));
		st->w = NULL;
		goto fail;
	}
	return 0;
fail:
	writer_free(w);
	return -1;
}

/* Reports a pending error once (lock held). */
static int take_err(char *pending, bool *is_pending, char *err, size_t errlen)
{
	if (!*is_pending)
		return 0;
	sq_seterr(err, errlen, "%s", pending);
	*is_pending = false;
	return -1;
}

int writer_stop(struct store *st, char *err, size_t errlen)
{
	struct writer *w = st->w;
	int rc;

	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL); /* drains the queue first */
	/* A lost batch first, else a failed prune nobody was told of. */
	rc = take_err(w->err, &w->err_pending, err, errlen);
	if (rc == 0)
		rc = take_err(w->perr, &w->perr_pending, err, errlen);
	st->w = NULL;
	writer_free(w);
	return rc;
}

void writer_set_ids(struct store *st, uint32_t *map, size_t n)
{
	struct writer *w = st->w;

	if (!w) {
		free(map);
		return;
	}
	pthread_mutex_lock(&w->lock);
	free(w->idmap);
	w->idmap = map;
	w->nidmap = n;
	pthread_mutex_unlock(&w->lock);
}

int store_flush(struct store *st, char *err, size_t errlen)
{
	struct writer *w = st->w;
	uint64_t target, prunes;
	int rc;

	sq_clearerr(err, errlen);
	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	target = w->enq_seq;
	prunes = w->prune_req;
	if (w->flush_seq < target)
		w->flush_seq = target;
	pthread_cond_signal(&w->work);
	while (w->done_seq < target || w->prune_done < prunes)
		pthread_cond_wait(&w->done, &w->lock);
	rc = take_err(w->err, &w->err_pending, err, errlen);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void store_set_batch_window(struct store *st, int64_t window_ms)
{
	struct writer *w = st->w;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->window_ms = window_ms;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
}

int store_prune(struct store *st, int64_t cutoff_ms, char *err, size_t errlen)
{
	struct writer *w = st->w;
	int rc;

	sq_clearerr(err, errlen);
	if (!w) {
		sq_seterr(err, errlen, "cannot prune store %s: opened for reading only", st->path);
		return -1;
	}
	pthread_mutex_lock(&w->lock);
	rc = take_err(w->perr, &w->perr_pending, err, errlen);
	/* An unfinished request with a later cutoff still holds. */
	if (!prune_pending(w) || cutoff_ms > w->prune_cutoff)
		w->prune_cutoff = cutoff_ms;
	w->prune_req++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* ---- queued writes ---- */

static bool dropped(struct store *st, enum store_kind type)
{
	atomic_fetch_add(&st->dropped[type], 1);
	return false;
}

/* Locks the queue and reserves a slot for a record of type (of the
 * target at configuration index, if keyed: *id is its stored id).  NULL,
 * unlocked and counted as dropped if there is no room, no writer or no
 * such target. */
static struct rec *slot_open(struct store *st, enum store_kind type, bool keyed, uint32_t index, uint32_t *id)
{
	struct writer *w = st->w;
	size_t limit;
	struct rec *r;

	if (!w) {
		dropped(st, type);
		return NULL;
	}
	limit = w->limit[type];
	pthread_mutex_lock(&w->lock);
	if (keyed)
		*id = index < w->nidmap ? w->idmap[index] : 0;
	if (w->stop || w->count >= limit || (keyed && *id == 0)) {
		pthread_mutex_unlock(&w->lock);
		dropped(st, type);
		return NULL;
	}
	r = &w->ring[(w->head + w->count) % w->cap];
	r->type = type;
	return r;
}

/* Queues the record slot_open reserved, and unlocks. */
static void slot_close(struct store *st)
{
	struct writer *w = st->w;

	w->count++;
	w->enq_seq++;
	atomic_store(&st->depth, w->count);
	/* Wake an idle writer, or one gathering a batch that is now full. */
	if (w->count == 1 || w->count == STORE_BATCH_MAX)
		pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
}

bool store_put_measurement(struct store *st, const struct measurement *m)
{
	uint32_t id;
	struct rec *r = slot_open(st, STORE_MEASUREMENT, true, m->target, &id);

	if (!r)
		return false;
	r->u.m = *m;
	r->u.m.target = id;
	r->u.m.from[sizeof(r->u.m.from) - 1] = '\0';
	r->u.m.detail[sizeof(r->u.m.detail) - 1] = '\0';
	slot_close(st);
	return true;
}

bool store_put_state_change(struct store *st, uint32_t target, int64_t at_ms, enum target_state from,
			    enum target_state to, uint32_t round, const char *detail)
{
	uint32_t id;
	struct rec *r = slot_open(st, STORE_STATE_CHANGE, true, target, &id);

	if (!r)
		return false;
	r->u.sc.target = id;
	r->u.sc.at_ms = at_ms;
	r->u.sc.from = from;
	r->u.sc.to = to;
	r->u.sc.round = round;
	snprintf(r->u.sc.detail, sizeof(r->u.sc.detail), "%s", detail ? detail : "");
	slot_close(st);
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

/* Queues a record of type whose n strings (in) are copied into one
 * allocation; fill completes it from the copies (out) under the lock. */
static bool put_packed(struct store *st, enum store_kind type, size_t n, const char *const *in,
		       void (*fill)(struct rec *r, char *buf, const char **out, const void *arg), const void *arg)
{
	const char *out[4];
	struct rec *r;
	char *buf = pack_strings(n, in, out);

	if (!buf)
		return dropped(st, type);
	r = slot_open(st, type, false, 0, NULL);
	if (!r) {
		free(buf);
		return false;
	}
	fill(r, buf, out, arg);
	slot_close(st);
	return true;
}

struct incident_args {
	int64_t id, start_ms, end_ms;
	bool open;
};

static void fill_incident(struct rec *r, char *buf, const char **out, const void *arg)
{
	const struct incident_args *a = arg;

	r->u.inc = (struct rec_incident){.id = a->id,
					 .start_ms = a->start_ms,
					 .end_ms = a->end_ms,
					 .open = a->open,
					 .buf = buf,
					 .network = out[0],
					 .cause = out[1],
					 .json = out[2]};
}

bool store_put_incident(struct store *st, int64_t id, const char *network, int64_t start_ms, int64_t end_ms, bool open,
			const char *cause, const char *json)
{
	const char *in[3] = {network, cause, json ? json : "null"};
	struct incident_args a = {.id = id, .start_ms = start_ms, .end_ms = end_ms, .open = open};

	return put_packed(st, STORE_INCIDENT, 3, in, fill_incident, &a);
}

struct bgp_args {
	int64_t at_ms;
	bool announce;
};

static void fill_bgp(struct rec *r, char *buf, const char **out, const void *arg)
{
	const struct bgp_args *a = arg;

	r->u.bgp = (struct rec_bgp){.at_ms = a->at_ms,
				    .announce = a->announce,
				    .buf = buf,
				    .peer = out[0],
				    .prefix = out[1],
				    .as_path = out[2]};
}

bool store_put_bgp_event(struct store *st, int64_t at_ms, const char *peer, const char *prefix, bool announce,
			 const char *as_path)
{
	const char *in[3] = {peer ? peer : "", prefix ? prefix : "", as_path ? as_path : ""};
	struct bgp_args a = {.at_ms = at_ms, .announce = announce};

	return put_packed(st, STORE_BGP_EVENT, 3, in, fill_bgp, &a);
}

static void fill_meta(struct rec *r, char *buf, const char **out, const void *arg)
{
	(void)arg;
	r->u.meta = (struct rec_meta){.buf = buf, .key = out[0], .value = out[1]};
}

bool store_put_meta(struct store *st, const char *key, const char *value)
{
	const char *in[2] = {key, value ? value : ""};

	return put_packed(st, STORE_META, 2, in, fill_meta, NULL);
}

size_t store_queue_depth(const struct store *st)
{
	return atomic_load(&st->depth);
}

uint64_t store_dropped(const struct store *st)
{
	uint64_t n = 0;

	for (int k = 0; k < STORE_KIND_COUNT; k++)
		n += atomic_load(&st->dropped[k]);
	return n;
}

const char *store_kind_name(enum store_kind k)
{
	static const char *const names[STORE_KIND_COUNT] = {
	    [STORE_MEASUREMENT] = "measurement",
	    [STORE_STATE_CHANGE] = "state_change",
	    [STORE_INCIDENT] = "incident",
	    [STORE_BGP_EVENT] = "bgp_event",
	    [STORE_META] = "meta",
	};
	return (unsigned)k < STORE_KIND_COUNT ? names[k] : "?";
}

void store_get_stats(const struct store *st, struct store_stats *out)
{
	struct writer *w = st->w;

	memset(out, 0, sizeof(*out));
	out->queue_depth = atomic_load(&st->depth);
	out->written = atomic_load(&st->written);
	for (int k = 0; k < STORE_KIND_COUNT; k++)
		out->dropped[k] = atomic_load(&st->dropped[k]);
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	out->write_errors = w->write_errors;
	out->failing = w->failing;
	if (w->failing)
		snprintf(out->error, sizeof(out->error), "%s", w->fail);
	pthread_mutex_unlock(&w->lock);
}

uint64_t store_written(const struct store *st)
{
	return atomic_load(&st->written);
}
