/* What the HTTP server sends, as pure functions of a configuration, a
 * live snapshot and stored incidents: Prometheus exposition, dashboard
 * HTML, and the small parsers of request paths and query values. */
#ifndef LIGHTSOUT_SERVE_RENDER_H
#define LIGHTSOUT_SERVE_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "serve/live.h"

struct config;

/* ---- escaping: every string from the network or the configuration ---- */

/* A Prometheus label value: backslash, double quote and newline. */
void serve_prom_escape(FILE *out, const char *s);
/* A URL path segment or query value (RFC 3986 unreserved kept). */
void serve_url_escape(FILE *out, const char *s);

/* ---- routes ---- */

enum serve_route {
	SERVE_ROUTE_NOT_FOUND,
	SERVE_ROUTE_INDEX,         /* / */
	SERVE_ROUTE_NETWORK_PAGE,  /* /network/NAME */
	SERVE_ROUTE_INCIDENT_PAGE, /* /incident/ID */
	SERVE_ROUTE_METRICS,       /* /metrics */
	SERVE_ROUTE_HEALTHZ,       /* /healthz */
	SERVE_ROUTE_API_STATUS,    /* /api/v1/status */
	SERVE_ROUTE_API_INCIDENTS, /* /api/v1/incidents */
	SERVE_ROUTE_API_INCIDENT,  /* /api/v1/incidents/ID */
	SERVE_ROUTE_API_SERIES,    /* /api/v1/networks/NAME/series */
};

struct serve_request {
	enum serve_route route;
	int64_t id;     /* incident routes */
	size_t network; /* network routes: index in cfg->networks */
};

/* Parses an (already percent-decoded) path against cfg's networks.
 * Unknown networks and malformed ids give SERVE_ROUTE_NOT_FOUND. */
void serve_route_parse(const struct config *cfg, const char *path, struct serve_request *req);

/* Dashboard windows: "6h", "24h", "7d", "30d"; -1 for anything else. */
int64_t serve_window_ms(const char *s);

/* ---- /metrics ---- */

/* The whole exposition (text format 0.0.4) of a snapshot with targets and
 * the store's counters. */
struct store_stats;
void serve_metrics_render(FILE *out, const struct config *cfg, const struct serve_snapshot *s,
			  const struct store_stats *ss, const char *version);

/* ---- dashboard ---- */

/* Incidents for a page: stored documents (array), newest last. */
void serve_page_index(FILE *out, const struct config *cfg, const struct serve_snapshot *s, json_t *incidents,
		      int64_t now_ms);
/* points from serve_live_series over [since, now), step each. */
void serve_page_network(FILE *out, const struct config *cfg, const struct serve_snapshot *s, size_t network,
			const char *window, int64_t since_ms, int64_t now_ms, const struct serve_point *pts,
			size_t npts, int64_t step_ms, json_t *incidents);

#endif
