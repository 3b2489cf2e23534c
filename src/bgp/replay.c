/* An MRT archive read as the collector's sessions would have seen it:
 * the watched routes and each network's visibility, replayed through the
 * same rule (bgp_vis_route_watched) as live sessions. */
#include "bgp/replay.h"

#include <stdbool.h>
#include <stdio.h>

#include "bgp/bgp_msg.h"

struct replay {
	bgp_event_fn on_event;
	void (*on_vis)(const struct bgp_vis_event *ve, void *arg);
	void *arg;
	struct bgp_vis *vis;
};

static void replay_vis_event(const struct bgp_vis_event *ve, void *arg)
{
	struct replay *r = arg;
	r->on_vis(ve, r->arg);
}

static void replay_event(const struct mrt_event *ev, void *arg)
{
	struct replay *r = arg;
	int kept = bgp_vis_feed_mrt(r->vis, ev, BGP_ARCHIVE_SYNC_GRACE_MS);
	if (ev->kind == MRT_EV_STATE)
		return;
	bool announce = ev->kind != MRT_EV_WITHDRAW;
	uint32_t origin = ev->attrs ? ev->attrs->origin_as : 0;
	if (!bgp_vis_route_watched(r->vis, &ev->prefix, announce, kept))
		return;
	int64_t at_ms = ev->at_us / 1000;
	char path[1024] = "";
	if (announce && ev->attrs)
		bgp_aspath_format(&ev->attrs->aspath, path, sizeof(path));
	struct bgp_event out = {.kind = BGP_EV_ROUTE,
				.at_ms = at_ms,
				.peer = ev->peer,
				.prefix = ev->prefix,
				.announce = announce,
				.origin_as = origin,
				.as_path = path,
				.reason = ""};
	r->on_event(&out, r->arg);
}

int bgp_mrt_replay(const struct config *cfg, struct mrt_reader *rd, bgp_event_fn on_event,
		   void (*on_vis)(const struct bgp_vis_event *ve, void *arg), void *arg, char *err, size_t errlen)
{
	struct replay r = {.on_event = on_event, .on_vis = on_vis, .arg = arg};
	struct mrt_parser *p = NULL;
	char rerr[256];
	struct mrt_record rec;
	int rc = -1;

	r.vis = bgp_vis_new(cfg, false, replay_vis_event, &r);
	p = mrt_parser_new(replay_event, &r);
	if (!r.vis || !p) {
		snprintf(err, errlen, "bgp: out of memory");
		goto out;
	}
	for (;;) {
		int n = mrt_next(rd, &rec, err, errlen);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		mrt_parse_record(p, &rec, rerr, sizeof(rerr));
		bgp_vis_tick(r.vis, (int64_t)rec.timestamp * 1000);
	}
	rc = 0;
out:
	mrt_close(rd);
	mrt_parser_free(p);
	bgp_vis_free(r.vis);
	return rc;
}
