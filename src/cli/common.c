/* What every verb does the same way: options, errors, the configuration
 * and the store. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/store.h"

/* -v and -q seen so far: each moves the log level one step from the
 * configuration's log_level (info before it is read). */
static int verbosity;

static void apply_log_level(int base)
{
	int level = base + verbosity;

	log_set_level(level < LOG_LEVEL_ERROR   ? LOG_LEVEL_ERROR
		      : level > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG
						: (enum log_level)level);
}

void cli_options_start(void)
{
	verbosity = 0;
	log_set_level(LOG_LEVEL_INFO);
	/* 0, not 1: glibc then also forgets a half-read option cluster
	 * ("-xq" left at 'q') that points into the earlier argv */
	optind = 0;
}

int cli_common_option(int opt)
{
	if (opt != 'v' && opt != 'q')
		return 0;
	verbosity += opt == 'v' ? 1 : -1;
	apply_log_level(LOG_LEVEL_INFO);
	return 1;
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "lightsout: %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see lightsout %s --help)\n", verb);
	return EXIT_USAGE;
}

int cli_duration_option(const char *verb, const char *opt, const char *arg, int64_t *ms)
{
	int rc = duration_parse_ms(arg, ms);

	if (rc == 0)
		return 0;
	if (rc == DURATION_ZERO)
		return cli_usage_error(verb, "%s %s", opt, duration_why(rc));
	return cli_usage_error(verb, "%s: %s \"%s\" (%s)", opt, duration_why(rc), arg, DURATION_HINT);
}

int cli_parse_format(const char *s, int allow_html)
{
	if (strcmp(s, "text") == 0)
		return CLI_FORMAT_TEXT;
	if (strcmp(s, "json") == 0)
		return CLI_FORMAT_JSON;
	if (allow_html && strcmp(s, "html") == 0)
		return CLI_FORMAT_HTML;
	return -1;
}

int cli_other_option(const char *verb, int opt, const char *usage)
{
	if (opt == 'h') {
		fputs(usage, stdout);
		return 0;
	}
	if (cli_common_option(opt))
		return -1;
	return cli_usage_error(verb, "bad option");
}

int cli_no_arguments(const char *verb, int argc, char **argv)
{
	if (optind < argc)
		return cli_usage_error(verb, "unexpected argument \"%s\"", argv[optind]);
	return -1;
}

struct config *cli_load_config(const char *path)
{
	char err[1024];
	struct config *cfg = config_load(path, err, sizeof(err));

	if (cfg == NULL)
		fprintf(stderr, "lightsout: %s\n", err);
	else
		apply_log_level(cfg->log_level);
	return cfg;
}

struct store *cli_open_store(const struct config *cfg, bool write)
{
	char err[1024];
	struct store *st = store_open(cfg, write, 0, err, sizeof(err));

	if (st == NULL)
		fprintf(stderr, "lightsout: %s\n", err);
	return st;
}
