#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "core/ev.h"

static void sink(const struct measurement *m, void *arg)
{
	struct results *r = arg;
	if (r->n < HARNESS_MAX_RESULTS)
		r->m[r->n++] = *m;
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

void harness_run(struct harness *h, const struct config *cfg, struct results *res)
{
	char err[256];
	struct probe_engine_opts opts = {.rounds = 1, .align_first_round = true};

	h->loop = ev_new();
	assert_non_null(h->loop);
	h->e = probe_engine_new(h->loop, cfg, &opts, sink, res, err, sizeof(err));
	assert_non_null(h->e);
	if (probe_engine_start(h->e, err, sizeof(err)) < 0)
		fail_msg("engine: %s", err);
	assert_int_equal(ev_run(h->loop), 0);
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
