/* The verbs of SPEC.md.  Each returns the process exit code:
 * 0 success, 1 runtime failure, 2 usage or configuration error. */
#ifndef LIGHTSOUT_CLI_H
#define LIGHTSOUT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct store;

#define EXIT_RUNTIME   1
#define EXIT_USAGE     2
#define DEFAULT_CONFIG "lightsout.yaml"

int cli_watch(int argc, char **argv);
int cli_probe(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_check_config(int argc, char **argv);
int cli_version(int argc, char **argv);

/* Before a verb's getopt_long loop.  Options go anywhere on the line
 * (GNU permutation, unless POSIXLY_CORRECT is set) and "--" ends them;
 * getopt starts afresh, not from where an earlier verb's parse in the
 * same process stopped (the unit tests run many). */
void cli_options_start(void);
/* Common options: -v / -q move the log level one step up or down from
 * the configuration's log_level (cli_load_config applies it); returns 1
 * if handled. */
int cli_common_option(int opt);
/* "lightsout VERB: message" on stderr, then EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The rest of a verb's getopt switch: --help prints usage (returns 0),
 * -v/-q are handled (returns -1: go on), anything else is a usage error. */
int cli_other_option(const char *verb, int opt, const char *usage);
/* A DURATION option's argument into ms: 0, or EXIT_USAGE after saying
 * why ("--for must be greater than 0"). */
int cli_duration_option(const char *verb, const char *opt, const char *arg, int64_t *ms);
/* After the options of a verb that takes no arguments: a usage error if
 * some are left, else -1. */
int cli_no_arguments(const char *verb, int argc, char **argv);
/* The configuration at path, its log_level (moved by -v/-q) in force,
 * or NULL after printing why as "lightsout: FILE:LINE:COL: ..." (the
 * verb exits EXIT_USAGE). */
struct config *cli_load_config(const char *path);
/* cfg's store (write: with its writer thread), or NULL after printing why
 * (the verb exits EXIT_RUNTIME). */
struct store *cli_open_store(const struct config *cfg, bool write);
/* Parses --format text|json (html where allowed); -1 if bad. */
enum cli_format { CLI_FORMAT_TEXT, CLI_FORMAT_JSON, CLI_FORMAT_HTML };
int cli_parse_format(const char *s, int allow_html);

#endif
