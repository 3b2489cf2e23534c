/* The incident document (SPEC.md "Report (JSON)"): written for the hooks,
 * read back to resume an open incident. */
#include <jansson.h>
#include <stdio.h>

#include "core/jfield.h"
#include "core/timeutil.h"
#include "detect/detect_int.h"

static const char *const cause_names[CAUSE_COUNT] = {"stress", "power", "routing", "filtering",
						     "dns",    "host",  "vantage", "unknown"};

const char *detect_cause_name(enum detect_cause c)
{
	return (unsigned)c < CAUSE_COUNT ? cause_names[c] : "unknown";
}

static const char *const phase_names[] = {"degradation_start", "first_down", "role_down", "all_down", "bgp_withdrawn",
					  "bgp_restored",      "first_up",   "role_up",   "all_up"};

static json_t *jtime(int64_t ms)
{
	char buf[RFC3339_LEN];

	if (ms < 0)
		return json_null();
	rfc3339_format(ms, buf, sizeof(buf));
	return json_string(buf);
}

static int phase_cmp(const void *a, const void *b)
{
	const struct phase *x = *(const struct phase *const *)a, *y = *(const struct phase *const *)b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->ev != y->ev)
		return x->ev < y->ev ? -1 : 1;
	if (x->role != y->role)
		return x->role < y->role ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* x to `per` steps a unit, as k / per: the double the step's decimal text
 * reads back as, so a document and its text (detect_incident_text) say
 * the same. */
static double round_to(double x, double per)
{
	return round(x * per) / per;
}

static double severity(const struct incident *inc, size_t n)
{
	double ms = 0;

	if (!n)
		return 0;
	for (size_t i = 0; i < inc->ninv; i++) {
		const struct inv *v = &inc->inv[i];
		ms += (double)v->down_ms;
		if (v->down && v->down_at >= 0 && inc->last_at > v->down_at)
			ms += (double)(inc->last_at - v->down_at);
	}
	return ms / (double)n / 60000.0;
}

char *detect_incident_text(const json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));

	if (!s)
		abort();
	return s;
}

/* The incident's document (a new reference). */
static json_t *incident_json(const struct detector *d, const struct incident *inc)
{
	json_t *o = json_object(), *ev = json_array(), *phs = json_array(), *tg = json_array();
	const struct dnet *net = inc->net == NET_NONE ? NULL : &d->nets[inc->net];
	size_t n = net ? net->n : d->ntargets;
	int64_t end = inc->open ? inc->last_at : inc->end_at;
	const struct phase **sorted = NULL;

	json_object_set_new(o, "id", json_integer(inc->id));
	json_object_set_new(o, "network", net ? json_string(net->cfg->name) : json_null());
	json_object_set_new(o, "start", jtime(inc->start_at));
	json_object_set_new(o, "end", inc->open ? json_null() : jtime(inc->end_at));
	json_object_set_new(o, "duration_s",
			    json_real(end > inc->start_at ? (double)(end - inc->start_at) / 1000.0 : 0.0));
	json_object_set_new(o, "cause", json_string(detect_cause_name(inc->cause)));
	json_object_set_new(o, "confidence", json_real(round_to(inc->confidence, 100)));
	json_object_set_new(o, "max_down_fraction", json_real(round_to(inc->max_down_fraction, 1000)));
	json_object_set_new(o, "severity", json_real(round_to(severity(inc, n), 100)));
	for (size_t i = 0; i < inc->nev; i++)
		json_array_append_new(ev, json_string(inc->ev[i]));
	json_object_set_new(o, "evidence", ev);
	if (inc->nph) {
		sorted = xrealloc(NULL, inc->nph, sizeof(*sorted));
		for (size_t i = 0; i < inc->nph; i++)
			sorted[i] = &inc->ph[i];
		qsort(sorted, inc->nph, sizeof(*sorted), phase_cmp);
	}
	for (size_t i = 0; i < inc->nph; i++) {
		const struct phase *ph = sorted[i];
		json_t *p = json_object();
		json_object_set_new(p, "at", jtime(ph->at));
		json_object_set_new(p, "event", json_string(phase_names[ph->ev]));
		if (ph->role >= 0)
			json_object_set_new(p, "role", json_string(role_name((enum role)ph->role)));
		if (ph->nitems) {
			json_t *a = json_array();
			for (size_t k = 0; k < ph->nitems; k++)
				json_array_append_new(a, json_string(ph->items[k]));
			json_object_set_new(p, ph->prefixes ? "prefixes" : "targets", a);
		}
		json_array_append_new(phs, p);
	}
	free(sorted);
	json_object_set_new(o, "phases", phs);
	for (size_t i = 0; i < inc->ninv; i++) {
		const struct inv *v = &inc->inv[i];
		const struct target_cfg *tc = &d->cfg->targets[v->target];
		if (!v->was_down)
			continue;
		json_t *t = json_object();
		json_object_set_new(t, "name", json_string(tc->name ? tc->name : ""));
		json_object_set_new(t, "role", json_string(role_name(tc->role)));
		json_object_set_new(t, "kind", json_string(kind_name(tc->kind)));
		json_object_set_new(t, "down_at", jtime(v->first_down_at));
		json_object_set_new(t, "up_at", v->down ? json_null() : jtime(v->up_at));
		json_array_append_new(tg, t);
	}
	json_object_set_new(o, "targets", tg);
	return o;
}

void incident_emit(struct detector *d, struct incident *inc, bool force)
{
	uint64_t sig = ((uint64_t)inc->cause << 56) ^ ((uint64_t)inc->changes << 8) ^ (uint64_t)inc->open ^
		       ((uint64_t)(inc->max_down_fraction * 1000.0) << 24) ^ ((uint64_t)inc->nev << 40);
	json_t *doc;

	if (!force && sig == inc->emitted)
		return;
	inc->emitted = sig;
	if (!d->hooks.on_incident)
		return;
	doc = incident_json(d, inc);
	d->hooks.on_incident(d->arg, inc->id, inc->net == NET_NONE ? NULL : d->nets[inc->net].cfg->name, inc->start_at,
			     inc->open ? -1 : inc->end_at, inc->open, detect_cause_name(inc->cause), doc);
	json_decref(doc);
}

/* ---------- continuation ---------- */

/* A network incident's target by name within the network; a vantage
 * incident's (controls and the watched targets it took) by name in any,
 * -1 when that name is not unique. */
static int find_target(const struct detector *d, size_t net, const char *name)
{
	int found = -1;

	for (size_t i = 0; i < d->ntargets; i++) {
		if (net != NET_NONE && d->t[i].net != net)
			continue;
		if (!d->cfg->targets[i].name || strcmp(d->cfg->targets[i].name, name) != 0)
			continue;
		if (found >= 0)
			return -1;
		found = (int)i;
	}
	return found;
}

int detect_resume(struct detector *d, const char *json, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loads(json, 0, &je), *v;
	struct incident *inc = NULL;
	size_t net = NET_NONE;
	int rc = -1;

	if (!o || !json_is_object(o)) {
		snprintf(err, errlen, "incident document: %s", o ? "not an object" : je.text);
		goto out;
	}
	v = json_object_get(o, "network");
	if (json_is_string(v)) {
		for (size_t i = 0; i < d->nnets; i++)
			if (strcmp(d->nets[i].cfg->name, json_string_value(v)) == 0)
				net = i;
		if (net == NET_NONE) {
			snprintf(err, errlen, "incident network \"%s\" is not in the configuration",
				 json_string_value(v));
			goto out;
		}
	}
	if (!json_is_integer(json_object_get(o, "id")) || jfield_time(o, "start") < 0) {
		snprintf(err, errlen, "incident document without id or start");
		goto out;
	}
	/* ids start at 1, and the next incident needs one after it */
	if (json_integer_value(json_object_get(o, "id")) < 1 ||
	    json_integer_value(json_object_get(o, "id")) == INT64_MAX) {
		snprintf(err, errlen, "incident id %lld out of range",
			 (long long)json_integer_value(json_object_get(o, "id")));
		goto out;
	}
	if (!json_is_null(json_object_get(o, "end"))) {
		snprintf(err, errlen, "incident %lld is closed",
			 (long long)json_integer_value(json_object_get(o, "id")));
		goto out;
	}
	if (net == NET_NONE ? d->vantage != NULL : d->nets[net].inc != NULL) {
		snprintf(err, errlen, "an incident of that network is already open");
		goto out;
	}
	int64_t next_id = d->next_id;
	inc = incident_new(d, net, jfield_time(o, "start"));
	d->next_id = next_id; /* incident_new took one; the stored id is kept */
	inc->id = json_integer_value(json_object_get(o, "id"));
	if (inc->id >= d->next_id)
		d->next_id = inc->id + 1;
	inc->resumed = true;
	inc->last_at = inc->start_at;
	v = json_object_get(o, "cause");
	inc->cause = CAUSE_UNKNOWN;
	for (int c = 0; c < CAUSE_COUNT; c++)
		if (json_is_string(v) && strcmp(json_string_value(v), cause_names[c]) == 0)
			inc->cause = (enum detect_cause)c;
	inc->confidence = json_real_value(json_object_get(o, "confidence"));
	inc->max_down_fraction = json_number_value(json_object_get(o, "max_down_fraction"));
	v = json_object_get(o, "evidence");
	for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++)
		if (json_is_string(json_array_get(v, i)))
			incident_evidence(inc, "%s", json_string_value(json_array_get(v, i)));
	v = json_object_get(o, "phases");
	for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++) {
		json_t *p = json_array_get(v, i), *items;
		const char *evname = json_string_value(json_object_get(p, "event"));
		int ev = -1, role = -1;
		for (size_t k = 0; evname && k < sizeof(phase_names) / sizeof(phase_names[0]); k++)
			if (strcmp(evname, phase_names[k]) == 0)
				ev = (int)k;
		if (ev < 0)
			continue;
		if (json_is_string(json_object_get(p, "role")))
			role = role_from_name(json_string_value(json_object_get(p, "role")));
		struct phase *ph = phase_add(inc, (enum phase_ev)ev, jfield_time(p, "at"), role);
		if (!ph)
			break;
		items = json_object_get(p, "targets");
		if (!items) {
			items = json_object_get(p, "prefixes");
			ph->prefixes = items != NULL;
		}
		for (size_t k = 0; json_is_array(items) && k < json_array_size(items); k++)
			if (json_is_string(json_array_get(items, k)))
				phase_item(ph, json_string_value(json_array_get(items, k)));
		if (ev == PH_FIRST_DOWN)
			inc->first_down_done = true;
		if (ev == PH_FIRST_UP)
			inc->first_up_done = true;
		if (ev == PH_DEGRADATION_START)
			inc->degr_phase_done = true;
		if (ev == PH_ROLE_DOWN && role >= 0 && role < ROLE_COUNT)
			inc->role_dark[role] = true;
		if (ev == PH_ROLE_UP && role >= 0 && role < ROLE_COUNT)
			inc->role_dark[role] = false;
	}
	v = json_object_get(o, "targets");
	for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++) {
		json_t *t = json_array_get(v, i);
		const char *name = json_string_value(json_object_get(t, "name"));
		int ti = name ? find_target(d, net, name) : -1;
		if (ti < 0)
			continue;
		struct inv *iv = inv_get(inc, (uint32_t)ti);
		iv->was_down = true;
		iv->first_down_at = iv->down_at = jfield_time(t, "down_at");
		iv->up_at = jfield_time(t, "up_at");
		iv->down = iv->up_at < 0;
		if (!iv->down && iv->up_at > iv->down_at)
			iv->down_ms = iv->up_at - iv->down_at;
		if (net == NET_NONE && d->t[ti].net != NET_NONE)
			d->t[ti].tainted = iv->down;
	}
	inc->emitted = 0;
	if (net == NET_NONE)
		d->vantage = inc;
	else
		d->nets[net].inc = inc;
	inc = NULL;
	rc = 0;
out:
	if (inc) {
		d->nopen--;
		incident_free(inc);
	}
	json_decref(o);
	return rc;
}
