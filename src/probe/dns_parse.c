/* DNS query building and reply validation (see dns_parse.h). */
#include "probe/dns_parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#define DNS_HEADER_LEN 12
/* Bound on compression pointers followed in one name: with backward-only
 * pointers a name cannot loop, this only caps the work per name. */
#define DNS_MAX_HOPS 64

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

const char *probe_dns_rcode_name(unsigned rcode)
{
	static const char *const names[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
					    "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	return "RCODE?";
}

int probe_dns_rcode_from_name(const char *s)
{
	for (unsigned i = 0; i <= 10; i++) {
		if (strcasecmp(s, probe_dns_rcode_name(i)) == 0)
			return (int)i;
	}
	return -1;
}

int probe_dns_query_parse(const char *spec, struct probe_dns_query *q, char *err, size_t errlen)
{
	char buf[PROBE_DNS_NAME_MAX + 32];
	char *name, *rest, *save = NULL;
	const char *type;
	ldns_rdf *dn = NULL;
	int ret = -1;

	memset(q, 0, sizeof(*q));
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "query too long");
		goto out;
	}
	strcpy(buf, spec);
	name = strtok_r(buf, " \t", &save);
	type = strtok_r(NULL, " \t", &save);
	rest = strtok_r(NULL, " \t", &save);
	if (name == NULL || rest != NULL) {
		snprintf(err, errlen, "query must be \"NAME TYPE\"");
		goto out;
	}
	if (type == NULL)
		type = "SOA";
	q->type = (uint16_t)ldns_get_rr_type_by_name(type);
	if (q->type == 0) {
		snprintf(err, errlen, "unknown query type \"%s\"", type);
		goto out;
	}
	/* ldns validates label and name lengths for us. */
	if (ldns_str2rdf_dname(&dn, name) != LDNS_STATUS_OK || dn == NULL) {
		snprintf(err, errlen, "bad query name \"%s\"", name);
		goto out;
	}
	if (strlen(name) + 2 > sizeof(q->name)) {
		snprintf(err, errlen, "query name too long");
		goto out;
	}
	snprintf(q->name, sizeof(q->name), "%s%s", name, name[strlen(name) - 1] == '.' ? "" : ".");
	ret = 0;
out:
	if (dn != NULL)
		ldns_rdf_deep_free(dn);
	return ret;
}

int probe_dns_query_wire(const struct probe_dns_query *q, uint8_t *buf, size_t cap, size_t *len, char *err,
			 size_t errlen)
{
	ldns_pkt *pkt = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	int ret = -1;

	if (ldns_pkt_query_new_frm_str(&pkt, q->name, (ldns_rr_type)q->type, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK) {
		snprintf(err, errlen, "cannot build query for %s", q->name);
		goto out;
	}
	ldns_pkt_set_id(pkt, q->id);
	ldns_pkt_set_rd(pkt, q->rd);
	if (ldns_pkt2wire(&wire, pkt, &wlen) != LDNS_STATUS_OK || wlen > cap) {
		snprintf(err, errlen, "cannot encode query for %s", q->name);
		goto out;
	}
	memcpy(buf, wire, wlen);
	*len = wlen;
	ret = 0;
out:
	free(wire);
	if (pkt != NULL)
		ldns_pkt_free(pkt);
	return ret;
}

int probe_dns_wire_id(const uint8_t *wire, size_t len)
{
	if (len < 2)
		return -1;
	return rd16(wire);
}

/* Walks one name at *pos; pointers must point before the start of the
 * label sequence that holds them.  Advances *pos past the name in place. */
static int skip_name(const uint8_t *w, size_t len, size_t *pos, char *err, size_t errlen)
{
	size_t p = *pos, end = 0, total = 0;
	size_t floor = *pos; /* pointers must go below this */
	unsigned hops = 0;
	bool jumped = false;

	for (;;) {
		uint8_t c;
		if (p >= len) {
			snprintf(err, errlen, "truncated name at offset %zu", p);
			return -1;
		}
		c = w[p];
		if ((c & 0xc0) == 0xc0) {
			size_t target;
			if (p + 1 >= len) {
				snprintf(err, errlen, "truncated compression pointer at offset %zu", p);
				return -1;
			}
			target = (size_t)(((c & 0x3f) << 8) | w[p + 1]);
			if (target >= floor || ++hops > DNS_MAX_HOPS) {
				snprintf(err, errlen, "compression loop or forward pointer at offset %zu", p);
				return -1;
			}
			if (!jumped)
				end = p + 2;
			jumped = true;
			floor = target;
			p = target;
			continue;
		}
		if ((c & 0xc0) != 0) {
			snprintf(err, errlen, "bad label type at offset %zu", p);
			return -1;
		}
		if (c == 0) {
			if (!jumped)
				end = p + 1;
			break;
		}
		total += (size_t)c + 1;
		if (total > 255) {
			snprintf(err, errlen, "name longer than 255 bytes at offset %zu", *pos);
			return -1;
		}
		if (p + 1 + c > len) {
			snprintf(err, errlen, "truncated label at offset %zu", p);
			return -1;
		}
		p += 1 + (size_t)c;
	}
	*pos = end;
	return 0;
}

/* Names inside rdata of the types we read, checked like owner names. */
static int check_rdata(const uint8_t *w, size_t len, uint16_t type, size_t start, size_t rdlen, char *err,
		       size_t errlen)
{
	size_t p = start, end = start + rdlen;
	int nnames = 0;

	switch (type) {
	case LDNS_RR_TYPE_NS:
	case LDNS_RR_TYPE_CNAME:
	case LDNS_RR_TYPE_PTR:
		nnames = 1;
		break;
	case LDNS_RR_TYPE_MX:
		p += 2;
		nnames = 1;
		break;
	case LDNS_RR_TYPE_SOA:
		nnames = 2;
		break;
	default:
		return 0;
	}
	for (int i = 0; i < nnames; i++) {
		if (p >= end) {
			snprintf(err, errlen, "truncated rdata at offset %zu", start);
			return -1;
		}
		if (skip_name(w, end, &p, err, errlen) < 0)
			return -1;
	}
	if (type == LDNS_RR_TYPE_SOA)
		p += 20;
	if (p != end) {
		snprintf(err, errlen, "rdata length mismatch at offset %zu", start);
		return -1;
	}
	(void)len;
	return 0;
}

int probe_dns_wire_check(const uint8_t *w, size_t len, char *err, size_t errlen)
{
	size_t pos = DNS_HEADER_LEN;
	unsigned counts[4];

	if (len < DNS_HEADER_LEN) {
		snprintf(err, errlen, "reply shorter than a DNS header (%zu bytes)", len);
		return -1;
	}
	for (int i = 0; i < 4; i++)
		counts[i] = rd16(w + 4 + 2 * i);
	for (unsigned i = 0; i < counts[0]; i++) {
		if (skip_name(w, len, &pos, err, errlen) < 0)
			return -1;
		if (pos + 4 > len) {
			snprintf(err, errlen, "truncated question");
			return -1;
		}
		pos += 4;
	}
	for (int s = 1; s < 4; s++) {
		for (unsigned i = 0; i < counts[s]; i++) {
			uint16_t type, rdlen;
			if (skip_name(w, len, &pos, err, errlen) < 0)
				return -1;
			if (pos + 10 > len) {
				snprintf(err, errlen, "truncated record header at offset %zu", pos);
				return -1;
			}
			type = rd16(w + pos);
			rdlen = rd16(w + pos + 8);
			pos += 10;
			if (pos + rdlen > len) {
				snprintf(err, errlen, "truncated record: rdata of %u bytes at offset %zu", rdlen, pos);
				return -1;
			}
			if (check_rdata(w, len, type, pos, rdlen, err, errlen) < 0)
				return -1;
			pos += rdlen;
		}
	}
	return 0;
}

/* Case-insensitive compare that ignores one trailing dot on either side. */
static bool text_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* Text of an answer's value: the single rdf, or all rdfs space-separated. */
static void rr_value(const ldns_rr *rr, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ldns_rr_rd_count(rr) && used < len; i++) {
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));
		int n;
		if (s == NULL)
			break;
		n = snprintf(buf + used, len - used, "%s%s", i > 0 ? " " : "", s);
		free(s);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static bool rr_matches(const ldns_rr *rr, const char *expect)
{
	char buf[512];
	uint8_t addr[16];

	if (ldns_rr_rd_count(rr) == 1) {
		const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
		if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_A && ldns_rdf_size(rd) == 4 &&
		    inet_pton(AF_INET, expect, addr) == 1)
			return memcmp(addr, ldns_rdf_data(rd), 4) == 0;
		if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_AAAA && ldns_rdf_size(rd) == 16 &&
		    inet_pton(AF_INET6, expect, addr) == 1)
			return memcmp(addr, ldns_rdf_data(rd), 16) == 0;
	}
	/* Any single field (the MX exchange, an NS name) or the whole value. */
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));
		bool eq = s != NULL && text_equal(s, expect);
		free(s);
		if (eq)
			return true;
	}
	rr_value(rr, buf, sizeof(buf));
	return text_equal(buf, expect);
}

int probe_dns_reply_check(const struct probe_dns_query *q, const uint8_t *wire, size_t len, const char *expect,
			  struct probe_dns_reply *r, char *err, size_t errlen)
{
	ldns_pkt *pkt = NULL;
	ldns_rdf *qname = NULL;
	ldns_rr_list *qs, *an, *ns;
	const ldns_rr *qrr;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (probe_dns_wire_check(wire, len, err, errlen) < 0)
		goto out;
	r->id = rd16(wire);
	if (r->id != q->id) {
		snprintf(err, errlen, "mismatched id %u (sent %u)", r->id, q->id);
		goto out;
	}
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK || pkt == NULL) {
		snprintf(err, errlen, "malformed reply");
		goto out;
	}
	if (!ldns_pkt_qr(pkt) || ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY) {
		snprintf(err, errlen, "not a reply to a query");
		goto out;
	}
	qs = ldns_pkt_question(pkt);
	if (ldns_pkt_qdcount(pkt) != 1 || qs == NULL || ldns_rr_list_rr_count(qs) != 1) {
		snprintf(err, errlen, "reply has %u questions", ldns_pkt_qdcount(pkt));
		goto out;
	}
	qname = ldns_dname_new_frm_str(q->name);
	if (qname == NULL) {
		snprintf(err, errlen, "bad query name");
		goto out;
	}
	qrr = ldns_rr_list_rr(qs, 0);
	if (ldns_dname_compare(ldns_rr_owner(qrr), qname) != 0 || ldns_rr_get_type(qrr) != q->type ||
	    ldns_rr_get_class(qrr) != LDNS_RR_CLASS_IN) {
		snprintf(err, errlen, "mismatched question");
		goto out;
	}
	r->rcode = (uint16_t)ldns_pkt_get_rcode(pkt);
	r->aa = ldns_pkt_aa(pkt);
	r->tc = ldns_pkt_tc(pkt);
	r->ancount = ldns_pkt_ancount(pkt);
	an = ldns_pkt_answer(pkt);
	for (size_t i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && !r->has_soa && ldns_rr_rd_count(rr) == 7) {
			r->has_soa = true;
			r->soa_serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
		}
		if (ldns_rr_get_type(rr) != q->type)
			continue;
		if (r->nmatch++ == 0)
			rr_value(rr, r->first_answer, sizeof(r->first_answer));
		if (expect != NULL && !r->expect_found && rr_matches(rr, expect))
			r->expect_found = true;
	}
	/* A negative answer carries the zone's SOA in the authority section. */
	ns = ldns_pkt_authority(pkt);
	for (size_t i = 0; !r->has_soa && ns != NULL && i < ldns_rr_list_rr_count(ns); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7) {
			r->has_soa = true;
			r->soa_serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
		}
	}
	ret = 0;
out:
	if (qname != NULL)
		ldns_rdf_deep_free(qname);
	if (pkt != NULL)
		ldns_pkt_free(pkt);
	return ret;
}
