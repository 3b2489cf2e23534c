/* Dashboard pages (server-drawn HTML and SVG, no script, no external
 * asset), route parsing and escaping.  Everything that came from the
 * network or the configuration goes through render_html_escape. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/jfield.h"
#include "config/config.h"
#include "core/timeutil.h"
#include "render/render.h"
#include "serve/render.h"

#define CH_W           900
#define CH_H           150
#define CH_L           46
#define CH_R           10
#define CH_T           8
#define CH_B           20
#define MAX_TABLE_ROWS 5000 /* target rows on one page */

static const char *const role_colors[ROLE_COUNT] = {"#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#7f7f7f"};

void serve_url_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			fputc(c, out);
		else
			fprintf(out, "%%%02X", c);
	}
}

/* ---------- routes ---------- */

static bool parse_id(const char *s, int64_t *id)
{
	int64_t v = 0;

	if (!*s || strlen(s) > 18)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	*id = v;
	return v > 0;
}

static bool find_network(const struct config *cfg, const char *name, size_t len, size_t *out)
{
	for (size_t i = 0; i < cfg->nnetworks; i++) {
		if (strlen(cfg->networks[i].name) == len && memcmp(cfg->networks[i].name, name, len) == 0) {
			*out = i;
			return true;
		}
	}
	return false;
}

void serve_route_parse(const struct config *cfg, const char *path, struct serve_request *req)
{
	static const struct {
		const char *path;
		enum serve_route route;
	} exact[] = {
	    {"/", SERVE_ROUTE_INDEX},
	    {"/metrics", SERVE_ROUTE_METRICS},
	    {"/healthz", SERVE_ROUTE_HEALTHZ},
	    {"/api/v1/status", SERVE_ROUTE_API_STATUS},
	    {"/api/v1/incidents", SERVE_ROUTE_API_INCIDENTS},
	};
	size_t len;

	memset(req, 0, sizeof(*req));
	req->route = SERVE_ROUTE_NOT_FOUND;
	if (!path)
		return;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		if (strcmp(path, exact[i].path) == 0) {
			req->route = exact[i].route;
			return;
		}
	}
	if (strncmp(path, "/api/v1/incidents/", 18) == 0) {
		if (parse_id(path + 18, &req->id))
			req->route = SERVE_ROUTE_API_INCIDENT;
		return;
	}
	if (strncmp(path, "/incident/", 10) == 0) {
		if (parse_id(path + 10, &req->id))
			req->route = SERVE_ROUTE_INCIDENT_PAGE;
		return;
	}
	if (strncmp(path, "/network/", 9) == 0) {
		/* names may hold '/': the rest of the path is the name */
		if (find_network(cfg, path + 9, strlen(path + 9), &req->network))
			req->route = SERVE_ROUTE_NETWORK_PAGE;
		return;
	}
	len = strlen(path);
	if (strncmp(path, "/api/v1/networks/", 17) == 0 && len > 17 + 7 && strcmp(path + len - 7, "/series") == 0) {
		if (find_network(cfg, path + 17, len - 17 - 7, &req->network))
			req->route = SERVE_ROUTE_API_SERIES;
	}
}

int64_t serve_window_ms(const char *s)
{
	static const struct {
		const char *name;
		int64_t ms;
	} w[] = {{"6h", INT64_C(6) * 3600000},
		 {"24h", INT64_C(24) * 3600000},
		 {"7d", INT64_C(7) * 86400000},
		 {"30d", INT64_C(30) * 86400000}};

	for (size_t i = 0; s && i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(s, w[i].name) == 0)
			return w[i].ms;
	return -1;
}

/* ---------- common ---------- */

static void page_head(FILE *out, const char *title, const struct config *cfg)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta http-equiv=\"refresh\" content=\"60\">\n<title>",
	      out);
	render_html_escape(out, title);
	fputs(" - lightsout</title>\n<style>"
	      "body{font-family:system-ui,sans-serif;max-width:1000px;margin:0 auto;padding:.5em;color:#222}"
	      "table{border-collapse:collapse;width:100%;font-size:90%}"
	      "th,td{text-align:left;padding:2px 6px;border-bottom:1px solid #eee;vertical-align:top}"
	      ".tw{overflow-x:auto}.up{color:#2a7}.degraded{color:#c80}.down{color:#c22;font-weight:bold}"
	      ".unknown{color:#888}svg{width:100%;height:auto;display:block}.legend{font-size:80%}"
	      ".inc{border-left:4px solid #c22;padding-left:.5em;margin:.6em 0}.closed{border-color:#aaa}"
	      "nav a{margin-right:.8em}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.2em}"
	      "</style>\n</head><body>\n<nav><a href=\"/\">lightsout</a> vantage <b>",
	      out);
	render_html_escape(out, cfg->vantage ? cfg->vantage : "");
	fputs("</b></nav>\n", out);
}

static void page_foot(FILE *out, int64_t now_ms)
{
	char now[RFC3339_LEN];

	rfc3339_format(now_ms, now, sizeof(now));
	fprintf(out,
		"<p class=\"legend\">Generated %s. <a href=\"/metrics\">metrics</a> "
		"<a href=\"/api/v1/status\">status JSON</a> <a href=\"/api/v1/incidents\">incidents JSON</a></p>\n"
		"</body></html>\n",
		now);
}

static void state_span(FILE *out, enum target_state s)
{
	fprintf(out, "<span class=\"%s\">%s</span>", state_name(s), state_name(s));
}

static void incident_item(FILE *out, json_t *inc)
{
	const char *net = jfield_str(inc, "network");
	bool open = json_is_null(json_object_get(inc, "end"));
	char *story = render_incident_string(inc, true);
	long long id = (long long)jfield_int(inc, "id", 0);

	fprintf(out, "<div class=\"inc%s\"><a href=\"/incident/%lld\">#%lld</a> <b>", open ? "" : " closed", id, id);
	render_html_escape(out, *net ? net : "(vantage)");
	fputs("</b> ", out);
	render_html_escape(out, jfield_str(inc, "cause"));
	fputs(open ? " <span class=\"down\">open</span>" : "", out);
	fputs("<br>", out);
	render_html_escape(out, story);
	fputs("</div>\n", out);
	free(story);
}

/* ---------- index ---------- */

void serve_page_index(FILE *out, const struct config *cfg, const struct serve_snapshot *s, json_t *incidents,
		      int64_t now_ms)
{
	size_t nn = cfg->nnetworks;
	size_t(*counts)[STATE_COUNT] = calloc(nn + 1, sizeof(*counts));
	size_t nshown = 0, ninc = json_array_size(incidents);

	page_head(out, "networks", cfg);
	fputs("<h1>Watched networks</h1>\n", out);
	if (!s->running)
		fputs("<p class=\"down\">Probing is not running.</p>\n", out);
	if (!counts) {
		fputs("<p>out of memory</p>", out);
		goto foot;
	}
	for (size_t i = 0; i < s->ntargets; i++) {
		size_t n = cfg->targets[i].network < nn ? cfg->targets[i].network : nn;
		if ((unsigned)s->targets[i].state < STATE_COUNT)
			counts[n][s->targets[i].state]++;
	}
	fputs("<div class=\"tw\"><table><tr><th>network</th><th>now</th><th>up</th><th>degraded</th><th>down</th>"
	      "<th>unknown</th><th>BGP</th><th>open incident</th></tr>\n",
	      out);
	for (size_t n = 0; n < nn; n++) {
		const char *cause = NULL;
		int64_t id = 0;
		enum target_state word = STATE_UNKNOWN;
		for (size_t i = 0; i < s->nincidents; i++) {
			if (strcmp(s->incidents[i].network, cfg->networks[n].name) == 0) {
				cause = s->incidents[i].cause;
				id = s->incidents[i].id;
			}
		}
		if (cause)
			word = STATE_DOWN;
		else if (counts[n][STATE_DOWN] || counts[n][STATE_DEGRADED])
			word = STATE_DEGRADED;
		else if (counts[n][STATE_UP])
			word = STATE_UP;
		fputs("<tr><td><a href=\"/network/", out);
		serve_url_escape(out, cfg->networks[n].name);
		fputs("?window=24h\">", out);
		render_html_escape(out, cfg->networks[n].name);
		fputs("</a></td><td>", out);
		if (cause)
			fputs("<span class=\"down\">outage</span>", out);
		else
			state_span(out, word);
		fprintf(out, "</td><td>%zu</td><td>%zu</td><td>%zu</td><td>%zu</td><td>", counts[n][STATE_UP],
			counts[n][STATE_DEGRADED], counts[n][STATE_DOWN], counts[n][STATE_UNKNOWN]);
		if (s->bgp_visible[n] >= 0)
			fprintf(out, "%d/%d visible", s->bgp_visible[n], s->bgp_expected[n]);
		else
			fputs("-", out);
		fputs("</td><td>", out);
		if (cause) {
			fprintf(out, "<a href=\"/incident/%lld\">#%lld ", (long long)id, (long long)id);
			render_html_escape(out, cause);
			fputs("</a>", out);
		}
		fputs("</td></tr>\n", out);
	}
	fprintf(out, "<tr><td>(controls)</td><td></td><td>%zu</td><td>%zu</td><td>%zu</td><td>%zu</td><td></td><td>",
		counts[nn][STATE_UP], counts[nn][STATE_DEGRADED], counts[nn][STATE_DOWN], counts[nn][STATE_UNKNOWN]);
	for (size_t i = 0; i < s->nincidents; i++)
		if (s->incidents[i].network[0] == 0)
			fprintf(out, "<a href=\"/incident/%lld\">#%lld vantage</a> ", (long long)s->incidents[i].id,
				(long long)s->incidents[i].id);
	fputs("</td></tr>\n</table></div>\n", out);

	fputs("<h2>Incidents</h2>\n", out);
	/* open ones first, then the most recent */
	for (size_t i = 0; i < s->nincidents; i++) {
		json_t *inc = jfield_parse(s->incidents[i].json);
		if (inc) {
			incident_item(out, inc);
			nshown++;
		}
		json_decref(inc);
	}
	for (size_t i = ninc; i > 0 && nshown < 30; i--) {
		json_t *inc = json_array_get(incidents, i - 1);
		if (json_is_null(json_object_get(inc, "end")))
			continue; /* shown above */
		incident_item(out, inc);
		nshown++;
	}
	if (nshown == 0)
		fputs("<p>No incident in the last 30 days.</p>\n", out);
foot:
	free(counts);
	page_foot(out, now_ms);
}

/* ---------- network page ---------- */

struct chart {
	FILE *out;
	struct render_plot p;
};

static void fmt_axis_time(int64_t ms, int64_t span, char *buf, size_t len)
{
	char t[RFC3339_LEN];

	rfc3339_format(ms, t, sizeof(t));
	if (span > INT64_C(2) * 86400000)
		snprintf(buf, len, "%.10s", t);
	else
		snprintf(buf, len, "%.5s", t + 11);
}

static void chart_open(struct chart *c, const char *title, const char *ylabel, json_t *incidents, bool phases)
{
	FILE *out = c->out;
	char a[32], b[32];

	fputs("<h3>", out);
	render_html_escape(out, title);
	fprintf(out,
		"</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"",
		CH_W, CH_H);
	render_html_escape(out, title);
	fprintf(out, "\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n", CH_L,
		CH_T, CH_W - CH_L - CH_R, CH_H - CH_T - CH_B);
	/* incident bands under the lines */
	for (size_t i = 0; i < json_array_size(incidents); i++) {
		json_t *inc = json_array_get(incidents, i);
		int64_t s = jfield_time(inc, "start"), e = jfield_time(inc, "end");
		if (s < 0)
			continue;
		if (e < 0)
			e = c->p.t1;
		if (e < c->p.t0 || s > c->p.t1)
			continue;
		fprintf(out,
			"<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#f66\" opacity=\"0.25\">"
			"<title>incident #%lld ",
			render_plot_x(&c->p, s), CH_T, fmax(render_plot_x(&c->p, e) - render_plot_x(&c->p, s), 1.0),
			CH_H - CH_T - CH_B, (long long)jfield_int(inc, "id", 0));
		render_html_escape(out, jfield_str(inc, "cause"));
		fputs("</title></rect>\n", out);
		if (!phases)
			continue;
		json_t *ph = json_object_get(inc, "phases");
		for (size_t k = 0; k < json_array_size(ph); k++) {
			json_t *p = json_array_get(ph, k);
			int64_t at = jfield_time(p, "at");
			if (at < c->p.t0 || at > c->p.t1)
				continue;
			fprintf(out,
				"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\" "
				"stroke-dasharray=\"2 2\"><title>",
				render_plot_x(&c->p, at), CH_T, render_plot_x(&c->p, at), CH_H - CH_B);
			render_html_escape(out, jfield_str(p, "at"));
			fputc(' ', out);
			render_html_escape(out, jfield_str(p, "event"));
			if (json_object_get(p, "role")) {
				fputc(' ', out);
				render_html_escape(out, jfield_str(p, "role"));
			}
			fputs("</title></line>\n", out);
		}
	}
	fprintf(out, "<text x=\"2\" y=\"%d\" font-size=\"10\">", CH_T + 8);
	render_html_escape(out, ylabel);
	fprintf(out, "</text><text x=\"2\" y=\"%d\" font-size=\"10\">0</text>\n", CH_H - CH_B);
	fmt_axis_time(c->p.t0, c->p.t1 - c->p.t0, a, sizeof(a));
	fmt_axis_time(c->p.t1, c->p.t1 - c->p.t0, b, sizeof(b));
	fprintf(out,
		"<text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text><text x=\"%d\" y=\"%d\" font-size=\"10\" "
		"text-anchor=\"end\">%s UTC</text>\n",
		CH_L, CH_H - 5, a, CH_W - CH_R, CH_H - 5, b);
}

/* One line; gaps where value() < 0 split it into segments. */
static void chart_line(struct chart *c, const struct serve_point *pts, size_t n, int64_t step,
		       double (*value)(const struct serve_point *p, int arg), int arg, const char *color,
		       const char *what)
{
	bool open = false;

	for (size_t i = 0; i < n; i++) {
		double v = value(&pts[i], arg);
		if (v < 0) {
			if (open)
				fputs("\"/>\n", c->out);
			open = false;
			continue;
		}
		if (!open)
			fprintf(c->out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
		open = true;
		fprintf(c->out, "%.1f,%.1f ", render_plot_x(&c->p, pts[i].t_ms + step / 2), render_plot_y(&c->p, v));
	}
	if (open)
		fputs("\"/>\n", c->out);
	(void)what;
}

static double v_share(const struct serve_point *p, int role)
{
	return p->seen[role] ? (double)p->ok[role] / p->seen[role] : -1;
}

static double v_loss(const struct serve_point *p, int arg)
{
	(void)arg;
	return p->answered ? p->loss_sum / p->answered : -1;
}

static double v_rtt(const struct serve_point *p, int arg)
{
	(void)arg;
	return p->rtt_n ? p->rtt_sum / p->rtt_n : -1;
}

static double v_bgp(const struct serve_point *p, int arg)
{
	(void)arg;
	return p->bgp_n ? p->bgp_sum / p->bgp_n : -1;
}

static void target_table(FILE *out, const struct config *cfg, const struct serve_snapshot *s, size_t network)
{
	size_t rows = 0;

	fputs("<h2>Targets</h2>\n<div class=\"tw\"><table><tr><th>target</th><th>role</th><th>kind</th><th>state</th>"
	      "<th>since</th><th>last</th><th>RTT</th><th>detail</th></tr>\n",
	      out);
	for (size_t i = 0; i < s->ntargets && rows < MAX_TABLE_ROWS; i++) {
		const struct target_cfg *t = &cfg->targets[i];
		const struct serve_target_snap *x = &s->targets[i];
		char since[RFC3339_LEN] = "-";
		if (t->network != network)
			continue;
		rows++;
		if (x->since_ms > 0)
			rfc3339_format(x->since_ms, since, sizeof(since));
		fputs("<tr><td>", out);
		render_html_escape(out, t->name);
		fprintf(out, "</td><td>%s</td><td>%s</td><td>", role_name(t->role), kind_name(t->kind));
		state_span(out, x->state);
		fprintf(out, "</td><td>%s</td><td>%s</td><td>", since,
			x->last_at_ms > 0 ? outcome_name(x->last_outcome) : "-");
		if (x->last_at_ms > 0 && x->last_rtt_ms >= 0)
			fprintf(out, "%.1f ms", x->last_rtt_ms);
		fputs("</td><td>", out);
		render_html_escape(out, x->last_detail);
		fputs("</td></tr>\n", out);
	}
	fputs("</table></div>\n", out);
	if (rows == MAX_TABLE_ROWS)
		fprintf(out, "<p>Only the first %d targets are listed; see /api/v1/status for all.</p>\n",
			MAX_TABLE_ROWS);
}

void serve_page_network(FILE *out, const struct config *cfg, const struct serve_snapshot *s, size_t network,
			const char *window, int64_t since_ms, int64_t now_ms, const struct serve_point *pts,
			size_t npts, int64_t step_ms, json_t *incidents)
{
	static const char *const windows[] = {"6h", "24h", "7d", "30d"};
	const char *name = cfg->networks[network].name;
	struct chart c = {.out = out,
			  .p = {CH_L, CH_T, CH_W - CH_L - CH_R, CH_H - CH_T - CH_B, since_ms,
				now_ms > since_ms ? now_ms : since_ms + 1, 1}};
	bool present[ROLE_COUNT] = {false}, bgp = false;
	double rtt_max = 0;

	for (size_t i = 0; i < cfg->ntargets; i++)
		if (cfg->targets[i].network == network && (unsigned)cfg->targets[i].role < ROLE_COUNT)
			present[cfg->targets[i].role] = true;
	for (size_t i = 0; i < npts; i++) {
		if (pts[i].bgp_n)
			bgp = true;
		if (v_rtt(&pts[i], 0) > rtt_max)
			rtt_max = v_rtt(&pts[i], 0);
	}
	page_head(out, name, cfg);
	fputs("<h1>", out);
	render_html_escape(out, name);
	fputs("</h1>\n<p>Window:", out);
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		bool cur = strcmp(window, windows[i]) == 0;
		fputs(" <a href=\"/network/", out);
		serve_url_escape(out, name);
		fprintf(out, "?window=%s\">%s%s%s</a>", windows[i], cur ? "<b>" : "", windows[i], cur ? "</b>" : "");
	}
	if (s->bgp_visible[network] >= 0)
		fprintf(out, " &middot; BGP: %d of %d prefixes visible", s->bgp_visible[network],
			s->bgp_expected[network]);
	fputs("</p>\n", out);

	chart_open(&c, "Share of targets up, per role", "100%", incidents, true);
	for (int r = 0; r < ROLE_COUNT; r++)
		if (present[r])
			chart_line(&c, pts, npts, step_ms, v_share, r, role_colors[r], role_name((enum role)r));
	fputs("</svg>\n<p class=\"legend\">", out);
	for (int r = 0; r < ROLE_COUNT; r++)
		if (present[r])
			fprintf(out, "<span style=\"color:%s\">&#9632; %s</span> ", role_colors[r],
				role_name((enum role)r));
	fputs("&middot; red bands: incidents; dashed lines: phases</p>\n", out);

	chart_open(&c, "Loss (answering targets)", "100%", incidents, false);
	chart_line(&c, pts, npts, step_ms, v_loss, 0, "#d62728", "loss");
	fputs("</svg>\n", out);

	{
		char lab[32];
		struct chart r = c;
		r.p.ymax = rtt_max > 0 ? rtt_max * 1.1 : 1;
		snprintf(lab, sizeof(lab), "%.0f ms", r.p.ymax);
		chart_open(&r, "Mean RTT", lab, incidents, false);
		chart_line(&r, pts, npts, step_ms, v_rtt, 0, "#555", "rtt");
		fputs("</svg>\n", out);
	}
	if (bgp || s->bgp_visible[network] >= 0) {
		chart_open(&c, "BGP visibility of the network's prefixes", "100%", incidents, false);
		chart_line(&c, pts, npts, step_ms, v_bgp, 0, "#17becf", "bgp");
		fputs("</svg>\n", out);
	}
	target_table(out, cfg, s, network);
	fputs("<h2>Incidents in this window</h2>\n", out);
	for (size_t i = json_array_size(incidents); i > 0; i--)
		incident_item(out, json_array_get(incidents, i - 1));
	if (json_array_size(incidents) == 0)
		fputs("<p>None.</p>\n", out);
	page_foot(out, now_ms);
}
