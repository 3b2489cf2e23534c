/* Replaying an MRT archive into the collector's events (private to src/bgp). */
#ifndef LIGHTSOUT_BGP_REPLAY_H
#define LIGHTSOUT_BGP_REPLAY_H

#include "bgp/bgp.h"
#include "bgp/mrt.h"
#include "bgp/visibility.h"

struct config;

/* Reads the file behind rd (and closes it): every watched route to
 * on_event, every visibility change of cfg's networks to on_vis. */
int bgp_mrt_replay(const struct config *cfg, struct mrt_reader *rd, bgp_event_fn on_event,
		   void (*on_vis)(const struct bgp_vis_event *ve, void *arg), void *arg, char *err, size_t errlen);

#endif
