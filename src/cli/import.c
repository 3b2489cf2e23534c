/* import mrt: reads MRT archives, prints counts per file (as `bgpdump -m`
 * counts lines) and stores the events of watched networks. */
#include "cli/import.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bgp/mrt.h"
#include "bgp/visibility.h"
#include "cli/cli.h"
#include "config/config.h"
#include "core/addr.h"
#include "core/timeutil.h"
#include "store/store.h"

static const char import_usage[] = "usage: lightsout import mrt [--format text|json] [-c FILE] FILE...\n"
				   "\n"
				   "Reads MRT archives (RFC 6396; plain, gzip or bzip2) and prints one summary\n"
				   "per file: records, announcements and withdrawals (prefixes), RIB entries,\n"
				   "state changes, errors.  With a configuration (-c, default ./lightsout.yaml\n"
				   "if present) the announcements and withdrawals of the watched networks'\n"
				   "prefixes and ASNs are written to its store.\n"
				   "\n"
				   "  -c, --config FILE     configuration (its store and networks)\n"
				   "      --format text|json  output (json: one object per line)\n"
				   "  -h, --help\n";

struct import_ctx {
	struct store *st;
	struct bgp_vis *vis; /* the networks' visibility, as watch judges it live */
	uint64_t stored;
	uint64_t dropped;
};

static void put_event(struct import_ctx *c, const struct mrt_event *ev, bool announce)
{
	char pfx[64], path[1024] = "";
	prefix_format(&ev->prefix, pfx, sizeof(pfx));
	if (announce && ev->attrs)
		bgp_aspath_format(&ev->attrs->aspath, path, sizeof(path));
	int64_t at_ms = ev->at_us / 1000;
	if (store_put_bgp_event(c->st, at_ms, ev->peer, pfx, announce, path)) {
		c->stored++;
		return;
	}
	/* The writer queue is full: an import may wait, so drain and retry. */
	char err[256];
	if (store_flush(c->st, err, sizeof(err)) == 0 &&
	    store_put_bgp_event(c->st, at_ms, ev->peer, pfx, announce, path))
		c->stored++;
	else
		c->dropped++;
}

/* A network's prefixes left or rejoined the majority view: stored as
 * watch stores them, so `report --rejudge` explains archived history. */
static void on_vis_event(const struct bgp_vis_event *ve, void *arg)
{
	struct import_ctx *c = arg;
	char pfx[64], err[256];
	for (size_t i = 0; i < ve->nprefixes; i++) {
		prefix_format(&ve->prefixes[i], pfx, sizeof(pfx));
		if (!store_put_bgp_event(c->st, ve->at_ms, STORE_BGP_VISIBILITY, pfx, !ve->withdrawn, "") &&
		    !(store_flush(c->st, err, sizeof(err)) == 0 &&
		      store_put_bgp_event(c->st, ve->at_ms, STORE_BGP_VISIBILITY, pfx, !ve->withdrawn, "")))
			c->dropped++;
	}
}

static void on_event(const struct mrt_event *ev, void *arg)
{
	struct import_ctx *c = arg;
	if (!c->vis)
		return; /* counts only */
	/* watch's rule for its sessions and MRT files: one place, src/bgp */
	int kept = bgp_vis_feed_mrt(c->vis, ev, BGP_ARCHIVE_SYNC_GRACE_MS);
	bool announce = ev->kind != MRT_EV_WITHDRAW;
	if (ev->kind != MRT_EV_STATE && bgp_vis_route_watched(c->vis, &ev->prefix, announce, kept))
		put_event(c, ev, announce);
}

static void print_summary(const char *file, const struct mrt_stats *s, bool json)
{
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "file", json_string(file));
		json_object_set_new(o, "records", json_integer((json_int_t)s->records));
		json_object_set_new(o, "announcements", json_integer((json_int_t)s->announcements));
		json_object_set_new(o, "withdrawals", json_integer((json_int_t)s->withdrawals));
		json_object_set_new(o, "rib_entries", json_integer((json_int_t)s->rib_entries));
		json_object_set_new(o, "state_changes", json_integer((json_int_t)s->state_changes));
		json_object_set_new(o, "errors", json_integer((json_int_t)s->errors));
		char *txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (txt)
			printf("%s\n", txt);
		free(txt);
		json_decref(o);
	} else {
		printf("%s: %" PRIu64 " records, %" PRIu64 " announcements, %" PRIu64 " withdrawals, %" PRIu64
		       " RIB entries, %" PRIu64 " state changes, %" PRIu64 " errors\n",
		       file, s->records, s->announcements, s->withdrawals, s->rib_entries, s->state_changes, s->errors);
	}
	fflush(stdout);
}

/* Reads one file; returns 0 or -1 if it could not be read to its end. */
static int import_file(const char *path, struct import_ctx *c, bool json, bool progress)
{
	char err[256] = "", rerr[256];
	struct mrt_record rec;
	struct mrt_parser *p = mrt_parser_new(on_event, c);
	struct mrt_reader *r = NULL;
	struct stat sb;
	int rc = -1;
	uint64_t first_bad = 0;

	if (!p) {
		fprintf(stderr, "lightsout: import: out of memory\n");
		return -1;
	}
	r = mrt_open(path, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "lightsout: import: %s\n", err);
		struct mrt_stats s = {.errors = 1};
		print_summary(path, &s, json);
		goto out;
	}
	/* Progress only for big files on a terminal, at most once a second. */
	off_t size = stat(path, &sb) == 0 ? sb.st_size : 0;
	progress = progress && size > 4 * 1024 * 1024;
	int64_t next_tick = mono_now_ns() + NS_PER_S;
	for (;;) {
		int n = mrt_next(r, &rec, err, sizeof(err));
		if (n < 0) {
			fprintf(stderr, "lightsout: import: %s: %s (records before it were read)\n", path, err);
			break;
		}
		if (n == 0) {
			rc = 0;
			break;
		}
		if (mrt_parse_record(p, &rec, rerr, sizeof(rerr)) < 0 && first_bad++ == 0)
			fprintf(stderr, "lightsout: import: %s: %s\n", path, rerr);
		if (c->vis)
			bgp_vis_tick(c->vis, (int64_t)rec.timestamp * 1000);
		if (progress && (mrt_parser_stats(p)->records & 1023) == 0 && mono_now_ns() >= next_tick) {
			next_tick = mono_now_ns() + NS_PER_S;
			fprintf(stderr, "\r%s: %3.0f%% %" PRIu64 " records", path,
				100.0 * (double)mrt_compressed_offset(r) / (double)size, mrt_parser_stats(p)->records);
		}
	}
	if (progress)
		fprintf(stderr, "\r\033[K");
	if (first_bad > 1)
		fprintf(stderr, "lightsout: import: %s: %" PRIu64 " malformed records in all\n", path, first_bad);
	struct mrt_stats s = *mrt_parser_stats(p);
	if (rc < 0)
		s.errors++;
	print_summary(path, &s, json);
out:
	mrt_close(r);
	mrt_parser_free(p);
	return rc;
}

int cli_import(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *cfg_path = NULL;
	bool json = false;
	struct config *cfg = NULL;
	struct import_ctx c = {0};
	char err[512];
	int ret = EXIT_USAGE;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(import_usage, stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "mrt") != 0) {
		fprintf(stderr, "lightsout: import: the only kind is \"mrt\" (see lightsout import --help)\n");
		return EXIT_USAGE;
	}
	argc--;
	argv++;
	cli_options_start();
	for (;;) {
		int o = getopt_long(argc, argv, "c:hvq", opts, NULL);
		if (o == -1)
			break;
		switch (o) {
		case 'c':
			cfg_path = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0) {
				json = true;
			} else if (strcmp(optarg, "text") == 0) {
				json = false;
			} else {
				fprintf(
				    stderr,
				    "lightsout: import: --format must be text or json (see lightsout import --help)\n");
				return EXIT_USAGE;
			}
			break;
		default:
			if ((o = cli_other_option("import", o, import_usage)) >= 0)
				return o;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "lightsout: import: no MRT file given (see lightsout import --help)\n");
		return EXIT_USAGE;
	}
	/* Without -c the default configuration is optional: counts only. */
	if (!cfg_path && access(DEFAULT_CONFIG, F_OK) == 0)
		cfg_path = DEFAULT_CONFIG;
	if (cfg_path) {
		cfg = cli_load_config(cfg_path);
		if (!cfg)
			return EXIT_USAGE;
		c.st = cli_open_store(cfg, true);
		if (!c.st) {
			ret = EXIT_RUNTIME;
			goto out;
		}
		c.vis = bgp_vis_new(cfg, false, on_vis_event, &c);
		if (!c.vis) {
			fprintf(stderr, "lightsout: import: out of memory\n");
			ret = EXIT_RUNTIME;
			goto out;
		}
	}
	ret = 0;
	bool progress = isatty(STDERR_FILENO);
	for (int i = optind; i < argc; i++) {
		if (import_file(argv[i], &c, json, progress) < 0)
			ret = EXIT_RUNTIME;
	}
	if (c.dropped)
		fprintf(stderr, "lightsout: import: %" PRIu64 " BGP events could not be queued to the store\n",
			c.dropped);
out:
	if (c.st && store_close(c.st, err, sizeof(err)) < 0) {
		fprintf(stderr, "lightsout: import: %s\n", err);
		ret = EXIT_RUNTIME;
	}
	bgp_vis_free(c.vis);
	config_free(cfg);
	return ret;
}
