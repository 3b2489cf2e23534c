/* `report --rejudge`: a fresh detector fed from the store (detect_replay.h). */
#include "detect/detect_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/addr.h"
#include "detect/detect.h"
#include "store/store.h"

struct replay {
	const struct config *cfg;
	struct detector *d;
	json_t *byid; /* id (string) -> latest document */
	struct store_bgp_event *bgp;
	size_t nbgp, nextbgp;
};

static void on_incident(void *arg, int64_t id, const char *network, int64_t start_ms, int64_t end_ms, bool open,
			const char *cause, const json_t *doc)
{
	struct replay *r = arg;
	char key[32];
	json_t *o = json_deep_copy(doc);

	(void)network;
	(void)start_ms;
	(void)end_ms;
	(void)open;
	(void)cause;
	if (!o)
		return;
	snprintf(key, sizeof(key), "%020lld", (long long)id);
	json_object_set_new(r->byid, key, o);
}

static void feed_bgp_until(struct replay *r, int64_t at_ms)
{
	while (r->nextbgp < r->nbgp && r->bgp[r->nextbgp].at_ms <= at_ms) {
		const struct store_bgp_event *e = &r->bgp[r->nextbgp++];
		struct prefix p;
		if (prefix_parse(e->prefix, &p) != 0)
			continue;
		for (size_t n = 0; n < r->cfg->nnetworks; n++) {
			const struct network_cfg *nc = &r->cfg->networks[n];
			for (size_t k = 0; k < nc->nprefixes; k++) {
				if (prefix_covers(&nc->prefixes[k], &p)) {
					detect_bgp(r->d, n, e->at_ms, !e->announce, &p, 1);
					break;
				}
			}
		}
	}
}

static int on_bgp(const struct store_bgp_event *e, void *arg)
{
	struct replay *r = arg;

	/* the live detector judged visibility, not single routes */
	if (strcmp(e->peer, STORE_BGP_VISIBILITY) != 0)
		return 0;
	if (r->nbgp % 256 == 0) {
		void *p = realloc(r->bgp, (r->nbgp + 256) * sizeof(*r->bgp));
		if (!p)
			return -1;
		r->bgp = p;
	}
	r->bgp[r->nbgp++] = *e;
	return 0;
}

static int on_measurement(const struct measurement *m, void *arg)
{
	struct replay *r = arg;

	feed_bgp_until(r, m->at_ms);
	detect_feed(r->d, m);
	return 0;
}

json_t *detect_replay(struct store *st, const struct config *cfg, int64_t since, int64_t until, char *err,
		      size_t errlen)
{
	struct replay r = {.cfg = cfg};
	int64_t from = since > DETECT_REPLAY_WARMUP_MS ? since - DETECT_REPLAY_WARMUP_MS : 0;
	json_t *out = NULL;
	const char *key;
	json_t *v;

	r.byid = json_object();
	/* visibility from the start of the store: whether a network has BGP
	 * data at all (first sight) may be older than the warm-up */
	if (store_each_bgp_event(st, 0, until, on_bgp, &r, err, errlen) != 0)
		goto out;
	r.d = detect_new(cfg, &(struct detect_hooks){.on_incident = on_incident}, &r);
	if (store_each_measurement(st, cfg, from, until, on_measurement, &r, err, errlen) != 0)
		goto out;
	feed_bgp_until(&r, INT64_MAX);
	detect_finish(r.d);
	out = json_array();
	/* keys are zero-padded ids: sorted order is id order */
	json_object_foreach(r.byid, key, v)
	{
		(void)key;
		json_array_append(out, v);
	}
out:
	detect_free(r.d);
	free(r.bgp);
	json_decref(r.byid);
	return out;
}
