/* lightsout check-config: validate, and with -v print the normalised form. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "config/config.h"

static const char check_usage[] = "usage: lightsout check-config [-c FILE] [-v]\n"
				  "\n"
				  "  Errors are printed as FILE:LINE:COL: message (exit 2); -v prints the\n"
				  "  normalised configuration with every default filled in.\n";

int cli_check_config(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"verbose", no_argument, NULL, 'v'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *path = DEFAULT_CONFIG;
	int opt, verbose = 0;

	cli_options_start();
	while ((opt = getopt_long(argc, argv, "c:vqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			if ((opt = cli_other_option("check-config", opt, check_usage)) >= 0)
				return opt;
		}
	}
	if ((opt = cli_no_arguments("check-config", argc, argv)) >= 0)
		return opt;
	struct config *cfg = cli_load_config(path);
	if (cfg == NULL)
		return EXIT_USAGE;
	if (verbose) {
		config_print(cfg, stdout);
	} else {
		size_t controls = 0;
		for (size_t i = 0; i < cfg->ntargets; i++)
			controls += cfg->targets[i].network == CONFIG_NO_NETWORK;
		printf("%s: ok: %zu networks, %zu targets, %zu controls\n", path, cfg->nnetworks,
		       cfg->ntargets - controls, controls);
	}
	config_free(cfg);
	return 0;
}
