/* Incident documents rendered as text, JSON and HTML; see render.h. */
#include "core/jfield.h"
#include "render/render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/timeutil.h"

#define SVG_W     900
#define SVG_H     230
#define SVG_L     50
#define SVG_R     20
#define SVG_T     40
#define SVG_B     30
#define MAX_SLOTS 200000u

/* Falls (or returns) within this many rounds are told as one: the
 * detector's "within about one round" (abrupt_rounds, default 2). */
static int64_t at_once_ms = 2 * 60000;

void render_set_round(int64_t round_ms, unsigned abrupt_rounds)
{
	at_once_ms = round_ms * (abrupt_rounds ? abrupt_rounds : 2);
}

static const char *const role_colors[ROLE_COUNT] = {"#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#7f7f7f"};

/* ---------- small helpers ---------- */

static void fmt_dur(double s, char *buf, size_t len)
{
	long long t = (long long)llround(s < 0 ? 0 : s);

	if (t < 120)
		snprintf(buf, len, "%lld s", t);
	else if (t < 7200)
		snprintf(buf, len, "%lld min", t / 60);
	else if (t < 172800)
		snprintf(buf, len, "%lld h %lld min", t / 3600, t / 60 % 60);
	else
		snprintf(buf, len, "%lld d %lld h", t / 86400, t / 3600 % 24);
}

/* "09:02 UTC" (with the date when with_date). */
static void fmt_clock(int64_t ms, bool with_date, char *buf, size_t len)
{
	char t[RFC3339_LEN];

	if (ms < 0) {
		snprintf(buf, len, "?");
		return;
	}
	rfc3339_format(ms, t, sizeof(t));
	/* rounds shorter than a minute need the seconds to tell an order */
	int hm = at_once_ms < 2 * 60000 ? 8 : 5;
	if (with_date)
		snprintf(buf, len, "%.10s %.*s UTC", t, hm, t + 11);
	else
		snprintf(buf, len, "%.*s", hm, t + 11);
}

static const char *role_words(const char *role)
{
	static const struct {
		const char *role, *words;
	} w[] = {{"web", "the web servers"}, {"mail", "the mail servers"}, {"dns", "the name servers"},
		 {"router", "the routers"},  {"host", "the hosts"},        {"control", "the controls"}};

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(role, w[i].role) == 0)
			return w[i].words;
	return role;
}

static const char *cause_words(const char *cause)
{
	static const struct {
		const char *cause, *words;
	} w[] = {
	    {"stress", "network stress (congestion or a flood such as a DDoS), not a power cut"},
	    {"power", "a power cut: every part went silent at once, with no warning"},
	    {"routing", "a routing withdrawal: the network's routes went away while its equipment stayed up"},
	    {"filtering", "filtering: traffic was blocked while the routes stayed announced"},
	    {"dns", "a DNS failure: the name servers failed while the other servers kept answering"},
	    {"host", "trouble with individual hosts, not the whole network"},
	    {"vantage", "trouble at our own vantage point, not in the watched networks"},
	    {"unknown", "unknown: no known pattern fits"},
	};

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(cause, w[i].cause) == 0)
			return w[i].words;
	return cause;
}

/* Joins a JSON array of strings: "a, b and c". */
static void join_items(json_t *a, char *buf, size_t len)
{
	size_t n = json_array_size(a), used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && used + 1 < len; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
		int w = snprintf(buf + used, len - used, "%s%s", sep, s ? s : "?");
		if (w < 0)
			break;
		used += (size_t)w;
		if (used >= len)
			used = len - 1;
	}
}

/* ---------- text ---------- */

/* The story as one paragraph into a memory stream (text and HTML). */
static char *story(json_t *inc)
{
	char *buf = NULL, when[48], dur[48], items[512], at[16];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *phases = json_object_get(inc, "phases"), *evidence = json_object_get(inc, "evidence");
	const char *net = json_string_value(json_object_get(inc, "network"));
	const char *cause = jfield_str(inc, "cause");
	bool open = json_is_null(json_object_get(inc, "end"));
	double mdf = jfield_num(inc, "max_down_fraction", 0);
	int64_t start = jfield_time(inc, "start"), deg = -1, first = -1;
	size_t nfell = 0, nup = 0;

	if (!f)
		return NULL;
	fmt_clock(start, true, when, sizeof(when));
	fmt_dur(jfield_num(inc, "duration_s", 0), dur, sizeof(dur));
	if (!net)
		fprintf(f, "Our vantage point lost sight of the watched networks at %s", when);
	else if (mdf >= 0.999)
		fprintf(f, "%s went dark at %s", net, when);
	else if (mdf > 0)
		fprintf(f, "%s was partly down from %s (at most %.0f%% of its targets at once)", net, when,
			mdf * 100.0);
	else
		fprintf(f, "%s was degraded from %s", net, when);
	if (open)
		fprintf(f, " and is still out after %s (incident %lld, open).", dur,
			(long long)jfield_int(inc, "id", 0));
	else
		fprintf(f, " for %s (incident %lld).", dur, (long long)jfield_int(inc, "id", 0));

	/* how it fell */
	for (size_t i = 0; i < json_array_size(phases); i++) {
		json_t *p = json_array_get(phases, i);
		const char *ev = jfield_str(p, "event");
		if (strcmp(ev, "degradation_start") == 0 && deg < 0)
			deg = jfield_time(p, "at");
		if (strcmp(ev, "first_down") == 0 && first < 0)
			first = jfield_time(p, "at");
	}
	if (deg >= 0 && first > deg) {
		fmt_dur((double)(first - deg) / 1000.0, dur, sizeof(dur));
		fprintf(f, " Loss, timeouts and slow answers built up for %s first", dur);
		nfell++;
	} else if (deg >= 0 && first < 0) {
		fprintf(f, " Loss, timeouts and slow answers spread across the network, but no target went down");
		nfell++;
	}
	/* everything at once: one sentence, not a list of simultaneous falls */
	int64_t all_down = -1, last_role_up = -1, first_up = -1;
	for (size_t i = 0; i < json_array_size(phases); i++) {
		json_t *p = json_array_get(phases, i);
		const char *ev = jfield_str(p, "event");
		if (strcmp(ev, "all_down") == 0 && all_down < 0)
			all_down = jfield_time(p, "at");
		if (strcmp(ev, "first_up") == 0 && first_up < 0)
			first_up = jfield_time(p, "at");
		if (strcmp(ev, "role_up") == 0)
			last_role_up = jfield_time(p, "at");
	}
	/* a stress incident fell progressively by definition */
	bool fell_at_once = first >= 0 && all_down >= 0 && all_down - first <= at_once_ms &&
			    strcmp(jfield_str(inc, "cause"), "stress") != 0;
	bool back_at_once = first_up >= 0 && last_role_up >= 0 && last_role_up - first_up <= at_once_ms;
	if (fell_at_once) {
		fmt_clock(first, false, at, sizeof(at));
		fprintf(f, "%s went silent at once (%s)", nfell ? "; then every target" : " Every target", at);
		nfell++;
	}
	for (size_t i = 0; i < json_array_size(phases); i++) {
		json_t *p = json_array_get(phases, i);
		const char *ev = jfield_str(p, "event");
		fmt_clock(jfield_time(p, "at"), false, at, sizeof(at));
		if (fell_at_once &&
		    (strcmp(ev, "role_down") == 0 || strcmp(ev, "first_down") == 0 || strcmp(ev, "all_down") == 0))
			continue;
		if (back_at_once && (strcmp(ev, "role_up") == 0 || strcmp(ev, "first_up") == 0))
			continue;
		if (strcmp(ev, "role_down") == 0) {
			join_items(json_object_get(p, "targets"), items, sizeof(items));
			fprintf(f, "%s %s fell (%s, %s)", nfell ? "; then" : " First",
				role_words(jfield_str(p, "role")), items, at);
			nfell++;
		} else if (strcmp(ev, "first_down") == 0) {
			join_items(json_object_get(p, "targets"), items, sizeof(items));
			fprintf(f, "%s %s went down (%s)", nfell ? "; then" : " First", items, at);
			nfell++;
		} else if (strcmp(ev, "bgp_withdrawn") == 0) {
			join_items(json_object_get(p, "prefixes"), items, sizeof(items));
			fprintf(f, "%s BGP withdrew %s (%s)", nfell ? ";" : "", items, at);
			nfell++;
		} else if (strcmp(ev, "all_down") == 0) {
			fprintf(f, "%s nothing answered any more (%s)", nfell ? "; at the apex" : " At the apex", at);
			nfell++;
		}
	}
	if (nfell)
		fputc('.', f);
	/* how it came back */
	if (back_at_once) {
		fmt_clock(first_up, false, at, sizeof(at));
		fprintf(f, " Every part came back at once (%s)", at);
		nup++;
	}
	for (size_t i = 0; i < json_array_size(phases); i++) {
		json_t *p = json_array_get(phases, i);
		const char *ev = jfield_str(p, "event");
		fmt_clock(jfield_time(p, "at"), false, at, sizeof(at));
		if (back_at_once && (strcmp(ev, "role_up") == 0 || strcmp(ev, "first_up") == 0))
			continue;
		if (strcmp(ev, "role_up") == 0) {
			const char *w = role_words(jfield_str(p, "role"));
			if (nup == 0)
				fprintf(f, " %c%s came back first (%s)", w[0] == 't' ? 'T' : w[0], w + 1, at);
			else
				fprintf(f, ", then %s (%s)", w, at);
			nup++;
		} else if (strcmp(ev, "bgp_restored") == 0) {
			join_items(json_object_get(p, "prefixes"), items, sizeof(items));
			fprintf(f, "%s BGP announced %s again (%s)", nup ? ";" : "", items, at);
			nup++;
		} else if (strcmp(ev, "all_up") == 0 &&
			   !(back_at_once && jfield_time(p, "at") - first_up <= at_once_ms)) {
			fprintf(f, "%s everything answered again at %s", nup ? "; and" : " Then", at);
			nup++;
		}
	}
	if (nup)
		fputc('.', f);
	fprintf(f, " Cause: %s (confidence %.2f)", cause_words(cause), jfield_num(inc, "confidence", 0));
	for (size_t i = 0; i < json_array_size(evidence); i++) {
		const char *e = json_string_value(json_array_get(evidence, i));
		fprintf(f, "%s%s", i == 0 ? ": " : "; ", e ? e : "");
	}
	fputc('.', f);
	fclose(f);
	return buf;
}

static void timeline_text(FILE *out, json_t *inc)
{
	json_t *phases = json_object_get(inc, "phases");
	char items[512];

	for (size_t i = 0; i < json_array_size(phases); i++) {
		json_t *p = json_array_get(phases, i), *a = json_object_get(p, "targets");
		if (!a)
			a = json_object_get(p, "prefixes");
		join_items(a, items, sizeof(items));
		fprintf(out, "  %-24s  %-17s %-6s %s\n", jfield_str(p, "at"), jfield_str(p, "event"),
			jfield_str(p, "role"), items);
	}
}

void render_incident_text(FILE *out, json_t *inc)
{
	char *s = story(inc);

	fprintf(out, "%s\n\n", s ? s : "");
	free(s);
	timeline_text(out, inc);
	fputc('\n', out);
}

char *render_incident_string(json_t *inc, bool first_paragraph)
{
	char *buf = NULL, *cut;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	render_incident_text(f, inc);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	if (first_paragraph && (cut = strstr(buf, "\n\n")) != NULL)
		*cut = 0;
	return buf;
}

json_t *render_report_json(const char *vantage, int64_t generated_ms, json_t *incidents)
{
	char gen[RFC3339_LEN];

	rfc3339_format(generated_ms, gen, sizeof(gen));
	return json_pack("{s:s?, s:s, s:O}", "vantage", vantage, "generated", gen, "incidents", incidents);
}

/* ---------- series ---------- */

struct render_series *render_series_alloc(const struct config *cfg, size_t network, int64_t t0_ms, int64_t step_ms,
					  size_t n)
{
	struct render_series *s;

	if (n == 0 || n > MAX_SLOTS || step_ms <= 0 || network >= cfg->nnetworks)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->t0_ms = t0_ms;
	s->step_ms = step_ms;
	s->n = n;
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (cfg->targets[i].network == network && (unsigned)cfg->targets[i].role < ROLE_COUNT)
			s->role_present[cfg->targets[i].role] = true;
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!s->role_present[r])
			continue;
		s->seen[r] = calloc(n, sizeof(uint16_t));
		s->ok[r] = calloc(n, sizeof(uint16_t));
		if (!s->seen[r] || !s->ok[r])
			goto fail;
	}
	s->loss_sum = calloc(n, sizeof(double));
	s->rtt_sum = calloc(n, sizeof(double));
	s->answered = calloc(n, sizeof(uint32_t));
	if (!s->loss_sum || !s->rtt_sum || !s->answered)
		goto fail;
	return s;
fail:
	render_series_free(s);
	return NULL;
}

struct render_series *render_series_new(const struct config *cfg, size_t network, int64_t from_ms, int64_t to_ms)
{
	int64_t step = cfg->interval_ms > 0 ? cfg->interval_ms : 60000;

	if (to_ms <= from_ms || (uint64_t)((to_ms - from_ms) / step) + 1 > MAX_SLOTS)
		return NULL;
	return render_series_alloc(cfg, network, from_ms, step, (size_t)((to_ms - from_ms) / step) + 1);
}

void render_series_add(struct render_series *s, const struct config *cfg, size_t network, const struct measurement *m)
{
	const struct target_cfg *t;
	size_t i;

	if (!s || m->target >= cfg->ntargets || m->at_ms < s->t0_ms)
		return;
	t = &cfg->targets[m->target];
	if (t->network != network || (unsigned)t->role >= ROLE_COUNT || !s->seen[t->role])
		return;
	i = (size_t)((m->at_ms - s->t0_ms) / s->step_ms);
	if (i >= s->n)
		return;
	if (s->seen[t->role][i] < UINT16_MAX)
		s->seen[t->role][i]++;
	if (m->outcome == OUTCOME_OK) {
		if (s->ok[t->role][i] < UINT16_MAX)
			s->ok[t->role][i]++;
		s->answered[i]++;
		s->loss_sum[i] += m->loss;
		if (m->rtt_ms >= 0)
			s->rtt_sum[i] += m->rtt_ms;
	}
}

void render_series_free(struct render_series *s)
{
	if (!s)
		return;
	for (int r = 0; r < ROLE_COUNT; r++) {
		free(s->seen[r]);
		free(s->ok[r]);
	}
	free(s->loss_sum);
	free(s->rtt_sum);
	free(s->answered);
	free(s);
}

/* ---------- HTML ---------- */

void render_html_escape(FILE *out, const char *s)
{
	static const char special[] = "&<>\"'\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0d\x0e\x0f\x10"
				      "\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f";

	while (s && *s) {
		/* plain runs in one write: pages hold thousands of strings */
		size_t run = strcspn(s, special);
		fwrite(s, 1, run, out);
		s += run;
		switch (*s) {
		case 0:
			return;
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			break; /* control bytes have no business in a page */
		}
		s++;
	}
}

double render_plot_x(const struct render_plot *p, int64_t t)
{
	if (p->t1 <= p->t0)
		return p->left;
	if (t < p->t0)
		t = p->t0;
	if (t > p->t1)
		t = p->t1;
	return p->left + p->width * (double)(t - p->t0) / (double)(p->t1 - p->t0);
}

double render_plot_y(const struct render_plot *p, double v)
{
	if (!(v >= 0))
		v = 0;
	if (v > p->ymax)
		v = p->ymax;
	return p->top + p->height * (p->ymax > 0 ? 1.0 - v / p->ymax : 1.0);
}

static void svg_timeline(FILE *out, json_t *inc, const struct render_series *s)
{
	int64_t t0, t1;
	json_t *phases = json_object_get(inc, "phases");
	double rtt_max = 0;
	char lab[16];

	if (s) {
		t0 = s->t0_ms;
		t1 = s->t0_ms + (int64_t)s->n * s->step_ms;
	} else {
		t0 = jfield_time(inc, "start");
		t1 = t0 + (int64_t)(jfield_num(inc, "duration_s", 0) * 1000.0);
		if (t1 <= t0)
			t1 = t0 + 60000;
	}
	const struct render_plot pl = {SVG_L, SVG_T, SVG_W - SVG_L - SVG_R, SVG_H - SVG_T - SVG_B, t0, t1, 1};
	fprintf(out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"role=\"img\">\n",
		SVG_W, SVG_H, SVG_W, SVG_H);
	fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n", SVG_L,
		SVG_T, SVG_W - SVG_L - SVG_R, SVG_H - SVG_T - SVG_B);
	fprintf(out,
		"<text x=\"4\" y=\"%.1f\" font-size=\"10\">100%%</text><text x=\"4\" y=\"%.1f\" "
		"font-size=\"10\">0%%</text>\n",
		render_plot_y(&pl, 1) + 4, render_plot_y(&pl, 0));
	/* the incident's span */
	{
		int64_t a = jfield_time(inc, "start"), b = jfield_time(inc, "end");
		if (b < 0)
			b = a + (int64_t)(jfield_num(inc, "duration_s", 0) * 1000.0);
		fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#fdd\" opacity=\"0.5\"/>\n",
			render_plot_x(&pl, a), SVG_T, render_plot_x(&pl, b) - render_plot_x(&pl, a),
			SVG_H - SVG_T - SVG_B);
	}
	if (s) {
		for (size_t i = 0; i < s->n; i++)
			if (s->answered[i] && s->rtt_sum[i] / s->answered[i] > rtt_max)
				rtt_max = s->rtt_sum[i] / s->answered[i];
		for (int r = 0; r < ROLE_COUNT; r++) {
			if (!s->role_present[r])
				continue;
			fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
				role_colors[r]);
			for (size_t i = 0; i < s->n; i++) {
				if (!s->seen[r][i])
					continue;
				fprintf(out, "%.1f,%.1f ", render_plot_x(&pl, s->t0_ms + (int64_t)i * s->step_ms),
					render_plot_y(&pl, (double)s->ok[r][i] / s->seen[r][i]));
			}
			fprintf(out, "\"><title>share up: %s</title></polyline>\n", role_name((enum role)r));
		}
		fprintf(out, "<polyline fill=\"none\" stroke=\"#d62728\" stroke-dasharray=\"4 2\" points=\"");
		for (size_t i = 0; i < s->n; i++)
			if (s->answered[i])
				fprintf(out, "%.1f,%.1f ", render_plot_x(&pl, s->t0_ms + (int64_t)i * s->step_ms),
					render_plot_y(&pl, s->loss_sum[i] / s->answered[i]));
		fprintf(out, "\"><title>loss (answering targets)</title></polyline>\n");
		if (rtt_max > 0) {
			fprintf(out, "<polyline fill=\"none\" stroke=\"#999\" stroke-width=\"1\" points=\"");
			for (size_t i = 0; i < s->n; i++)
				if (s->answered[i])
					fprintf(out, "%.1f,%.1f ",
						render_plot_x(&pl, s->t0_ms + (int64_t)i * s->step_ms),
						render_plot_y(&pl, s->rtt_sum[i] / s->answered[i] / rtt_max));
			fprintf(out, "\"><title>mean RTT (max %.1f ms)</title></polyline>\n", rtt_max);
		}
	}
	/* Labels go on the first of three rows with room; a marker with no
	 * room keeps its line and tooltip (the table below lists every phase). */
	double row_end[3] = {-1e9, -1e9, -1e9};
	for (size_t i = 0; i < json_array_size(phases); i++) {
		json_t *p = json_array_get(phases, i);
		double x = render_plot_x(&pl, jfield_time(p, "at"));
		char label[64];
		snprintf(label, sizeof(label), "%s%s%s", jfield_str(p, "event"), json_object_get(p, "role") ? " " : "",
			 json_object_get(p, "role") ? jfield_str(p, "role") : "");
		double half = 2.6 * (double)strlen(label) + 3; /* about half the width at 9 px */
		fprintf(out,
			"<g><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\" "
			"stroke-dasharray=\"2 2\"/>",
			x, SVG_T - 4, x, SVG_H - SVG_B);
		for (int row = 0; row < 3; row++) {
			if (x - half < row_end[row])
				continue;
			row_end[row] = x + half;
			fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" text-anchor=\"middle\">", x,
				10 + row * 10);
			render_html_escape(out, label);
			fprintf(out, "</text>");
			break;
		}
		fprintf(out, "<title>");
		render_html_escape(out, jfield_str(p, "at"));
		fputc(' ', out);
		render_html_escape(out, jfield_str(p, "event"));
		fprintf(out, "</title></g>\n");
	}
	fmt_clock(t0, false, lab, sizeof(lab));
	fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text>", SVG_L, SVG_H - 10, lab);
	fmt_clock(t1, false, lab, sizeof(lab));
	fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">%s UTC</text>\n", SVG_W - SVG_R,
		SVG_H - 10, lab);
	fprintf(out, "</svg>\n");
	if (s) {
		fprintf(out, "<p class=\"legend\">");
		for (int r = 0; r < ROLE_COUNT; r++)
			if (s->role_present[r])
				fprintf(out, "<span style=\"color:%s\">&#9632; %s up</span> ", role_colors[r],
					role_name((enum role)r));
		fprintf(out, "<span style=\"color:#d62728\">&#9632; loss</span> <span style=\"color:#999\">&#9632; "
			     "RTT (relative)</span></p>\n");
	}
}

void render_html(FILE *out, const char *vantage, int64_t generated_ms, json_t *incidents,
		 struct render_series *const *series)
{
	char gen[RFC3339_LEN];

	rfc3339_format(generated_ms, gen, sizeof(gen));
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>lightsout report: ");
	render_html_escape(out, vantage ? vantage : "");
	fprintf(out, "</title>\n<style>body{font-family:sans-serif;max-width:960px;margin:1em auto;color:#222}"
		     "section{border-top:1px solid #ccc;padding:.5em 0}table{border-collapse:collapse;font-size:90%%}"
		     "td{padding:1px 8px;border-bottom:1px solid #eee}.cause{font-weight:bold}"
		     ".legend{font-size:80%%}</style>\n</head><body>\n<h1>Incidents seen from ");
	render_html_escape(out, vantage ? vantage : "");
	fprintf(out, "</h1>\n<p>Generated %s; %zu incident(s).</p>\n", gen, json_array_size(incidents));
	for (size_t i = 0; i < json_array_size(incidents); i++) {
		json_t *inc = json_array_get(incidents, i), *phases = json_object_get(inc, "phases");
		const char *net = json_string_value(json_object_get(inc, "network"));
		char *s = story(inc);

		fprintf(out, "<section>\n<h2>#%lld ", (long long)jfield_int(inc, "id", 0));
		render_html_escape(out, net ? net : "(vantage)");
		fprintf(out, " &mdash; <span class=\"cause\">");
		render_html_escape(out, jfield_str(inc, "cause"));
		fprintf(out, "</span></h2>\n");
		svg_timeline(out, inc, series ? series[i] : NULL);
		fprintf(out, "<p>");
		render_html_escape(out, s ? s : "");
		fprintf(out, "</p>\n<table>\n");
		free(s);
		for (size_t k = 0; k < json_array_size(phases); k++) {
			json_t *p = json_array_get(phases, k), *a = json_object_get(p, "targets");
			char items[512];
			if (!a)
				a = json_object_get(p, "prefixes");
			join_items(a, items, sizeof(items));
			fprintf(out, "<tr><td>");
			render_html_escape(out, jfield_str(p, "at"));
			fprintf(out, "</td><td>");
			render_html_escape(out, jfield_str(p, "event"));
			fprintf(out, "</td><td>");
			render_html_escape(out, jfield_str(p, "role"));
			fprintf(out, "</td><td>");
			render_html_escape(out, items);
			fprintf(out, "</td></tr>\n");
		}
		fprintf(out, "</table>\n</section>\n");
	}
	fprintf(out, "</body></html>\n");
}
