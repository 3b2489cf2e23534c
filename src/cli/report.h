/* lightsout report: incidents from the store (or re-judged from the
 * stored measurements with --rejudge) as text, JSON or HTML. */
#ifndef LIGHTSOUT_CLI_REPORT_H
#define LIGHTSOUT_CLI_REPORT_H

int cli_report(int argc, char **argv);

#endif
