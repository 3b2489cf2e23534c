#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "core/ev.h"

struct sink_ctx {
	struct results *res;
	probe_sink_fn fn;
	void *arg;
};

static void sink(const struct measurement *m, void *arg)
{
	struct sink_ctx *c = arg;
	if (c->res->n < HARNESS_MAX_RESULTS)
		c->res->m[c->res->n++] = *m;
	if (c->fn != NULL)
		c->fn(m, c->arg);
}

int harness_listen(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

struct config *harness_config(const char *yaml)
{
	char err[256];
	struct config *cfg = config_parse("test.yaml", yaml, strlen(yaml), err, sizeof(err));
	if (cfg == NULL)
		fail_msg("config: %s", err);
	return cfg;
}

void harness_run_opts(struct harness *h, const struct config *cfg, const struct probe_engine_opts *opts,
		      struct results *res, probe_sink_fn fn, void *arg)
{
	char err[256];
	struct sink_ctx c = {.res = res, .fn = fn, .arg = arg};

	h->loop = ev_new();
	assert_non_null(h->loop);
	h->e = probe_engine_new(h->loop, cfg, opts, sink, &c, err, sizeof(err));
	assert_non_null(h->e);
	if (probe_engine_start(h->e, err, sizeof(err)) < 0)
		fail_msg("engine: %s", err);
	assert_int_equal(ev_run(h->loop), 0);
	/* no more results: the sink's context goes with this frame */
	probe_engine_stop(h->e);
}

void harness_run(struct harness *h, const struct config *cfg, struct results *res)
{
	struct probe_engine_opts opts = {.max_pps = cfg->max_pps, .rounds = 1, .align_first_round = true};

	harness_run_opts(h, cfg, &opts, res, NULL, NULL);
}

static int by_at(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int64_t harness_min_gap_ms(const struct results *r)
{
	int64_t at[HARNESS_MAX_RESULTS], gap = INT64_MAX;

	for (size_t i = 0; i < r->n; i++)
		at[i] = r->m[i].at_ms;
	qsort(at, r->n, sizeof(at[0]), by_at);
	for (size_t i = 1; i < r->n; i++)
		if (at[i] - at[i - 1] < gap)
			gap = at[i] - at[i - 1];
	return gap;
}

void harness_end(struct harness *h)
{
	probe_engine_stop(h->e);
	probe_engine_free(h->e);
	ev_free(h->loop);
}

const struct measurement *harness_by_target(const struct results *r, uint32_t target)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->m[i].target == target)
			return &r->m[i];
	fail_msg("no result for target %u", target);
	return NULL;
}
