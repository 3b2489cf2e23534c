/* Live state shared between watch's loop thread (the only writer) and the
 * HTTP threads (readers): per-target current state and last round, counts,
 * open incidents, store and alert counters, BGP visibility, and per-network
 * signals aggregated into time buckets for the dashboard's timelines.
 *
 * One mutex guards everything; writers do O(1) work under it, readers copy
 * what they need out (snapshots) and render without holding it. */
#ifndef LIGHTSOUT_SERVE_LIVE_H
#define LIGHTSOUT_SERVE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/alert.h"
#include "core/model.h"

struct config;
struct store;
struct serve_live;

/* cfg must outlive the live state.  NULL on allocation failure. */
struct serve_live *serve_live_new(const struct config *cfg);
void serve_live_free(struct serve_live *l);

/* ---- written by watch (loop thread) ---- */

/* Seeds per-target state and last round from the store (status rows), then
 * backfills the timelines from stored measurements in a background thread
 * (newest first, in one-hour slices so other store readers interleave).
 * Returns 0, or -1 with err filled if the target rows cannot be read. */
int serve_live_load(struct serve_live *l, struct store *st, int64_t now_ms, char *err, size_t errlen);
/* One completed round and the target's state after the detector saw it. */
void serve_live_measurement(struct serve_live *l, const struct measurement *m, enum target_state state);
/* A state change (detector hook). */
void serve_live_state(struct serve_live *l, uint32_t target, int64_t at_ms, enum target_state state);
/* An incident opened, changed or closed (detector hook).  network NULL for
 * a vantage incident.  Only open incidents are kept. */
void serve_live_incident(struct serve_live *l, int64_t id, const char *network, bool open, const char *cause,
			 const char *json);
/* Probe rounds the engine skipped (probe_engine_missed_rounds), pushed
 * every few seconds. */
void serve_live_rounds_missed(struct serve_live *l, uint64_t missed);
/* BGP visibility of a network's prefixes: expected = configured (or
 * expected) prefixes, visible = those seen announced now. */
void serve_live_bgp(struct serve_live *l, size_t network, unsigned expected, unsigned visible);
/* A BGP peer (index in cfg->bgp.peers) changed state ("established", ...). */
void serve_live_bgp_peer(struct serve_live *l, size_t peer, const char *state);
/* Reload: to takes over from's probe and store counters (/metrics
 * counters never go back) and, for its target i, the state and last round
 * of from's target_from[i] (UINT32_MAX: a new target).  After
 * serve_live_load, before the HTTP threads read to. */
void serve_live_carry(struct serve_live *to, struct serve_live *from, const uint32_t *target_from);
/* Probing runs (true after the engine started, false when stopping). */
void serve_live_running(struct serve_live *l, bool running);

/* Where snapshots read the alert delivery counters (NULL: none, or
 * before alert_stop). */
void serve_live_set_alert(struct serve_live *l, struct alert *a);

/* ---- read by the HTTP threads ---- */

struct serve_target_snap {
	enum target_state state;
	int64_t since_ms;   /* last state change, 0 if none */
	int64_t last_at_ms; /* last round, 0 if none */
	enum outcome last_outcome;
	double last_rtt_ms; /* < 0 when none */
	float last_loss;
	char last_detail[MEASUREMENT_DETAIL_LEN];
};

struct serve_incident_snap {
	int64_t id;
	char network[64]; /* "" for vantage */
	char cause[16];
	char *json; /* owned by the snapshot */
};

struct serve_snapshot {
	int64_t taken_ms;
	bool running;
	int64_t last_measurement_ms;
	size_t ntargets;
	struct serve_target_snap *targets; /* [ntargets] */
	uint64_t probes[KIND_COUNT][OUTCOME_COUNT];
	uint64_t rounds_missed;
	size_t nnetworks;
	int *bgp_expected, *bgp_visible; /* [nnetworks], -1 when unknown */
	size_t npeers;
	char (*peer_state)[16]; /* [npeers], "" when unknown */
	size_t nincidents;
	struct serve_incident_snap *incidents; /* open ones, by id */
	size_t nalerts;
	struct alert_stats *alerts; /* [nalerts], from alert_stats */
};

/* Copies the current state.  with_targets = false skips the per-target
 * array (cheap for the index page).  0 or -1 (allocation). */
int serve_live_snapshot(struct serve_live *l, struct serve_snapshot *s, bool with_targets);
void serve_snapshot_free(struct serve_snapshot *s);

/* One aggregated point of a network's timeline. */
struct serve_point {
	int64_t t_ms;              /* bucket start */
	uint32_t seen[ROLE_COUNT]; /* rounds seen per role */
	uint32_t ok[ROLE_COUNT];   /* of them answered */
	uint32_t answered;
	double loss_sum; /* over answered rounds */
	double rtt_sum;  /* ms, over answered rounds with an RTT */
	uint32_t rtt_n;
	double bgp_sum; /* visible share, sampled per round */
	uint32_t bgp_n;
};

/* Points of network over [since_ms, until_ms) with a step of at least
 * step_ms (rounded up to the aggregation's own step; 0 = finest that
 * keeps the count under max_points).  Fills *out (malloc'd, caller frees),
 * *n and *step_out.  0, or -1 on a bad network, window or allocation. */
int serve_live_series(struct serve_live *l, size_t network, int64_t since_ms, int64_t until_ms, int64_t step_ms,
		      size_t max_points, struct serve_point **out, size_t *n, int64_t *step_out);

/* Whether the background backfill is still running (tests, /healthz detail). */
bool serve_live_backfilling(struct serve_live *l);

/* The configuration the live state describes. */
const struct config *serve_live_config(const struct serve_live *l);

#endif
