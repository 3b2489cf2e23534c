/* How two configurations relate, for a reload (SIGHUP): which targets
 * are unchanged, which sections changed. */
#ifndef LIGHTSOUT_CONFIG_DIFF_H
#define LIGHTSOUT_CONFIG_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* How the new configuration relates to the old: for each new target the
 * old index of the same (network, name) if nothing else changed either
 * (UINT32_MAX otherwise), for each old target its new index when it is
 * kept, and the counts for the log. */
struct config_diff {
	uint32_t *from; /* [new ntargets] */
	uint32_t *to;   /* [old ntargets] */
	size_t *net_from;
	size_t added, removed, changed, same;
};

/* Two optional strings (NULL = unset) are the same. */
bool config_str_same(const char *a, const char *b);
/* Fills d (freed with config_diff_free); -1 when out of memory. */
int config_diff(const struct config *oc, const struct config *nc, struct config_diff *d);
void config_diff_free(struct config_diff *d);
/* The collector keeps running only if neither its section nor the
 * networks whose visibility it computes changed. */
bool config_bgp_same(const struct config *a, const struct config *b);
bool config_alerts_same(const struct config *a, const struct config *b);
/* The same targets in the same order with the same role and kind: what
 * the store's target rows hold. */
bool config_same_rows(const struct config *a, const struct config *b);

#endif
