#include "probe/icmp_packet.h"

#include <arpa/inet.h>
#include <string.h>

#include "core/siphash.h"

#define MAGIC       "LOut"
#define ICMP4_ECHO  8
#define ICMP4_REPLY 0
#define ICMP6_ECHO  128
#define ICMP6_REPLY 129

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static size_t addr_bytes(const struct sockaddr_storage *ss, const uint8_t **bytes)
{
	if (ss->ss_family == AF_INET) {
		*bytes = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		return 4;
	}
	*bytes = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	return 16;
}

/* The hash binds the payload to the address the echo went to. */
static uint64_t payload_mac(const uint8_t *key, const struct sockaddr_storage *dest, const uint8_t *payload)
{
	uint8_t buf[16 + 24];
	const uint8_t *a;
	size_t alen = addr_bytes(dest, &a);
	memcpy(buf, a, alen);
	memcpy(buf + alen, payload, 24);
	return siphash24(key, buf, alen + 24);
}

static uint16_t checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void icmp_build_echo(const struct icmp_build *b, const struct sockaddr_storage *dest, uint8_t *out)
{
	uint8_t *pl = out + 8;
	memset(out, 0, ICMP_PACKET_LEN);
	out[0] = dest->ss_family == AF_INET ? ICMP4_ECHO : ICMP6_ECHO;
	put16(out + 4, b->raw ? b->ident : 0);
	put16(out + 6, (uint16_t)(b->round * (b->count ? b->count : 1) + b->echo));
	memcpy(pl, MAGIC, 4);
	put32(pl + 4, b->target);
	put32(pl + 8, b->round);
	put16(pl + 12, b->echo);
	put32(pl + 16, (uint32_t)((uint64_t)b->sent_ns >> 32));
	put32(pl + 20, (uint32_t)b->sent_ns);
	uint64_t mac = payload_mac(b->key, dest, pl);
	memcpy(pl + 24, &mac, 8);
	/* IPv6 and datagram sockets get their checksum from the kernel */
	if (dest->ss_family == AF_INET)
		put16(out + 2, checksum(out, ICMP_PACKET_LEN));
}

/* Reads our payload (after an 8-byte echo header) and checks the hash. */
static int read_payload(const struct icmp_parse_ctx *ctx, const uint8_t *pl, size_t len,
			const struct sockaddr_storage *dest, struct icmp_match *mt)
{
	if (len < ICMP_PAYLOAD_LEN || memcmp(pl, MAGIC, 4) != 0)
		return 1;
	uint64_t mac = payload_mac(ctx->key, dest, pl), got;
	memcpy(&got, pl + 24, 8);
	if (mac != got)
		return -1;
	mt->target = get32(pl + 4);
	mt->round = get32(pl + 8);
	mt->echo = get16(pl + 12);
	mt->sent_ns = (int64_t)((uint64_t)get32(pl + 16) << 32 | get32(pl + 20));
	mt->dest = *dest;
	return 0;
}

static enum icmp_verdict verdict_of(int rc, enum icmp_verdict ok)
{
	return rc == 0 ? ok : rc < 0 ? ICMP_VERDICT_FORGED : ICMP_VERDICT_NOT_OURS;
}

/* An ICMP error quotes the offending IP packet: find our echo in it. */
static enum icmp_verdict parse_quote(const struct icmp_parse_ctx *ctx, const uint8_t *q, size_t len,
				     struct icmp_match *mt)
{
	struct sockaddr_storage dest = {0};
	size_t hl;

	if (ctx->family == AF_INET) {
		if (len < 20 || (q[0] >> 4) != 4)
			return ICMP_VERDICT_NOT_OURS;
		hl = (size_t)(q[0] & 0x0f) * 4;
		if (hl < 20 || len < hl + 8 || q[9] != IPPROTO_ICMP)
			return ICMP_VERDICT_NOT_OURS;
		struct sockaddr_in *sin = (struct sockaddr_in *)&dest;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, q + 16, 4);
		if (q[hl] != ICMP4_ECHO)
			return ICMP_VERDICT_NOT_OURS;
	} else {
		hl = 40;
		if (len < hl + 8 || (q[0] >> 4) != 6 || q[6] != IPPROTO_ICMPV6)
			return ICMP_VERDICT_NOT_OURS;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&dest;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, q + 24, 16);
		if (q[hl] != ICMP6_ECHO)
			return ICMP_VERDICT_NOT_OURS;
	}
	if (ctx->raw && get16(q + hl + 4) != ctx->ident)
		return ICMP_VERDICT_NOT_OURS;
	/* A quote cut at 8 bytes (RFC 792 minimum) cannot be authenticated:
	 * it is not trusted, as a forger could make it up. */
	return verdict_of(read_payload(ctx, q + hl + 8, len - hl - 8, &dest, mt), ICMP_VERDICT_ERROR);
}

enum icmp_verdict icmp_parse_packet(const struct icmp_parse_ctx *ctx, const uint8_t *buf, size_t len,
				    const struct sockaddr_storage *from, struct icmp_match *mt)
{
	memset(mt, 0, sizeof(*mt));
	if (ctx->family == AF_INET && ctx->raw) {
		if (len < 20 || (buf[0] >> 4) != 4)
			return ICMP_VERDICT_NOT_OURS;
		size_t hl = (size_t)(buf[0] & 0x0f) * 4;
		if (hl < 20 || hl > len || buf[9] != IPPROTO_ICMP)
			return ICMP_VERDICT_NOT_OURS;
		buf += hl;
		len -= hl;
	}
	if (len < 8)
		return ICMP_VERDICT_NOT_OURS;
	uint8_t type = buf[0], code = buf[1];
	bool v4 = ctx->family == AF_INET;
	if (type == (v4 ? ICMP4_REPLY : ICMP6_REPLY)) {
		if (ctx->raw && get16(buf + 4) != ctx->ident)
			return ICMP_VERDICT_NOT_OURS;
		return verdict_of(read_payload(ctx, buf + 8, len - 8, from, mt), ICMP_VERDICT_REPLY);
	}
	bool is_error = v4 ? (type == 3 || type == 11 || type == 12) : (type >= 1 && type <= 4);
	if (!is_error)
		return ICMP_VERDICT_NOT_OURS;
	enum icmp_verdict v = parse_quote(ctx, buf + 8, len - 8, mt);
	mt->err_type = type;
	mt->err_code = code;
	return v;
}

int icmp_parse_own_echo(const struct icmp_parse_ctx *ctx, const uint8_t *buf, size_t len,
			const struct sockaddr_storage *dest, struct icmp_match *mt)
{
	memset(mt, 0, sizeof(*mt));
	if (len < 8 || buf[0] != (ctx->family == AF_INET ? ICMP4_ECHO : ICMP6_ECHO))
		return -1;
	return read_payload(ctx, buf + 8, len - 8, dest, mt) == 0 ? 0 : -1;
}

enum icmp_accept icmp_round_accept(struct icmp_round *r, uint32_t round, uint16_t echo)
{
	if (!r->open || r->round != round)
		return ICMP_ACCEPT_LATE;
	if (echo >= r->count || echo >= ICMP_MAX_ECHOES || (r->received[echo / 64] >> (echo % 64)) & 1)
		return ICMP_ACCEPT_DUPLICATE;
	r->received[echo / 64] |= UINT64_C(1) << (echo % 64);
	r->nreceived++;
	return ICMP_ACCEPT_NEW;
}
