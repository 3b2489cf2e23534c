/* lightsout status: the current state of every network and target, from
 * the store (which watch keeps current). */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jfield.h"
#include "cli/cli.h"
#include "config/config.h"
#include "core/timeutil.h"
#include "serve/status_doc.h"
#include "store/store.h"

static const char status_usage[] = "usage: lightsout status [-c FILE] [--format text|json]\n"
				   "\n"
				   "  The state of every network and target as watch last stored it.  When\n"
				   "  the newest measurement is older than 3 intervals, the data is stale\n"
				   "  (is watch running?): said on top, and \"stale\": true in JSON.\n";

/* Rounds without a measurement after which the store is stale. */
#define STALE_ROUNDS 3

/* The newest measurement in the store, and whether it is too old. */
struct freshness {
	int64_t newest_ms; /* 0 if none */
	bool stale;
};

static int on_row_time(const struct store_target_row *r, void *arg)
{
	struct freshness *f = arg;
	if (r->last_at_ms > f->newest_ms)
		f->newest_ms = r->last_at_ms;
	return 0;
}

/* Stale when no watch has written for STALE_ROUNDS intervals of the
 * fastest target (a running watch measures that one at least once an
 * interval); never when there is nothing to measure. */
static int freshness(const struct config *cfg, struct store *st, int64_t now_ms, struct freshness *f, char *err,
		     size_t errlen)
{
	int64_t interval = 0;
	*f = (struct freshness){0};
	if (store_each_target(st, cfg, on_row_time, f, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < cfg->ntargets; i++) {
		if (interval == 0 || cfg->targets[i].interval_ms < interval)
			interval = cfg->targets[i].interval_ms;
	}
	f->stale = cfg->ntargets > 0 && (f->newest_ms == 0 || (now_ms - f->newest_ms) / STALE_ROUNDS >= interval);
	/* divided, not multiplied: an interval may be as long as a DURATION can be */
	return 0;
}

struct status_ctx {
	const struct config *cfg;
	enum cli_format format;
	const char *last_network;
};

static int on_target(const struct store_target_row *r, void *arg)
{
	struct status_ctx *c = arg;
	const struct target_cfg *t = &c->cfg->targets[r->index];
	const char *net = t->network == CONFIG_NO_NETWORK ? "(controls)" : c->cfg->networks[t->network].name;
	if (c->last_network == NULL || strcmp(c->last_network, net) != 0) {
		printf("%s\n", net);
		c->last_network = net;
	}
	char since[RFC3339_LEN] = "-", rtt[32] = "-";
	if (r->since_ms > 0)
		rfc3339_format(r->since_ms, since, sizeof(since));
	if (r->last_rtt_ms >= 0 && r->last_at_ms > 0)
		snprintf(rtt, sizeof(rtt), "%.3f ms", r->last_rtt_ms);
	printf("  %-16s %-7s %-6s %-9s since %-24s last %-11s %12s  %s\n", r->name, r->role, r->kind, r->state, since,
	       r->last_at_ms > 0 ? r->last_outcome : "-", rtt, r->last_detail);
	return 0;
}

/* The collector's peers and each network's visible prefixes, as watch
 * last published them. */
static void print_bgp(struct store *st)
{
	char *text = store_get_meta(st, "bgp");
	json_t *doc = jfield_parse(text);
	json_t *v;
	size_t i;

	free(text);
	if (doc == NULL)
		return;
	printf("bgp (as of %s)\n", jfield_str(doc, "updated"));
	json_array_foreach(json_object_get(doc, "peers"), i, v)
	{
		printf("  peer %-20s AS%-10lld %-12s up %8.0f s  %6lld prefixes  %lld flaps%s%s\n",
		       jfield_str(v, "address"), (long long)jfield_int(v, "remote_as", 0), jfield_str(v, "state"),
		       jfield_num(v, "uptime_s", 0), (long long)jfield_int(v, "prefixes", 0),
		       (long long)jfield_int(v, "flaps", 0), *jfield_str(v, "last_error") ? "; last error: " : "",
		       jfield_str(v, "last_error"));
	}
	json_array_foreach(json_object_get(doc, "networks"), i, v)
	{
		printf("  %-16s %lld of %lld prefixes visible (%lld peers counted)\n", jfield_str(v, "name"),
		       (long long)jfield_int(v, "visible", 0), (long long)jfield_int(v, "prefixes", 0),
		       (long long)jfield_int(v, "counted_peers", 0));
	}
	json_decref(doc);
}

int cli_status(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *path = DEFAULT_CONFIG;
	struct status_ctx c = {.format = CLI_FORMAT_TEXT};
	char err[1024];
	int opt, rc = EXIT_RUNTIME;
	struct store *st = NULL;

	cli_options_start();
	while ((opt = getopt_long(argc, argv, "c:f:hvq", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			if ((int)(c.format = (enum cli_format)cli_parse_format(optarg, 0)) < 0)
				return cli_usage_error("status", "--format is text or json");
			break;
		default:
			if ((opt = cli_other_option("status", opt, status_usage)) >= 0)
				return opt;
		}
	}
	if ((opt = cli_no_arguments("status", argc, argv)) >= 0)
		return opt;
	struct config *cfg = cli_load_config(path);
	if (cfg == NULL)
		return EXIT_USAGE;
	c.cfg = cfg;
	st = cli_open_store(cfg, false);
	if (st == NULL)
		goto out;
	int64_t now = wall_now_ms();
	struct freshness fresh;
	if (freshness(cfg, st, now, &fresh, err, sizeof(err)) < 0) {
		fprintf(stderr, "lightsout: %s\n", err);
		goto out;
	}
	char newest[RFC3339_LEN] = "";
	if (fresh.newest_ms > 0)
		rfc3339_format(fresh.newest_ms, newest, sizeof(newest));
	if (c.format == CLI_FORMAT_JSON) {
		/* the document of GET /api/v1/status, and how fresh the store is
		 * (watch serving it is fresh by being there) */
		json_t *doc = serve_status_document(cfg, st, NULL, now, err, sizeof(err));
		if (doc != NULL) {
			json_object_set_new(doc, "stale", json_boolean(fresh.stale));
			json_object_set_new(doc, "last_measurement", newest[0] ? json_string(newest) : json_null());
		}
		char *text = doc ? json_dumps(doc, SERVE_STATUS_JSON_FLAGS) : NULL;
		json_decref(doc);
		if (text == NULL) {
			fprintf(stderr, "lightsout: %s\n", doc ? "out of memory" : err);
			goto out;
		}
		printf("%s\n", text);
		free(text);
	} else {
		if (fresh.stale && newest[0])
			printf("stale: no measurement since %s (watch not running?)\n", newest);
		else if (fresh.stale)
			printf("stale: no measurement yet (watch not running?)\n");
		printf("vantage %s, store %s\n", cfg->vantage, cfg->store);
		if (store_each_target(st, cfg, on_target, &c, err, sizeof(err)) < 0) {
			fprintf(stderr, "lightsout: %s\n", err);
			goto out;
		}
		print_bgp(st);
	}
	rc = 0;
out:
	if (st != NULL)
		store_close(st, err, sizeof(err));
	config_free(cfg);
	return rc;
}
