#include "probe/errqueue.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <netinet/in.h>
#include <string.h>

int probe_read_icmp_error(int fd, uint8_t *buf, size_t buflen, struct probe_icmp_error *e)
{
	uint8_t scratch[1], cbuf[512];
	struct iovec iov = {.iov_base = buf ? buf : scratch, .iov_len = buf ? buflen : sizeof(scratch)};
	struct msghdr msg = {.msg_name = &e->dest,
			     .msg_namelen = sizeof(e->dest),
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};

	memset(e, 0, sizeof(*e));
	ssize_t n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (n < 0)
		return -1;
	if (msg.msg_namelen < sizeof(struct sockaddr_in))
		memset(&e->dest, 0, sizeof(e->dest));
	e->len = buf ? (size_t)n : 0;
	e->truncated = (msg.msg_flags & MSG_TRUNC) != 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)))
			continue;
		if (c->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err)))
			continue;
		struct sock_extended_err ee;
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6)
			continue;
		e->family = ee.ee_origin == SO_EE_ORIGIN_ICMP ? AF_INET : AF_INET6;
		e->type = ee.ee_type;
		e->code = ee.ee_code;
		e->err = (int)ee.ee_errno;
		/* the offender follows the extended error inside the same cmsg */
		size_t room = c->cmsg_len - CMSG_LEN(sizeof(ee));
		struct sockaddr_storage off;
		memset(&off, 0, sizeof(off));
		memcpy(&off, (const uint8_t *)CMSG_DATA(c) + sizeof(ee),
		       room < sizeof(struct sockaddr_in6) ? room : sizeof(struct sockaddr_in6));
		if ((off.ss_family == AF_INET && room >= sizeof(struct sockaddr_in)) ||
		    (off.ss_family == AF_INET6 && room >= sizeof(struct sockaddr_in6)))
			e->offender = off;
		return 1;
	}
	return 0;
}

/* What each ICMP and ICMPv6 error says, first match wins; -1 matches any
 * type or code. */
static const struct icmp_meaning {
	int family;
	int type, code;
	const char *text;
	enum failure failure;
} icmp_meanings[] = {
    {AF_INET, ICMP_TIME_EXCEEDED, -1, "TTL exceeded", FAILURE_TTL_EXCEEDED},
    {AF_INET, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, "net unreachable", FAILURE_NET_UNREACH},
    {AF_INET, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, "host unreachable", FAILURE_HOST_UNREACH},
    {AF_INET, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, "protocol unreachable", FAILURE_PORT_UNREACH},
    {AF_INET, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, "port unreachable", FAILURE_PORT_UNREACH},
    {AF_INET, ICMP_DEST_UNREACH, ICMP_NET_ANO, "administratively prohibited", FAILURE_ADMIN},
    {AF_INET, ICMP_DEST_UNREACH, ICMP_HOST_ANO, "administratively prohibited", FAILURE_ADMIN},
    {AF_INET, ICMP_DEST_UNREACH, ICMP_PKT_FILTERED, "administratively prohibited", FAILURE_ADMIN},
    {AF_INET, ICMP_DEST_UNREACH, -1, "destination unreachable", FAILURE_UNREACH_OTHER},
    {AF_INET, -1, -1, "ICMP error", FAILURE_UNREACH_OTHER},
    {AF_INET6, ICMP6_TIME_EXCEEDED, -1, "hop limit exceeded", FAILURE_TTL_EXCEEDED},
    {AF_INET6, ICMP6_PACKET_TOO_BIG, -1, "packet too big", FAILURE_UNREACH_OTHER},
    {AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOROUTE, "no route", FAILURE_NET_UNREACH},
    {AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADMIN, "administratively prohibited", FAILURE_ADMIN},
    {AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR, "address unreachable", FAILURE_HOST_UNREACH},
    {AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, "port unreachable", FAILURE_PORT_UNREACH},
    {AF_INET6, ICMP6_DST_UNREACH, -1, "destination unreachable", FAILURE_UNREACH_OTHER},
    {-1, -1, -1, "ICMPv6 error", FAILURE_UNREACH_OTHER},
};

static const struct icmp_meaning *icmp_meaning(int family, uint8_t type, uint8_t code)
{
	const struct icmp_meaning *m = icmp_meanings;

	/* the last entry matches anything */
	while (!((m->family == -1 || m->family == family) && (m->type == -1 || m->type == type) &&
		 (m->code == -1 || m->code == code)))
		m++;
	return m;
}

const char *icmp_error_text(int family, uint8_t type, uint8_t code)
{
	return icmp_meaning(family, type, code)->text;
}

enum failure icmp_failure(int family, uint8_t type, uint8_t code)
{
	return icmp_meaning(family, type, code)->failure;
}

enum failure errno_failure(int err)
{
	switch (err) {
	case 0:
		return FAILURE_NONE;
	case ETIMEDOUT:
		return FAILURE_TIMEOUT;
	case ECONNREFUSED:
		return FAILURE_REFUSED;
	case ENETUNREACH:
	case ENONET:
		return FAILURE_NET_UNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return FAILURE_HOST_UNREACH;
	case EACCES: /* ICMPv6 administratively prohibited, or a filter of ours */
	case EPERM:
		return FAILURE_ADMIN;
	case EPROTO: /* ICMPv6 parameter problem */
		return FAILURE_UNREACH_OTHER;
	default:
		return FAILURE_LOCAL;
	}
}
