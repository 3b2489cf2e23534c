/* ICMP echo packets of lightsout: building them and validating what comes
 * back, statelessly.  Pure functions (no sockets), so they are unit tested
 * and fuzzed directly. */
#ifndef LIGHTSOUT_ICMP_PACKET_H
#define LIGHTSOUT_ICMP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/addr.h"

#define ICMP_PAYLOAD_LEN 32
#define ICMP_PACKET_LEN  (8 + ICMP_PAYLOAD_LEN)

struct icmp_build {
	const uint8_t *key; /* 16 bytes */
	bool raw;           /* raw socket: we set the identifier */
	uint16_t ident;
	uint32_t target;
	uint32_t round;
	uint16_t echo;
	uint16_t count;
	int64_t sent_ns; /* monotonic */
};

/* Writes ICMP_PACKET_LEN bytes (ICMP header + payload) for dest. */
void icmp_build_echo(const struct icmp_build *b, const struct sockaddr_storage *dest, uint8_t *out);

struct icmp_parse_ctx {
	const uint8_t *key;
	bool raw;       /* IPv4 raw sockets deliver the IP header too */
	uint16_t ident; /* checked on raw sockets only (the kernel demuxes datagram ones) */
	int family;
};

struct icmp_match {
	uint32_t target;
	uint32_t round;
	uint16_t echo;
	int64_t sent_ns;
	struct sockaddr_storage dest; /* the address our echo was sent to */
	uint8_t err_type, err_code;   /* for ICMP_VERDICT_ERROR */
};

enum icmp_verdict {
	ICMP_VERDICT_REPLY,    /* an echo reply to one of our echoes, authentic */
	ICMP_VERDICT_ERROR,    /* an ICMP error quoting one of our echoes, authentic */
	ICMP_VERDICT_NOT_OURS, /* someone else's traffic, or too short to tell */
	ICMP_VERDICT_FORGED,   /* looks like ours but the keyed hash fails */
};

/* buf is what the socket returned; from is the sender. */
enum icmp_verdict icmp_parse_packet(const struct icmp_parse_ctx *ctx, const uint8_t *buf, size_t len,
				    const struct sockaddr_storage *from, struct icmp_match *mt);

/* Validates our own echo as returned by the error queue; 0 or -1. */
int icmp_parse_own_echo(const struct icmp_parse_ctx *ctx, const uint8_t *buf, size_t len,
			const struct sockaddr_storage *dest, struct icmp_match *mt);

/* Which echoes of the open round have been answered. */
#define ICMP_MAX_ECHOES 128
struct icmp_round {
	uint32_t round;
	uint16_t count;
	uint16_t nreceived;
	bool open;
	uint64_t received[ICMP_MAX_ECHOES / 64];
};

enum icmp_accept { ICMP_ACCEPT_NEW, ICMP_ACCEPT_LATE, ICMP_ACCEPT_DUPLICATE };
/* Records echo `echo` of `round` as answered unless it is late (another
 * round, or the round is closed) or a duplicate. */
enum icmp_accept icmp_round_accept(struct icmp_round *r, uint32_t round, uint16_t echo);

struct icmp_counters {
	uint64_t sent, accepted, errors, stray, forged, late, duplicate, send_errors;
};

#endif
