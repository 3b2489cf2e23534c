/* Prefix visibility per watched network, from the routes of many peers
 * (BGP sessions or MRT archives).
 *
 * A network's expected prefixes are its configured `prefixes`.  One is
 * visible from a peer when the peer holds a route covering it or a
 * more-specific inside it; it is visible overall when more than half of
 * the counted peers see it (IODA's rule).  A peer is counted while its
 * session is established and its initial table transfer is over (End-of-
 * RIB or a grace time), so a peer that resets and re-sends its table never
 * looks like a withdrawal.  Routes are kept only when they overlap an
 * expected prefix or are originated by a watched ASN (or all of them, with
 * keep_all, to measure a full table).
 *
 * Events: a network's prefixes going from visible to invisible give one
 * bgp_withdrawn event (all prefixes that fell together), coming back give
 * bgp_restored.  The first state of a prefix gives no event. */
#ifndef LIGHTSOUT_BGP_VISIBILITY_H
#define LIGHTSOUT_BGP_VISIBILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

struct config;
struct bgp_vis;

struct bgp_vis_event {
	size_t network;   /* index in config->networks */
	const char *name; /* network name */
	bool withdrawn;   /* true: bgp_withdrawn, false: bgp_restored */
	int64_t at_ms;
	const struct prefix *prefixes;
	size_t nprefixes;
};

typedef void (*bgp_vis_fn)(const struct bgp_vis_event *ev, void *arg);

struct bgp_vis *bgp_vis_new(const struct config *cfg, bool keep_all, bgp_vis_fn fn, void *arg);
void bgp_vis_free(struct bgp_vis *v);

/* Peers are named by address (a session) or "address AS" (archives).
 * Returns the peer index, creating it (down) if new; -1 on no memory. */
int bgp_vis_peer(struct bgp_vis *v, const char *name);
/* Session established; with sync the peer is counted only after
 * bgp_vis_peer_synced or grace_ms of bgp_vis_tick time. */
void bgp_vis_peer_up(struct bgp_vis *v, int peer, int64_t at_ms, bool sync, int64_t grace_ms);
void bgp_vis_peer_synced(struct bgp_vis *v, int peer, int64_t at_ms);
/* Address families the peer carries (its negotiated MP capabilities): only
 * peers carrying a prefix's family count for it.  Without this call a
 * family counts from the peer's first route of it (archives). */
void bgp_vis_peer_families(struct bgp_vis *v, int peer, bool ipv4, bool ipv6);
/* Session gone: the peer's routes are dropped and it is no longer counted. */
void bgp_vis_peer_down(struct bgp_vis *v, int peer, int64_t at_ms);

/* One route change (announce replaces the peer's route with the same
 * prefix and path id).  Events come from bgp_vis_flush.  Returns
 * BGP_VIS_KEPT if the announced route is kept (watched, or keep_all),
 * BGP_VIS_REMOVED if a kept route was taken away (both can be set). */
#define BGP_VIS_KEPT    1
#define BGP_VIS_REMOVED 2
int bgp_vis_route(struct bgp_vis *v, int peer, const struct prefix *p, uint32_t path_id, uint32_t origin_as,
		  bool announce);
/* The one rule for which route changes concern a watched network (and are
 * stored), the same for live sessions, configured MRT files and `import
 * mrt`: the route before or after the change is watched (kept, from
 * bgp_vis_route), or it withdraws a prefix overlapping an expected one —
 * an archive may hold the withdrawal without the announcement before it. */
bool bgp_vis_route_watched(const struct bgp_vis *v, const struct prefix *p, bool announce, int kept);
/* Re-evaluates what changed since the last flush and emits events stamped
 * at_ms.  Call after each UPDATE (or MRT record). */
void bgp_vis_flush(struct bgp_vis *v, int64_t at_ms);
/* Ends sync grace periods that expired by now_ms, then flushes. */
void bgp_vis_tick(struct bgp_vis *v, int64_t now_ms);

struct bgp_vis_status {
	size_t expected;      /* configured prefixes */
	size_t visible;       /* visible overall */
	size_t counted_peers; /* established and synced */
	size_t routes;        /* routes kept for this network */
};
void bgp_vis_network_status(const struct bgp_vis *v, size_t network, struct bgp_vis_status *st);
/* Expected prefixes of network that peer sees now. */
size_t bgp_vis_peer_visible(const struct bgp_vis *v, size_t network, int peer);

/* Archive replay: routes and state changes of an MRT event (peers are
 * counted from their first message; one re-established is in sync grace
 * for grace_ms of archive time).  Call bgp_vis_tick with the record time
 * after each record. */
struct mrt_event;
/* A peer re-established in an archive counts again once its table is in,
 * or after this much archive time. */
#define BGP_ARCHIVE_SYNC_GRACE_MS 60000
/* Returns bgp_vis_route's answer for a route (0 for a state change). */
int bgp_vis_feed_mrt(struct bgp_vis *v, const struct mrt_event *ev, int64_t grace_ms);

struct bgp_vis_peer_info {
	const char *name;
	bool up, counted;
	size_t routes; /* routes kept from this peer */
};
size_t bgp_vis_npeers(const struct bgp_vis *v);
void bgp_vis_peer_info(const struct bgp_vis *v, int peer, struct bgp_vis_peer_info *info);

/* Routes kept and the bytes their table uses (memory per route). */
size_t bgp_vis_routes(const struct bgp_vis *v);
size_t bgp_vis_table_bytes(const struct bgp_vis *v);

#endif
