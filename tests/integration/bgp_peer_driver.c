/* Test driver for tests/integration/bgp_bird.sh: runs the BGP module of a
 * configuration on the event loop and prints one line per event:
 *   peer ADDR OLD NEW [reason]
 *   route ADDR +|- PREFIX [AS path]
 *   withdrawn|restored NETWORK PREFIX...
 *   status ADDR STATE prefixes=N updates=N   (every second)
 * Usage: bgp-peer-driver CONFIG SECONDS */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgp/bgp.h"
#include "config/config.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/timeutil.h"

static void on_event(const struct bgp_event *ev, void *arg)
{
	(void)arg;
	char p[64];
	switch (ev->kind) {
	case BGP_EV_PEER:
		printf("peer %s %s %s %s\n", ev->peer, bgp_state_name(ev->old_state), bgp_state_name(ev->new_state),
		       ev->reason);
		break;
	case BGP_EV_ROUTE:
		prefix_format(&ev->prefix, p, sizeof(p));
		printf("route %s %c %s %s\n", ev->peer, ev->announce ? '+' : '-', p, ev->as_path);
		break;
	case BGP_EV_WITHDRAWN:
	case BGP_EV_RESTORED:
		printf("%s %s", ev->kind == BGP_EV_WITHDRAWN ? "withdrawn" : "restored", ev->network_name);
		for (size_t i = 0; i < ev->nprefixes; i++) {
			prefix_format(&ev->prefixes[i], p, sizeof(p));
			printf(" %s", p);
		}
		printf("\n");
		break;
	}
	fflush(stdout);
}

static int64_t stop_after(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)id;
	(void)arg;
	ev_stop(loop);
	return EV_TIMER_DONE;
}

static size_t nnet;

static int64_t status_tick(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct bgp *b = arg;
	for (size_t i = 0; i < bgp_npeers(b); i++) {
		struct bgp_peer_status st;
		bgp_peer_status(b, i, &st);
		printf("status %s %s prefixes=%zu updates=%llu hold=%u\n", st.address, st.state_name, st.prefixes,
		       (unsigned long long)st.updates, st.hold_time);
	}
	for (size_t n = 0; n < nnet; n++) {
		struct bgp_vis_status vs;
		bgp_vis_network_status(bgp_visibility(b), n, &vs);
		printf("visibility %zu visible=%zu/%zu peers=%zu\n", n, vs.visible, vs.expected, vs.counted_peers);
	}
	fflush(stdout);
	return NS_PER_S;
}

int main(int argc, char **argv)
{
	char err[512];
	if (argc != 3) {
		fprintf(stderr, "usage: bgp-peer-driver CONFIG SECONDS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_LEVEL_INFO, 0);
	struct config *cfg = config_load(argv[1], err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	nnet = cfg->nnetworks;
	struct ev_loop *loop = ev_new();
	struct bgp *b = bgp_new(loop, cfg, on_event, NULL, err, sizeof(err));
	if (!b) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (bgp_start(b, err, sizeof(err)) < 0)
		fprintf(stderr, "%s\n", err);
	ev_add_timer(loop, atoi(argv[2]) * NS_PER_S, stop_after, NULL);
	ev_add_timer(loop, NS_PER_S, status_tick, b);
	ev_run(loop);
	bgp_free(b);
	ev_free(loop);
	config_free(cfg);
	return 0;
}
