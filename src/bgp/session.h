/* The BGP-4 finite state machine of one passive collector session
 * (RFC 4271 8): states and their names.  The machine itself lives in
 * session.c behind the bgp.h interface. */
#ifndef LIGHTSOUT_BGP_SESSION_H
#define LIGHTSOUT_BGP_SESSION_H

enum bgp_state {
	BGP_STATE_IDLE,
	BGP_STATE_CONNECT,
	BGP_STATE_ACTIVE,
	BGP_STATE_OPENSENT,
	BGP_STATE_OPENCONFIRM,
	BGP_STATE_ESTABLISHED,
};

/* "Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established". */
const char *bgp_state_name(enum bgp_state s);

/* Reconnect back-off: first delay, and the cap it doubles up to. */
#define BGP_BACKOFF_MIN_MS 1000
#define BGP_BACKOFF_MAX_MS 60000
/* Established peers count for visibility once their first table is in:
 * End-of-RIB, or this long after the session came up. */
#define BGP_SYNC_GRACE_MS 5000

#endif
