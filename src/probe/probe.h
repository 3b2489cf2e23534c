/* Probe engine and the one interface every probe kind implements.
 *
 * The engine owns the schedule (rounds spread evenly over each interval in
 * a pseudo-random order), the global packets-per-second cap, name
 * resolution of targets, and the one completion point.  A kind owns its
 * sockets (one shared socket per family where it can) and registers them
 * with the event loop itself.
 *
 * Contract of a kind, for each (target, round) the engine starts:
 *   - it calls probe_complete() exactly once (a second call is refused and
 *     counted), with a failure class (enum failure, which gives the
 *     outcome), no later than the deadline it was given plus the time to
 *     notice it; probe_round_end does that and the teardown;
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
};

/* A kind's state lives in a context the engine allocates (zeroed:
 * ctx_size bytes, then slot_size bytes per target of the engine, for the
 * context's per-target array) and hands to every op; no process-wide
 * state. */
struct probe_ops {
	size_t ctx_size;
	size_t slot_size;
	/* Optional: called once before the first round with every target of
	 * this kind (targets[i]->cfg->kind == kind).  Opens shared sockets.
	 * 0, or -1 with err filled, or left empty for out of memory (then
	 * watch exits 1); fini is called either way. */
	int (*init)(struct probe_engine *e, void *ctx, struct probe_target **targets, size_t n, char *err,
		    size_t errlen);
	/* Starts round `round` of t; the round must complete by deadline_ns
	 * (CLOCK_MONOTONIC).  at_ms is the wall-clock start for the record. */
	void (*start)(struct probe_engine *e, void *ctx, struct probe_target *t, uint32_t round, int64_t at_ms,
		      int64_t deadline_ns);
	/* Optional: closes what init opened (the engine has ended every open
	 * round before, see probe_round_hooks.stop, and frees ctx after). */
	void (*fini)(void *ctx);
	/* Optional: per-kind counters line for debugging (rejected replies...). */
	void (*stats)(const void *ctx, char *buf, size_t len);
	/* Optional: called before the loop sleeps, to send batched packets
	 * (sendmmsg) under the rate cap. */
	void (*flush)(void *ctx);
};

/* A kind's ops, in the order of the fields (NULL for an optional op it has
 * not). */
#define PROBE_OPS(ctx_bytes, slot_bytes, init_fn, start_fn, fini_fn, stats_fn, flush_fn)                               \
	{                                                                                                              \
		.ctx_size = (ctx_bytes), .slot_size = (slot_bytes), .init = (init_fn), .start = (start_fn),            \
		.fini = (fini_fn), .stats = (stats_fn), .flush = (flush_fn)                                            \
	}

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
/* The counters line of a kind ("tcp: idle" when none of its targets runs);
 * false if the kind keeps none. */
bool probe_engine_stats(const struct probe_engine *e, enum probe_kind kind, char *buf, size_t len);
/* Completions refused as not the first of their (target, round): a kind's
 * bug, counted rather than passed on. */
unsigned long probe_engine_refused_completions(const struct probe_engine *e);
/* Rounds not run: past when their timer could fire (the process stood
 * still), or due while their target's previous round still waited for
 * the rate cap. */
unsigned long probe_engine_missed_rounds(const struct probe_engine *e);
/* True once every target has completed opts.rounds rounds. */
bool probe_engine_done(const struct probe_engine *e);

/* ---- reload (watch, SIGHUP) ----
 * The new engine starts while the old one finishes the rounds it has
 * open: no round of an unchanged target is lost or run twice. */
/* The schedule's seed (give it to the successor: same offsets). */
uint64_t probe_engine_seed(const struct probe_engine *e);
/* The next round the engine would start for target index. */
uint32_t probe_engine_next_round(const struct probe_engine *e, uint32_t index);
/* Before probe_engine_start: target index starts with `round` (the
 * predecessor's next round), at its slot, or at once if that just passed. */
void probe_engine_resume_round(struct probe_engine *e, uint32_t index, uint32_t round);
/* After the successor started: e starts no more rounds; its open rounds
 * complete into sink (their target indices are e's), its batched sends
 * go out with the successor's.  Then, once probe_engine_idle (or when
 * it must), probe_engine_forget_predecessor(successor), stop and free e. */
void probe_engine_retire(struct probe_engine *e, struct probe_engine *successor, probe_sink_fn sink, void *sink_arg);
bool probe_engine_idle(const struct probe_engine *e);
void probe_engine_forget_predecessor(struct probe_engine *e);
/* The loop's before-sleep hook is e's again (after a successor that
 * took it failed and was freed). */
void probe_engine_take_loop_hook(struct probe_engine *e);

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
 * the kind; everything else describes the result.  Exactly once per
 * (target, round) that started: any other call is refused and counted.
 * Fills m->from from m->from_ip. */
void probe_complete(struct probe_engine *e, struct measurement *m);

/* Sets m->from_ip from a socket address (AF_UNSPEC clears it). */
void probe_measurement_set_from(struct measurement *m, const struct sockaddr_storage *ss);

/* ---- one round of one target, as every kind keeps it ---- */

struct probe_icmp_error;
struct probe_round;

typedef void (*probe_round_fn)(struct probe_round *r);

/* What differs between kinds at the end of a round. */
struct probe_round_hooks {
	/* Optional: the kind's part of the measurement of probe_round_end
	 * (rtt, counts) and the release of what it holds for the round. */
	void (*fill)(struct probe_round *r, struct measurement *m);
	/* Optional: when the engine stops, completes the round with what came
	 * so far; without it the round ends as a timeout (which the engine
	 * drops: a cut-short round has no verdict). */
	probe_round_fn stop;
};

/* Embedded as member `r` of a kind's per-target slot (see PROBE_SLOT). */
struct probe_round {
	struct probe_engine *engine;
	const struct probe_round_hooks *hooks;
	uint32_t target;
	uint32_t round;
	int64_t at_ms;       /* wall clock of the start, for the record */
	int64_t start_ns;    /* monotonic start */
	int64_t deadline_ns; /* of probe_round_send, moved by the wait for a token */
	uint64_t timer;      /* the round's one timer, 0 for none: deleted at the end */
	probe_round_fn on_timer;
	probe_round_fn on_send;
	int fd;     /* the round's own socket, -1 for none: closed at the end */
	bool reset; /* close fd with a reset instead of a FIN (no TIME_WAIT) */
	bool open;
	bool waiting; /* for a token, in the engine's queue */
	struct probe_round *wait_prev, *wait_next;
};

/* The slot of type `type` whose member `r` is round r. */
#define PROBE_SLOT(round, type) ((type *)(void *)((char *)(round)-offsetof(type, r)))

/* Opens r for round `round` of t (complete an open r first): no timer,
 * fd -1.  The engine keeps track of it until it completes. */
void probe_round_open(struct probe_round *r, struct probe_engine *e, const struct probe_target *t, uint32_t round,
		      int64_t at_ms, const struct probe_round_hooks *hooks);
/* Runs send(r) once the rate cap lets r send its first packet (the
 * connection attempt of tcp, http and smtp): at once if a token is there,
 * else in turn with the other waiting rounds.  r->deadline_ns is set from
 * deadline_ns; a round that waited starts when it sends, so its at_ms,
 * start_ns and deadline_ns move by the wait, which eats neither into the
 * timeout nor the RTT. */
void probe_round_send(struct probe_round *r, int64_t deadline_ns, probe_round_fn send);
/* Arms r's one timer (replacing it) to run fn(r) at at_ns, monotonic;
 * false if out of memory. */
bool probe_round_arm(struct probe_round *r, int64_t at_ns, probe_round_fn fn);
/* The measurement of r ending with failure f: outcome from f, one probe
 * sent, received and loss from f, the ICMP error (type, code, the router
 * that sent it) when icmp is not NULL. */
void probe_round_result(const struct probe_round *r, struct measurement *m, enum failure f,
			const struct probe_icmp_error *icmp);
/* Ends r if it is open: the result of f and icmp with the kind's fill,
 * detail from fmt; releases timer and fd and completes. */
void probe_round_end(struct probe_round *r, enum failure f, const struct probe_icmp_error *icmp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Ends r if it is open with m, built by the kind, and detail from fmt. */
void probe_round_finish(struct probe_round *r, struct measurement *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- sockets and errors the kinds share ---- */

/* The TCP connection attempt of r (tcp, smtp): r's socket, a connect to
 * its target's address at port, fn(arg) when the socket is writable and
 * on_deadline at r->deadline_ns; or the end of r if that fails at once. */
void probe_round_connect(struct probe_round *r, uint16_t port, void (*fn)(struct ev_loop *, int, unsigned, void *),
			 void *arg, probe_round_fn on_deadline);

/* Takes *fd off the loop and closes it, if it is open (>= 0); *fd = -1. */
void probe_close(struct ev_loop *loop, int *fd);

/* A non-blocking socket with IP_RECVERR / IPV6_RECVERR on, or -1 (errno). */
int probe_socket(int family, int type, int protocol);
/* Starts a non-blocking connect of fd to addr, with `port` unless it is 0:
 * 0 (connected or in progress) or the errno that ended it. */
int probe_connect(int fd, const struct sockaddr_storage *addr, uint16_t port);
/* The failure a connect ended with: SO_ERROR read first (reading the error
 * queue clears it), then the ICMP error queued on fd, if any (*icmp,
 * with offender).  FAILURE_NONE when connected. */
enum failure probe_connect_result(int fd, struct probe_icmp_error *icmp, bool *has_icmp, int *err);

#endif
