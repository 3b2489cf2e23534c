/* libFuzzer target: config_parse on arbitrary bytes must never crash or
 * leak, and whatever parses must print to YAML that parses back to the
 * same print (the check-config -v round trip). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print_config(const struct config *cfg, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	if (!f)
		abort();
	config_print(cfg, f);
	if (fclose(f) != 0)
		abort();
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct config *cfg = config_parse("fuzz.yaml", (const char *)data, size, err, sizeof err), *again;
	char *once, *twice;
	size_t n1, n2;

	if (!cfg) {
		/* every failure names a position */
		if (strncmp(err, "fuzz.yaml:", 10) != 0)
			abort();
		return 0;
	}
	once = print_config(cfg, &n1);
	again = config_parse("printed.yaml", once, n1, err, sizeof err);
	if (!again) {
		fprintf(stderr, "printed config does not parse: %s\n%s\n", err, once);
		abort();
	}
	twice = print_config(again, &n2);
	if (n1 != n2 || memcmp(once, twice, n1) != 0) {
		fprintf(stderr, "round trip differs:\n%s\n----\n%s\n", once, twice);
		abort();
	}
	free(once);
	free(twice);
	config_free(again);
	config_free(cfg);
	return 0;
}
