/* The probe engine: schedule, rate cap, name resolution, completion point. */
#include "probe/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/ev.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "probe/engine_round.h"
#include "probe/schedule.h"

/* Names (not literals) are re-resolved in a thread, since getaddrinfo
 * blocks, every RESOLVE_EVERY_ROUNDS intervals and at least every
 * RESOLVE_MIN_MS; the loop applies an answer when the target's next round
 * starts.  A failed re-resolution keeps the last good address. */
#define RESOLVE_EVERY_ROUNDS 60
#define RESOLVE_MIN_MS       (60 * 1000)

struct name_answer {
	struct sockaddr_storage addr;
	bool fresh; /* not applied yet */
	bool ok;
	char error[64];
};

struct resolver {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	bool running;
	int64_t every_ms;
	uint32_t *targets; /* indices of targets named by a host name */
	struct name_answer *answers;
	size_t n;
};

static void resolver_stop(struct resolver *r);

struct schedule_slot {
	struct probe_engine *engine;
	int32_t name; /* index in the resolver's list, -1 for literals */
	uint32_t target;
	uint32_t round;     /* next round to start */
	uint32_t last_done; /* the last round completed, when any_done */
	bool any_done;
	bool ran;                 /* a round of it started */
	struct probe_round *open; /* the kind's round not completed yet, if any */
	unsigned started_rounds;
	unsigned done_rounds;
	int64_t interval_ns;
	int64_t next_start_ns; /* monotonic, as planned */
	uint64_t timer;
	uint32_t resume_round; /* reload: the predecessor's next round of it */
	bool resume;
	bool realign;           /* reload: its first round runs even if late, the next one in its slot */
	int64_t slot_offset_ms; /* of its rounds in their slots, while realign */
};

/* Rounds skipped as past after a stall, summed up for one log line. */
struct stall {
	unsigned long rounds;
	size_t targets;
	int64_t late_ns; /* the most any of them was late */
	uint64_t timer;  /* the log line, once this iteration's rounds ran */
};

struct probe_engine {
	struct ev_loop *loop;
	const struct config *cfg;
	struct probe_engine_opts opts;
	probe_sink_fn sink;
	void *sink_arg;
	uint8_t key[16];
	struct probe_target *targets;
	struct schedule_slot *slots;
	size_t ntargets;
	size_t finished; /* targets that completed opts.rounds */
	const struct probe_ops *active[KIND_COUNT];
	void *ctx[KIND_COUNT]; /* each active kind's state */
	bool started, stopping;
	bool retired;                     /* reload: starts no rounds, the successor owns the loop's hook */
	struct probe_engine *predecessor; /* reload: retired, still finishing its open rounds */
	struct resolver resolver;
	struct probe_bucket bucket; /* the global packets-per-second cap */
	unsigned long refused_completions;
	unsigned long missed_rounds;
	struct stall stall;
	unsigned long capped;                      /* rounds skipped as their target still waited for a token */
	int64_t capped_logged_ns;                  /* when that was last logged, 0 for never */
	struct probe_round *wait_head, *wait_tail; /* rounds waiting for a token, in order */
	uint64_t wait_timer;
};

extern const struct probe_ops probe_icmp_ops;
extern const struct probe_ops probe_tcp_ops;
extern const struct probe_ops probe_http_ops;
extern const struct probe_ops probe_smtp_ops;
extern const struct probe_ops probe_dns_ops;
extern const struct probe_ops probe_trace_ops;

/* Kinds register here as they are built. */
const struct probe_ops *probe_ops_for(enum probe_kind kind)
{
	switch (kind) {
	case KIND_ICMP:
		return &probe_icmp_ops;
	case KIND_TCP:
		return &probe_tcp_ops;
	case KIND_HTTP:
		return &probe_http_ops;
	case KIND_SMTP:
		return &probe_smtp_ops;
	case KIND_DNS:
		return &probe_dns_ops;
	case KIND_TRACE:
		return &probe_trace_ops;
	default:
		return NULL;
	}
}

struct probe_engine *probe_engine_new(struct ev_loop *loop, const struct config *cfg,
				      const struct probe_engine_opts *opts, probe_sink_fn sink, void *sink_arg,
				      char *err, size_t errlen)
{
	struct probe_engine *e = calloc(1, sizeof(*e));
	if (e == NULL)
		goto nomem;
	e->loop = loop;
	e->cfg = cfg;
	e->opts = *opts;
	e->sink = sink;
	e->sink_arg = sink_arg;
	e->ntargets = cfg->ntargets;
	e->targets = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*e->targets));
	e->slots = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*e->slots));
	if (e->targets == NULL || e->slots == NULL)
		goto nomem;
	if (getrandom(e->key, sizeof(e->key), 0) != (ssize_t)sizeof(e->key)) {
		snprintf(err, errlen, "cannot read random key: %s", strerror(errno));
		probe_engine_free(e);
		return NULL;
	}
	if (e->opts.seed == 0)
		memcpy(&e->opts.seed, e->key, sizeof(e->opts.seed));
	for (size_t i = 0; i < cfg->ntargets; i++) {
		e->targets[i].index = (uint32_t)i;
		e->targets[i].cfg = &cfg->targets[i];
	}
	return e;
nomem:
	snprintf(err, errlen, "out of memory");
	probe_engine_free(e);
	return NULL;
}

void probe_engine_free(struct probe_engine *e)
{
	if (e == NULL)
		return;
	/* a start that failed half way leaves kinds to close */
	for (int k = 0; k < KIND_COUNT; k++)
		if (e->active[k] != NULL)
			probe_engine_stop(e);
	resolver_stop(&e->resolver);
	free(e->targets);
	free(e->slots);
	free(e);
}

struct ev_loop *probe_engine_loop(struct probe_engine *e)
{
	return e->loop;
}

const struct config *probe_engine_config(struct probe_engine *e)
{
	return e->cfg;
}

const uint8_t *probe_engine_key(struct probe_engine *e)
{
	return e->key;
}

struct probe_target *probe_engine_target(struct probe_engine *e, uint32_t index)
{
	return index < e->ntargets ? &e->targets[index] : NULL;
}

size_t probe_engine_target_count(struct probe_engine *e)
{
	return e->ntargets;
}

bool probe_engine_done(const struct probe_engine *e)
{
	return e->opts.rounds > 0 && e->finished == e->ntargets;
}

/* ---- rate cap ---- */

bool probe_engine_take_token(struct probe_engine *e)
{
	return probe_bucket_take(&e->bucket, ev_now(e->loop));
}

int64_t probe_engine_next_token_ns(struct probe_engine *e)
{
	return probe_bucket_next_ns(&e->bucket, ev_now(e->loop));
}

/* Gives the waiting rounds their tokens in the order they asked. */
static int64_t on_send_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)id;
	struct probe_engine *e = arg;

	while (e->wait_head != NULL && probe_engine_take_token(e)) {
		struct probe_round *r = e->wait_head;
		probe_engine_unqueue(e, r);
		probe_round_sent(r); /* may end r at once */
	}
	if (e->wait_head == NULL) {
		e->wait_timer = 0;
		return EV_TIMER_DONE;
	}
	return probe_engine_next_token_ns(e) - ev_now(loop);
}

bool probe_engine_queue_send(struct probe_engine *e, struct probe_round *r)
{
	/* behind those already waiting, or it would overtake them */
	if (e->wait_head == NULL && probe_engine_take_token(e))
		return true;
	if (e->wait_timer == 0) {
		e->wait_timer =
		    ev_add_timer(e->loop, probe_engine_next_token_ns(e) - ev_now(e->loop), on_send_timer, e);
		if (e->wait_timer == 0)
			return true; /* out of memory: send uncapped rather than never */
	}
	r->waiting = true;
	r->wait_prev = e->wait_tail;
	r->wait_next = NULL;
	if (e->wait_tail != NULL)
		e->wait_tail->wait_next = r;
	else
		e->wait_head = r;
	e->wait_tail = r;
	return false;
}

void probe_engine_unqueue(struct probe_engine *e, struct probe_round *r)
{
	if (!r->waiting)
		return;
	if (r->wait_prev != NULL)
		r->wait_prev->wait_next = r->wait_next;
	else
		e->wait_head = r->wait_next;
	if (r->wait_next != NULL)
		r->wait_next->wait_prev = r->wait_prev;
	else
		e->wait_tail = r->wait_prev;
	r->waiting = false;
	r->wait_prev = r->wait_next = NULL;
}

bool probe_engine_stats(const struct probe_engine *e, enum probe_kind kind, char *buf, size_t len)
{
	const struct probe_ops *ops = probe_ops_for(kind);

	if (ops == NULL || ops->stats == NULL)
		return false;
	if (e->active[kind] != NULL)
		ops->stats(e->ctx[kind], buf, len);
	else
		snprintf(buf, len, "%s: idle", kind_name(kind));
	return true;
}

/* ---- completion ---- */

void probe_measurement_set_from(struct measurement *m, const struct sockaddr_storage *ss)
{
	ip_addr_from_sockaddr(&m->from_ip, ss);
}

unsigned long probe_engine_refused_completions(const struct probe_engine *e)
{
	return e->refused_completions;
}

unsigned long probe_engine_missed_rounds(const struct probe_engine *e)
{
	return e->missed_rounds;
}

void probe_engine_round_opened(struct probe_engine *e, struct probe_round *r)
{
	if (r->target < e->ntargets)
		e->slots[r->target].open = r;
}

/* The first completion of a round that started; rounds of one target
 * complete in order, as a kind completes the old round before it starts
 * the next one. */
static bool first_completion(struct schedule_slot *s, uint32_t round)
{
	if (round >= s->round || (s->any_done && round <= s->last_done))
		return false;
	s->any_done = true;
	s->last_done = round;
	return true;
}

void probe_complete(struct probe_engine *e, struct measurement *m)
{
	if (m->target >= e->ntargets)
		return;
	struct schedule_slot *s = &e->slots[m->target];
	if (s->open != NULL && s->open->round == m->round)
		s->open = NULL;
	if (!first_completion(s, m->round)) {
		e->refused_completions++;
		log_warnx("probe: %s round %u of target %u completed twice or never started: ignored",
			  kind_name(e->targets[m->target].cfg->kind), m->round, m->target);
		return;
	}
	/* A round cut short by the stop has no verdict yet: silence so far
	 * is not a timeout, so only what did answer is kept. */
	if (e->stopping && m->outcome != OUTCOME_OK)
		return;
	m->from[0] = '\0';
	if (m->from_ip.family != 0)
		inet_ntop(m->from_ip.family, m->from_ip.bytes, m->from, sizeof(m->from));
	if (e->opts.rounds > 0 && ++s->done_rounds == e->opts.rounds)
		e->finished++;
	if (e->sink != NULL)
		e->sink(m, e->sink_arg);
	if (probe_engine_done(e))
		ev_stop(e->loop);
}

/* ---- schedule ---- */

/* A round of a target whose address could not be resolved completes at
 * once with the resolver's reason. */
static void complete_unresolved(struct probe_engine *e, struct probe_target *t, uint32_t round, int64_t at_ms)
{
	struct measurement m = {.target = t->index,
				.round = round,
				.at_ms = at_ms,
				.outcome = failure_outcome(FAILURE_RESOLVE),
				.failure = FAILURE_RESOLVE,
				.rtt_ms = -1,
				.loss = 1};
	snprintf(m.detail, sizeof(m.detail), "resolve failed: %s", t->resolve_error);
	probe_complete(e, &m);
}

static void before_sleep(struct ev_loop *loop, void *arg);

static void apply_answer(struct probe_engine *e, struct probe_target *t, size_t k)
{
	struct resolver *r = &e->resolver;
	pthread_mutex_lock(&r->mu);
	struct name_answer *a = &r->answers[k];
	if (a->fresh) {
		a->fresh = false;
		/* a new family would need sockets the kind may not have opened */
		if (a->ok && (!t->resolved || a->addr.ss_family == t->addr.ss_family)) {
			t->addr = a->addr;
			t->resolved = true;
		} else if (!a->ok && !t->resolved) {
			memcpy(t->resolve_error, a->error, sizeof(t->resolve_error));
		}
	}
	pthread_mutex_unlock(&r->mu);
}

/* After a reload's first round (maybe late), the next one in its own
 * slot again (skipped as usual if that has passed too). */
static void realign(struct schedule_slot *s)
{
	int64_t now_ns = mono_now_ns(), now_ms = wall_now_ms(),
		at_ms = (int64_t)s->round * (s->interval_ns / NS_PER_MS) + s->slot_offset_ms;

	s->realign = false;
	s->next_start_ns = now_ns + (at_ms - now_ms) * NS_PER_MS;
}

static int64_t on_stall_logged(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct probe_engine *e = arg;

	log_warnx("probe: rounds came up to %.1f s late (the loop was held up: a stopped process, a paused VM?): "
		  "%lu round(s) of %zu target(s) skipped, not run late",
		  (double)e->stall.late_ns / NS_PER_S, e->stall.rounds, e->stall.targets);
	e->stall = (struct stall){0};
	return EV_TIMER_DONE;
}

/* One log line per stall: every target's timer fires in the first
 * iteration after it, and the line is written in the next one. */
static void note_stall(struct probe_engine *e, uint32_t skipped, int64_t late_ns)
{
	e->missed_rounds += skipped;
	e->stall.rounds += skipped;
	e->stall.targets++;
	if (late_ns > e->stall.late_ns)
		e->stall.late_ns = late_ns;
	if (e->stall.timer == 0)
		e->stall.timer = ev_add_timer(e->loop, 0, on_stall_logged, e);
}

/* A round whose previous one still waits for a token: max_pps is too low
 * for the targets.  Skipping it keeps the queue from growing for ever;
 * logged once a minute. */
static void note_capped(struct probe_engine *e)
{
	int64_t now = ev_now(e->loop);

	e->missed_rounds++;
	e->capped++;
	if (e->capped_logged_ns == 0 || now - e->capped_logged_ns >= 60 * NS_PER_S) {
		log_warnx("probe: max_pps %u is too low for the targets: %lu round(s) skipped so far, their target's "
			  "previous round still waiting to send",
			  e->opts.max_pps, e->capped);
		e->capped_logged_ns = now;
	}
}

static int64_t on_round_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)id;
	struct schedule_slot *s = arg;
	struct probe_engine *e = s->engine;
	struct probe_target *t = &e->targets[s->target];
	int64_t now = ev_now(loop);
	/* the round a reload delayed runs late rather than not at all */
	uint32_t skip = s->realign ? 0 : probe_schedule_skip(s->next_start_ns, now, s->interval_ns);

	if (skip > 0) {
		/* before the first round, lateness is start-up work (reading MRT
		 * files...), not a stall: nothing was missed */
		if (s->ran)
			note_stall(e, skip, now - s->next_start_ns);
		s->round += skip;
		s->next_start_ns += (int64_t)skip * s->interval_ns;
		if (s->next_start_ns > now)
			return s->next_start_ns - now;
	}
	uint32_t round = s->round;
	/* the real time: a round that ran late is stored as late */
	int64_t at_ms = wall_now_ms();

	s->round++;
	s->next_start_ns += s->interval_ns;
	s->ran = true;
	if (s->realign)
		realign(s);
	if (s->open != NULL && s->open->waiting) {
		note_capped(e);
		return s->next_start_ns - now;
	}
	if (s->name >= 0)
		apply_answer(e, t, (size_t)s->name);
	if (t->cfg->kind != KIND_HTTP && !t->resolved)
		complete_unresolved(e, t, round, at_ms);
	else
		e->active[t->cfg->kind]->start(e, e->ctx[t->cfg->kind], t, round, at_ms,
					       ev_now(loop) + t->cfg->timeout_ms * NS_PER_MS);
	if (e->opts.rounds > 0 && ++s->started_rounds >= e->opts.rounds) {
		s->timer = 0;
		return EV_TIMER_DONE; /* every round this run wants has started */
	}
	int64_t wait = s->next_start_ns - ev_now(loop);
	return wait > 0 ? wait : 0;
}

static const char *target_host(const struct target_cfg *c)
{
	return c->kind == KIND_DNS ? c->server : c->host; /* NULL for http: libcurl resolves */
}

static int lookup(const char *host, struct sockaddr_storage *addr, char *error, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_ADDRCONFIG}, *res = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(error, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	memset(addr, 0, sizeof(*addr));
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int resolve(struct probe_target *t)
{
	const char *host = target_host(t->cfg);
	if (host == NULL)
		return 0;
	if (addr_parse(host, &t->addr) == 0) {
		t->resolved = true;
		return 0;
	}
	if (lookup(host, &t->addr, t->resolve_error, sizeof(t->resolve_error)) < 0)
		return -1;
	t->resolved = true;
	return 0;
}

static void *resolver_main(void *arg)
{
	struct probe_engine *e = arg;
	struct resolver *r = &e->resolver;

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		struct timespec until;
		probe_wait_deadline(&until, r->every_ms);
		while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
			;
		for (size_t k = 0; k < r->n && !r->stop; k++) {
			struct name_answer a = {.fresh = true};
			const char *host = target_host(e->targets[r->targets[k]].cfg);
			pthread_mutex_unlock(&r->mu);
			a.ok = lookup(host, &a.addr, a.error, sizeof(a.error)) == 0;
			pthread_mutex_lock(&r->mu);
			r->answers[k] = a;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static int resolver_start(struct probe_engine *e, char *err, size_t errlen)
{
	struct resolver *r = &e->resolver;
	struct sockaddr_storage ss;

	for (size_t i = 0; i < e->ntargets; i++)
		e->slots[i].name = -1;
	for (size_t i = 0; i < e->ntargets; i++) {
		const char *host = target_host(e->targets[i].cfg);
		if (host != NULL && addr_parse(host, &ss) != 0)
			r->n++;
	}
	if (r->n == 0)
		return 0;
	r->targets = calloc(r->n, sizeof(*r->targets));
	r->answers = calloc(r->n, sizeof(*r->answers));
	if (r->targets == NULL || r->answers == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0, k = 0; i < e->ntargets; i++) {
		const char *host = target_host(e->targets[i].cfg);
		if (host != NULL && addr_parse(host, &ss) != 0) {
			e->slots[i].name = (int32_t)k;
			r->targets[k++] = (uint32_t)i;
		}
	}
	r->every_ms = e->cfg->interval_ms * RESOLVE_EVERY_ROUNDS;
	if (r->every_ms < RESOLVE_MIN_MS)
		r->every_ms = RESOLVE_MIN_MS;
	pthread_mutex_init(&r->mu, NULL);
	probe_wait_init(&r->cv);
	if (pthread_create(&r->thread, NULL, resolver_main, e) != 0) {
		snprintf(err, errlen, "cannot start the resolver thread");
		return -1;
	}
	r->running = true;
	return 0;
}

static void resolver_stop(struct resolver *r)
{
	if (r->running) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->cv);
		r->running = false;
	}
	free(r->targets);
	free(r->answers);
	r->targets = NULL;
	r->answers = NULL;
}

/* Reload: an unchanged target goes on with the round its predecessor
 * would have started next, neither skipping nor repeating one: at its
 * slot if that is still ahead, at once if its moment just passed. */
static struct probe_first_round resume_first(struct probe_first_round first, uint32_t round, int64_t interval_ms,
					     int64_t now_ms)
{
	if (round >= first.round)
		return (struct probe_first_round){
		    .round = round, .start_ms = first.start_ms + (int64_t)(round - first.round) * interval_ms};
	return (struct probe_first_round){.round = round, .start_ms = now_ms};
}

int probe_engine_start(struct probe_engine *e, char *err, size_t errlen)
{
	struct probe_target **bykind = calloc(e->ntargets ? e->ntargets : 1, sizeof(*bykind));
	int rc = -1;

	if (bykind == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < e->ntargets; i++)
		resolve(&e->targets[i]);
	if (resolver_start(e, err, errlen) < 0)
		goto out;
	for (int k = 0; k < KIND_COUNT; k++) {
		size_t n = 0;
		for (size_t i = 0; i < e->ntargets; i++)
			if (e->targets[i].cfg->kind == (enum probe_kind)k)
				bykind[n++] = &e->targets[i];
		if (n == 0)
			continue;
		const struct probe_ops *ops = probe_ops_for((enum probe_kind)k);
		if (ops == NULL) {
			snprintf(err, errlen, "probe kind %s is not yet supported", kind_name((enum probe_kind)k));
			goto out;
		}
		if (errlen > 0)
			err[0] = '\0';
		if ((e->ctx[k] = calloc(1, ops->ctx_size + e->ntargets * ops->slot_size)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		e->active[k] = ops; /* from here on stop finishes it */
		if (ops->init != NULL && ops->init(e, e->ctx[k], bykind, n, err, errlen) < 0) {
			if (errlen > 0 && err[0] == '\0')
				snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	e->started = true;
	ev_set_before_sleep(e->loop, before_sleep, e);
	probe_bucket_init(&e->bucket, e->opts.max_pps, ev_now(e->loop));

	/* wall-clock aligned rounds (schedule.h) */
	/* the clock now, not the loop's (as old as this iteration: a long
	 * start or a reload would start every round early by that much) */
	int64_t now_ns = mono_now_ns(), now_ms = wall_now_ms();
	for (size_t i = 0; i < e->ntargets; i++) {
		struct schedule_slot *s = &e->slots[i];
		int64_t interval_ms = e->targets[i].cfg->interval_ms;
		struct probe_first_round first =
		    probe_schedule_first(now_ms, interval_ms, e->opts.seed, (uint32_t)i, e->opts.align_first_round);
		/* the rest of the reload may hold the loop past its first
		 * round's moment: that round runs late, not never */
		if (s->resume) {
			s->realign = true;
			s->slot_offset_ms = first.start_ms - (int64_t)first.round * interval_ms;
		}
		if (s->resume)
			first = resume_first(first, s->resume_round, interval_ms, now_ms);
		s->engine = e;
		s->target = (uint32_t)i;
		s->interval_ns = interval_ms * NS_PER_MS;
		s->round = first.round;
		s->next_start_ns = now_ns + (first.start_ms - now_ms) * NS_PER_MS;
		s->timer = ev_add_timer(e->loop, s->next_start_ns - ev_now(e->loop), on_round_timer, s);
		if (s->timer == 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	free(bykind);
	return rc;
}

void probe_engine_stop(struct probe_engine *e)
{
	if (e->stopping)
		return;
	e->stopping = true;
	resolver_stop(&e->resolver);
	for (size_t i = 0; i < e->ntargets; i++)
		if (e->slots[i].timer != 0)
			ev_del_timer(e->loop, e->slots[i].timer);
	if (e->stall.timer != 0)
		ev_del_timer(e->loop, e->stall.timer);
	if (e->wait_timer != 0)
		ev_del_timer(e->loop, e->wait_timer);
	e->stall.timer = e->wait_timer = 0;
	for (size_t i = 0; i < e->ntargets; i++) {
		struct probe_round *r = e->slots[i].open;
		if (r == NULL)
			continue;
		if (r->hooks != NULL && r->hooks->stop != NULL)
			r->hooks->stop(r);
		else
			probe_round_end(r, FAILURE_TIMEOUT, NULL, "stopped before an answer");
		e->slots[i].open = NULL;
	}
	for (int k = 0; k < KIND_COUNT; k++)
		if (e->active[k] != NULL) {
			if (e->active[k]->fini != NULL)
				e->active[k]->fini(e->ctx[k]);
			free(e->ctx[k]);
			e->active[k] = NULL;
			e->ctx[k] = NULL;
		}
	/* no sink calls after this point */
	e->sink = NULL;
	if (e->started && !e->retired)
		ev_set_before_sleep(e->loop, NULL, NULL);
}

static void flush_kinds(struct probe_engine *e)
{
	for (int k = 0; k < KIND_COUNT; k++)
		if (e->active[k] != NULL && e->active[k]->flush != NULL)
			e->active[k]->flush(e->ctx[k]);
}

static void before_sleep(struct ev_loop *loop, void *arg)
{
	(void)loop;
	struct probe_engine *e = arg;
	flush_kinds(e);
	if (e->predecessor != NULL)
		flush_kinds(e->predecessor);
}

/* ---- reload ---- */

uint64_t probe_engine_seed(const struct probe_engine *e)
{
	return e->opts.seed;
}

uint32_t probe_engine_next_round(const struct probe_engine *e, uint32_t index)
{
	return index < e->ntargets ? e->slots[index].round : 0;
}

void probe_engine_resume_round(struct probe_engine *e, uint32_t index, uint32_t round)
{
	if (index < e->ntargets && !e->started) {
		e->slots[index].resume = true;
		e->slots[index].resume_round = round;
	}
}

void probe_engine_retire(struct probe_engine *e, struct probe_engine *successor, probe_sink_fn sink, void *sink_arg)
{
	e->retired = true;
	for (size_t i = 0; i < e->ntargets; i++)
		if (e->slots[i].timer != 0) {
			ev_del_timer(e->loop, e->slots[i].timer);
			e->slots[i].timer = 0;
		}
	e->sink = sink;
	e->sink_arg = sink_arg;
	successor->predecessor = e;
}

bool probe_engine_idle(const struct probe_engine *e)
{
	for (size_t i = 0; i < e->ntargets; i++)
		if (e->slots[i].open != NULL)
			return false;
	return true;
}

void probe_engine_forget_predecessor(struct probe_engine *e)
{
	e->predecessor = NULL;
}

void probe_engine_take_loop_hook(struct probe_engine *e)
{
	if (e->started && !e->stopping)
		ev_set_before_sleep(e->loop, before_sleep, e);
}
