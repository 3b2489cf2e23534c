/* The words of SPEC.md (kinds, roles, outcomes) and the one measurement
 * type that flows from every probe to the detector and the store. */
#ifndef LIGHTSOUT_MODEL_H
#define LIGHTSOUT_MODEL_H

#include <stdint.h>

enum probe_kind { KIND_ICMP, KIND_TCP, KIND_HTTP, KIND_SMTP, KIND_DNS, KIND_TRACE, KIND_COUNT };

/* ROLE_CONTROL marks the configuration's controls (outside every network). */
enum role { ROLE_WEB, ROLE_MAIL, ROLE_DNS, ROLE_ROUTER, ROLE_HOST, ROLE_CONTROL, ROLE_COUNT };

enum outcome { OUTCOME_OK, OUTCOME_TIMEOUT, OUTCOME_REFUSED, OUTCOME_UNREACHABLE, OUTCOME_ERROR, OUTCOME_COUNT };

enum target_state { STATE_UNKNOWN, STATE_UP, STATE_DEGRADED, STATE_DOWN, STATE_COUNT };

const char *kind_name(enum probe_kind k);
int kind_from_name(const char *s); /* -1 if unknown */
const char *role_name(enum role r);
int role_from_name(const char *s); /* -1 if unknown; "control" is not accepted */
const char *outcome_name(enum outcome o);
int outcome_from_name(const char *s);
const char *state_name(enum target_state s);
int state_from_name(const char *s);

#define MEASUREMENT_DETAIL_LEN 120

/* One probe round of one target.  For ICMP a round is `count` echoes:
 * outcome is ok if any reply came, rtt_ms is their mean, loss the share
 * lost.  For other kinds sent = 1 and loss is 0 or 1. */
struct measurement {
	uint32_t target; /* index into config->targets */
	uint32_t round;  /* round number since the epoch of the schedule */
	int64_t at_ms;   /* wall clock (UTC ms) when the round's probe started */
	enum outcome outcome;
	double rtt_ms; /* < 0 when there is none */
	float loss;    /* 0..1 */
	uint16_t sent;
	uint16_t received;
	/* Router that reported an ICMP error, numeric, or "". */
	char from[46];
	/* Human detail: "port unreachable from 198.51.100.1", "HTTP 500", ... */
	char detail[MEASUREMENT_DETAIL_LEN];
};

#endif
