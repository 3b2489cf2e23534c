/* lightsout status: the current state of every network and target, from
 * the store (which watch keeps current). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "core/timeutil.h"
#include "store/store.h"

static const char status_usage[] = "usage: lightsout status [-c FILE] [--format text|json]\n";

struct status_ctx {
	const struct config *cfg;
	enum cli_format format;
	json_t *networks;   /* array, one object per network, then controls */
	json_t *controls;
	size_t counts[64][STATE_COUNT];
	const char *last_network;
};

static json_t *time_or_null(int64_t ms)
{
	char buf[RFC3339_LEN];
	if (ms <= 0)
		return json_null();
	rfc3339_format(ms, buf, sizeof(buf));
	return json_string(buf);
}

static int on_target(const struct store_target_row *r, void *arg)
{
	struct status_ctx *c = arg;
	const struct target_cfg *t = &c->cfg->targets[r->index];

	if (c->format == CLI_FORMAT_TEXT) {
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
		printf("  %-16s %-7s %-6s %-9s since %-24s last %-11s %12s  %s\n", r->name, r->role, r->kind,
		       r->state, since, r->last_at_ms > 0 ? r->last_outcome : "-", rtt, r->last_detail);
		return 0;
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", r->name, "role", r->role, "kind", r->kind, "state",
			      r->state, "since", time_or_null(r->since_ms));
	if (o == NULL)
		return -1;
	if (r->last_at_ms > 0)
		json_object_set_new(o, "last",
				    json_pack("{s:o, s:s, s:o, s:s}", "at", time_or_null(r->last_at_ms), "outcome",
					      r->last_outcome, "rtt_ms",
					      r->last_rtt_ms >= 0 ? json_real(r->last_rtt_ms) : json_null(), "detail",
					      r->last_detail));
	else
		json_object_set_new(o, "last", json_null());
	if (t->network == CONFIG_NO_NETWORK) {
		json_array_append_new(c->controls, o);
	} else {
		json_t *net = json_array_get(c->networks, t->network);
		json_array_append_new(json_object_get(net, "targets"), o);
		int s = state_from_name(r->state);
		if (s >= 0 && t->network < 64)
			c->counts[t->network][s]++;
	}
	return 0;
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

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:f:hvq", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			if ((int)(c.format = (enum cli_format)cli_parse_format(optarg, 0)) < 0)
				return cli_usage_error("status", "--format is text or json");
			break;
		case 'h':
			fputs(status_usage, stdout);
			return 0;
		default:
			if (!cli_common_option(opt))
				return cli_usage_error("status", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error("status", "unexpected argument \"%s\"", argv[optind]);
	struct config *cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	c.cfg = cfg;
	st = store_open(cfg, false, 0, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "lightsout: %s\n", err);
		goto out;
	}
	c.networks = json_array();
	c.controls = json_array();
	for (size_t i = 0; i < cfg->nnetworks; i++)
		json_array_append_new(c.networks,
				      json_pack("{s:s, s:[]}", "name", cfg->networks[i].name, "targets"));
	if (c.format == CLI_FORMAT_TEXT)
		printf("vantage %s, store %s\n", cfg->vantage, cfg->store);
	if (store_each_target(st, cfg, on_target, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "lightsout: %s\n", err);
		goto out;
	}
	if (c.format == CLI_FORMAT_JSON) {
		char now[RFC3339_LEN];
		rfc3339_format(wall_now_ms(), now, sizeof(now));
		for (size_t i = 0; i < cfg->nnetworks && i < 64; i++) {
			json_t *counts = json_object();
			for (int s = 0; s < STATE_COUNT; s++)
				json_object_set_new(counts, state_name((enum target_state)s),
						    json_integer((json_int_t)c.counts[i][s]));
			json_object_set_new(json_array_get(c.networks, i), "states", counts);
		}
		json_t *doc = json_pack("{s:s, s:s, s:O, s:O}", "vantage", cfg->vantage, "generated", now, "networks",
					c.networks, "controls", c.controls);
		char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6)) : NULL;
		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(doc);
	}
	rc = 0;
out:
	json_decref(c.networks);
	json_decref(c.controls);
	if (st != NULL)
		store_close(st, err, sizeof(err));
	config_free(cfg);
	return rc;
}
