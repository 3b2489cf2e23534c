/* libFuzzer target: one BGP message (header, then OPEN or UPDATE body)
 * under every parse option. */
#include <stddef.h>
#include <stdint.h>

#include "bgp/bgp_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(const struct bgp_route *r, const struct bgp_attrs *a, void *arg)
{
	char buf[128];
	size_t *n = arg;
	(*n)++;
	prefix_format(&r->prefix, buf, sizeof(buf));
	bgp_aspath_format(&a->aspath, buf, sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t type;
	uint16_t len;
	struct bgp_error e;
	static struct bgp_attrs attrs;
	size_t n = 0;

	if (size < 1)
		return 0;
	/* First byte chooses the options; the rest is the message. */
	struct bgp_msg_opts o = {
	    .as4 = data[0] & 1, .addpath_v4 = data[0] & 2, .addpath_v6 = data[0] & 4, .lenient = data[0] & 8};
	data++;
	size--;
	if (bgp_msg_header(data, size, BGP_MSG_EXT_MAX, &type, &len, &e) == 0 && len <= size) {
		if (type == BGP_MSG_OPEN) {
			struct bgp_open op;
			bgp_open_parse(data + BGP_HDR_LEN, len - BGP_HDR_LEN, &op, &e);
		} else if (type == BGP_MSG_UPDATE) {
			bgp_update_parse(data + BGP_HDR_LEN, len - BGP_HDR_LEN, &o, sink, &n, &attrs, &e);
		}
	}
	/* Also as a bare UPDATE body and a bare attribute block. */
	bgp_update_parse(data, size, &o, sink, &n, &attrs, &e);
	bgp_attrs_parse(data, size, &o, true, sink, &n, &attrs, &e);
	return 0;
}
