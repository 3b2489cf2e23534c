/* lightsout probe: one-shot probes of targets named on the command line,
 * one line per result (fping-like), or JSON Lines. */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "config/values.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "probe/probe.h"

static const char probe_usage[] =
    "usage: lightsout probe [--kind K] [--count N] [--interval D] [--timeout D] [--format text|json] TARGET...\n"
    "\n"
    "  TARGET forms (the kind follows from the form; --kind forces one):\n"
    "    192.0.2.1  2001:db8::1  host.example     icmp echo\n"
    "    tcp://HOST:PORT                          TCP connect\n"
    "    http://...  https://...                  HTTP(S) GET\n"
    "    smtp://HOST[:PORT]                       SMTP greeting, EHLO, QUIT\n"
    "    dns://SERVER[:PORT]/NAME[/TYPE]          DNS query (default port 53, type SOA)\n"
    "    trace://HOST                             traceroute\n"
    "\n"
    "  --count N      results per target (rounds), default 1\n"
    "  --interval D   time between rounds of one target, default 1s\n"
    "  --timeout D    per probe, default 2s\n"
    "  --pps N        packets per second cap, default 10000\n"
    "  exit 0 if every probe answered, 1 if some did not, 2 on usage errors\n";

struct probe_run {
	enum cli_format format;
	const struct config *cfg;
	char **names;
	unsigned failed;
	unsigned total;
	bool interactive; /* stdout is a terminal: show each line at once */
};

/* Fills t from one TARGET argument; returns 0 or -1 with err. */
static int target_from_arg(const char *arg, int forced_kind, struct target_cfg *t, char *err, size_t errlen)
{
	uint16_t port = 0;
	char why[VALUE_WHY_LEN];
	t->name = strdup(arg);
	t->role = ROLE_HOST;
	t->network = CONFIG_NO_NETWORK;
	if (strncmp(arg, "http://", 7) == 0 || strncmp(arg, "https://", 8) == 0) {
		t->kind = KIND_HTTP;
		t->url = strdup(arg);
	} else if (strncmp(arg, "tcp://", 6) == 0) {
		t->kind = KIND_TCP;
		if (value_url_host(arg, &t->host, &port) < 0 || port == 0)
			goto bad;
	} else if (strncmp(arg, "smtp://", 7) == 0) {
		t->kind = KIND_SMTP;
		if (value_url_host(arg, &t->host, &port) < 0)
			goto bad;
		if (port == 0)
			port = 25;
	} else if (strncmp(arg, "trace://", 8) == 0) {
		t->kind = KIND_TRACE;
		if (value_url_host(arg, &t->host, &port) < 0 || port != 0)
			goto bad;
	} else if (strncmp(arg, "dns://", 6) == 0) {
		const char *rest = arg + 6, *slash = strchr(rest, '/');
		if (slash == NULL || slash[1] == '\0')
			goto bad;
		t->kind = KIND_DNS;
		if (value_url_host(arg, &t->server, &port) < 0)
			goto bad;
		if (port == 0)
			port = 53;
		const char *name = slash + 1, *type_slash = strchr(name, '/');
		char query[300];
		if (type_slash != NULL)
			snprintf(query, sizeof(query), "%.*s %s", (int)(type_slash - name), name, type_slash + 1);
		else
			snprintf(query, sizeof(query), "%s SOA", name);
		t->query = strdup(query);
		t->expect_rcode = strdup("NOERROR");
	} else {
		t->kind = KIND_ICMP;
		t->host = strdup(arg);
	}
	if (forced_kind >= 0 && (enum probe_kind)forced_kind != t->kind) {
		/* --kind icmp|tcp|trace on a plain host */
		if (t->kind != KIND_ICMP) {
			snprintf(err, errlen, "%s: --kind %s does not fit this target form", arg,
				 kind_name((enum probe_kind)forced_kind));
			return -1;
		}
		t->kind = (enum probe_kind)forced_kind;
		if (t->kind == KIND_SMTP)
			port = 25;
		if (t->kind == KIND_TCP || t->kind == KIND_HTTP || t->kind == KIND_DNS) {
			snprintf(err, errlen, "%s: kind %s needs its URL form (see --help)", arg, kind_name(t->kind));
			return -1;
		}
	}
	t->port = port;
	const char *h = t->kind == KIND_DNS ? t->server : t->host;
	if (t->kind != KIND_HTTP && (h == NULL || value_host(h, why, sizeof(why)) < 0))
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "%s: not a target (see lightsout probe --help)", arg);
	return -1;
}

static void print_result(const struct measurement *m, void *arg)
{
	struct probe_run *run = arg;
	const struct target_cfg *t = &run->cfg->targets[m->target];
	char at[RFC3339_LEN];

	run->total++;
	if (m->outcome != OUTCOME_OK)
		run->failed++;
	rfc3339_format(m->at_ms, at, sizeof(at));
	if (run->format == CLI_FORMAT_JSON) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:i, s:f}", "target", t->name, "kind",
				      kind_name(t->kind), "outcome", outcome_name(m->outcome), "rtt_ms",
				      m->rtt_ms >= 0 ? json_real(m->rtt_ms) : json_null(), "detail", m->detail, "at",
				      at, "round", (json_int_t)m->round, "loss", (double)m->loss);
		if (o != NULL && m->from[0] != '\0')
			json_object_set_new(o, "from", json_string(m->from));
		char *line =
		    o != NULL ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6)) : NULL;
		if (line != NULL)
			printf("%s\n", line);
		free(line);
		json_decref(o);
	} else if (m->rtt_ms >= 0) {
		printf("%-30s %-5s %-11s %9.3f ms  %s\n", t->name, kind_name(t->kind), outcome_name(m->outcome),
		       m->rtt_ms, m->detail);
	} else {
		printf("%-30s %-5s %-11s %12s  %s\n", t->name, kind_name(t->kind), outcome_name(m->outcome), "-",
		       m->detail);
	}
	if (run->interactive)
		fflush(stdout);
}

static void free_targets(struct config *cfg)
{
	for (size_t i = 0; i < cfg->ntargets; i++) {
		struct target_cfg *t = &cfg->targets[i];
		free(t->name);
		free(t->host);
		free(t->url);
		free(t->server);
		free(t->query);
		free(t->expect_rcode);
	}
	free(cfg->targets);
}

int cli_probe(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kind", required_argument, NULL, 'k'},     {"count", required_argument, NULL, 'n'},
	    {"interval", required_argument, NULL, 'i'}, {"timeout", required_argument, NULL, 't'},
	    {"pps", required_argument, NULL, 'p'},      {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
	struct config cfg = {0};
	struct probe_run run = {.format = CLI_FORMAT_TEXT, .cfg = &cfg, .interactive = isatty(STDOUT_FILENO)};
	int forced_kind = -1, opt, rc = EXIT_USAGE;
	unsigned long count = 1, pps = 10000;
	int64_t interval_ms = 1000, timeout_ms = 2000;
	char err[512];
	char *end;

	cli_options_start();
	while ((opt = getopt_long(argc, argv, "k:n:i:t:p:f:hvq", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			forced_kind = kind_from_name(optarg);
			if (forced_kind < 0)
				return cli_usage_error("probe", "unknown kind \"%s\"", optarg);
			break;
		case 'n':
			count = strtoul(optarg, &end, 10);
			if (*end != '\0' || count < 1 || count > 1000000)
				return cli_usage_error("probe", "--count needs a number from 1 to 1000000");
			break;
		case 'i':
			if (cli_duration_option("probe", "--interval", optarg, &interval_ms) != 0)
				return EXIT_USAGE;
			break;
		case 't':
			if (cli_duration_option("probe", "--timeout", optarg, &timeout_ms) != 0)
				return EXIT_USAGE;
			break;
		case 'p':
			pps = strtoul(optarg, &end, 10);
			if (*end != '\0' || pps > 10000000)
				return cli_usage_error("probe", "bad --pps \"%s\"", optarg);
			break;
		case 'f':
			if ((int)(run.format = (enum cli_format)cli_parse_format(optarg, 0)) < 0)
				return cli_usage_error("probe", "--format is text or json");
			break;
		default:
			if ((opt = cli_other_option("probe", opt, probe_usage)) >= 0)
				return opt;
		}
	}
	if (optind >= argc)
		return cli_usage_error("probe", "no TARGET given");
	cfg.ntargets = (size_t)(argc - optind);
	cfg.targets = calloc(cfg.ntargets, sizeof(*cfg.targets));
	if (cfg.targets == NULL)
		return EXIT_RUNTIME;
	cfg.interval_ms = interval_ms;
	cfg.timeout_ms = timeout_ms;
	for (size_t i = 0; i < cfg.ntargets; i++) {
		struct target_cfg *t = &cfg.targets[i];
		if (target_from_arg(argv[optind + (int)i], forced_kind, t, err, sizeof(err)) < 0) {
			fprintf(stderr, "lightsout: probe: %s\n", err);
			goto out;
		}
		t->count = 1;
		t->interval_ms = interval_ms;
		t->timeout_ms = timeout_ms;
	}

	struct ev_loop *loop = ev_new();
	struct probe_engine_opts eo = {.max_pps = (unsigned)pps, .rounds = (unsigned)count, .align_first_round = true};
	struct probe_engine *e = loop ? probe_engine_new(loop, &cfg, &eo, print_result, &run, err, sizeof(err)) : NULL;
	rc = EXIT_RUNTIME;
	if (e == NULL) {
		fprintf(stderr, "lightsout: probe: %s\n", loop ? err : "out of memory");
	} else if (probe_engine_start(e, err, sizeof(err)) < 0) {
		fprintf(stderr, "lightsout: probe: %s\n", err);
	} else {
		ev_run(loop);
		for (int k = 0; k < KIND_COUNT; k++) {
			char line[512];
			if (log_get_level() >= LOG_LEVEL_DEBUG &&
			    probe_engine_stats(e, (enum probe_kind)k, line, sizeof(line)))
				log_debug("%s", line);
		}
		probe_engine_stop(e);
		rc = run.failed == 0 && run.total > 0 ? 0 : 1;
	}
	probe_engine_free(e);
	ev_free(loop);
out:
	free_targets(&cfg);
	return rc;
}
