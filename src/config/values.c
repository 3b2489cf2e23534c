#include "config/values.h"

#include <curl/curl.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *value_clip(struct value_clip *b, const char *s, size_t len)
{
	size_t max = 60, i, o = 0;
	bool cut = len > max;

	if (cut) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		b->s[o++] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') ? '?' : (char)ch;
	}
	if (cut) {
		memcpy(b->s + o, "...", 3);
		o += 3;
	}
	b->s[o] = '\0';
	return b->s;
}

/* why = what "TEXT" (hint); always -1 so callers can return it. */
static int why_quoted(char *why, size_t len, const char *what, const char *text, size_t tlen, const char *hint)
{
	struct value_clip cb;

	snprintf(why, len, "%s \"%s\"%s%s%s", what, value_clip(&cb, text, tlen), hint ? " (" : "", hint ? hint : "",
		 hint ? ")" : "");
	return -1;
}

int value_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int port_parse(const char *s, size_t len, bool allow_zero, uint16_t *out)
{
	char buf[8];
	uint64_t v;

	if (len == 0 || len > 5)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (value_u64(buf, &v) < 0 || v > 65535 || (v == 0 && !allow_zero))
		return -1;
	*out = (uint16_t)v;
	return 0;
}

bool value_name_valid(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= VALUE_MAX_NAME &&
	       s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")] == '\0';
}

int value_name(const char *s, char *why, size_t len)
{
	char hint[64];

	if (value_name_valid(s))
		return 0;
	snprintf(hint, sizeof hint, "1-%d characters of A-Z a-z 0-9 . _ -", VALUE_MAX_NAME);
	return why_quoted(why, len, "bad name", s, strlen(s), hint);
}

/* NULL if s is an acceptable host, else what is wrong with it. */
static const char *host_problem(const char *s)
{
	struct sockaddr_storage ss;

	if (strchr(s, ':'))
		return addr_parse(s, &ss) == 0 && ss.ss_family == AF_INET6 ? NULL : "bad IPv6 address";
	/* all digits and dots: meant as IPv4, never a host name */
	if (*s && s[strspn(s, "0123456789.")] == '\0')
		return addr_parse(s, &ss) == 0 && ss.ss_family == AF_INET ? NULL : "bad IPv4 address";
	return hostname_valid(s) ? NULL : "bad host name";
}

int value_host(const char *s, char *why, size_t len)
{
	const char *p = host_problem(s);

	return p ? why_quoted(why, len, p, s, strlen(s), NULL) : 0;
}

int value_address(const char *s, struct sockaddr_storage *ss, char *why, size_t len)
{
	if (addr_parse(s, ss) == 0)
		return 0;
	return why_quoted(why, len, strchr(s, ':') ? "bad IPv6 address" : "bad IPv4 address", s, strlen(s), NULL);
}

int value_listen(const char *s, struct sockaddr_storage *ss)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *a, *colon;
	uint16_t port;
	size_t alen;
	int family;

	if (!s)
		return -1;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -1;
		a = s + 1;
		alen = (size_t)(close - a);
		colon = close + 1;
		family = AF_INET6;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -1;
		a = s;
		alen = (size_t)(colon - s);
		family = AF_INET;
	}
	if (alen == 0 || alen >= sizeof addr)
		return -1;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	if (addr_parse(addr, ss) < 0 || ss->ss_family != family ||
	    port_parse(colon + 1, strlen(colon + 1), true, &port) < 0)
		return -1;
	addr_set_port(ss, port);
	return 0;
}

/* SCHEME://HOST[:PORT]... split by libcurl (as the http probe will
 * split it); what libcurl forgives is refused here: no host ("https:///x":
 * libcurl takes x), a user name, numeric shorthand that libcurl rewrites
 * (127.1), a zone id, an empty port or port 0.  NULL with *host (IPv6
 * without brackets, malloc'd) and *port (0 = none), else why not. */
static const char *url_split(const char *u, char **host, uint16_t *port)
{
	const char *auth = strstr(u, "://"), *rest, *why = NULL;
	char *h = NULL, *p = NULL, *zone = NULL;
	uint64_t pv = 0;
	size_t alen, hlen;
	CURLU *cu;
	CURLUcode rc;

	if (!auth)
		return "expected SCHEME://HOST";
	auth += 3;
	alen = strcspn(auth, "/?#");
	if (alen == 0 || auth[0] == ':')
		return "missing host";
	if (memchr(auth, '@', alen))
		return "user names in URLs are not supported";
	cu = curl_url();
	if (!cu)
		return "out of memory";
	rc = curl_url_set(cu, CURLUPART_URL, u, CURLU_NON_SUPPORT_SCHEME);
	if (rc == CURLUE_OK)
		rc = curl_url_get(cu, CURLUPART_HOST, &h, 0);
	if (rc != CURLUE_OK) {
		why = rc == CURLUE_BAD_IPV6          ? "bad IPv6 address"
		      : rc == CURLUE_BAD_PORT_NUMBER ? "bad port"
		      : rc == CURLUE_NO_HOST         ? "missing host"
		      : rc == CURLUE_OUT_OF_MEMORY   ? "out of memory"
						     : "bad host name";
		goto out;
	}
	curl_url_get(cu, CURLUPART_PORT, &p, 0);
	curl_url_get(cu, CURLUPART_ZONEID, &zone, 0);
	hlen = strlen(h);
	if (h[0] == '[') {
		/* libcurl checked the address; a zone id is not ours to use */
		if (zone || hlen < 2) {
			why = "bad IPv6 address";
			goto out;
		}
		memmove(h, h + 1, hlen - 2);
		h[hlen - 2] = '\0';
		rest = memchr(auth, ']', alen);
		rest = rest ? rest + 1 : auth + alen;
	} else if (hlen > alen || strncasecmp(auth, h, hlen) != 0) {
		why = h[strspn(h, "0123456789.")] == '\0' ? "bad IPv4 address" : "bad host name";
		goto out;
	} else {
		rest = auth + hlen;
	}
	why = host_problem(h);
	if (!why && ((*rest == ':' && !p) || (p && (value_u64(p, &pv) < 0 || pv == 0 || pv > 65535))))
		why = "bad port";
	if (!why) {
		*host = strdup(h);
		*port = (uint16_t)pv;
		if (!*host)
			why = "out of memory";
	}
out:
	curl_free(h);
	curl_free(p);
	curl_free(zone);
	curl_url_cleanup(cu);
	return why;
}

int value_url_host(const char *url, char **host, uint16_t *port)
{
	return url_split(url, host, port) ? -1 : 0;
}

/* NULL if u is an acceptable http(s) URL, else why not. */
static const char *url_problem(const char *u)
{
	const char *why;
	char *host = NULL;
	uint16_t port;
	size_t i;

	if (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0)
		return "expected http:// or https://";
	for (i = 0; u[i]; i++) {
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return "spaces are not allowed";
	}
	why = url_split(u, &host, &port);
	free(host);
	return why;
}

int value_url(const char *s, char *why, size_t len)
{
	const char *p = url_problem(s);

	return p ? why_quoted(why, len, "bad URL", s, strlen(s), p) : 0;
}

/* Letters, digits, '-' and '_' only (no escapes: nothing a resolver
 * could read differently); ldns checks labels and lengths. */
static bool dname_valid(const char *s, size_t len)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
	char buf[256];
	ldns_rdf *dn = NULL;
	bool valid;

	if (len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[strspn(buf, ok)] != '\0')
		return false;
	valid = ldns_str2rdf_dname(&dn, buf) == LDNS_STATUS_OK;
	ldns_rdf_deep_free(dn);
	return valid;
}

int value_query(const char *q, char *why, size_t len)
{
	size_t n1 = strcspn(q, " \t"), sp, n2;
	char type[32];
	ldns_rr_type t;

	sp = n1 + strspn(q + n1, " \t");
	n2 = strcspn(q + sp, " \t");
	if (n1 == 0 || sp == n1 || n2 == 0 || q[sp + n2] != '\0')
		return why_quoted(why, len, "bad query", q, strlen(q), "expected \"NAME TYPE\", e.g. \"kp. SOA\"");
	if (!dname_valid(q, n1))
		return why_quoted(why, len, "bad domain name", q, n1, NULL);
	if (n2 >= sizeof type)
		return why_quoted(why, len, "unknown RR type", q + sp, n2, NULL);
	memcpy(type, q + sp, n2);
	type[n2] = '\0';
	t = ldns_get_rr_type_by_name(type);
	/* ldns reads "TYPE1" and bare numbers too; zone transfers are no probe */
	if (t == 0 || t == LDNS_RR_TYPE_AXFR || t == LDNS_RR_TYPE_IXFR || type[strspn(type, "0123456789")] == '\0')
		return why_quoted(why, len, "unknown RR type", type, n2, NULL);
	return 0;
}

/* Syntax is checked here, before prefix_parse, so that "host bits set"
 * gets its own message with the network the user probably meant. */
int value_prefix(const char *s, struct prefix *out, char *why, size_t len)
{
	struct sockaddr_storage ss;
	char addr[INET6_ADDRSTRLEN + 1], net[64], what[96];
	const char *slash = strchr(s, '/');
	uint16_t plen;
	unsigned max, i;
	struct prefix p = {0};
	struct value_clip cb;

	if (!slash || (size_t)(slash - s) >= sizeof addr)
		goto bad;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (addr_parse(addr, &ss) < 0 || port_parse(slash + 1, strlen(slash + 1), true, &plen) < 0)
		goto bad;
	max = ss.ss_family == AF_INET ? 32 : 128;
	if (plen > max)
		goto bad;
	if (prefix_parse(s, out) == 0)
		return 0;
	p.family = ss.ss_family;
	p.len = (uint8_t)plen;
	if (ss.ss_family == AF_INET)
		memcpy(p.addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(p.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	for (i = 0; i < max / 8; i++) {
		unsigned keep = plen > i * 8 ? plen - i * 8 : 0;

		if (keep < 8)
			p.addr[i] &= (uint8_t)(0xFF00u >> keep);
	}
	prefix_format(&p, net, sizeof net);
	snprintf(what, sizeof what, "the network is %s", net);
	snprintf(why, len, "\"%s\" has host bits set (%s)", value_clip(&cb, s, strlen(s)), what);
	return -1;
bad:
	return why_quoted(why, len, "bad prefix", s, strlen(s), "expected ADDRESS/LENGTH");
}
