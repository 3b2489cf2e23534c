/* lightsout report [-c FILE] [--network NAME] [--since T] [--until T]
 *                  [--format text|json|html] [-o FILE] [--rejudge] */
#include "cli/report.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "core/jfield.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "detect/detect_replay.h"
#include "render/render.h"
#include "store/store.h"

/* rounds of context around an incident in the HTML timeline */
#define SERIES_PAD_ROUNDS 10

static const char report_usage[] = "usage: lightsout report [-c FILE] [--network NAME] [--since T] [--until T]\n"
				   "                        [--format text|json|html] [-o FILE] [--rejudge]\n"
				   "  T is an RFC 3339 time or a duration back from now (6h).\n"
				   "  --rejudge recomputes the incidents from the stored measurements.\n";

struct collect {
	json_t *arr;
};

static int on_stored(int64_t id, const char *json, void *arg)
{
	struct collect *c = arg;
	json_t *o = jfield_parse(json);

	(void)id;
	if (o)
		json_array_append_new(c->arr, o);
	return 0;
}

static int by_start(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(jfield_str(x, "start"), jfield_str(y, "start"));

	if (c)
		return c;
	return jfield_int(x, "id", 0) < jfield_int(y, "id", 0) ? -1 : 1;
}

/* Keeps the incidents of network (NULL = all) overlapping [since, until),
 * ordered by start. */
static json_t *filter(json_t *in, const char *network, int64_t since, int64_t until)
{
	json_t *out = json_array();
	size_t n = json_array_size(in), k = 0;
	json_t **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return out;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(in, i);
		int64_t s = jfield_time(o, "start"), e = jfield_time(o, "end");
		if (network && strcmp(jfield_str(o, "network"), network) != 0)
			continue;
		if (until >= 0 && s >= until)
			continue;
		if (e >= 0 && e < since)
			continue;
		v[k++] = o;
	}
	qsort(v, k, sizeof(*v), by_start);
	for (size_t i = 0; i < k; i++)
		json_array_append(out, v[i]);
	free(v);
	return out;
}

struct series_ctx {
	const struct config *cfg;
	size_t network;
	struct render_series *s;
};

static int on_series(const struct measurement *m, void *arg)
{
	struct series_ctx *c = arg;

	render_series_add(c->s, c->cfg, c->network, m);
	return 0;
}

static struct render_series *series_for(struct store *st, const struct config *cfg, json_t *inc, int64_t now)
{
	const char *net = jfield_str(inc, "network");
	struct series_ctx c = {.cfg = cfg};
	int64_t start = -1, end = -1, pad = SERIES_PAD_ROUNDS * (cfg->interval_ms > 0 ? cfg->interval_ms : 60000);
	char err[256];

	if (!*net)
		return NULL; /* the vantage's own incident: no network timeline */
	for (c.network = 0; c.network < cfg->nnetworks; c.network++)
		if (strcmp(cfg->networks[c.network].name, net) == 0)
			break;
	if (c.network == cfg->nnetworks)
		return NULL;
	if ((start = jfield_time(inc, "start")) < 0)
		return NULL;
	if ((end = jfield_time(inc, "end")) < 0)
		end = start + (int64_t)(jfield_num(inc, "duration_s", 0) * 1000.0);
	if (end > now)
		end = now;
	c.s = render_series_new(cfg, c.network, start - pad, end + pad);
	if (!c.s)
		return NULL;
	if (store_each_measurement(st, cfg, start - pad, end + pad, on_series, &c, err, sizeof(err)) != 0) {
		render_series_free(c.s);
		return NULL;
	}
	return c.s;
}

int cli_report(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"network", required_argument, NULL, 'n'},
					     {"since", required_argument, NULL, 's'},
					     {"until", required_argument, NULL, 'u'},
					     {"format", required_argument, NULL, 'f'},
					     {"output", required_argument, NULL, 'o'},
					     {"rejudge", no_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *path = DEFAULT_CONFIG, *network = NULL, *format = "text", *output = NULL;
	const char *since_s = NULL, *until_s = NULL;
	bool rejudge_flag = false;
	int64_t now = wall_now_ms(), since = 0, until = -1;
	struct config *cfg = NULL;
	struct store *st = NULL;
	json_t *all = NULL, *sel = NULL;
	struct render_series **series = NULL;
	FILE *out = stdout;
	char err[512] = "";
	int opt, rc = EXIT_RUNTIME;

	cli_options_start();
	while ((opt = getopt_long(argc, argv, "c:n:s:u:f:o:rhvq", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			network = optarg;
			break;
		case 's':
			since_s = optarg;
			break;
		case 'u':
			until_s = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'r':
			rejudge_flag = true;
			break;
		default:
			if ((opt = cli_other_option("report", opt, report_usage)) >= 0)
				return opt;
		}
	}
	if ((opt = cli_no_arguments("report", argc, argv)) >= 0)
		return opt;
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 && strcmp(format, "html") != 0) {
		fprintf(stderr, "lightsout: report: --format must be text, json or html, not \"%s\"\n", format);
		return EXIT_USAGE;
	}
	if (since_s && time_arg_parse(since_s, now, &since) != 0) {
		fprintf(stderr, "lightsout: report: --since \"%s\" is neither an RFC 3339 time nor a duration\n",
			since_s);
		return EXIT_USAGE;
	}
	if (until_s && time_arg_parse(until_s, now, &until) != 0) {
		fprintf(stderr, "lightsout: report: --until \"%s\" is neither an RFC 3339 time nor a duration\n",
			until_s);
		return EXIT_USAGE;
	}
	/* the store's bounds start at 1970; an earlier one must not read as "no bound" */
	if ((since_s && since < 0) || (until_s && until < 0)) {
		fprintf(stderr, "lightsout: report: --%s \"%s\" is before 1970; nothing stored is that old\n",
			since_s && since < 0 ? "since" : "until", since_s && since < 0 ? since_s : until_s);
		return EXIT_USAGE;
	}
	cfg = cli_load_config(path);
	if (!cfg)
		return EXIT_USAGE;
	render_set_round(cfg->interval_ms, cfg->detect.abrupt_rounds);
	if (network) {
		size_t i;
		for (i = 0; i < cfg->nnetworks; i++)
			if (strcmp(cfg->networks[i].name, network) == 0)
				break;
		if (i == cfg->nnetworks) {
			fprintf(stderr, "lightsout: report: no network \"%s\" in %s\n", network, path);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	st = cli_open_store(cfg, false);
	if (!st)
		goto out;
	if (rejudge_flag) {
		all = detect_replay(st, cfg, since, until < 0 ? INT64_MAX : until, err, sizeof(err));
	} else {
		struct collect c = {.arr = json_array()};
		if (store_each_incident(st, network, since, until, on_stored, &c, err, sizeof(err)) != 0) {
			json_decref(c.arr);
			c.arr = NULL;
		}
		all = c.arr;
	}
	if (!all) {
		fprintf(stderr, "lightsout: report: %s\n", err);
		goto out;
	}
	sel = filter(all, network, since, until);
	if (output) {
		out = fopen(output, "w");
		if (!out) {
			fprintf(stderr, "lightsout: report: cannot write %s: %s\n", output, strerror(errno));
			out = stdout;
			goto out;
		}
	}
	if (strcmp(format, "json") == 0) {
		json_t *doc = render_report_json(cfg->vantage, now, sel);
		if (!doc || json_dumpf(doc, out,
				       JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12) |
					   JSON_ESCAPE_SLASH) != 0) {
			json_decref(doc);
			fprintf(stderr, "lightsout: report: cannot write the JSON document\n");
			goto out;
		}
		fputc('\n', out);
		json_decref(doc);
	} else if (strcmp(format, "html") == 0) {
		size_t n = json_array_size(sel);
		series = calloc(n + 1, sizeof(*series));
		for (size_t i = 0; series && i < n; i++)
			series[i] = series_for(st, cfg, json_array_get(sel, i), now);
		render_html(out, cfg->vantage, now, sel, series);
		for (size_t i = 0; series && i < n; i++)
			render_series_free(series[i]);
	} else {
		if (json_array_size(sel) == 0)
			fprintf(out, "No incidents.\n");
		for (size_t i = 0; i < json_array_size(sel); i++)
			render_incident_text(out, json_array_get(sel, i));
	}
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "lightsout: report: write error: %s\n", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (out != stdout && fclose(out) != 0 && rc == 0) {
		fprintf(stderr, "lightsout: report: cannot write %s: %s\n", output, strerror(errno));
		rc = EXIT_RUNTIME;
	}
	free(series);
	json_decref(sel);
	json_decref(all);
	if (st && store_close(st, err, sizeof(err)) != 0 && rc == 0) {
		fprintf(stderr, "lightsout: %s\n", err);
		rc = EXIT_RUNTIME;
	}
	config_free(cfg);
	return rc;
}
