/* Addresses and prefixes, IPv4 and IPv6, without name resolution. */
#ifndef LIGHTSOUT_ADDR_H
#define LIGHTSOUT_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct prefix {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t len;      /* prefix length in bits */
	uint8_t addr[16]; /* network order, host bits zero */
};

/* Parses a literal IPv4/IPv6 address into ss (port 0).  0 or -1. */
int addr_parse(const char *s, struct sockaddr_storage *ss);
/* "a.b.c.d/n" or "x::/n"; host bits must be zero.  0 or -1. */
int prefix_parse(const char *s, struct prefix *p);
void prefix_format(const struct prefix *p, char *buf, size_t len);
bool prefix_contains_addr(const struct prefix *p, const struct sockaddr_storage *ss);
/* true if inner lies within outer (equal included). */
bool prefix_covers(const struct prefix *outer, const struct prefix *inner);
bool prefix_overlaps(const struct prefix *a, const struct prefix *b);
/* Numeric form of the address without port; buf >= INET6_ADDRSTRLEN. */
void addr_format(const struct sockaddr_storage *ss, char *buf, size_t len);
socklen_t addr_len(const struct sockaddr_storage *ss);
void addr_set_port(struct sockaddr_storage *ss, uint16_t port);
bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* A non-blocking TCP socket bound to ss (SO_REUSEADDR) and listening, or
 * -1 with errno. */
int addr_listen(const struct sockaddr_storage *ss, int backlog);
/* RFC 1123 host name (labels 1-63 of [A-Za-z0-9-], not starting or ending
 * with '-', total <= 253, optional trailing dot). */
bool hostname_valid(const char *s);

#endif
