/* The store: one interface, SQLite back end (WAL).  Writes and prune go
 * through a writer thread with a bounded queue and one transaction per
 * batch; when the queue is full, measurements are dropped and counted,
 * never blocking the probing thread.  A batch that cannot be written is
 * logged at once (rate-limited) by the writer thread, with SQLite's
 * reason.  Reads take a connection of their
 * own for the call (any thread; no lock is held while callbacks run), so
 * a slow reader delays neither other readers nor the writer.
 * Functions return 0 or -1 and fill err; they never log or exit. */
#ifndef LIGHTSOUT_STORE_H
#define LIGHTSOUT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct config;
struct store;

/* Opens (creating and migrating) the store named by cfg->store.  With
 * writer, starts the writer thread.  queue_len bounds the queue (0 =
 * default 65536 records). */
struct store *store_open(const struct config *cfg, bool writer, size_t queue_len, char *err, size_t errlen);
/* One watch per store: takes an exclusive lock held until store_close
 * (SQLite: flock(2) on the database file, which SQLite's own fcntl locks
 * do not see; the kernel drops it if the process dies).  Returns -1 with
 * a message naming the store when another process holds it. */
int store_lock_watch(struct store *st, char *err, size_t errlen);
/* Flushes everything queued, stops the writer, closes.  Returns -1 if the
 * final flush failed (err filled). */
int store_close(struct store *st, char *err, size_t errlen);

/* Registers the configuration's targets (names, networks, roles, kinds)
 * and the vantage; keeps ids stable across runs by (network, name). */
int store_sync_targets(struct store *st, const struct config *cfg, char *err, size_t errlen);

/* Queued writes: never block; return false if the record was dropped. */
bool store_put_measurement(struct store *st, const struct measurement *m);
bool store_put_state_change(struct store *st, uint32_t target, int64_t at_ms, enum target_state from,
			    enum target_state to, uint32_t round, const char *detail);
/* An opaque JSON document per incident, keyed by id (detector owns ids). */
bool store_put_incident(struct store *st, int64_t id, const char *network, int64_t start_ms, int64_t end_ms, bool open,
			const char *cause, const char *json);
/* The peer name of a network-level visibility change (a majority of the
 * synced peers sees the prefix, or no longer does): what the detector
 * judges, stored so a rejudge replays the same input. */
#define STORE_BGP_VISIBILITY "*"

/* BGP: one announce (announce = true) or withdraw of prefix at at_ms. */
bool store_put_bgp_event(struct store *st, int64_t at_ms, const char *peer, const char *prefix, bool announce,
			 const char *as_path);

/* A small named document (e.g. "bgp": the collector's peers and the
 * networks' visibility), replaced on every put; queued like the rest. */
bool store_put_meta(struct store *st, const char *key, const char *value);
/* The stored value (malloc'd, caller frees) or NULL if none. */
char *store_get_meta(struct store *st, const char *key);

/* What a queued record is; the queue counts drops per kind. */
enum store_kind {
	STORE_MEASUREMENT,
	STORE_STATE_CHANGE,
	STORE_INCIDENT,
	STORE_BGP_EVENT,
	STORE_META,
	STORE_KIND_COUNT
};
/* "measurement", "state_change", "incident", "bgp_event", "meta". */
const char *store_kind_name(enum store_kind k);

/* Counters for /metrics and status. */
size_t store_queue_depth(const struct store *st);
uint64_t store_dropped(const struct store *st); /* every kind */
uint64_t store_written(const struct store *st);

/* The writer's health, for /metrics and /healthz (any thread). */
struct store_stats {
	size_t queue_depth;
	uint64_t written;
	uint64_t dropped[STORE_KIND_COUNT]; /* no room in the queue, or their batch failed */
	uint64_t write_errors;              /* batches whose transaction failed */
	bool failing;                       /* the last batch failed; error says why */
	char error[512];                    /* "cannot write store PATH: sqlite's reason" */
};
void store_get_stats(const struct store *st, struct store_stats *out);
/* Waits until everything queued so far (prunes too) is committed (tests,
 * shutdown); -1 if a batch was lost since the last flush. */
int store_flush(struct store *st, char *err, size_t errlen);
/* How long the writer gathers a batch after its first record (default
 * 100 ms).  Negative: until a flush, a full batch, a prune or close, so
 * what is queued between two flushes is one batch (tests, instead of
 * racing the clock). */
void store_set_batch_window(struct store *st, int64_t window_ms);

/* ---- reading (any connection) ---- */

struct store_target_row {
	uint32_t index;   /* position in the configuration at sync time */
	char network[64]; /* "" for controls */
	char name[64];
	char role[16];
	char kind[16];
	char state[16];     /* last state change's new state, "unknown" if none */
	int64_t since_ms;   /* time of that change, 0 if none */
	int64_t last_at_ms; /* last measurement, 0 if none */
	char last_outcome[16];
	double last_rtt_ms;
	char last_detail[MEASUREMENT_DETAIL_LEN];
};

/* Calls fn for every known target of cfg (in configuration order). */
int store_each_target(struct store *st, const struct config *cfg,
		      int (*fn)(const struct store_target_row *row, void *arg), void *arg, char *err, size_t errlen);

/* Measurements with since_ms <= at_ms < until_ms in time order (then target). */
int store_each_measurement(struct store *st, const struct config *cfg, int64_t since_ms, int64_t until_ms,
			   int (*fn)(const struct measurement *m, void *arg), void *arg, char *err, size_t errlen);

struct store_state_change {
	uint32_t target;
	int64_t at_ms;
	uint32_t round;
	enum target_state from, to;
	char detail[MEASUREMENT_DETAIL_LEN];
};
int store_each_state_change(struct store *st, const struct config *cfg, int64_t since_ms, int64_t until_ms,
			    int (*fn)(const struct store_state_change *c, void *arg), void *arg, char *err,
			    size_t errlen);

/* Incidents overlapping [since, until) (until < 0: no bound), optionally of
 * one network, ordered by start; fn receives the stored JSON. */
int store_each_incident(struct store *st, const char *network, int64_t since_ms, int64_t until_ms,
			int (*fn)(int64_t id, const char *json, void *arg), void *arg, char *err, size_t errlen);
/* The stored JSON of incident id: 1 and *json (malloc'd, caller frees);
 * 0 and *json = NULL if there is none; -1 on error. */
int store_get_incident(struct store *st, int64_t id, char **json, char *err, size_t errlen);
/* Highest incident id stored (0 if none) and the open incidents, so the
 * next watch continues them. */
int64_t store_max_incident_id(struct store *st);

struct store_bgp_event {
	int64_t at_ms;
	char peer[64];
	char prefix[64];
	bool announce;
};
int store_each_bgp_event(struct store *st, int64_t since_ms, int64_t until_ms,
			 int (*fn)(const struct store_bgp_event *e, void *arg), void *arg, char *err, size_t errlen);

/* Deletes raw measurements and single peers' BGP route events older than
 * cutoff (retention); kept for ever: state changes, incidents, and the
 * visibility changes (peer STORE_BGP_VISIBILITY) a rejudge replays.  Queued for the writer, never
 * blocks: done by the next store_flush.  Returns -1 (err filled) if the
 * store has no writer, or with the error of an earlier prune that failed
 * (this one is queued all the same); store_close reports a failure no
 * prune reported. */
int store_prune(struct store *st, int64_t cutoff_ms, char *err, size_t errlen);

#endif
