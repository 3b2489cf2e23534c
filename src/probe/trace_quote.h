/* Probe payloads and ICMP quotes of the trace kind.
 *
 * Every UDP probe carries a 24-byte payload naming (target, round, TTL)
 * under a keyed tag (SipHash-2-4 with the engine's per-run key), and a
 * last word that keeps the payload's one's-complement sum constant, so the
 * UDP checksum is the same for every TTL of a flow (Paris traceroute: load
 * balancers see one flow).  A quote whose tag does not verify is of a
 * packet we never sent and is rejected.  Pure code. */
#ifndef LIGHTSOUT_PROBE_TRACE_QUOTE_H
#define LIGHTSOUT_PROBE_TRACE_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/addr.h"

#define PROBE_TRACE_PAYLOAD_LEN 24
#define PROBE_TRACE_KEY_LEN     16

struct probe_trace_probe {
	uint32_t target;
	uint32_t round;
	uint8_t ttl;
};

void probe_trace_payload_build(const uint8_t key[PROBE_TRACE_KEY_LEN], const struct probe_trace_probe *p,
			       uint8_t out[PROBE_TRACE_PAYLOAD_LEN]);
/* Verifies a quoted payload (as the kernel's error queue or a raw ICMP
 * quote gives it).  0 and *p filled, or -1 with the reason. */
int probe_trace_payload_check(const uint8_t key[PROBE_TRACE_KEY_LEN], const uint8_t *buf, size_t len,
			      struct probe_trace_probe *p, char *err, size_t errlen);

/* One's-complement sum of a buffer (for tests of the constant checksum). */
uint16_t probe_trace_csum16(const uint8_t *buf, size_t len);

/* An ICMP error as a raw socket delivers it: IPv4 packets start with the
 * IP header, ICMPv6 messages with the ICMPv6 header. */
struct probe_trace_icmp {
	uint8_t type, code;
	struct sockaddr_storage quoted_dst; /* destination of the quoted packet */
	uint16_t sport, dport;              /* of the quoted UDP header */
	size_t payload_off;                 /* quoted UDP payload within the buffer */
	size_t payload_len;
	bool time_exceeded; /* else destination unreachable */
};
int probe_trace_icmp_parse(const uint8_t *pkt, size_t len, int family, struct probe_trace_icmp *out, char *err,
			   size_t errlen);

/* Edge router of a path: hops[i] is the address that answered TTL i+1
 * (ss_family AF_UNSPEC when silent).  The last responding hop inside one
 * of the prefixes, else the last responding hop that is not dst.  Returns
 * its index, or -1. */
int probe_trace_edge(const struct sockaddr_storage *hops, size_t nhops, const struct prefix *prefixes, size_t nprefixes,
		     const struct sockaddr_storage *dst);

#endif
