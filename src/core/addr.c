#include "core/addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int addr_parse(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

static int addr_bytes(int family)
{
	return family == AF_INET ? 4 : 16;
}

int prefix_parse(const char *s, struct prefix *p)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	char *end;

	memset(p, 0, sizeof(*p));
	if (slash == NULL || (size_t)(slash - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (!isdigit((unsigned char)slash[1]))
		return -1;
	long len = strtol(slash + 1, &end, 10);
	if (*end != '\0' || end - (slash + 1) > 3)
		return -1;
	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->family = AF_INET6;
	else
		return -1;
	if (len < 0 || len > addr_bytes(p->family) * 8)
		return -1;
	p->len = (uint8_t)len;
	/* host bits must be zero: a typo in a prefix is an error, not a guess */
	for (int bit = p->len; bit < addr_bytes(p->family) * 8; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	return 0;
}

void prefix_format(const struct prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	if (inet_ntop(p->family, p->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, p->len);
}

static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool prefix_contains_addr(const struct prefix *p, const struct sockaddr_storage *ss)
{
	if (ss->ss_family != p->family)
		return false;
	const uint8_t *a = ss->ss_family == AF_INET ? (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr
						    : (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	return bits_equal(p->addr, a, p->len);
}

bool prefix_covers(const struct prefix *outer, const struct prefix *inner)
{
	return outer->family == inner->family && outer->len <= inner->len &&
	       bits_equal(outer->addr, inner->addr, outer->len);
}

bool prefix_overlaps(const struct prefix *a, const struct prefix *b)
{
	return prefix_covers(a, b) || prefix_covers(b, a);
}

void addr_format(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *src = ss->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
						   : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	if ((ss->ss_family != AF_INET && ss->ss_family != AF_INET6) ||
	    inet_ntop(ss->ss_family, src, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

socklen_t addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

void addr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}

bool hostname_valid(const char *s)
{
	size_t total = strlen(s), label = 0;

	if (total == 0 || total > 254 || (total == 254 && s[253] != '.'))
		return false;
	for (size_t i = 0; i < total; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (label == 0 && c == '-')
			return false;
		if (++label > 63)
			return false;
	}
	if (label != 0 && s[total - 1] == '-')
		return false;
	/* An all-numeric last label is a mistyped address, not a name (RFC 3696). */
	size_t end = s[total - 1] == '.' ? total - 1 : total, start = end;
	while (start > 0 && s[start - 1] != '.')
		start--;
	for (size_t i = start; i < end; i++)
		if (!isdigit((unsigned char)s[i]))
			return true;
	return false;
}

int addr_listen(const struct sockaddr_storage *ss, int backlog)
{
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, addr_len(ss)) < 0 || listen(fd, backlog) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}
