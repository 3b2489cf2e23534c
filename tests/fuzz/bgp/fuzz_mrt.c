/* libFuzzer target: a stream of MRT records read from memory and parsed
 * with events on (the peer index persists across records). */
#include <stddef.h>
#include <stdint.h>

#include "bgp/mrt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(const struct mrt_event *ev, void *arg)
{
	char buf[128];
	size_t *n = arg;
	(*n)++;
	prefix_format(&ev->prefix, buf, sizeof(buf));
	if (ev->attrs)
		bgp_aspath_format(&ev->attrs->aspath, buf, sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	size_t n = 0;
	struct mrt_record rec;
	struct mrt_reader *r = mrt_open_mem(data, size);
	struct mrt_parser *p = mrt_parser_new(sink, &n);
	if (r && p) {
		for (int i = 0; i < 10000; i++) {
			if (mrt_next(r, &rec, err, sizeof(err)) != 1)
				break;
			mrt_parse_record(p, &rec, err, sizeof(err));
		}
	}
	mrt_parser_free(p);
	mrt_close(r);
	return 0;
}
