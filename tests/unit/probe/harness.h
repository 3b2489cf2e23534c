/* What the engine tests share: a sink that keeps results, a listener on
 * 127.0.0.1, and one round of every target through the real engine. */
#ifndef LIGHTSOUT_TEST_PROBE_HARNESS_H
#define LIGHTSOUT_TEST_PROBE_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "probe/probe.h"

#define HARNESS_MAX_RESULTS 32

/* A configuration up to its one network's targets: append them. */
#define HARNESS_YAML_TARGETS                                                                                           \
	"listen: \"off\"\n"                                                                                            \
	"timeout: 5s\n"                                                                                                \
	"networks:\n"                                                                                                  \
	"  - name: lab\n"                                                                                              \
	"    prefixes: [192.0.2.0/24]\n"                                                                               \
	"    targets:\n"

struct results {
	size_t n;
	struct measurement m[HARNESS_MAX_RESULTS];
};

struct harness {
	struct ev_loop *loop;
	struct probe_engine *e;
};

/* A TCP listener on 127.0.0.1 at a free port. */
int harness_listen(uint16_t *port);
/* The configuration of yaml, or the test fails. */
struct config *harness_config(const char *yaml);
/* Runs one round of every target of cfg, all due at once, into res, under
 * cfg's max_pps; the engine stays (h->e) until harness_end. */
void harness_run(struct harness *h, const struct config *cfg, struct results *res);
/* The same with opts, and fn(m, arg) called for each result after it is
 * kept (NULL for none). */
void harness_run_opts(struct harness *h, const struct config *cfg, const struct probe_engine_opts *opts,
		      struct results *res, probe_sink_fn fn, void *arg);
/* The shortest time between the starts (at_ms) of two results. */
int64_t harness_min_gap_ms(const struct results *r);
void harness_end(struct harness *h);
const struct measurement *harness_by_target(const struct results *r, uint32_t target);

#endif
