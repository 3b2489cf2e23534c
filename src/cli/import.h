/* `lightsout import mrt [--format text|json] [-c FILE] FILE...` */
#ifndef LIGHTSOUT_CLI_IMPORT_H
#define LIGHTSOUT_CLI_IMPORT_H

/* argv[0] is "import".  Prints one summary per file on stdout; stores the
 * events of watched prefixes/ASNs when a configuration (and so a store) is
 * there.  Returns 0, 1 if some file could not be read to its end (its
 * summary is still printed, with errors > 0), 2 on usage/config errors. */
int cli_import(int argc, char **argv);

#endif
