#include "core/model.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static const char *const kind_names[KIND_COUNT] = {"icmp", "tcp", "http", "smtp", "dns", "trace"};
static const char *const role_names[ROLE_COUNT] = {"web", "mail", "dns", "router", "host", "control"};
static const char *const outcome_names[OUTCOME_COUNT] = {"ok", "timeout", "refused", "unreachable", "error"};
static const char *const failure_names[FAILURE_COUNT] = {
    [FAILURE_NONE] = "none",
    [FAILURE_TIMEOUT] = "timeout",
    [FAILURE_REFUSED] = "refused",
    [FAILURE_NET_UNREACH] = "net-unreachable",
    [FAILURE_HOST_UNREACH] = "host-unreachable",
    [FAILURE_PORT_UNREACH] = "port-unreachable",
    [FAILURE_ADMIN] = "admin-prohibited",
    [FAILURE_TTL_EXCEEDED] = "ttl-exceeded",
    [FAILURE_UNREACH_OTHER] = "unreachable",
    [FAILURE_RESOLVE] = "resolve",
    [FAILURE_PROTOCOL] = "protocol",
    [FAILURE_CHECK] = "check",
    [FAILURE_TLS] = "tls",
    [FAILURE_LOCAL] = "local",
};
static const char *const state_names[STATE_COUNT] = {"unknown", "up", "degraded", "down"};

static int lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *kind_name(enum probe_kind k)
{
	return (unsigned)k < KIND_COUNT ? kind_names[k] : "?";
}

int kind_from_name(const char *s)
{
	return lookup(kind_names, KIND_COUNT, s);
}

const char *role_name(enum role r)
{
	return (unsigned)r < ROLE_COUNT ? role_names[r] : "?";
}

int role_from_name(const char *s)
{
	/* "control" is implied by the controls: section, never written. */
	return lookup(role_names, ROLE_CONTROL, s);
}

const char *outcome_name(enum outcome o)
{
	return (unsigned)o < OUTCOME_COUNT ? outcome_names[o] : "?";
}

int outcome_from_name(const char *s)
{
	return lookup(outcome_names, OUTCOME_COUNT, s);
}

const char *failure_name(enum failure f)
{
	return (unsigned)f < FAILURE_COUNT ? failure_names[f] : "?";
}

int failure_from_name(const char *s)
{
	return lookup(failure_names, FAILURE_COUNT, s);
}

enum outcome failure_outcome(enum failure f)
{
	switch (f) {
	case FAILURE_NONE:
		return OUTCOME_OK;
	case FAILURE_TIMEOUT:
		return OUTCOME_TIMEOUT;
	case FAILURE_REFUSED:
		return OUTCOME_REFUSED;
	case FAILURE_NET_UNREACH:
	case FAILURE_HOST_UNREACH:
	case FAILURE_PORT_UNREACH:
	case FAILURE_ADMIN:
	case FAILURE_TTL_EXCEEDED:
	case FAILURE_UNREACH_OTHER:
		return OUTCOME_UNREACHABLE;
	default:
		return OUTCOME_ERROR;
	}
}

enum failure outcome_failure(enum outcome o)
{
	switch (o) {
	case OUTCOME_OK:
		return FAILURE_NONE;
	case OUTCOME_TIMEOUT:
		return FAILURE_TIMEOUT;
	case OUTCOME_REFUSED:
		return FAILURE_REFUSED;
	case OUTCOME_UNREACHABLE:
		return FAILURE_UNREACH_OTHER;
	default:
		return FAILURE_LOCAL;
	}
}

enum failure measurement_failure(const struct measurement *m)
{
	if ((unsigned)m->failure < FAILURE_COUNT && failure_outcome(m->failure) == m->outcome)
		return m->failure;
	return outcome_failure(m->outcome);
}

void ip_addr_from_sockaddr(struct ip_addr *a, const struct sockaddr_storage *ss)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		a->family = AF_INET;
		memcpy(a->bytes, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		a->family = AF_INET6;
		memcpy(a->bytes, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

bool ip_addr_to_sockaddr(const struct ip_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->bytes, 4);
		return true;
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->bytes, 16);
		return true;
	}
	return false;
}

const char *state_name(enum target_state s)
{
	return (unsigned)s < STATE_COUNT ? state_names[s] : "?";
}

int state_from_name(const char *s)
{
	return lookup(state_names, STATE_COUNT, s);
}
