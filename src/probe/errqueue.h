/* ICMP errors from a socket's error queue (IP_RECVERR / IPV6_RECVERR):
 * one reader for every probe kind. */
#ifndef LIGHTSOUT_ERRQUEUE_H
#define LIGHTSOUT_ERRQUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/model.h"

struct probe_icmp_error {
	int family; /* AF_INET (ICMP) or AF_INET6 (ICMPv6) */
	uint8_t type, code;
	int err;                          /* the errno the kernel made of it */
	struct sockaddr_storage offender; /* the router that sent it; ss_family 0 if unknown */
	struct sockaddr_storage dest;     /* where our packet was going, if the kernel says */
	size_t len;                       /* bytes of our own packet copied into the caller's buffer */
	int truncated;                    /* our packet was longer than the buffer */
};

/* Reads one entry of fd's error queue.  Returns 1 with *e filled for an
 * ICMP error, 0 for an entry that is not one (read and skipped), -1 when
 * the queue is empty.  buf (may be NULL) receives our packet as quoted. */
int probe_read_icmp_error(int fd, uint8_t *buf, size_t buflen, struct probe_icmp_error *e);

/* "net unreachable", "administratively prohibited", ... for an ICMP or
 * ICMPv6 error type and code. */
const char *icmp_error_text(int family, uint8_t type, uint8_t code);

/* The failure an ICMP or ICMPv6 error stands for (an unreachable kind). */
enum failure icmp_failure(int family, uint8_t type, uint8_t code);
/* The failure the kernel reports as errno err, from a connect, a send or
 * SO_ERROR (the errno an ICMP error becomes); FAILURE_LOCAL if none fits. */
enum failure errno_failure(int err);

#endif
