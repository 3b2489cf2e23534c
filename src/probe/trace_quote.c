/* Trace probe payloads and ICMP quote parsing (see trace_quote.h). */
#include "probe/trace_quote.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/siphash.h"

static const uint8_t trace_magic[4] = {'L', 'O', 't', '1'};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint16_t probe_trace_csum16(const uint8_t *buf, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(buf + i);
	if (len & 1)
		sum += (uint32_t)buf[len - 1] << 8;
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Layout: magic[4] target[4] round[4] ttl[1] zero[1] tag[8] comp[2]. */
void probe_trace_payload_build(const uint8_t key[PROBE_TRACE_KEY_LEN], const struct probe_trace_probe *p,
			       uint8_t out[PROBE_TRACE_PAYLOAD_LEN])
{
	uint64_t tag;
	uint16_t sum;

	memcpy(out, trace_magic, 4);
	put32(out + 4, p->target);
	put32(out + 8, p->round);
	out[12] = p->ttl;
	out[13] = 0;
	tag = siphash24(key, out, 14);
	for (int i = 0; i < 8; i++)
		out[14 + i] = (uint8_t)(tag >> (8 * i));
	/* The last word makes the one's-complement sum 0xffff for any probe. */
	sum = probe_trace_csum16(out, 22);
	out[22] = (uint8_t)((uint16_t)~sum >> 8);
	out[23] = (uint8_t)(uint16_t)~sum;
}

int probe_trace_payload_check(const uint8_t key[PROBE_TRACE_KEY_LEN], const uint8_t *buf, size_t len,
			      struct probe_trace_probe *p, char *err, size_t errlen)
{
	uint64_t tag, got = 0;

	if (len < PROBE_TRACE_PAYLOAD_LEN) {
		snprintf(err, errlen, "quote too short (%zu payload bytes)", len);
		return -1;
	}
	if (memcmp(buf, trace_magic, 4) != 0) {
		snprintf(err, errlen, "quote of a packet we never sent");
		return -1;
	}
	tag = siphash24(key, buf, 14);
	for (int i = 0; i < 8; i++)
		got |= (uint64_t)buf[14 + i] << (8 * i);
	if (tag != got || buf[13] != 0 || probe_trace_csum16(buf, PROBE_TRACE_PAYLOAD_LEN) != 0xffff) {
		snprintf(err, errlen, "quote with a bad tag (a packet we never sent)");
		return -1;
	}
	p->target = get32(buf + 4);
	p->round = get32(buf + 8);
	p->ttl = buf[12];
	if (p->ttl == 0) {
		snprintf(err, errlen, "quote with TTL 0");
		return -1;
	}
	return 0;
}

int probe_trace_icmp_parse(const uint8_t *pkt, size_t len, int family, struct probe_trace_icmp *out, char *err,
			   size_t errlen)
{
	size_t off = 0, ihl;

	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->quoted_dst;
		if (len < 20 || (pkt[0] >> 4) != 4) {
			snprintf(err, errlen, "not an IPv4 packet");
			return -1;
		}
		ihl = (size_t)(pkt[0] & 0x0f) * 4;
		if (ihl < 20 || ihl > len || pkt[9] != IPPROTO_ICMP) {
			snprintf(err, errlen, "bad IPv4 header");
			return -1;
		}
		off = ihl;
		if (off + 8 > len) {
			snprintf(err, errlen, "truncated ICMP header");
			return -1;
		}
		out->type = pkt[off];
		out->code = pkt[off + 1];
		if (out->type != 11 && out->type != 3) {
			snprintf(err, errlen, "ICMP type %u is not an error we asked for", out->type);
			return -1;
		}
		out->time_exceeded = out->type == 11;
		off += 8;
		if (off + 20 > len || (pkt[off] >> 4) != 4) {
			snprintf(err, errlen, "truncated quoted IPv4 header");
			return -1;
		}
		ihl = (size_t)(pkt[off] & 0x0f) * 4;
		if (ihl < 20 || off + ihl > len) {
			snprintf(err, errlen, "bad quoted IPv4 header");
			return -1;
		}
		if (pkt[off + 9] != IPPROTO_UDP) {
			snprintf(err, errlen, "quoted packet is not UDP");
			return -1;
		}
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, pkt + off + 16, 4);
		off += ihl;
	} else if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->quoted_dst;
		if (len < 8) {
			snprintf(err, errlen, "truncated ICMPv6 header");
			return -1;
		}
		out->type = pkt[0];
		out->code = pkt[1];
		if (out->type != 3 && out->type != 1) {
			snprintf(err, errlen, "ICMPv6 type %u is not an error we asked for", out->type);
			return -1;
		}
		out->time_exceeded = out->type == 3;
		off = 8;
		if (off + 40 > len || (pkt[off] >> 4) != 6) {
			snprintf(err, errlen, "truncated quoted IPv6 header");
			return -1;
		}
		/* We send no extension headers, so UDP must follow directly. */
		if (pkt[off + 6] != IPPROTO_UDP) {
			snprintf(err, errlen, "quoted packet is not UDP");
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, pkt + off + 24, 16);
		off += 40;
	} else {
		snprintf(err, errlen, "unknown address family");
		return -1;
	}
	if (off + 8 > len) {
		snprintf(err, errlen, "truncated quoted UDP header");
		return -1;
	}
	out->sport = get16(pkt + off);
	out->dport = get16(pkt + off + 2);
	off += 8;
	out->payload_off = off;
	out->payload_len = len - off;
	return 0;
}

int probe_trace_edge(const struct sockaddr_storage *hops, size_t nhops, const struct prefix *prefixes, size_t nprefixes,
		     const struct sockaddr_storage *dst)
{
	int inside = -1, before = -1;

	for (size_t i = 0; i < nhops; i++) {
		if (hops[i].ss_family == AF_UNSPEC)
			continue;
		if (dst != NULL && addr_equal(&hops[i], dst))
			break;
		before = (int)i;
		for (size_t j = 0; j < nprefixes; j++) {
			if (prefix_contains_addr(&prefixes[j], &hops[i])) {
				inside = (int)i;
				break;
			}
		}
	}
	return inside >= 0 ? inside : before;
}
