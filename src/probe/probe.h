/* Probe engine and the one interface every probe kind implements.
 *
 * The engine owns the schedule (rounds spread evenly over each interval in
 * a pseudo-random order), the global packets-per-second cap, name
 * resolution of targets, and the one completion point.  A kind owns its
 * sockets (one shared socket per family where it can) and registers them
 * with the event loop itself.
 *
 * Contract of a kind, for each (target, round) the engine starts:
 *   - it calls probe_complete() exactly once, with an enumerated outcome,
 *     no later than the deadline it was given plus the time to notice it;
 *   - it never logs results, stores or decides state: that is the
 *     completion point's job;
 *   - if a new round of the same target starts while the previous one is
 *     still open, the kind completes the old round first (with what it
 *     has; missing replies count as lost).
 */
#ifndef LIGHTSOUT_PROBE_H
#define LIGHTSOUT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/model.h"

struct ev_loop;
struct probe_engine;

/* Runtime view of one configured target. */
struct probe_target {
	uint32_t index; /* = position in config->targets */
	const struct target_cfg *cfg;
	struct sockaddr_storage addr; /* resolved address of host/server/url host */
	bool resolved;                /* addr is valid */
	char resolve_error[64];       /* why not, when !resolved */
	void *kind_data;              /* owned by the kind */
};

struct probe_ops {
	enum probe_kind kind;
	/* Called once before the first round with every target of this kind
	 * (targets[i]->cfg->kind == kind).  Opens shared sockets.  0 or -1
	 * with err filled (then watch exits 1). */
	int (*init)(struct probe_engine *e, struct probe_target **targets, size_t n, char *err, size_t errlen);
	/* Starts round `round` of t; the round must complete by deadline_ns
	 * (CLOCK_MONOTONIC).  at_ms is the wall-clock start for the record. */
	void (*start)(struct probe_engine *e, struct probe_target *t, uint32_t round, int64_t at_ms,
		      int64_t deadline_ns);
	/* Completes whatever is still open (as timeouts) and closes sockets. */
	void (*fini)(struct probe_engine *e);
	/* Optional: per-kind counters line for debugging (rejected replies...). */
	void (*stats)(struct probe_engine *e, char *buf, size_t len);
	/* Optional: called before the loop sleeps, to send batched packets
	 * (sendmmsg) under the rate cap. */
	void (*flush)(struct probe_engine *e);
};

/* The kinds compiled in; NULL for a kind not implemented yet. */
const struct probe_ops *probe_ops_for(enum probe_kind kind);

/* Called once per completed (target, round). */
typedef void (*probe_sink_fn)(const struct measurement *m, void *arg);

struct probe_engine_opts {
	unsigned max_pps;       /* global cap on packets per second (0 = none) */
	uint64_t seed;          /* schedule order and reply keys; 0 = random */
	unsigned rounds;        /* stop after this many rounds per target (0 = forever) */
	bool align_first_round; /* start every target's first round at once (probe verb) */
};

struct probe_engine *probe_engine_new(struct ev_loop *loop, const struct config *cfg,
				      const struct probe_engine_opts *opts, probe_sink_fn sink, void *sink_arg,
				      char *err, size_t errlen);
/* Resolves names, calls every kind's init, arms the schedule. */
int probe_engine_start(struct probe_engine *e, char *err, size_t errlen);
/* Closes sockets; open rounds that already have an answer complete as ok,
 * the others are dropped (cut short, they have no verdict).  No sink
 * calls after it returns. */
void probe_engine_stop(struct probe_engine *e);
void probe_engine_free(struct probe_engine *e);
/* True once every target has completed opts.rounds rounds. */
bool probe_engine_done(const struct probe_engine *e);

/* ---- for kinds ---- */
struct ev_loop *probe_engine_loop(struct probe_engine *e);
const struct config *probe_engine_config(struct probe_engine *e);
/* 16 bytes of per-run secret key for stateless reply validation. */
const uint8_t *probe_engine_key(struct probe_engine *e);
/* Rate cap: true if a packet may be sent now (and it is counted); false
 * means the kind should retry at probe_engine_next_token_ns(). */
bool probe_engine_take_token(struct probe_engine *e);
int64_t probe_engine_next_token_ns(struct probe_engine *e);
struct probe_target *probe_engine_target(struct probe_engine *e, uint32_t index);
size_t probe_engine_target_count(struct probe_engine *e);

/* The one completion point.  m->target, m->round, m->at_ms must be set by
 * the kind; everything else describes the result. */
void probe_complete(struct probe_engine *e, const struct measurement *m);

/* Helper for kinds: a measurement pre-filled for (t, round, at_ms). */
void probe_measurement_init(struct measurement *m, const struct probe_target *t, uint32_t round, int64_t at_ms);

#endif
