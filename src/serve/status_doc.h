/* The document of `lightsout status --format json`, shared by the status
 * verb and GET /api/v1/status so the two can never drift apart:
 *   {"vantage", "generated",
 *    "networks": [{"name", "targets": [{"name", "role", "kind", "state",
 *                  "since", "last": {"at", "outcome", "rtt_ms", "detail"} | null}],
 *                  "states": {"unknown": N, "up": N, "degraded": N, "down": N}}],
 *    "controls": [target, ...]} */
#ifndef LIGHTSOUT_SERVE_STATUS_DOC_H
#define LIGHTSOUT_SERVE_STATUS_DOC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct bgp;
struct config;
struct store;
struct serve_live;

/* From live when it is not NULL (watch's current view), else from the
 * store's target rows (the status verb).  generated_ms stamps the
 * document.  NULL with err filled on a store error. */
json_t *serve_status_document(const struct config *cfg, struct store *st, struct serve_live *live, int64_t generated_ms,
			      char *err, size_t errlen);

/* The document's "bgp" member, as watch publishes it through the store
 * (store_put_meta "bgp") for status in another process and the API:
 *   {"updated", "peers": [{"address", "remote_as", "state", "uptime_s",
 *     "prefixes", "updates", "flaps", "hold_time", "last_error"}],
 *    "networks": [{"name", "prefixes", "visible", "counted_peers"}]}
 * NULL if out of memory. */
json_t *serve_bgp_status_document(const struct config *cfg, const struct bgp *b, int64_t updated_ms);

/* The flags status prints the document with. */
#define SERVE_STATUS_JSON_FLAGS (JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6))

#endif
