/* The value types of docs/configuration.md, for everyone who reads them:
 * the configuration, and the verbs and listeners that take the same
 * forms from elsewhere.  A check returns 0, or -1 with why filled with
 * the reason, quoting the offending text ("bad IPv4 address
 * \"300.1.1.1\""), ready to follow "KEY: " in a message. */
#ifndef LIGHTSOUT_CONFIG_VALUES_H
#define LIGHTSOUT_CONFIG_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/addr.h"

#define VALUE_MAX_NAME 64
#define VALUE_WHY_LEN  192 /* enough for every why with its quoted text */

/* A short printable copy of user text for messages: at most 60 bytes
 * (cut at a character boundary, then "..."), quotes, backslashes and
 * control characters as '?'. */
struct value_clip {
	char s[80];
};
const char *value_clip(struct value_clip *b, const char *s, size_t len);

/* Decimal digits only, no sign, no leading zero: YAML 1.1 would read 010
 * as octal, so we refuse to guess. */
int value_u64(const char *s, uint64_t *out);

/* A name (vantage, network, target): 1-64 of A-Z a-z 0-9 . _ -, since
 * names end up in URLs, metric labels and file names. */
bool value_name_valid(const char *s);
int value_name(const char *s, char *why, size_t len);

/* host: literal IPv4, literal IPv6 (no brackets) or an RFC 1123 name;
 * digits and dots only is meant as IPv4, never a name. */
int value_host(const char *s, char *why, size_t len);
/* address: a literal IPv4 or IPv6 address only. */
int value_address(const char *s, struct sockaddr_storage *ss, char *why, size_t len);
/* ADDRESS:PORT with a literal address, IPv6 in brackets, port 0-65535
 * (0 = any free port).  ss gets address and port. */
int value_listen(const char *s, struct sockaddr_storage *ss);
/* An http:// or https:// URL: host (IPv4, [IPv6] or name), optional
 * port 1-65535, no spaces, no user name.  libcurl splits it. */
int value_url(const char *s, char *why, size_t len);
/* SCHEME://HOST[:PORT]... of any scheme (lightsout probe's tcp://,
 * smtp://, dns://), split the same way: *host as value_host accepts it
 * (IPv6 without brackets, malloc'd), *port 0 when absent. */
int value_url_host(const char *url, char **host, uint16_t *port);
/* A DNS query "NAME TYPE" ("kp. SOA"); TYPE as ldns knows it, no zone
 * transfers. */
int value_query(const char *s, char *why, size_t len);
/* ADDRESS/LENGTH with the host bits zero; why names the network meant. */
int value_prefix(const char *s, struct prefix *out, char *why, size_t len);

#endif
