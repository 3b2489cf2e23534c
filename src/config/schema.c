/* The keys of docs/configuration.md as one table per mapping, and the
 * one walker that reads any mapping by its table: unknown, duplicate and
 * missing keys, the keys a target kind allows, defaults, lists and
 * unique names.  The printer (print.c) and config_free walk the same
 * tables. */
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "config/values.h"
#include "core/log.h"
#include "core/timeutil.h"

#define K(k)             (1u << (k))
#define K_ALL            0u
#define AT(type, member) .offset = offsetof(type, member), .size = sizeof(((type *)0)->member)
#define TABLE(f)         .fields = f, .n = sizeof f / sizeof f[0]
/* a list item, with the position of its mapping */
#define ITEM_OF(type) .size = sizeof(type), .pos = offsetof(type, pos)

_Static_assert(sizeof(enum probe_kind) == sizeof(int) && sizeof(enum role) == sizeof(int), "T_ENUM stores an int");

static const char *kind_word(int k)
{
	return kind_name((enum probe_kind)k);
}

static const char *role_word(int r)
{
	return role_name((enum role)r);
}

static const char *rcode_canon(const char *s)
{
	ldns_lookup_table *lt = ldns_lookup_by_name(ldns_rcodes, s);

	return lt ? lt->name : NULL;
}

/* The store: a file path; what this build cannot open is refused here,
 * the one place, so that check-config says it and watch never gets that
 * far.  A URI may carry a password: PostgreSQL's is not echoed. */
static int check_store(const char *s, char *why, size_t len)
{
	struct value_clip cb;

	if (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0)
		snprintf(why, len, "this build supports only SQLite stores (a file path), not PostgreSQL");
	else if (strstr(s, "://"))
		snprintf(why, len, "unsupported URI \"%s\" (a file path or postgresql://...)",
			 value_clip(&cb, s, strlen(s)));
	else
		return 0;
	return -1;
}

static int check_address(const char *s, char *why, size_t len)
{
	struct sockaddr_storage ss;

	return value_address(s, &ss, why, len);
}

static int listen_why(const char *s, const char *want, char *why, size_t len)
{
	struct sockaddr_storage ss;
	struct value_clip cb;

	if (value_listen(s, &ss) == 0)
		return 0;
	snprintf(why, len, "expected %s, got \"%s\"", want, value_clip(&cb, s, strlen(s)));
	return -1;
}

static int check_listen(const char *s, char *why, size_t len)
{
	return strcmp(s, "off") == 0 ? 0 : listen_why(s, "\"off\" or ADDRESS:PORT (IPv6 as [::1]:9470)", why, len);
}

static int check_bgp_listen(const char *s, char *why, size_t len)
{
	return listen_why(s, "ADDRESS:PORT (IPv6 as [::1]:179)", why, len);
}

/* ---- targets ---- */

/* name, role, kind: the order of the print; kind is read before role
 * all the same (F_REQ keys first) */
enum { TK_NAME, TK_ROLE, TK_KIND };

#define HOST_KINDS (K(KIND_ICMP) | K(KIND_TCP) | K(KIND_SMTP) | K(KIND_TRACE))
#define T(member)  AT(struct target_cfg, member)

/* the well-known port of each kind that has one; tcp has none */
static const uint64_t port_defaults[KIND_COUNT] = {[KIND_SMTP] = 25, [KIND_DNS] = 53};

static const struct field status_item = {.type = T_UINT, .min = 100, .max = 599, .size = sizeof(int)};

static const struct field target_fields[] = {
    [TK_NAME] = {"name", T_STRING, F_REQ | F_EARLY | F_LABEL, T(name), .check = value_name},
    [TK_ROLE] = {"role", T_ENUM, F_EARLY, T(role), .max = ROLE_CONTROL, .want = "a role", .noun = "role",
		 .hint = "web, mail, dns, router, host", .from_name = role_from_name, .to_name = role_word},
    [TK_KIND] = {"kind", T_ENUM, F_REQ | F_EARLY | F_KIND, T(kind), .max = KIND_COUNT, .want = "a kind", .noun = "kind",
		 .hint = "icmp, tcp, http, smtp, dns, trace", .from_name = kind_from_name, .to_name = kind_word},
    {"host", T_STRING, 0, HOST_KINDS, HOST_KINDS, T(host), .check = value_host},
    {"port", T_UINT, 0, K(KIND_TCP) | K(KIND_SMTP) | K(KIND_DNS), K(KIND_TCP), T(port), .min = 1, .max = 65535,
     .def_kind = port_defaults},
    {"url", T_STRING, 0, K(KIND_HTTP), K(KIND_HTTP), T(url), .check = value_url},
    {"server", T_STRING, 0, K(KIND_DNS), K(KIND_DNS), T(server), .check = value_host},
    {"query", T_STRING, 0, K(KIND_DNS), K(KIND_DNS), T(query), .check = value_query},
    {"interval", T_DURATION, 0, K_ALL, 0, T(interval_ms)},
    {"timeout", T_DURATION, 0, K_ALL, 0, T(timeout_ms)},
    {"count", T_UINT, 0, K_ALL, 0, T(count), .min = 1, .max = 100, .def = 3},
    {"status", T_LIST, F_FLOW | F_OMIT, K(KIND_HTTP), 0, T(status), .count = offsetof(struct target_cfg, nstatus),
     .min = 1, .max = CONFIG_MAX_STATUS, .noun = "status code", .item = &status_item},
    {"contains", T_STRING, 0, K(KIND_HTTP), 0, T(contains)},
    {"follow_redirects", T_BOOL, 0, K(KIND_HTTP), 0, T(follow_redirects)},
    {"expect_rcode", T_WORD, 0, K(KIND_DNS), 0, T(expect_rcode), .defs = "NOERROR", .want = "an rcode", .noun = "rcode",
     .hint = "NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...", .canon = rcode_canon},
    {"expect", T_STRING, 0, K(KIND_DNS), 0, T(expect)},
    {"recursion", T_BOOL, 0, K(KIND_DNS), 0, T(recursion)},
    {"expect_banner", T_STRING, 0, K(KIND_SMTP), 0, T(expect_banner)},
};

_Static_assert(sizeof target_fields / sizeof target_fields[0] <= SCHEMA_MAX_FIELDS, "vals[] of walk_map");

/* A control's role is read (so that it is checked) and then replaced. */
static int target_early(struct ctx *c, const struct node *m, void *obj, struct node *const vals[], bool control)
{
	struct target_cfg *t = obj;

	if (control)
		t->role = ROLE_CONTROL;
	else if (!vals[TK_ROLE])
		return fail(c, m, "target \"%s\": missing key \"role\"", t->name);
	return 0;
}

const struct schema config_target_schema = {
    .what = "target",
    TABLE(target_fields),
    ITEM_OF(struct target_cfg),
    .flags = S_FLOW,
    .unique = "name",
    .early = target_early,
};

/* ---- networks ---- */

static const struct field asn_item = {.type = T_UINT, .min = 1, .max = UINT32_MAX, .size = sizeof(uint32_t)};
static const struct field prefix_item = {.type = T_PREFIX, .size = sizeof(struct prefix)};

#define N(member) AT(struct network_cfg, member)

static const struct field network_fields[] = {
    {"name", T_STRING, F_REQ | F_EARLY | F_LABEL, 0, 0, N(name), .check = value_name},
    {"asn", T_LIST, F_FLOW, 0, 0, N(asn), .count = offsetof(struct network_cfg, nasn), .item = &asn_item},
    {"prefixes", T_LIST, F_FLOW, 0, 0, N(prefixes), .count = offsetof(struct network_cfg, nprefixes),
     .item = &prefix_item},
    {"targets", T_TARGETS, 0, 0, 0, .offset = 0},
};

static const struct schema network_schema = {
    .what = "network",
    TABLE(network_fields),
    ITEM_OF(struct network_cfg),
    .unique = "name",
};

/* ---- bgp ---- */

#define P(member) AT(struct bgp_peer_cfg, member)

static const struct field peer_fields[] = {
    {"address", T_STRING, F_REQ, 0, 0, P(address), .check = check_address},
    {"remote_as", T_UINT, F_REQ, 0, 0, P(remote_as), .min = 1, .max = UINT32_MAX},
    {"local_as", T_UINT, F_REQ, 0, 0, P(local_as), .min = 1, .max = UINT32_MAX},
    {"port", T_UINT, 0, 0, 0, P(port), .min = 1, .max = 65535, .def = 179},
    {"passive", T_BOOL, 0, 0, 0, P(passive)},
    /* RFC 4271: whole seconds, at least 3, in 16 bits */
    {"hold_time", T_DURATION, 0, 0, 0, P(hold_time_ms), .min = 3000, .max = 65535000, .def = 90000},
    /* watched routes kept from the peer: a flood may not take the memory */
    {"max_prefixes", T_UINT, 0, 0, 0, P(max_prefixes), .min = 1, .max = UINT32_MAX, .def = 100000},
};

static const struct schema peer_schema = {
    .what = "bgp peer",
    TABLE(peer_fields),
    ITEM_OF(struct bgp_peer_cfg),
    .flags = S_FLOW,
    .unique = "address",
};

static const struct field peer_item = {.type = T_MAP, .sub = &peer_schema};
static const struct field mrt_item = {.type = T_STRING, .size = sizeof(char *)};

#define B(member) AT(struct bgp_cfg, member)

static const struct field bgp_fields[] = {
    {"peers", T_LIST, 0, 0, 0, B(peers), .count = offsetof(struct bgp_cfg, npeers), .noun = "bgp peer address",
     .item = &peer_item},
    {"mrt", T_LIST, 0, 0, 0, B(mrt), .count = offsetof(struct bgp_cfg, nmrt), .item = &mrt_item},
    {"listen", T_STRING, 0, 0, 0, B(listen), .check = check_bgp_listen},
};

static const struct schema bgp_schema = {
    .what = "bgp",
    TABLE(bgp_fields),
    .flags = S_NULL_OK,
    .present = offsetof(struct bgp_cfg, present),
};

/* ---- alerts ---- */

static const char *const alert_kinds[] = {"webhook", NULL};
static const char *const alert_formats[] = {"json", "alertmanager", NULL};

#define A(member) AT(struct alert_cfg, member)

static const struct field alert_fields[] = {
    {"kind", T_WORD, F_REQ, 0, 0, A(kind), .want = "an alert kind", .noun = "alert kind", .hint = "webhook",
     .words = alert_kinds},
    {"url", T_STRING, F_REQ, 0, 0, A(url), .check = value_url},
    {"format", T_WORD, 0, 0, 0, A(format), .defs = "json", .want = "a format", .noun = "format",
     .hint = "json, alertmanager", .words = alert_formats},
    {"max_age", T_DURATION, 0, 0, 0, A(max_age_ms), .def = INT64_C(24) * 3600 * 1000},
};

static const struct schema alert_schema = {
    .what = "alert",
    TABLE(alert_fields),
    ITEM_OF(struct alert_cfg),
    .flags = S_FLOW,
};

/* ---- detect ---- */

#define D(member) AT(struct detect_cfg, member)

static const struct field detect_fields[] = {
    {"down_after", T_UINT, 0, 0, 0, D(down_after), .min = 1, .max = 1000, .def = 3},
    {"up_after", T_UINT, 0, 0, 0, D(up_after), .min = 1, .max = 1000, .def = 2},
    {"baseline_rounds", T_UINT, 0, 0, 0, D(baseline_rounds), .min = 1, .max = 100000, .def = 20},
    {"degraded_loss", T_DOUBLE, 0, 0, 0, D(degraded_loss), .lo = 0, .lo_open = true, .hi = 1, .defd = 0.2},
    {"degraded_rtt_factor", T_DOUBLE, 0, 0, 0, D(degraded_rtt_factor), .lo = 0, .lo_open = true, .hi = 1000, .defd = 4},
    {"degraded_rtt_min_ms", T_DOUBLE, 0, 0, 0, D(degraded_rtt_min_ms), .lo = 0, .hi = 1e6, .defd = 20},
    {"stress_lead_rounds", T_UINT, 0, 0, 0, D(stress_lead_rounds), .min = 1, .max = 1000, .def = 2},
    {"abrupt_rounds", T_UINT, 0, 0, 0, D(abrupt_rounds), .min = 1, .max = 1000, .def = 2},
    {"network_fraction", T_DOUBLE, 0, 0, 0, D(network_fraction), .lo = 0, .lo_open = true, .hi = 1, .defd = 0.5},
};

static const struct schema detect_schema = {
    .what = "detect",
    TABLE(detect_fields),
    .flags = S_NULL_OK,
};

/* ---- top level ---- */

static const struct field network_item = {.type = T_MAP, .sub = &network_schema};
static const struct field alert_item = {.type = T_MAP, .sub = &alert_schema};

#define C(member) AT(struct config, member)

static const struct field top_fields[] = {
    {"vantage", T_STRING, 0, 0, 0, C(vantage), .check = value_name},
    {"store", T_STRING, 0, 0, 0, C(store), .defs = "lightsout.db", .check = check_store},
    {"listen", T_STRING, 0, 0, 0, C(listen), .defs = "127.0.0.1:9470", .check = check_listen},
    {"interval", T_DURATION, 0, 0, 0, C(interval_ms), .def = 60000},
    {"timeout", T_DURATION, 0, 0, 0, C(timeout_ms), .def = 5000},
    {"max_pps", T_UINT, 0, 0, 0, C(max_pps), .min = 1, .max = 10000000, .def = 1000},
    {"retention", T_DURATION, 0, 0, 0, C(retention_ms), .def = INT64_C(30) * 86400 * 1000},
    {"log_level", T_ENUM, 0, 0, 0, C(log_level), .max = LOG_LEVEL_DEBUG + 1, .def = LOG_LEVEL_INFO,
     .want = "a log level", .noun = "log level", .hint = "error, warning, info, debug", .from_name = log_level_parse,
     .to_name = log_level_name},
    {"detect", T_MAP, 0, 0, 0, C(detect), .sub = &detect_schema},
    {"networks", T_LIST, 0, 0, 0, C(networks), .count = offsetof(struct config, nnetworks), .noun = "network name",
     .item = &network_item},
    {"controls", T_TARGETS, F_CONTROL, 0, 0, .offset = 0},
    {"bgp", T_MAP, 0, 0, 0, C(bgp), .sub = &bgp_schema},
    {"alerts", T_LIST, 0, 0, 0, C(alerts), .count = offsetof(struct config, nalerts), .item = &alert_item},
};

const struct schema config_schema = {
    .what = "",
    TABLE(top_fields),
};

void config_detect_defaults(struct detect_cfg *d)
{
	memset(d, 0, sizeof *d);
	schema_defaults(&detect_schema, d, -1);
}

/* ---- defaults and freeing ---- */

void field_set_uint(const struct field *f, void *at, uint64_t v)
{
	uint32_t v32 = (uint32_t)v;
	uint16_t v16 = (uint16_t)v;

	memcpy(at, f->size == 8 ? (void *)&v : f->size == 4 ? (void *)&v32 : (void *)&v16, f->size);
}

uint64_t field_get_uint(const struct field *f, const void *at)
{
	uint64_t v = 0;
	uint32_t v32 = 0;
	uint16_t v16 = 0;

	memcpy(f->size == 8 ? (void *)&v : f->size == 4 ? (void *)&v32 : (void *)&v16, at, f->size);
	return f->size == 8 ? v : f->size == 4 ? v32 : v16;
}

static bool is_text(enum ftype t)
{
	return t <= T_WORD;
}

int schema_defaults(const struct schema *s, void *obj, int kind)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct field *f = &s->fields[i];
		char *at = (char *)obj + f->offset;

		if (kind >= 0 && f->kinds && !(f->kinds & K(kind)))
			continue;
		if (f->type == T_MAP && schema_defaults(f->sub, at, kind) < 0)
			return -1;
		if (f->defs && !*(char **)at) {
			*(char **)at = strdup(f->defs);
			if (!*(char **)at)
				return -1;
		}
		if (f->type == T_DOUBLE && f->defd != 0)
			*(double *)at = f->defd;
		if (f->def != 0 && (f->type == T_UINT || f->type == T_DURATION || f->type == T_ENUM))
			field_set_uint(f, at, f->def);
		if (f->def_kind && kind >= 0 && f->def_kind[kind] != 0)
			field_set_uint(f, at, f->def_kind[kind]);
	}
	return 0;
}

static void free_item(const struct field *f, char *at)
{
	if (is_text(f->type))
		free(*(char **)at);
	else if (f->type == T_MAP)
		schema_free(f->sub, at);
}

void schema_free(const struct schema *s, void *obj)
{
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		const struct field *f = &s->fields[i];
		char *at = (char *)obj + f->offset;

		if (f->type == T_LIST) {
			char *arr = *(char **)at;
			size_t n = *(size_t *)((char *)obj + f->count);
			size_t size = f->item->type == T_MAP ? f->item->sub->size : f->item->size;

			for (j = 0; arr && j < n; j++)
				free_item(f->item, arr + j * size);
			free(arr);
		} else if (f->type != T_TARGETS) {
			free_item(f, at);
		}
	}
}

/* ---- reading ---- */

static int key_index(const struct schema *s, const struct node *key)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (strlen(s->fields[i].key) == key->len && memcmp(s->fields[i].key, key->text, key->len) == 0)
			return (int)i;
	}
	return -1;
}

/* The value of key in a checked map (the map itself if absent). */
static const struct node *map_value(const struct node *map, const char *key)
{
	size_t i;

	for (i = 0; i + 1 < map->n; i += 2) {
		if (strlen(key) == map->items[i]->len && memcmp(key, map->items[i]->text, map->items[i]->len) == 0)
			return map->items[i + 1];
	}
	return map;
}

/* Fills vals[] (by field index) from map; unknown and duplicate keys are
 * errors. */
static int map_keys(struct ctx *c, const struct node *map, const struct schema *s, struct node *vals[])
{
	struct value_clip cb;
	size_t i;

	memset(vals, 0, s->n * sizeof *vals);
	for (i = 0; i + 1 < map->n; i += 2) {
		const struct node *key = map->items[i];
		int k = key_index(s, key);

		if (k < 0)
			return fail(c, key, "unknown key \"%s\"%s%s", value_clip(&cb, key->text, key->len),
				    *s->what ? " in " : "", s->what);
		if (vals[k])
			return fail(c, key, "duplicate key \"%s\"", s->fields[k].key);
		vals[k] = map->items[i + 1];
	}
	return 0;
}

static int expect_map(struct ctx *c, const char *key, const struct node *v)
{
	if (v->type != NODE_MAP)
		return fail(c, v, "%s: expected a mapping, got %s", key,
			    v->type == NODE_SCALAR ? (v->null ? "nothing" : "a scalar") : type_name(v));
	return 0;
}

/* Lists: an empty value (key with nothing after it) is an empty list. */
static int expect_seq(struct ctx *c, const char *key, const struct node *v)
{
	if (v->type == NODE_SCALAR && v->null)
		return 0;
	if (v->type != NODE_SEQ)
		return fail(c, v, "%s: expected a list, got %s", key, type_name(v));
	return 0;
}

static size_t seq_len(const struct node *v)
{
	return v->type == NODE_SEQ ? v->n : 0;
}

/* Duplicate names in a list: the error goes to the second one written. */
struct named {
	const char *name;
	const struct node *at;
	size_t idx;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Items arr[0..n) read from the mappings of seq v: s->unique is unique. */
static int check_unique(struct ctx *c, const struct schema *s, const struct node *v, const char *arr, size_t n,
			const char *what, const char *in)
{
	struct value_clip cb;
	const struct named *worst = NULL;
	const struct field *f = NULL;
	struct named *names;
	size_t i;
	int rc = 0;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->fields[i].key, s->unique) == 0)
			f = &s->fields[i];
	}
	if (n < 2 || !f)
		return 0;
	names = calloc(n, sizeof *names);
	if (!names)
		return fail(c, v, "out of memory");
	for (i = 0; i < n; i++) {
		names[i].name = *(char *const *)(arr + i * s->size + f->offset);
		names[i].idx = i;
		names[i].at = map_value(v->items[i], s->unique);
	}
	qsort(names, n, sizeof *names, named_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(names[i].name, names[i - 1].name) == 0 && (!worst || names[i].idx < worst->idx))
			worst = &names[i];
	}
	if (worst)
		rc = fail(c, worst->at, "duplicate %s \"%s\"%s", what,
			  value_clip(&cb, worst->name, strlen(worst->name)), in);
	free(names);
	return rc;
}

static int grow(struct ctx *c, const struct node *at, void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	char *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	if (ncap > SIZE_MAX / size)
		return fail(c, at, "out of memory");
	p = realloc(*arr, ncap * size);
	if (!p)
		return fail(c, at, "out of memory");
	memset(p + *cap * size, 0, (ncap - *cap) * size);
	*arr = p;
	*cap = ncap;
	return 0;
}

static int walk_map(struct ctx *c, const struct schema *s, struct node *m, void *obj, const char *key, bool control);

/* T_WORD and T_ENUM: the canonical spelling, and the index for T_ENUM. */
static const char *lookup_word(const struct field *f, const char *s, int *idx)
{
	size_t i;

	if (f->from_name) {
		*idx = f->from_name(s);
		return *idx >= 0 && (uint64_t)*idx < f->max ? s : NULL;
	}
	if (f->canon)
		return f->canon(s);
	for (i = 0; f->words[i]; i++) {
		if (strcmp(s, f->words[i]) == 0)
			return f->words[i];
	}
	return NULL;
}

static const char *want_of(const struct field *f)
{
	switch (f->type) {
	case T_UINT:
		return "an integer";
	case T_DOUBLE:
		return "a number";
	case T_BOOL:
		return "true or false";
	case T_DURATION:
		return "a duration";
	case T_PREFIX:
		return "a prefix";
	default:
		return f->want ? f->want : "a string";
	}
}

/* One scalar value of field f (or of list item f under key) into at. */
static int read_scalar(struct ctx *c, const struct field *f, const char *key, struct node *v, char *at)
{
	char why[VALUE_WHY_LEN], d1[32], d2[32];
	struct value_clip cb;
	const char *s, *word;
	uint64_t x;
	int idx = 0;

	if (f->type == T_STRING) {
		char **out = (char **)at;

		if (get_string(c, key, v, out) < 0)
			return -1;
		return f->check && f->check(*out, why, sizeof why) < 0 ? fail(c, v, "%s: %s", key, why) : 0;
	}
	switch (f->type) {
	case T_WORD:
	case T_ENUM:
		s = scalar(c, key, v, want_of(f));
		if (!s)
			return -1;
		word = lookup_word(f, s, &idx);
		if (!word)
			return fail(c, v, "%s: unknown %s \"%s\" (%s)", key, f->noun, value_clip(&cb, s, strlen(s)),
				    f->hint);
		if (f->type == T_ENUM) {
			memcpy(at, &idx, sizeof idx);
			return 0;
		}
		free(*(char **)at);
		*(char **)at = strdup(word);
		return *(char **)at ? 0 : fail(c, v, "out of memory");
	case T_UINT:
		if (get_uint(c, key, v, f->min, f->max, &x) < 0)
			return -1;
		field_set_uint(f, at, x);
		return 0;
	case T_DOUBLE:
		return get_double(c, key, v, f->lo, f->lo_open, f->hi, (double *)at);
	case T_BOOL:
		return get_bool(c, key, v, (bool *)at);
	case T_DURATION:
		if (get_duration(c, key, v, (int64_t *)at) < 0)
			return -1;
		if (f->max && (*(int64_t *)at % 1000 != 0 || *(int64_t *)at < (int64_t)f->min ||
			       *(int64_t *)at > (int64_t)f->max)) {
			duration_format((int64_t)f->min, d1, sizeof d1);
			duration_format((int64_t)f->max, d2, sizeof d2);
			return fail(c, v, "%s: must be whole seconds between %s and %s", key, d1, d2);
		}
		return 0;
	case T_PREFIX:
		s = scalar(c, key, v, want_of(f));
		if (!s)
			return -1;
		return value_prefix(s, (struct prefix *)at, why, sizeof why) < 0 ? fail(c, v, "%s: %s", key, why) : 0;
	default:
		return 0;
	}
}

static int read_list(struct ctx *c, const struct field *f, struct node *v, void *obj)
{
	const struct field *it = f->item;
	size_t size = it->type == T_MAP ? it->sub->size : it->size;
	size_t *count = (size_t *)((char *)obj + f->count), n, j;
	char **arr = (char **)((char *)obj + f->offset);

	if (expect_seq(c, f->key, v) < 0)
		return -1;
	n = seq_len(v);
	if (n < f->min)
		return fail(c, v, "%s: must list at least one %s", f->key, f->noun);
	if (f->max && n > f->max)
		return fail(c, v, "%s: at most %llu %ss", f->key, (unsigned long long)f->max, f->noun);
	*arr = calloc(n ? n : 1, size);
	if (!*arr)
		return fail(c, v, "out of memory");
	for (j = 0; j < n; j++) {
		char *at = *arr + j * size;

		/* counted first, so that config_free frees a half-read item */
		(*count)++;
		if (it->type == T_MAP ? walk_map(c, it->sub, v->items[j], at, f->key, false) < 0
				      : read_scalar(c, it, f->key, v->items[j], at) < 0)
			return -1;
	}
	if (it->type == T_MAP && it->sub->unique)
		return check_unique(c, it->sub, v, *arr, n, f->noun, "");
	return 0;
}

/* A list of targets appended to cfg->targets (a network's, network is
 * its index) or to the controls; names unique within the list. */
static int read_targets(struct ctx *c, const char *key, struct node *v, bool control, size_t network, const char *in)
{
	const struct schema *s = &config_target_schema;
	struct target_cfg **arr = control ? &c->ctl : &c->cfg->targets;
	size_t *n = control ? &c->nctl : &c->cfg->ntargets, *cap = control ? &c->capctl : &c->captargets;
	size_t i, first = *n, count;

	if (expect_seq(c, key, v) < 0)
		return -1;
	count = seq_len(v);
	for (i = 0; i < count; i++) {
		struct target_cfg *t;

		if (grow(c, v->items[i], (void **)arr, cap, *n, sizeof **arr) < 0)
			return -1;
		t = &(*arr)[(*n)++];
		t->network = network;
		if (walk_map(c, s, v->items[i], t, key, control) < 0)
			return -1;
	}
	return check_unique(c, s, v, (const char *)(*arr + first), count, "target name", in);
}

/* Reads mapping m (the value of key) into obj by the table s. */
static int walk_map(struct ctx *c, const struct schema *s, struct node *m, void *obj, const char *key, bool control)
{
	struct node *vals[SCHEMA_MAX_FIELDS];
	const char *label = NULL;
	char in[VALUE_MAX_NAME + 32];
	int kind = -1, pass;
	size_t i;

	if (s->pos) {
		struct config_pos *pos = (struct config_pos *)((char *)obj + s->pos);

		pos->line = m->line;
		pos->col = m->col;
	}
	if (s->present)
		*(bool *)((char *)obj + s->present) = true;
	if ((s->flags & S_NULL_OK) && m->type == NODE_SCALAR && m->null)
		return 0;
	if (expect_map(c, key, m) < 0 || map_keys(c, m, s, vals) < 0)
		return -1;
	/* required keys in table order, reading those that name the mapping
	 * or decide its other keys; then the other early keys */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < s->n; i++) {
			const struct field *f = &s->fields[i];
			char *at = (char *)obj + f->offset;

			if (pass == 0 && (f->flags & F_REQ) && !vals[i]) {
				if (label)
					return fail(c, m, "%s \"%s\": missing key \"%s\"", s->what, label, f->key);
				return fail(c, m, "%s: missing key \"%s\"", s->what, f->key);
			}
			if (!(f->flags & F_EARLY) || !vals[i] || (pass == 0) != ((f->flags & F_REQ) != 0))
				continue;
			if (read_scalar(c, f, f->key, vals[i], at) < 0)
				return -1;
			if (f->flags & F_LABEL)
				label = *(char **)at;
			if (f->flags & F_KIND)
				memcpy(&kind, at, sizeof kind);
		}
	}
	if (s->early && s->early(c, m, obj, vals, control) < 0)
		return -1;
	if (schema_defaults(s, obj, kind) < 0)
		return fail(c, m, "out of memory");
	for (i = 0; i + 1 < m->n; i += 2) {
		struct node *k = m->items[i], *v = m->items[i + 1];
		const struct field *f = &s->fields[key_index(s, k)];
		char *at = (char *)obj + f->offset;
		int rc;

		if (kind >= 0 && f->kinds && !(f->kinds & K(kind)))
			return fail(c, k, "%s \"%s\": key \"%s\" is not valid for kind %s", s->what, label, f->key,
				    kind_name((enum probe_kind)kind));
		if (f->flags & F_EARLY)
			continue;
		switch (f->type) {
		case T_LIST:
			rc = read_list(c, f, v, obj);
			break;
		case T_MAP:
			rc = walk_map(c, f->sub, v, at, f->key, false);
			break;
		case T_TARGETS:
			if (f->flags & F_CONTROL) {
				rc = read_targets(c, f->key, v, true, CONFIG_NO_NETWORK, " in controls");
			} else {
				snprintf(in, sizeof in, " in network \"%s\"", label);
				/* obj is cfg->networks[index] */
				rc = read_targets(c, f->key, v, false,
						  (size_t)((struct network_cfg *)obj - c->cfg->networks), in);
			}
			break;
		default:
			rc = read_scalar(c, f, f->key, v, at);
		}
		if (rc < 0)
			return -1;
	}
	for (i = 0; kind >= 0 && i < s->n; i++) {
		if ((s->fields[i].required & K(kind)) && !vals[i])
			return fail(c, m, "%s \"%s\": missing key \"%s\" (required for kind %s)", s->what, label,
				    s->fields[i].key, kind_name((enum probe_kind)kind));
	}
	return 0;
}

int schema_parse(struct ctx *c, struct node *root)
{
	if (schema_defaults(&config_schema, c->cfg, -1) < 0)
		return fail_at(c, 1, 1, "out of memory");
	if (!root || (root->type == NODE_SCALAR && root->null))
		return 0;
	if (root->type != NODE_MAP)
		return fail(c, root, "the configuration must be a mapping of keys (vantage, networks, ...)");
	return walk_map(c, &config_schema, root, c->cfg, "", false);
}
