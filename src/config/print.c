/* check-config -v: the configuration written back by libyaml's emitter,
 * walking the same key tables as the reader, with every default filled
 * in.  Strings are double-quoted (so no string reads back as null or as
 * something else) with every $ doubled (so ${} substitution gives it
 * back); words and numbers are plain. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/internal.h"
#include "core/timeutil.h"

struct printer {
	yaml_emitter_t e;
	const struct config *cfg;
	bool ok; /* false once libyaml refused something: the rest is skipped */
};

static void emit(struct printer *p, yaml_event_t *ev, int made)
{
	if (!made || !p->ok) {
		if (made)
			yaml_event_delete(ev);
		p->ok = false;
		return;
	}
	/* the emitter owns the event from here, also when it fails */
	if (!yaml_emitter_emit(&p->e, ev))
		p->ok = false;
}

static void put(struct printer *p, const char *s, bool quoted)
{
	yaml_event_t ev;

	emit(p, &ev,
	     yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
					  quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE));
}

static void put_text(struct printer *p, const char *s)
{
	size_t i, o = 0, dollars = 0;
	char *d;

	for (i = 0; s[i]; i++)
		dollars += s[i] == '$';
	d = malloc(i + dollars + 1);
	if (!d) {
		p->ok = false;
		return;
	}
	for (i = 0; s[i]; i++) {
		d[o++] = s[i];
		if (s[i] == '$')
			d[o++] = '$';
	}
	d[o] = '\0';
	put(p, d, true);
	free(d);
}

/* Shortest form that reads back as the same double. */
static void put_double(struct printer *p, double v)
{
	char buf[40];
	int prec;

	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, sizeof buf, "%.0f", v);
	} else {
		for (prec = 1; prec <= 17; prec++) {
			snprintf(buf, sizeof buf, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
	put(p, buf, false);
}

static void start(struct printer *p, bool seq, bool flow)
{
	yaml_event_t ev;

	if (seq)
		emit(p, &ev,
		     yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
	else
		emit(p, &ev,
		     yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							 flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

static void end(struct printer *p, bool seq)
{
	yaml_event_t ev;

	emit(p, &ev, seq ? yaml_sequence_end_event_initialize(&ev) : yaml_mapping_end_event_initialize(&ev));
}

static void put_map(struct printer *p, const struct schema *s, const void *obj, bool flow);

/* One value of field f at at; false if it is not printed at all. */
static bool printable(const struct field *f, const void *obj, const char *at)
{
	switch (f->type) {
	case T_ENUM:
		return *(const unsigned *)at < f->max; /* not a control's role */
	case T_LIST:
		return !(f->flags & F_OMIT) || *(const size_t *)((const char *)obj + f->count) > 0;
	case T_MAP:
		return !f->sub->present || *(const bool *)(at + f->sub->present);
	default:
		return f->type > T_WORD || *(char *const *)at != NULL;
	}
}

static void put_value(struct printer *p, const struct field *f, const void *obj, const char *at)
{
	char buf[64];
	size_t i, n;

	switch (f->type) {
	case T_WORD:
		put(p, *(char *const *)at, false);
		break;
	case T_ENUM:
		put(p, f->to_name(*(const int *)at), false);
		break;
	case T_UINT:
		snprintf(buf, sizeof buf, "%llu", (unsigned long long)field_get_uint(f, at));
		put(p, buf, false);
		break;
	case T_DOUBLE:
		put_double(p, *(const double *)at);
		break;
	case T_BOOL:
		put(p, *(const bool *)at ? "true" : "false", false);
		break;
	case T_DURATION:
		duration_format(*(const int64_t *)at, buf, sizeof buf);
		put(p, buf, false);
		break;
	case T_PREFIX:
		prefix_format((const struct prefix *)at, buf, sizeof buf);
		/* "::/0" would read as a flow-mapping key: quote IPv6 */
		put(p, buf, ((const struct prefix *)at)->family == AF_INET6);
		break;
	case T_LIST: {
		const struct field *it = f->item;
		size_t size = it->type == T_MAP ? it->sub->size : it->size;
		const char *arr = *(char *const *)at;

		n = *(const size_t *)((const char *)obj + f->count);
		start(p, true, f->flags & F_FLOW);
		for (i = 0; i < n; i++) {
			if (it->type == T_MAP)
				put_map(p, it->sub, arr + i * size, it->sub->flags & S_FLOW);
			else
				put_value(p, it, NULL, arr + i * size);
		}
		end(p, true);
		break;
	}
	case T_MAP:
		put_map(p, f->sub, at, false);
		break;
	case T_TARGETS: {
		/* obj is cfg->networks[index], or cfg for the controls */
		size_t network = (f->flags & F_CONTROL) ? CONFIG_NO_NETWORK
							: (size_t)((const struct network_cfg *)obj - p->cfg->networks);

		start(p, true, false);
		for (i = 0; i < p->cfg->ntargets; i++) {
			if (p->cfg->targets[i].network == network)
				put_map(p, &config_target_schema, &p->cfg->targets[i], true);
		}
		end(p, true);
		break;
	}
	default:
		put_text(p, *(char *const *)at);
	}
}

static void put_map(struct printer *p, const struct schema *s, const void *obj, bool flow)
{
	int kind = -1;
	size_t i;

	start(p, false, flow);
	for (i = 0; i < s->n; i++) {
		const struct field *f = &s->fields[i];
		const char *at = (const char *)obj + f->offset;

		if (f->flags & F_KIND)
			kind = *(const int *)at;
		if ((kind >= 0 && f->kinds && !(f->kinds & (1u << kind))) || !printable(f, obj, at))
			continue;
		put(p, f->key, false);
		put_value(p, f, obj, at);
	}
	end(p, false);
}

void config_print(const struct config *cfg, FILE *out)
{
	struct printer p = {.cfg = cfg, .ok = true};
	yaml_event_t ev;

	if (!yaml_emitter_initialize(&p.e))
		return;
	yaml_emitter_set_output_file(&p.e, out);
	yaml_emitter_set_unicode(&p.e, 1);
	yaml_emitter_set_width(&p.e, -1); /* one target per line, however long */
	emit(&p, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	emit(&p, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
	put_map(&p, &config_schema, cfg, false);
	emit(&p, &ev, yaml_document_end_event_initialize(&ev, 1));
	emit(&p, &ev, yaml_stream_end_event_initialize(&ev));
	yaml_emitter_delete(&p.e);
}
