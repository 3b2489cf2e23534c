/* The status document; see status_doc.h. */
#include "serve/status_doc.h"

#include <stdlib.h>
#include <string.h>

#include "bgp/bgp.h"
#include "config/config.h"
#include "core/jfield.h"
#include "core/timeutil.h"
#include "serve/live.h"
#include "store/store.h"

struct doc_ctx {
	const struct config *cfg;
	json_t *networks, *controls;
	size_t (*counts)[STATE_COUNT]; /* [nnetworks] */
};

static json_t *time_or_null(int64_t ms)
{
	char buf[RFC3339_LEN];

	if (ms <= 0)
		return json_null();
	rfc3339_format(ms, buf, sizeof(buf));
	return json_string(buf);
}

static int add_row(const struct store_target_row *r, void *arg)
{
	struct doc_ctx *c = arg;
	const struct target_cfg *t;
	json_t *o;

	if (r->index >= c->cfg->ntargets)
		return 0;
	t = &c->cfg->targets[r->index];
	o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", r->name, "role", r->role, "kind", r->kind, "state", r->state,
		      "since", time_or_null(r->since_ms));
	if (!o)
		return -1;
	if (r->last_at_ms > 0)
		json_object_set_new(o, "last",
				    json_pack("{s:o, s:s, s:o, s:s}", "at", time_or_null(r->last_at_ms), "outcome",
					      r->last_outcome, "rtt_ms",
					      r->last_rtt_ms >= 0 ? json_real(r->last_rtt_ms) : json_null(), "detail",
					      r->last_detail));
	else
		json_object_set_new(o, "last", json_null());
	if (t->network == CONFIG_NO_NETWORK || t->network >= c->cfg->nnetworks) {
		json_array_append_new(c->controls, o);
	} else {
		json_array_append_new(json_object_get(json_array_get(c->networks, t->network), "targets"), o);
		int s = state_from_name(r->state);
		if (s >= 0)
			c->counts[t->network][s]++;
	}
	return 0;
}

/* The live view as the store's rows, so both sources share add_row. */
static int add_live(struct doc_ctx *c, struct serve_live *live)
{
	struct serve_snapshot snap;
	struct store_target_row r;
	int rc = 0;

	if (serve_live_snapshot(live, &snap, true) < 0)
		return -1;
	for (size_t i = 0; i < snap.ntargets && rc == 0; i++) {
		const struct target_cfg *t = &c->cfg->targets[i];
		const struct serve_target_snap *s = &snap.targets[i];
		memset(&r, 0, sizeof(r));
		r.index = (uint32_t)i;
		snprintf(r.network, sizeof(r.network), "%s",
			 t->network < c->cfg->nnetworks ? c->cfg->networks[t->network].name : "");
		snprintf(r.name, sizeof(r.name), "%s", t->name);
		snprintf(r.role, sizeof(r.role), "%s", role_name(t->role));
		snprintf(r.kind, sizeof(r.kind), "%s", kind_name(t->kind));
		snprintf(r.state, sizeof(r.state), "%s", state_name(s->state));
		r.since_ms = s->since_ms;
		r.last_at_ms = s->last_at_ms;
		snprintf(r.last_outcome, sizeof(r.last_outcome), "%s", outcome_name(s->last_outcome));
		r.last_rtt_ms = s->last_rtt_ms;
		snprintf(r.last_detail, sizeof(r.last_detail), "%s", s->last_detail);
		rc = add_row(&r, c);
	}
	serve_snapshot_free(&snap);
	return rc;
}

json_t *serve_status_document(const struct config *cfg, struct store *st, struct serve_live *live, int64_t generated_ms,
			      char *err, size_t errlen)
{
	struct doc_ctx c = {.cfg = cfg};
	json_t *doc = NULL;
	char now[RFC3339_LEN];
	int rc;

	c.networks = json_array();
	c.controls = json_array();
	c.counts = calloc(cfg->nnetworks ? cfg->nnetworks : 1, sizeof(*c.counts));
	if (!c.networks || !c.controls || !c.counts) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cfg->nnetworks; i++)
		json_array_append_new(c.networks, json_pack("{s:s, s:[]}", "name", cfg->networks[i].name, "targets"));
	if (live) {
		rc = add_live(&c, live);
		if (rc < 0)
			snprintf(err, errlen, "out of memory");
	} else if (st) {
		rc = store_each_target(st, cfg, add_row, &c, err, errlen);
	} else {
		snprintf(err, errlen, "no store and no live state");
		rc = -1;
	}
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < cfg->nnetworks; i++) {
		json_t *counts = json_object();
		for (int s = 0; s < STATE_COUNT; s++)
			json_object_set_new(counts, state_name((enum target_state)s),
					    json_integer((json_int_t)c.counts[i][s]));
		json_object_set_new(json_array_get(c.networks, i), "states", counts);
	}
	rfc3339_format(generated_ms, now, sizeof(now));
	doc = json_pack("{s:s, s:s, s:O, s:O}", "vantage", cfg->vantage ? cfg->vantage : "", "generated", now,
			"networks", c.networks, "controls", c.controls);
	if (!doc) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* BGP peers and visibility as watch last published them, or null */
	char *bgp = st ? store_get_meta(st, "bgp") : NULL;
	json_t *b = jfield_parse(bgp);
	json_object_set_new(doc, "bgp", b ? b : json_null());
	free(bgp);
out:
	json_decref(c.networks);
	json_decref(c.controls);
	free(c.counts);
	return doc;
}

json_t *serve_bgp_status_document(const struct config *cfg, const struct bgp *b, int64_t updated_ms)
{
	json_t *peers = json_array(), *nets = json_array(), *doc = NULL;
	char now[RFC3339_LEN];

	if (!peers || !nets)
		goto out;
	for (size_t i = 0; i < bgp_npeers(b); i++) {
		struct bgp_peer_status ps;
		if (bgp_peer_status(b, i, &ps) < 0)
			continue;
		json_array_append_new(peers, json_pack("{s:s, s:I, s:s, s:f, s:I, s:I, s:I, s:i, s:s}", "address",
						       ps.address, "remote_as", (json_int_t)ps.remote_as, "state",
						       ps.state_name, "uptime_s", (double)ps.uptime_ms / 1000.0,
						       "prefixes", (json_int_t)ps.prefixes, "updates",
						       (json_int_t)ps.updates, "flaps", (json_int_t)ps.flaps,
						       "hold_time", (int)ps.hold_time, "last_error", ps.last_error));
	}
	for (size_t n = 0; n < cfg->nnetworks; n++) {
		struct bgp_vis_status vs;
		bgp_vis_network_status(bgp_visibility(b), n, &vs);
		json_array_append_new(nets, json_pack("{s:s, s:I, s:I, s:I}", "name", cfg->networks[n].name, "prefixes",
						      (json_int_t)vs.expected, "visible", (json_int_t)vs.visible,
						      "counted_peers", (json_int_t)vs.counted_peers));
	}
	rfc3339_format(updated_ms, now, sizeof(now));
	doc = json_pack("{s:s, s:O, s:O}", "updated", now, "peers", peers, "networks", nets);
out:
	json_decref(peers);
	json_decref(nets);
	return doc;
}
