/* The BGP module seen from outside: passive collector sessions on the
 * event loop, MRT archives read at start, and prefix visibility of the
 * watched networks.  We never announce anything.
 *
 *   b = bgp_new(loop, cfg, on_event, arg, err, len);
 *   bgp_open(b, ...)         listen on cfg->bgp.listen, open cfg->bgp.mrt
 *                            files (as root, before a privilege drop)
 *   bgp_start(b, ...)        replay those files, connect to peers
 *   ... ev_run(loop) ...     events arrive through on_event
 *   bgp_peer_status(b, i)    for `status` and the JSON API
 *   bgp_stop(b); bgp_free(b) Cease to every peer, close everything
 *
 * See docs/bgp.md. */
#ifndef LIGHTSOUT_BGP_H
#define LIGHTSOUT_BGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bgp/session.h"
#include "bgp/visibility.h"
#include "core/addr.h"

struct config;
struct ev_loop;
struct bgp;

enum bgp_event_kind {
	BGP_EV_ROUTE,     /* a watched route announced or withdrawn: store it */
	BGP_EV_WITHDRAWN, /* a network's prefixes stopped being visible (phase bgp_withdrawn) */
	BGP_EV_RESTORED,  /* they are visible again (phase bgp_restored) */
	BGP_EV_PEER,      /* a session changed state */
};

struct bgp_event {
	enum bgp_event_kind kind;
	int64_t at_ms; /* wall clock (archive time for MRT replay) */
	/* ROUTE and PEER */
	const char *peer; /* numeric address */
	/* ROUTE */
	struct prefix prefix;
	bool announce;
	uint32_t origin_as;
	const char *as_path; /* "" for withdrawals */
	/* WITHDRAWN / RESTORED */
	size_t network;
	const char *network_name;
	const struct prefix *prefixes;
	size_t nprefixes;
	/* PEER */
	enum bgp_state old_state, new_state;
	const char *reason; /* why the session went down, "" otherwise */
};

typedef void (*bgp_event_fn)(const struct bgp_event *ev, void *arg);

/* cfg must outlive b.  Returns NULL and fills err. */
struct bgp *bgp_new(struct ev_loop *loop, const struct config *cfg, bgp_event_fn fn, void *arg, char *err,
		    size_t errlen);
/* Opens what may need root, reading nothing: the listener and the
 * configured MRT files (they may be readable by root only).  -1 if one
 * cannot be opened (the others still are). */
int bgp_open(struct bgp *b, char *err, size_t errlen);
/* Opens (bgp_open, unless it ran), replays the configured MRT files
 * (their events carry archive times) and starts every non-passive peer.
 * Returns -1 if the listener cannot be opened or a file cannot be read
 * (peers still start).  Parses input: after a privilege drop. */
int bgp_start(struct bgp *b, char *err, size_t errlen);
/* Sends Cease to established peers and closes every socket and timer. */
void bgp_stop(struct bgp *b);
void bgp_free(struct bgp *b);

/* Reads one MRT file: watched routes and visibility changes become events
 * stamped with archive time.  Does not touch the live sessions' view. */
int bgp_replay_mrt(struct bgp *b, const char *path, char *err, size_t errlen);

struct bgp_peer_status {
	const char *address;
	uint32_t remote_as;
	enum bgp_state state;
	const char *state_name;
	int64_t uptime_ms;      /* time in Established, 0 if not */
	size_t prefixes;        /* watched routes held from this peer */
	uint64_t updates;       /* UPDATE messages received */
	uint64_t flaps;         /* times the session left Established */
	uint16_t hold_time;     /* negotiated, seconds */
	const char *last_error; /* "" if none */
};
/* The monotonic clock (ns) the session timers (hold, keepalive, retry)
 * go by; NULL restores CLOCK_MONOTONIC.  Tests move theirs to expire
 * timers without waiting.  Set before bgp_start. */
void bgp_set_clock(struct bgp *b, int64_t (*now_ns)(void *arg), void *arg);

size_t bgp_npeers(const struct bgp *b);
int bgp_peer_status(const struct bgp *b, size_t i, struct bgp_peer_status *st);
const struct bgp_vis *bgp_visibility(const struct bgp *b);

#endif
