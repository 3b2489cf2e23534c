/* HTTP server: routes of SPEC.md "HTTP (on listen)" plus the dashboard's
 * own pages, on libmicrohttpd's internal epoll thread pool.  Every answer
 * is rendered into memory first (open_memstream) and handed to MHD whole,
 * so a slow client never holds a lock. */
#include "serve/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "config/values.h"
#include "core/addr.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "render/render.h"
#include "lightsout_version.h"
#include "serve/head_watch.h"
#include "serve/live.h"
#include "serve/render.h"
#include "serve/status_doc.h"
#include "store/store.h"

#define DAY_MS              (INT64_C(86400000))
#define INDEX_RECENT        30   /* closed incidents on the index page */
#define PAGE_POINTS         720  /* points per dashboard timeline */
#define API_MAX_POINTS      5000 /* points per series answer */
#define INCIDENT_PAD_ROUNDS 10   /* context around an incident on its page */

struct serve_http {
	pthread_rwlock_t swap; /* requests read cfg and live under it; a reload swaps them */
	const struct config *cfg;
	struct serve_live *live;
	struct store *st;
	struct MHD_Daemon *d;
	int lfd; /* bound, until d owns it */
	uint16_t port;
	struct head_watch hw;
};

/* ---------- responses ---------- */

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type, char *buf, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	/* no script, no external asset: inline styles and inline SVG only */
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
				"form-action 'none'; frame-ancestors 'none'");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
	char *buf = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MHD_NO;
	return send_buf(c, status, "text/plain; charset=utf-8", buf, (size_t)n);
}

/* JSON text with <, > and & as \\u escapes (they only occur inside
 * strings), so it is inert even if something treats it as HTML. */
static void write_inert(FILE *f, const char *p)
{
	while (*p) {
		size_t run = strcspn(p, "<>&");
		fwrite(p, 1, run, f);
		p += run;
		if (!*p)
			return;
		fputs(*p == '<' ? "\\u003c" : *p == '>' ? "\\u003e" : "\\u0026", f);
		p++;
	}
}

/* JSON with <, > and & as \u escapes (they only occur inside strings), so
 * the text is inert even if something treats it as HTML. */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *doc, size_t flags)
{
	char *text = doc ? json_dumps(doc, flags) : NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	json_decref(doc);
	if (!text)
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render JSON\n");
	f = open_memstream(&buf, &len);
	if (!f) {
		free(text);
		return MHD_NO;
	}
	write_inert(f, text);
	fputc('\n', f);
	fclose(f);
	free(text);
	return send_buf(c, status, "application/json", buf, len);
}

static enum MHD_Result send_json_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return send_json(c, status, json_pack("{s:s}", "error", msg), JSON_COMPACT);
}

#define JSON_API_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6))

/* ---------- helpers ---------- */

static const char *arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

struct inc_collect {
	json_t *arr;
	size_t max;
	bool truncated;
};

static int collect_incident(int64_t id, const char *json, void *a)
{
	struct inc_collect *ic = a;
	json_t *o;

	(void)id;
	if (json_array_size(ic->arr) >= ic->max) {
		ic->truncated = true;
		return 1;
	}
	o = json_loads(json, 0, NULL);
	if (o)
		json_array_append_new(ic->arr, o);
	return 0;
}

/* The most recent stored documents (as text), parsed at the end: the index
 * page shows a few out of possibly thousands. */
struct recent {
	char *json[INDEX_RECENT];
	size_t next, n;
};

static int keep_recent(int64_t id, const char *json, void *a)
{
	struct recent *r = a;
	char *copy = strdup(json);

	(void)id;
	if (!copy)
		return -1;
	free(r->json[r->next]);
	r->json[r->next] = copy;
	r->next = (r->next + 1) % INDEX_RECENT;
	if (r->n < INDEX_RECENT)
		r->n++;
	return 0;
}

static json_t *find_incident(struct serve_http *h, int64_t id)
{
	char err[256], *json = NULL;
	json_t *o;

	if (store_get_incident(h->st, id, &json, err, sizeof(err)) < 0)
		log_warnx("http: incidents: %s", err);
	o = json ? json_loads(json, 0, NULL) : NULL;
	free(json);
	return o;
}

static size_t network_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->nnetworks; i++)
		if (strcmp(cfg->networks[i].name, name) == 0)
			return i;
	return CONFIG_NO_NETWORK;
}

/* ---------- routes ---------- */

static enum MHD_Result do_healthz(struct serve_http *h, struct MHD_Connection *c)
{
	struct serve_snapshot s;
	int64_t now = wall_now_ms(), max_iv = h->cfg->interval_ms;
	struct store_stats ss;
	bool ok;

	if (serve_live_snapshot(h->live, &s, false) < 0)
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	for (size_t i = 0; i < h->cfg->ntargets; i++)
		if (h->cfg->targets[i].interval_ms > max_iv)
			max_iv = h->cfg->targets[i].interval_ms;
	/* running, and rounds keep completing (none yet is fine at start) */
	ok =
	    s.running && (s.last_measurement_ms == 0 || now - s.last_measurement_ms <= 3 * max_iv + h->cfg->timeout_ms);
	serve_snapshot_free(&s);
	if (!ok)
		return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not probing\n");
	/* probing is not enough: what it finds must reach the store (until
	 * a batch commits again, e.g. once a full disk has room) */
	store_get_stats(h->st, &ss);
	if (ss.failing)
		return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store failing: %s\n", ss.error);
	return send_text(c, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result do_metrics(struct serve_http *h, struct MHD_Connection *c)
{
	struct serve_snapshot s;
	struct store_stats ss;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (serve_live_snapshot(h->live, &s, true) < 0)
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	f = open_memstream(&buf, &len);
	if (!f) {
		serve_snapshot_free(&s);
		return MHD_NO;
	}
	store_get_stats(h->st, &ss);
	serve_metrics_render(f, h->cfg, &s, &ss, LIGHTSOUT_VERSION);
	fclose(f);
	serve_snapshot_free(&s);
	return send_buf(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf, len);
}

static enum MHD_Result do_status(struct serve_http *h, struct MHD_Connection *c)
{
	char err[256];
	json_t *doc = serve_status_document(h->cfg, h->st, h->live, wall_now_ms(), err, sizeof(err));

	if (!doc)
		return send_json_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, err);
	/* the status verb indents; the API sends the same document compact */
	return send_json(c, MHD_HTTP_OK, doc, JSON_API_FLAGS);
}

/* Stored documents as text: the answer splices them into the envelope
 * rather than parsing and re-printing thousands of them. */
struct raw_docs {
	char **doc;
	size_t n, cap, bytes;
	bool truncated;
};

static int collect_raw(int64_t id, const char *json, void *a)
{
	struct raw_docs *r = a;
	size_t len = strlen(json);

	(void)id;
	/* only whole objects (the detector's documents); skip anything else */
	if (len < 2 || json[0] != '{' || json[len - 1] != '}')
		return 0;
	if (r->n == SERVE_MAX_INCIDENTS) {
		r->truncated = true;
		return 1;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		char **d = realloc(r->doc, cap * sizeof(*d));
		if (!d)
			return -1;
		r->doc = d;
		r->cap = cap;
	}
	r->doc[r->n] = strdup(json);
	if (!r->doc[r->n])
		return -1;
	r->n++;
	r->bytes += len + 1;
	return 0;
}

static enum MHD_Result do_incidents(struct serve_http *h, struct MHD_Connection *c)
{
	int64_t now = wall_now_ms(), since = 0, until = -1;
	const char *net = arg(c, "network"), *s = arg(c, "since"), *u = arg(c, "until");
	struct raw_docs r = {0};
	char err[256], gen[RFC3339_LEN], *env = NULL, *buf = NULL;
	size_t len = 0, elen;
	json_t *doc;
	FILE *f;
	enum MHD_Result rc = MHD_NO;

	if (s && time_arg_parse(s, now, &since) != 0)
		return send_json_error(c, MHD_HTTP_BAD_REQUEST, "since: an RFC 3339 time or a duration such as 6h");
	if (u && time_arg_parse(u, now, &until) != 0)
		return send_json_error(c, MHD_HTTP_BAD_REQUEST, "until: an RFC 3339 time or a duration such as 6h");
	if (store_each_incident(h->st, net && *net ? net : NULL, since, until, collect_raw, &r, err, sizeof(err)) < 0) {
		rc = send_json_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, err);
		goto out;
	}
	/* the envelope of render_report_json, incidents last and empty */
	rfc3339_format(now, gen, sizeof(gen));
	doc = json_pack("{s:s?, s:s}", "vantage", h->cfg->vantage, "generated", gen);
	if (doc && r.truncated)
		json_object_set_new(doc, "truncated", json_true());
	if (doc)
		json_object_set_new(doc, "incidents", json_array());
	env = doc ? json_dumps(doc, JSON_API_FLAGS) : NULL;
	json_decref(doc);
	elen = env ? strlen(env) : 0;
	if (elen < 3 || strcmp(env + elen - 3, "[]}") != 0) {
		rc = send_json_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render JSON");
		goto out;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		goto out;
	fwrite(env, 1, elen - 2, f);
	for (size_t i = 0; i < r.n; i++) {
		write_inert(f, r.doc[i]);
		if (i + 1 < r.n)
			fputc(',', f);
	}
	fputs("]}\n", f);
	fclose(f);
	rc = send_buf(c, MHD_HTTP_OK, "application/json", buf, len);
out:
	for (size_t i = 0; i < r.n; i++)
		free(r.doc[i]);
	free(r.doc);
	free(env);
	return rc;
}

static enum MHD_Result do_incident(struct serve_http *h, struct MHD_Connection *c, int64_t id)
{
	json_t *o = find_incident(h, id);

	if (!o)
		return send_json_error(c, MHD_HTTP_NOT_FOUND, "no such incident");
	return send_json(c, MHD_HTTP_OK, o, JSON_API_FLAGS);
}

static double sig_value(const struct serve_point *p, const char *signal, int role)
{
	if (strcmp(signal, "up") == 0)
		return p->seen[role] ? (double)p->ok[role] / p->seen[role] : -1;
	if (strcmp(signal, "loss") == 0)
		return p->answered ? p->loss_sum / p->answered : -1;
	if (strcmp(signal, "rtt") == 0)
		return p->rtt_n ? p->rtt_sum / p->rtt_n / 1000.0 : -1;
	return p->bgp_n ? p->bgp_sum / p->bgp_n : -1;
}

static json_t *points_json(const struct serve_point *pts, size_t n, const char *signal, int role)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		double v = sig_value(&pts[i], signal, role);
		json_array_append_new(
		    a, json_pack("[I, o]", (json_int_t)(pts[i].t_ms / 1000), v < 0 ? json_null() : json_real(v)));
	}
	return a;
}

static enum MHD_Result do_series(struct serve_http *h, struct MHD_Connection *c, size_t network)
{
	const char *signal = arg(c, "signal"), *s = arg(c, "since"), *st = arg(c, "step");
	int64_t now = wall_now_ms(), since = now - DAY_MS, step = 0, ostep = 0;
	struct serve_point *pts = NULL;
	size_t n = 0;
	char t0[RFC3339_LEN], t1[RFC3339_LEN];
	json_t *doc, *series;

	if (!signal)
		signal = "up";
	if (strcmp(signal, "up") != 0 && strcmp(signal, "rtt") != 0 && strcmp(signal, "loss") != 0 &&
	    strcmp(signal, "bgp") != 0)
		return send_json_error(c, MHD_HTTP_BAD_REQUEST, "signal: up, rtt, loss or bgp");
	if (s && (time_arg_parse(s, now, &since) != 0 || since >= now))
		return send_json_error(c, MHD_HTTP_BAD_REQUEST, "since: an RFC 3339 time or a duration such as 6h");
	if (st && duration_parse_ms(st, &step) != 0)
		return send_json_error(c, MHD_HTTP_BAD_REQUEST, "step: a duration such as 5m");
	if (now - since > 400 * DAY_MS)
		since = now - 400 * DAY_MS;
	if (serve_live_series(h->live, network, since, now, step, API_MAX_POINTS, &pts, &n, &ostep) < 0)
		return send_json_error(c, MHD_HTTP_BAD_REQUEST, "bad window");
	series = json_array();
	if (strcmp(signal, "up") == 0) {
		bool present[ROLE_COUNT] = {false};
		for (size_t i = 0; i < h->cfg->ntargets; i++)
			if (h->cfg->targets[i].network == network && (unsigned)h->cfg->targets[i].role < ROLE_COUNT)
				present[h->cfg->targets[i].role] = true;
		for (int r = 0; r < ROLE_COUNT; r++)
			if (present[r])
				json_array_append_new(series, json_pack("{s:s, s:o}", "role", role_name((enum role)r),
									"points", points_json(pts, n, signal, r)));
	} else {
		json_array_append_new(series,
				      json_pack("{s:n, s:o}", "role", "points", points_json(pts, n, signal, 0)));
	}
	rfc3339_format(since, t0, sizeof(t0));
	rfc3339_format(now, t1, sizeof(t1));
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:o}", "network", h->cfg->networks[network].name, "signal",
			signal, "unit", strcmp(signal, "rtt") == 0 ? "seconds" : "ratio", "since", t0, "until", t1,
			"step_s", (double)ostep / 1000.0, "series", series);
	free(pts);
	return send_json(c, MHD_HTTP_OK, doc, JSON_API_FLAGS);
}

static enum MHD_Result send_page(struct MHD_Connection *c, char *buf, size_t len)
{
	return send_buf(c, MHD_HTTP_OK, "text/html; charset=utf-8", buf, len);
}

static enum MHD_Result do_index(struct serve_http *h, struct MHD_Connection *c)
{
	struct serve_snapshot s;
	struct recent r = {0};
	int64_t now = wall_now_ms();
	json_t *incs = json_array();
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *f = NULL;
	enum MHD_Result rc = MHD_NO;

	if (!incs || serve_live_snapshot(h->live, &s, true) < 0) {
		json_decref(incs);
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	if (store_each_incident(h->st, NULL, now - 30 * DAY_MS, -1, keep_recent, &r, err, sizeof(err)) < 0)
		log_warnx("http: incidents: %s", err);
	for (size_t i = 0; i < r.n; i++) {
		size_t k = (r.next + INDEX_RECENT - r.n + i) % INDEX_RECENT;
		json_t *o = json_loads(r.json[k], 0, NULL);
		if (o)
			json_array_append_new(incs, o);
	}
	f = open_memstream(&buf, &len);
	if (f) {
		serve_page_index(f, h->cfg, &s, incs, now);
		fclose(f);
		rc = send_page(c, buf, len);
	}
	for (size_t i = 0; i < INDEX_RECENT; i++)
		free(r.json[i]);
	json_decref(incs);
	serve_snapshot_free(&s);
	return rc;
}

static enum MHD_Result do_network_page(struct serve_http *h, struct MHD_Connection *c, size_t network)
{
	const char *window = arg(c, "window");
	int64_t now = wall_now_ms(), wms, since, step = 0;
	struct serve_snapshot s;
	struct inc_collect ic = {.max = 2000};
	struct serve_point *pts = NULL;
	size_t n = 0, len = 0;
	char *buf = NULL, err[256];
	FILE *f;
	enum MHD_Result rc = MHD_NO;

	if (!window)
		window = "24h";
	wms = serve_window_ms(window);
	if (wms < 0)
		return send_text(c, MHD_HTTP_BAD_REQUEST, "window: 6h, 24h, 7d or 30d\n");
	since = now - wms;
	if (serve_live_snapshot(h->live, &s, true) < 0)
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	ic.arr = json_array();
	if (ic.arr && store_each_incident(h->st, h->cfg->networks[network].name, since, -1, collect_incident, &ic, err,
					  sizeof(err)) < 0)
		log_warnx("http: incidents: %s", err);
	if (serve_live_series(h->live, network, since, now, 0, PAGE_POINTS, &pts, &n, &step) < 0)
		n = 0;
	f = open_memstream(&buf, &len);
	if (f) {
		serve_page_network(f, h->cfg, &s, network, window, since, now, pts, n, step, ic.arr);
		fclose(f);
		rc = send_page(c, buf, len);
	}
	free(pts);
	json_decref(ic.arr);
	serve_snapshot_free(&s);
	return rc;
}

/* The live timeline as render's series, for render_html. */
static struct render_series *series_from_points(const struct config *cfg, size_t network, const struct serve_point *p,
						size_t n, int64_t step)
{
	struct render_series *s = n ? render_series_alloc(cfg, network, p[0].t_ms, step, n) : NULL;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		/* keep the ratios, scaled into render's 16-bit counters */
		for (int r = 0; r < ROLE_COUNT; r++) {
			if (!s->role_present[r] || !p[i].seen[r])
				continue;
			s->seen[r][i] = 1000;
			s->ok[r][i] = (uint16_t)(1000.0 * p[i].ok[r] / p[i].seen[r] + 0.5);
		}
		s->answered[i] = p[i].answered;
		s->loss_sum[i] = p[i].loss_sum;
		s->rtt_sum[i] = p[i].rtt_n ? p[i].rtt_sum / p[i].rtt_n * p[i].answered : 0;
	}
	return s;
}

static enum MHD_Result do_incident_page(struct serve_http *h, struct MHD_Connection *c, int64_t id)
{
	json_t *inc = find_incident(h, id), *arr = NULL;
	int64_t now = wall_now_ms(), start = -1, end = -1, pad, step = 0;
	struct render_series *series = NULL;
	struct serve_point *pts = NULL;
	size_t n = 0, len = 0, net;
	char *buf = NULL, *body, *head;
	FILE *f;
	enum MHD_Result rc = MHD_NO;

	if (!inc)
		return send_text(c, MHD_HTTP_NOT_FOUND, "no such incident\n");
	net = network_index(h->cfg, json_string_value(json_object_get(inc, "network")));
	if (json_is_string(json_object_get(inc, "start")))
		rfc3339_parse(json_string_value(json_object_get(inc, "start")), &start);
	if (!json_is_string(json_object_get(inc, "end")) ||
	    rfc3339_parse(json_string_value(json_object_get(inc, "end")), &end) != 0)
		end = now;
	pad = INCIDENT_PAD_ROUNDS * (h->cfg->interval_ms > 0 ? h->cfg->interval_ms : 60000);
	if (pad < (end - start) / 10)
		pad = (end - start) / 10;
	if (net != CONFIG_NO_NETWORK && start > 0 &&
	    serve_live_series(h->live, net, start - pad, end + pad < now ? end + pad : now, 0, PAGE_POINTS, &pts, &n,
			      &step) == 0)
		series = series_from_points(h->cfg, net, pts, n, step);
	arr = json_pack("[O]", inc);
	f = open_memstream(&buf, &len);
	if (f && arr) {
		render_html(f, h->cfg->vantage, now, arr, &series);
		fclose(f);
		/* the report page is whole; add the dashboard's way back */
		head = buf ? strstr(buf, "</head>") : NULL;
		body = head ? strstr(head, "<body>") : NULL;
		if (body) {
			char *page = NULL;
			size_t plen = 0;
			FILE *g = open_memstream(&page, &plen);
			if (g) {
				fwrite(buf, 1, (size_t)(head - buf), g);
				fputs("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
				      "<style>svg{max-width:100%;height:auto}</style>\n",
				      g);
				fwrite(head, 1, (size_t)(body - head) + 6, g);
				fputs("\n<nav><a href=\"/\">lightsout</a>", g);
				if (net != CONFIG_NO_NETWORK) {
					fputs(" &rsaquo; <a href=\"/network/", g);
					serve_url_escape(g, h->cfg->networks[net].name);
					fputs("?window=7d\">", g);
					render_html_escape(g, h->cfg->networks[net].name);
					fputs("</a>", g);
				}
				fprintf(g, " &rsaquo; incident %lld</nav>", (long long)id);
				fputs(body + 6, g);
				fclose(g);
				free(buf);
				buf = page;
				len = plen;
			}
		}
		rc = send_page(c, buf, len);
	} else if (f) {
		fclose(f);
		free(buf);
	}
	render_series_free(series);
	free(pts);
	json_decref(arr);
	json_decref(inc);
	return rc;
}

static enum MHD_Result route(struct serve_http *h, struct MHD_Connection *c, const char *url)
{
	struct serve_request req;

	serve_route_parse(h->cfg, url, &req);
	switch (req.route) {
	case SERVE_ROUTE_INDEX:
		return do_index(h, c);
	case SERVE_ROUTE_NETWORK_PAGE:
		return do_network_page(h, c, req.network);
	case SERVE_ROUTE_INCIDENT_PAGE:
		return do_incident_page(h, c, req.id);
	case SERVE_ROUTE_METRICS:
		return do_metrics(h, c);
	case SERVE_ROUTE_HEALTHZ:
		return do_healthz(h, c);
	case SERVE_ROUTE_API_STATUS:
		return do_status(h, c);
	case SERVE_ROUTE_API_INCIDENTS:
		return do_incidents(h, c);
	case SERVE_ROUTE_API_INCIDENT:
		return do_incident(h, c, req.id);
	case SERVE_ROUTE_API_SERIES:
		return do_series(h, c, req.network);
	case SERVE_ROUTE_NOT_FOUND:
		break;
	}
	if (strncmp(url, "/api/", 5) == 0)
		return send_json_error(c, MHD_HTTP_NOT_FOUND, "not found");
	return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct serve_http *h = cls;
	enum MHD_Result rc;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	head_mark(&h->hw, c, true);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET and HEAD only\n");
	/* no request bodies: refuse before reading one */
	if (*upload_data_size != 0 || MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length") ||
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding"))
		return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "no request body accepted\n");
	/* responses own their bytes: nothing read under the lock outlives it */
	pthread_rwlock_rdlock(&h->swap);
	rc = route(h, c, url);
	pthread_rwlock_unlock(&h->swap);
	return rc;
}

void serve_http_swap(struct serve_http *h, const struct config *cfg, struct serve_live *live)
{
	if (!h)
		return;
	pthread_rwlock_wrlock(&h->swap);
	h->cfg = cfg;
	h->live = live;
	pthread_rwlock_unlock(&h->swap);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = 0;
	log_debug("http: %s", buf);
}

int serve_http_bind(const struct config *cfg, struct serve_live *live, struct store *st, struct serve_http **out,
		    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct serve_http *h;

	*out = NULL;
	if (!cfg->listen || strcmp(cfg->listen, "off") == 0)
		return 0;
	if (value_listen(cfg->listen, &ss) < 0) {
		snprintf(err, errlen, "listen \"%s\": expected ADDRESS:PORT with a literal address, or off",
			 cfg->listen);
		return -1;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->cfg = cfg;
	h->live = live;
	h->st = st;
	if ((h->lfd = addr_listen(&ss, SOMAXCONN)) < 0) {
		snprintf(err, errlen, "listen %s: cannot bind: %s", cfg->listen, strerror(errno));
		free(h);
		return -1;
	}
	pthread_rwlock_init(&h->swap, NULL);
	*out = h;
	return 0;
}

int serve_http_run(struct serve_http *h, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	sigset_t all, old;

	if (h == NULL || h->d != NULL)
		return 0;
	/* The server's threads take no signals: they belong to the main loop
	 * (a SIGTERM delivered to one of them would kill watch unflushed). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (head_watch_start(&h->hw) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		snprintf(err, errlen, "cannot start the HTTP request watcher");
		return -1;
	}
	h->d = MHD_start_daemon(
	    flags, 0, NULL, NULL, handle, h, MHD_OPTION_LISTEN_SOCKET, h->lfd, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)SERVE_THREADS, MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVE_CONN_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)SERVE_CONN_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)SERVE_CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVE_REQUEST_MEMORY,
	    MHD_OPTION_NOTIFY_CONNECTION, head_notify, &h->hw, MHD_OPTION_NOTIFY_COMPLETED, head_request_completed,
	    &h->hw, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* the socket is the daemon's now, which closes it when it stops (and
	 * may have when it failed to start: not ours to close again) */
	h->lfd = -1;
	if (!h->d) {
		snprintf(err, errlen, "listen %s: cannot start the HTTP server", h->cfg->listen);
		head_watch_stop(&h->hw);
		return -1;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	return 0;
}

int serve_http_start(const struct config *cfg, struct serve_live *live, struct store *st, struct serve_http **out,
		     char *err, size_t errlen)
{
	if (serve_http_bind(cfg, live, st, out, err, errlen) < 0)
		return -1;
	if (serve_http_run(*out, err, errlen) < 0) {
		serve_http_stop(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

uint16_t serve_http_port(const struct serve_http *h)
{
	return h ? h->port : 0;
}

void serve_http_stop(struct serve_http *h)
{
	if (!h)
		return;
	if (h->d != NULL) {
		MHD_stop_daemon(h->d);
		head_watch_stop(&h->hw);
	}
	if (h->lfd >= 0)
		close(h->lfd);
	pthread_rwlock_destroy(&h->swap);
	free(h);
}
