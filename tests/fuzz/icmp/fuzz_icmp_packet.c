/* Any bytes from an ICMP socket, any family, raw or datagram: the parser
 * must neither crash nor accept them as ours without the key. */
#include <stdint.h>
#include <string.h>

#include "probe/icmp_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct sockaddr_storage from;
	struct icmp_match mt;

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	struct icmp_parse_ctx ctx = {
	    .key = key, .raw = mode & 1, .ident = 0x1234, .family = (mode & 2) ? AF_INET6 : AF_INET};
	addr_parse((mode & 2) ? "2001:db8::1" : "192.0.2.1", &from);
	icmp_parse_packet(&ctx, data, size, &from, &mt);
	icmp_parse_own_echo(&ctx, data, size, &from, &mt);
	return 0;
}
