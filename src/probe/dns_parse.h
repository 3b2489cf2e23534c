/* DNS query building and reply validation for the dns probe kind.
 *
 * Pure code: no sockets, no logging.  Wire format is built and parsed with
 * ldns; before ldns sees a reply, a bounds-checked walk of the message
 * rejects truncated records and compression pointers that do not point
 * strictly backwards (so no loop can exist).  A reply is trusted only if
 * its id, QR bit, opcode and question match what we asked. */
#ifndef LIGHTSOUT_PROBE_DNS_PARSE_H
#define LIGHTSOUT_PROBE_DNS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_DNS_NAME_MAX   256
#define PROBE_DNS_ANSWER_MAX 64
/* Largest query we build: header + name + type/class (+ margin). */
#define PROBE_DNS_QUERY_MAX 512

struct probe_dns_query {
	char name[PROBE_DNS_NAME_MAX]; /* absolute, as given ("kp.") */
	uint16_t type;                 /* RR type number */
	uint16_t id;
	bool rd;
};

struct probe_dns_reply {
	uint16_t id;
	uint16_t rcode; /* header rcode (0..15) */
	bool aa;
	bool tc;
	uint16_t ancount; /* records in the answer section */
	uint16_t nmatch;  /* answer records of the query's type */
	bool has_soa;     /* an SOA for the name in answer or authority */
	uint32_t soa_serial;
	bool expect_found;                       /* some answer of the query's type equals expect */
	char first_answer[PROBE_DNS_ANSWER_MAX]; /* value of the first such record, "" if none */
};

/* "NAME TYPE" (TYPE defaults to SOA when absent).  0 or -1. */
int probe_dns_query_parse(const char *spec, struct probe_dns_query *q, char *err, size_t errlen);
/* Wire form of q into buf (cap >= PROBE_DNS_QUERY_MAX).  0 or -1. */
int probe_dns_query_wire(const struct probe_dns_query *q, uint8_t *buf, size_t cap, size_t *len, char *err,
			 size_t errlen);
/* Validates the structure of a DNS message without trusting it: every
 * record within bounds, every name well-formed with backward pointers only.
 * 0 or -1 with the reason in err. */
int probe_dns_wire_check(const uint8_t *wire, size_t len, char *err, size_t errlen);
/* Header id of a message of at least 2 bytes, else -1. */
int probe_dns_wire_id(const uint8_t *wire, size_t len);
/* Full check of a reply to q: structure, id, QR, opcode, question; fills r.
 * expect (may be NULL) is compared with answers of the query's type.
 * 0 if the reply may be trusted, -1 with err otherwise. */
int probe_dns_reply_check(const struct probe_dns_query *q, const uint8_t *wire, size_t len, const char *expect,
			  struct probe_dns_reply *r, char *err, size_t errlen);
/* "NOERROR", "SERVFAIL", ... ; NULL-safe name for any rcode. */
const char *probe_dns_rcode_name(unsigned rcode);
/* -1 if unknown. */
int probe_dns_rcode_from_name(const char *s);

#endif
