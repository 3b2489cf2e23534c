/* Any bytes as a reply to a fixed query: the validator must neither crash
 * nor loop, and whatever it accepts must carry our id and question. */
#include <stdint.h>
#include <string.h>

#include "probe/dns_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const specs[] = {"lab.example A", "lab.example SOA", "lab.example MX", "example AAAA"};
	struct probe_dns_query q;
	struct probe_dns_reply r;
	char err[128];

	if (size < 1)
		return 0;
	if (probe_dns_query_parse(specs[data[0] & 3], &q, err, sizeof(err)) < 0)
		__builtin_trap();
	data++;
	size--;
	q.id = size >= 2 ? (uint16_t)((data[0] << 8) | data[1]) : 0;
	probe_dns_wire_check(data, size, err, sizeof(err));
	if (probe_dns_reply_check(&q, data, size, "192.0.2.1", &r, err, sizeof(err)) == 0) {
		if (r.id != q.id || strlen(r.first_answer) >= sizeof(r.first_answer))
			__builtin_trap();
	}
	return 0;
}
