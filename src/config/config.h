/* The configuration of SPEC.md, parsed whole into one immutable object.
 * Parsing never logs or exits: errors come back as
 * "FILE:LINE:COL: message" in err. */
#ifndef LIGHTSOUT_CONFIG_H
#define LIGHTSOUT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/addr.h"
#include "core/model.h"

#define CONFIG_NO_NETWORK SIZE_MAX

struct config_pos {
	unsigned line, col; /* 1-based, of the mapping that defined the item */
};

struct target_cfg {
	char *name;
	enum role role; /* ROLE_CONTROL for controls */
	enum probe_kind kind;
	size_t network;      /* index in config->networks, CONFIG_NO_NETWORK for controls */
	char *host;          /* icmp, tcp, smtp, trace: literal address or host name */
	uint16_t port;       /* tcp (required), smtp (default 25), dns (default 53) */
	char *url;           /* http */
	char *server;        /* dns: address or host name */
	char *query;         /* dns: "NAME TYPE" as written */
	int64_t interval_ms; /* inherited from the top level if not set */
	int64_t timeout_ms;
	unsigned count; /* icmp echoes per round, default 3 */
	int *status;    /* http: accepted status codes; NULL = 2xx/3xx */
	size_t nstatus;
	char *contains; /* http body substring */
	bool follow_redirects;
	char *expect_rcode;  /* dns: default "NOERROR" */
	char *expect;        /* dns: an answer value */
	bool recursion;      /* dns: RD bit */
	char *expect_banner; /* smtp */
	struct config_pos pos;
};

struct network_cfg {
	char *name;
	uint32_t *asn;
	size_t nasn;
	struct prefix *prefixes;
	size_t nprefixes;
	struct config_pos pos;
};

struct detect_cfg {
	unsigned down_after; /* default 3 */
	unsigned up_after;   /* default 2 */
	/* Further detector thresholds, all in rounds or ratios; see docs. */
	unsigned baseline_rounds;    /* EWMA horizon, default 20 */
	double degraded_loss;        /* loss ratio that makes a round degraded, default 0.2 */
	double degraded_rtt_factor;  /* RTT above baseline + k*dev, default 4 */
	double degraded_rtt_min_ms;  /* and at least this much above baseline, default 20 */
	unsigned stress_lead_rounds; /* degradation rounds before first down for stress, default 2 */
	unsigned abrupt_rounds;      /* "within about one round" window, default 2 */
	double network_fraction;     /* share of targets down that makes a network incident, default 0.5 */
};

struct bgp_peer_cfg {
	char *address;
	uint32_t remote_as;
	uint32_t local_as;
	uint16_t port;         /* default 179 */
	bool passive;          /* only accept, never connect */
	int64_t hold_time_ms;  /* proposed hold time, default 90s */
	uint32_t max_prefixes; /* watched routes kept from the peer, default 100000 */
	struct config_pos pos;
};

struct bgp_cfg {
	struct bgp_peer_cfg *peers;
	size_t npeers;
	char **mrt;
	size_t nmrt;
	char *listen; /* address:port to accept on, NULL = none */
	bool present; /* a bgp: section was written */
};

struct alert_cfg {
	char *kind; /* "webhook" */
	char *url;
	char *format;       /* "json" (default) or "alertmanager" */
	int64_t max_age_ms; /* give up after, default 24h */
	struct config_pos pos;
};

struct config {
	char *path;
	char *vantage;
	char *store;
	char *listen;         /* "127.0.0.1:9470" or "off" */
	int64_t interval_ms;  /* default 60s */
	int64_t timeout_ms;   /* default 5s */
	unsigned max_pps;     /* global packets per second cap, default 1000 */
	int64_t retention_ms; /* raw measurements kept, default 30d */
	int log_level;        /* enum log_level, default info; -v/-q move from it */
	struct detect_cfg detect;
	struct network_cfg *networks;
	size_t nnetworks;
	/* Targets of every network in order, then the controls. */
	struct target_cfg *targets;
	size_t ntargets;
	struct bgp_cfg bgp;
	struct alert_cfg *alerts;
	size_t nalerts;
};

/* Reads and validates path.  Returns NULL and fills err on any error. */
struct config *config_load(const char *path, char *err, size_t errlen);
/* Same from a buffer; name is used in error positions. */
struct config *config_parse(const char *name, const char *buf, size_t len, char *err, size_t errlen);
void config_free(struct config *cfg);
/* Prints the normalised configuration as YAML (check-config -v). */
void config_print(const struct config *cfg, FILE *out);
/* Defaults used when a key is absent. */
void config_detect_defaults(struct detect_cfg *d);

#endif
