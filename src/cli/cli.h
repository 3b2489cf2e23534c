/* The verbs of SPEC.md.  Each returns the process exit code:
 * 0 success, 1 runtime failure, 2 usage or configuration error. */
#ifndef LIGHTSOUT_CLI_H
#define LIGHTSOUT_CLI_H

#include <stdio.h>

#define EXIT_RUNTIME   1
#define EXIT_USAGE     2
#define DEFAULT_CONFIG "lightsout.yaml"

int cli_watch(int argc, char **argv);
int cli_probe(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_check_config(int argc, char **argv);

/* Common options: -v / -q adjust the log level; returns 1 if handled. */
int cli_common_option(int opt);
/* "lightsout VERB: message" on stderr, then EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses --format text|json (html where allowed); -1 if bad. */
enum cli_format { CLI_FORMAT_TEXT, CLI_FORMAT_JSON, CLI_FORMAT_HTML };
int cli_parse_format(const char *s, int allow_html);

#endif
