#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/import.h"
#include "cli/report.h"
#include "core/log.h"

static const char usage[] =
    "usage: lightsout VERB [options]\n"
    "\n"
    "  watch   [-c FILE] [--for DURATION]            run the observatory\n"
    "  probe   [--kind K] [--count N] [-f FILE] [-g PREFIX] TARGET...\n"
    "                                                one-shot probes, one line per result\n"
    "  status  [-c FILE] [--format text|json]         current state of every network and target\n"
    "  report  [-c FILE] [--network NAME] [--since T] [--until T]\n"
    "          [--format text|json|html] [-o FILE]    incidents from the store\n"
    "  check-config [-c FILE] [-v]                    validate the configuration\n"
    "  import mrt [--format text|json] FILE...        read MRT files into the store\n"
    "\n"
    "  version [--format text|json]                   print the version (as --version)\n"
    "\n"
    "  lightsout --version | --help ; every verb takes --help, -v and -q;\n"
    "  options may follow arguments, -- ends them\n";

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct verb verbs[] = {
    {"watch", cli_watch},   {"probe", cli_probe},   {"status", cli_status}, {"check-config", cli_check_config},
    {"report", cli_report}, {"import", cli_import},
};

int main(int argc, char **argv)
{
	log_init(LOG_LEVEL_INFO, 0);
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		/* what "lightsout version" prints; nothing may follow */
		if (argc > 2) {
			fprintf(stderr, "lightsout: %s takes no arguments (see lightsout version --help)\n", argv[1]);
			return EXIT_USAGE;
		}
		return cli_version(1, argv + 1);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "version") == 0)
		return cli_version(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[1], verbs[i].name) != 0)
			continue;
		/* Not thread-safe, so once here before any verb starts a thread
		 * (alert worker, resolver); HTTP probes and alerts rely on it. */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fprintf(stderr, "lightsout: libcurl cannot start\n");
			return EXIT_RUNTIME;
		}
		int rc = verbs[i].fn(argc - 1, argv + 1);
		curl_global_cleanup();
		return rc;
	}
	fprintf(stderr, "lightsout: unknown verb \"%s\"\n%s", argv[1], usage);
	return EXIT_USAGE;
}
