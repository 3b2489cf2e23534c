/* lightsout probe: one-shot probes of targets named on the command line,
 * one line per result (fping-like), or JSON Lines. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "core/addr.h"
#include "config/values.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "probe/probe.h"

static const char probe_usage[] =
    "usage: lightsout probe [--kind K] [--count N] [--interval D] [--timeout D] [--format text|json]\n"
    "                       [-f FILE] [-g PREFIX] [TARGET...]\n"
    "\n"
    "  TARGET forms (the kind follows from the form; --kind forces one):\n"
    "    192.0.2.1  2001:db8::1  host.example     icmp echo\n"
    "    tcp://HOST:PORT                          TCP connect\n"
    "    http://...  https://...                  HTTP(S) GET\n"
    "    smtp://HOST[:PORT]                       SMTP greeting, EHLO, QUIT\n"
    "    dns://SERVER[:PORT]/NAME[/TYPE]          DNS query (default port 53, type SOA)\n"
    "    trace://HOST                             traceroute\n"
    "\n"
    "  -f, --file FILE        targets from FILE, one per line, # starts a comment; - is stdin\n"
    "  -g, --generate PREFIX  every address of an IPv4 prefix (at most 65536), without\n"
    "                         the network and broadcast addresses below /31\n"
    "  --count N              results per target (rounds), default 1; then one summary\n"
    "                         line per target: xmt/rcv/%loss, min/avg/max RTT in ms\n"
    "  --interval D           time between rounds of one target, default 1s\n"
    "  --timeout D            per probe, default 2s\n"
    "  --pps N                packets per second cap, default 10000\n"
    "  --format text|json     one line per result, or JSON Lines\n"
    "  -v, -q                 more or less logging\n"
    "  Options may follow the targets; -- ends them.\n"
    "  exit 0 if every probe answered, 1 if some did not, 2 on usage errors\n";

/* What --count sums up per target, as fping -c does. */
struct probe_tally {
	unsigned sent, received;
	double rtt_min, rtt_max, rtt_sum;
};

struct probe_run {
	enum cli_format format;
	const struct config *cfg;
	struct probe_tally *tally; /* per target */
	unsigned failed;
	unsigned total;
	bool interactive; /* stdout is a terminal: show each line at once */
};

/* The TARGET arguments, from the command line, -f files and -g prefixes. */
struct arglist {
	char **v;
	size_t n, cap;
};

#define PROBE_MAX_GENERATE 65536u

static int args_add(struct arglist *a, const char *s, size_t len)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	if ((a->v[a->n] = strndup(s, len)) == NULL)
		return -1;
	a->n++;
	return 0;
}

static void args_free(struct arglist *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* -f: one target a line; blank lines and # comments (at the start or
 * after blanks) skipped; "-" is stdin. */
static int args_from_file(struct arglist *a, const char *path, char *err, size_t errlen)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int rc = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		const char *blanks = " \t\r\n\v\f";
		char *p = line + strspn(line, blanks), *hash;
		lineno++;
		if (memchr(line, '\0', (size_t)len) != NULL) {
			snprintf(err, errlen, "%s:%zu: a NUL byte", is_stdin ? "stdin" : path, lineno);
			rc = -1;
			break;
		}
		for (hash = p; (hash = strchr(hash, '#')) != NULL; hash++) {
			if (hash == p || strchr(blanks, hash[-1]) != NULL) {
				*hash = '\0';
				break;
			}
		}
		size_t n = strcspn(p, blanks);
		if (n == 0)
			continue;
		if (p[n + strspn(p + n, blanks)] != '\0') {
			snprintf(err, errlen, "%s:%zu: one target per line", is_stdin ? "stdin" : path, lineno);
			rc = -1;
		} else if (args_add(a, p, n) < 0) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: %s", is_stdin ? "stdin" : path, strerror(errno));
		rc = -1;
	}
	free(line);
	if (!is_stdin)
		fclose(f);
	return rc;
}

/* -g: every address of an IPv4 prefix; below /31 without the network and
 * broadcast addresses (fping -g; a /31 is a point-to-point link, RFC 3021). */
static int args_from_prefix(struct arglist *a, const char *s, char *err, size_t errlen)
{
	struct prefix p;
	char why[VALUE_WHY_LEN];

	if (value_prefix(s, &p, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "-g: %s", why);
		return -1;
	}
	if (p.family != AF_INET) {
		snprintf(err, errlen, "-g: %s: only IPv4 prefixes can be swept", s);
		return -1;
	}
	uint32_t first = (uint32_t)p.addr[0] << 24 | (uint32_t)p.addr[1] << 16 | (uint32_t)p.addr[2] << 8 | p.addr[3];
	uint64_t count = UINT64_C(1) << (32 - p.len);
	if (p.len < 31) {
		first++;
		count -= 2;
	}
	if (count > PROBE_MAX_GENERATE) {
		snprintf(err, errlen, "-g: %s has %llu addresses, more than %u", s, (unsigned long long)count,
			 PROBE_MAX_GENERATE);
		return -1;
	}
	for (uint64_t i = 0; i < count; i++) {
		uint32_t v = first + (uint32_t)i;
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
		if (args_add(a, buf, (size_t)n) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

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
		/* trace:// takes no port, so a bare IPv6 literal is unambiguous
		 * (trace://2001:db8::1, as SPEC's trace://HOST reads) */
		struct sockaddr_storage lit;
		if (addr_parse(arg + 8, &lit) == 0 && lit.ss_family == AF_INET6) {
			t->host = strdup(arg + 8);
		} else if (value_url_host(arg, &t->host, &port) < 0 || port != 0) {
			goto bad;
		}
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

/* One JSON Lines object, consumed. */
static void print_json_line(json_t *o)
{
	char *line = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6)) : NULL;
	if (line != NULL)
		printf("%s\n", line);
	free(line);
	json_decref(o);
}

static void print_result(const struct measurement *m, void *arg)
{
	struct probe_run *run = arg;
	const struct target_cfg *t = &run->cfg->targets[m->target];
	char at[RFC3339_LEN];

	run->total++;
	if (m->outcome != OUTCOME_OK)
		run->failed++;
	struct probe_tally *ty = &run->tally[m->target];
	ty->sent++;
	if (m->outcome == OUTCOME_OK && m->rtt_ms >= 0) {
		ty->rtt_min = ty->received == 0 || m->rtt_ms < ty->rtt_min ? m->rtt_ms : ty->rtt_min;
		ty->rtt_max = ty->received == 0 || m->rtt_ms > ty->rtt_max ? m->rtt_ms : ty->rtt_max;
		ty->rtt_sum += m->rtt_ms;
		ty->received++;
	}
	rfc3339_format(m->at_ms, at, sizeof(at));
	if (run->format == CLI_FORMAT_JSON) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:f}", "target", t->name, "kind",
				      kind_name(t->kind), "outcome", outcome_name(m->outcome), "rtt_ms",
				      m->rtt_ms >= 0 ? json_real(m->rtt_ms) : json_null(), "detail", m->detail, "at",
				      at, "round", (json_int_t)m->round, "loss", (double)m->loss);
		if (o != NULL && m->from[0] != '\0')
			json_object_set_new(o, "from", json_string(m->from));
		print_json_line(o);
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

/* After --count rounds: per target what fping -c prints,
 * "TARGET : xmt/rcv/%loss = 3/3/0%, min/avg/max = 0.04/0.05/0.07". */
static void print_summaries(const struct probe_run *run)
{
	int width = 0;
	for (size_t i = 0; i < run->cfg->ntargets; i++) {
		int n = (int)strlen(run->cfg->targets[i].name);
		width = n > width ? n : width;
	}
	for (size_t i = 0; i < run->cfg->ntargets; i++) {
		const struct target_cfg *t = &run->cfg->targets[i];
		const struct probe_tally *ty = &run->tally[i];
		double loss = ty->sent > 0 ? (double)(ty->sent - ty->received) / ty->sent : 1;
		double avg = ty->received > 0 ? ty->rtt_sum / ty->received : 0;
		if (run->format == CLI_FORMAT_JSON) {
			json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:f}", "target", t->name, "kind",
					      kind_name(t->kind), "summary", 1, "sent", (json_int_t)ty->sent,
					      "received", (json_int_t)ty->received, "loss", loss);
			if (o != NULL) {
				json_object_set_new(o, "rtt_min_ms",
						    ty->received ? json_real(ty->rtt_min) : json_null());
				json_object_set_new(o, "rtt_avg_ms", ty->received ? json_real(avg) : json_null());
				json_object_set_new(o, "rtt_max_ms",
						    ty->received ? json_real(ty->rtt_max) : json_null());
			}
			print_json_line(o);
			continue;
		}
		/* fping's loss: whole percent, rounded down */
		printf("%-*s : xmt/rcv/%%loss = %u/%u/%u%%", width, t->name, ty->sent, ty->received,
		       ty->sent > 0 ? (ty->sent - ty->received) * 100 / ty->sent : 100);
		if (ty->received > 0)
			printf(", min/avg/max = %.2f/%.2f/%.2f", ty->rtt_min, avg, ty->rtt_max);
		printf("\n");
	}
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

enum { OPT_FORMAT = 256 };

int cli_probe(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kind", required_argument, NULL, 'k'},     {"count", required_argument, NULL, 'n'},
	    {"interval", required_argument, NULL, 'i'}, {"timeout", required_argument, NULL, 't'},
	    {"pps", required_argument, NULL, 'p'},      {"format", required_argument, NULL, OPT_FORMAT},
	    {"file", required_argument, NULL, 'f'},     {"generate", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
	struct config cfg = {0};
	struct probe_run run = {.format = CLI_FORMAT_TEXT, .cfg = &cfg, .interactive = isatty(STDOUT_FILENO)};
	struct arglist args = {0};
	int forced_kind = -1, opt, rc = EXIT_USAGE;
	unsigned long count = 1, pps = 10000;
	bool summary = false;
	int64_t interval_ms = 1000, timeout_ms = 2000;
	char err[512];
	char *end;

	cli_options_start();
	while ((opt = getopt_long(argc, argv, "k:n:i:t:p:f:g:hvq", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			forced_kind = kind_from_name(optarg);
			if (forced_kind < 0) {
				rc = cli_usage_error("probe", "unknown kind \"%s\"", optarg);
				goto out;
			}
			break;
		case 'n':
			count = strtoul(optarg, &end, 10);
			if (*end != '\0' || count < 1 || count > 1000000) {
				rc = cli_usage_error("probe", "--count needs a number from 1 to 1000000");
				goto out;
			}
			summary = true;
			break;
		case 'i':
			if (cli_duration_option("probe", "--interval", optarg, &interval_ms) != 0)
				goto out;
			break;
		case 't':
			if (cli_duration_option("probe", "--timeout", optarg, &timeout_ms) != 0)
				goto out;
			break;
		case 'p':
			pps = strtoul(optarg, &end, 10);
			if (*end != '\0' || pps > 10000000) {
				rc = cli_usage_error("probe", "bad --pps \"%s\"", optarg);
				goto out;
			}
			break;
		case OPT_FORMAT:
			if ((int)(run.format = (enum cli_format)cli_parse_format(optarg, 0)) < 0) {
				rc = cli_usage_error("probe", "--format is text or json");
				goto out;
			}
			break;
		case 'f':
		case 'g':
			if ((opt == 'f' ? args_from_file : args_from_prefix)(&args, optarg, err, sizeof(err)) < 0) {
				rc = cli_usage_error("probe", "%s", err);
				goto out;
			}
			break;
		default:
			if ((rc = cli_other_option("probe", opt, probe_usage)) >= 0)
				goto out;
			rc = EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (args_add(&args, argv[i], strlen(argv[i])) < 0) {
			rc = EXIT_RUNTIME;
			goto out;
		}
	}
	if (args.n == 0) {
		rc = cli_usage_error("probe", "no TARGET given");
		goto out;
	}
	cfg.ntargets = args.n;
	cfg.targets = calloc(cfg.ntargets, sizeof(*cfg.targets));
	run.tally = calloc(cfg.ntargets, sizeof(*run.tally));
	if (cfg.targets == NULL || run.tally == NULL) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	cfg.interval_ms = interval_ms;
	cfg.timeout_ms = timeout_ms;
	for (size_t i = 0; i < cfg.ntargets; i++) {
		struct target_cfg *t = &cfg.targets[i];
		if (target_from_arg(args.v[i], forced_kind, t, err, sizeof(err)) < 0) {
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
		if (summary)
			print_summaries(&run);
		rc = run.failed == 0 && run.total > 0 ? 0 : 1;
	}
	probe_engine_free(e);
	ev_free(loop);
out:
	free_targets(&cfg);
	free(run.tally);
	args_free(&args);
	return rc;
}
