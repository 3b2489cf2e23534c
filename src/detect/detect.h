/* The incident detector: measurements (and BGP visibility) in, target
 * state changes and incidents out.  A pure function of its input: no
 * clock, no I/O, no randomness.  Measurements of one round may arrive in
 * any order; rounds are judged in round order, each one when it is
 * complete (every target due in it has reported) or when a round
 * DETECT_LAG_ROUNDS later has arrived, so the live run (completion order)
 * and `report --rejudge` (stored order) give the same incidents.
 *
 * Rounds: m->round counts the target's own interval from the schedule's
 * shared epoch; a target with the top-level interval has its round r in
 * slot r, others are mapped to slot round * interval / top-level interval.
 *
 * Incident documents are the JSON objects of SPEC.md "Report (JSON)". */
#ifndef LIGHTSOUT_DETECT_H
#define LIGHTSOUT_DETECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/model.h"
#include "detect/health.h"

struct config;
struct detector;

#define DETECT_LAG_ROUNDS 2

enum detect_cause {
	CAUSE_STRESS,
	CAUSE_POWER,
	CAUSE_ROUTING,
	CAUSE_FILTERING,
	CAUSE_DNS,
	CAUSE_HOST,
	CAUSE_VANTAGE,
	CAUSE_UNKNOWN,
	CAUSE_COUNT
};
const char *detect_cause_name(enum detect_cause c);

struct detect_hooks {
	/* A target's state changed in round `round` (the measurement's at_ms).
	 * detail is a short human sentence ("3 rounds failed: timeout"). */
	void (*on_state_change)(void *arg, uint32_t target, int64_t at_ms, uint32_t round, enum target_state from,
				enum target_state to, const char *detail);
	/* An incident opened, changed (cause, phases, targets) or closed, and
	 * on detect_finish for every open one (fresh severity).  network is
	 * NULL for a vantage incident; end_ms is -1 while open; doc is the
	 * incident's SPEC.md document, to read fields from (valid during the
	 * call only: json_deep_copy to keep it); detect_incident_text gives
	 * its text (to store, to send). */
	void (*on_incident)(void *arg, int64_t id, const char *network, int64_t start_ms, int64_t end_ms, bool open,
			    const char *cause, const json_t *doc);
};

/* The text of an incident document as stored and sent (compact, fields
 * in the document's order); malloc'd, the caller frees.  Never NULL. */
char *detect_incident_text(const json_t *doc);

/* cfg must outlive the detector.  hooks may be NULL (or any callback). */
struct detector *detect_new(const struct config *cfg, const struct detect_hooks *hooks, void *arg);
void detect_free(struct detector *d);

/* One completed round of one target, in any order within a round.  A
 * measurement for a round already judged is dropped and counted. */
void detect_feed(struct detector *d, const struct measurement *m);

/* BGP visibility of a network's prefixes (network = index in
 * cfg->networks): withdrawn = true when they stopped being visible,
 * false when (re)announced.  The BGP module should also call it with
 * withdrawn = false when it first sees them announced (session up, RIB
 * loaded): only a network with BGP data can be judged `filtering`.
 * Applied in time order before the round whose slot covers at_ms. */
void detect_bgp(struct detector *d, size_t network, int64_t at_ms, bool withdrawn, const struct prefix *prefixes,
		size_t n);

/* End of input: judges every pending round and reports every open
 * incident once more.  Open incidents stay open. */
void detect_finish(struct detector *d);

/* Continuation across runs: the next watch calls detect_set_next_id with
 * store_max_incident_id() + 1, then detect_resume with the stored JSON of
 * every incident that is still open ("end": null).  A resumed incident
 * keeps its id, start, phases, targets and cause; its targets are judged
 * afresh (from unknown) and it closes when they are all up again.
 * Returns 0, or -1 with err filled (unknown network, bad document). */
void detect_set_next_id(struct detector *d, int64_t next_id);
int detect_resume(struct detector *d, const char *json, char *err, size_t errlen);

/* Reload (watch, SIGHUP): the next incident id, and the state of the
 * targets and networks a new configuration keeps unchanged: after
 * detect_finish(from), detect_carry(to, from, ...) copies per-target
 * health (state, streaks, baselines) of target i of `to` from
 * target_from[i] of `from` (UINT32_MAX: a new target) and a network's
 * round signals and BGP view from net_from[i] (SIZE_MAX: new); then
 * detect_set_next_id and detect_resume continue the open incidents. */
int64_t detect_next_id(const struct detector *d);
void detect_carry(struct detector *to, const struct detector *from, const uint32_t *target_from,
		  const size_t *net_from);

/* Live state (status, dashboard). */
const struct target_health *detect_target_health(const struct detector *d, uint32_t target);
size_t detect_open_incidents(const struct detector *d);
uint64_t detect_late_dropped(const struct detector *d);

#endif
