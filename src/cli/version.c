/* lightsout version (and --version): the program's version. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "lightsout_version.h"

static const char version_usage[] = "usage: lightsout version [--format text|json]\n"
				    "\n"
				    "  Prints the version: \"lightsout X.Y.Z\", or {\"version\": \"X.Y.Z\"}.\n";

int cli_version(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	enum cli_format format = CLI_FORMAT_TEXT;
	int opt;

	cli_options_start();
	while ((opt = getopt_long(argc, argv, "f:hvq", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if ((int)(format = (enum cli_format)cli_parse_format(optarg, 0)) < 0)
				return cli_usage_error("version", "--format is text or json");
			break;
		default:
			if ((opt = cli_other_option("version", opt, version_usage)) >= 0)
				return opt;
		}
	}
	if ((opt = cli_no_arguments("version", argc, argv)) >= 0)
		return opt;
	if (format == CLI_FORMAT_JSON) {
		json_t *o = json_pack("{s:s}", "version", LIGHTSOUT_VERSION);
		char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (text == NULL)
			return EXIT_RUNTIME;
		printf("%s\n", text);
		free(text);
	} else {
		printf("lightsout %s\n", LIGHTSOUT_VERSION);
	}
	return 0;
}
