/* Any bytes as an ICMP error from a raw socket (either family) or as a
 * quoted payload: nothing verifies without the key, nothing crashes. */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "probe/trace_quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
	struct probe_trace_icmp ic;
	struct probe_trace_probe p;
	char err[128];

	if (size < 1)
		return 0;
	int family = (data[0] & 1) ? AF_INET6 : AF_INET;
	data++;
	size--;
	if (probe_trace_icmp_parse(data, size, family, &ic, err, sizeof(err)) == 0) {
		if (ic.payload_off > size || ic.payload_off + ic.payload_len != size)
			__builtin_trap();
		probe_trace_payload_check(key, data + ic.payload_off, ic.payload_len, &p, err, sizeof(err));
	}
	if (probe_trace_payload_check(key, data, size, &p, err, sizeof(err)) == 0) {
		/* only a payload we built verifies: rebuild and compare */
		uint8_t again[PROBE_TRACE_PAYLOAD_LEN];
		probe_trace_payload_build(key, &p, again);
		if (memcmp(again, data, sizeof(again)) != 0)
			__builtin_trap();
	}
	return 0;
}
