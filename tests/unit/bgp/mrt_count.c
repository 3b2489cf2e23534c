/* Prints "A W B STATE records errors" for each MRT file, the numbers
 * `bgpdump -m` gives as A/W/B/STATE lines; used by the comparison script. */
#include <inttypes.h>
#include <stdio.h>

#include "bgp/mrt.h"

int main(int argc, char **argv)
{
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		char err[256] = "";
		struct mrt_parser *p = mrt_parser_new(NULL, NULL);
		if (!p)
			return 1;
		if (mrt_read_file(argv[i], p, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], err);
			rc = 1;
		}
		const struct mrt_stats *s = mrt_parser_stats(p);
		printf("%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", argv[i],
		       s->announcements, s->withdrawals, s->rib_entries, s->state_changes, s->records, s->errors);
		mrt_parser_free(p);
	}
	return rc;
}
