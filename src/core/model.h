/* The words of SPEC.md (kinds, roles, outcomes) and the one measurement
 * type that flows from every probe to the detector and the store. */
#ifndef LIGHTSOUT_MODEL_H
#define LIGHTSOUT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

enum probe_kind { KIND_ICMP, KIND_TCP, KIND_HTTP, KIND_SMTP, KIND_DNS, KIND_TRACE, KIND_COUNT };

/* ROLE_CONTROL marks the configuration's controls (outside every network). */
enum role { ROLE_WEB, ROLE_MAIL, ROLE_DNS, ROLE_ROUTER, ROLE_HOST, ROLE_CONTROL, ROLE_COUNT };

enum outcome { OUTCOME_OK, OUTCOME_TIMEOUT, OUTCOME_REFUSED, OUTCOME_UNREACHABLE, OUTCOME_ERROR, OUTCOME_COUNT };

/* Why a round failed, as precisely as the kind can tell (docs/probes.md).
 * Each maps to one outcome (failure_outcome), so kinds set only this. */
enum failure {
	FAILURE_NONE,          /* the round succeeded */
	FAILURE_TIMEOUT,       /* no answer by the deadline */
	FAILURE_REFUSED,       /* the host said no: TCP reset, DNS REFUSED */
	FAILURE_NET_UNREACH,   /* net unreachable, no route (ICMP or our routing table) */
	FAILURE_HOST_UNREACH,  /* host or address unreachable: the last router cannot find it */
	FAILURE_PORT_UNREACH,  /* port or protocol unreachable: the host itself answered */
	FAILURE_ADMIN,         /* administratively prohibited: a filter answered */
	FAILURE_TTL_EXCEEDED,  /* TTL or hop limit exceeded on the way */
	FAILURE_UNREACH_OTHER, /* any other ICMP error (fragmentation needed, ...) */
	FAILURE_RESOLVE,       /* the name did not resolve */
	FAILURE_PROTOCOL,      /* the server answered wrongly: HTTP status, SERVFAIL, bad greeting, cut dialogue */
	FAILURE_CHECK,         /* a well-formed answer the target does not expect (contains, banner, expect) */
	FAILURE_TLS,           /* the TLS handshake failed */
	FAILURE_LOCAL,         /* our side: no socket, no memory, a send the kernel refused */
	FAILURE_COUNT
};

enum target_state { STATE_UNKNOWN, STATE_UP, STATE_DEGRADED, STATE_DOWN, STATE_COUNT };

const char *kind_name(enum probe_kind k);
int kind_from_name(const char *s); /* -1 if unknown */
const char *role_name(enum role r);
int role_from_name(const char *s); /* -1 if unknown; "control" is not accepted */
const char *outcome_name(enum outcome o);
int outcome_from_name(const char *s);
const char *failure_name(enum failure f);
int failure_from_name(const char *s);
enum outcome failure_outcome(enum failure f);
/* The generic class of an outcome, for a measurement that carries only
 * its outcome: ok none, timeout timeout, refused refused, unreachable
 * unreachable (other), error local; anything else local. */
enum failure outcome_failure(enum outcome o);
const char *state_name(enum target_state s);
int state_from_name(const char *s);

#define MEASUREMENT_DETAIL_LEN 120

/* An address without port, small enough to copy with every measurement. */
struct ip_addr {
	uint8_t family;    /* AF_INET, AF_INET6, or 0 for none */
	uint8_t bytes[16]; /* network order; IPv4 in the first 4 */
};

struct sockaddr_storage;
/* a from ss (port dropped); a family other than AF_INET/AF_INET6 clears it. */
void ip_addr_from_sockaddr(struct ip_addr *a, const struct sockaddr_storage *ss);
/* ss from a (port 0): false, ss zeroed, when a holds no address. */
bool ip_addr_to_sockaddr(const struct ip_addr *a, struct sockaddr_storage *ss);

/* One probe round of one target.  For ICMP a round is `count` echoes:
 * outcome is ok if any reply came, rtt_ms is their mean, loss the share
 * lost.  For other kinds sent = 1 and loss is 0 or 1. */
struct measurement {
	uint32_t target;      /* index into config->targets */
	uint32_t round;       /* round number since the epoch of the schedule */
	int64_t at_ms;        /* wall clock (UTC ms) when the round's probe started */
	enum outcome outcome; /* = failure_outcome(failure) */
	enum failure failure;
	double rtt_ms; /* < 0 when there is none */
	float loss;    /* 0..1 */
	uint16_t sent;
	uint16_t received;
	/* The ICMP error that ended the round: icmp_family is AF_INET (ICMP)
	 * or AF_INET6 (ICMPv6), 0 when there was none. */
	uint8_t icmp_family, icmp_type, icmp_code;
	/* Router that reported the ICMP error (for trace: the edge router). */
	struct ip_addr from_ip;
	/* from_ip as text, or "": filled by the completion point, for the
	 * readers that still take text. */
	char from[46];
	/* Human detail: "port unreachable from 198.51.100.1", "HTTP 500", ... */
	char detail[MEASUREMENT_DETAIL_LEN];
};

/* m's failure class: m->failure when the outcome follows from it, else
 * (a producer that set only the outcome, a class out of range) the
 * outcome's generic class.  What the detector judges and the store keeps. */
enum failure measurement_failure(const struct measurement *m);

#endif
