/* BGP-4 message codec: see bgp_msg.h.  Every length comes from the wire
 * and is checked against the bytes actually present before use. */
#include "bgp/bgp_msg.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int fail(struct bgp_error *e, uint8_t code, uint8_t subcode, const char *msg)
{
	if (e) {
		e->code = code;
		e->subcode = subcode;
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	}
	return -1;
}

const char *bgp_msg_type_name(uint8_t type)
{
	switch (type) {
	case BGP_MSG_OPEN:
		return "OPEN";
	case BGP_MSG_UPDATE:
		return "UPDATE";
	case BGP_MSG_NOTIFICATION:
		return "NOTIFICATION";
	case BGP_MSG_KEEPALIVE:
		return "KEEPALIVE";
	case BGP_MSG_ROUTE_REFRESH:
		return "ROUTE-REFRESH";
	default:
		return "unknown";
	}
}

int bgp_msg_header(const uint8_t *buf, size_t len, size_t max, uint8_t *type, uint16_t *msglen, struct bgp_error *e)
{
	static const uint16_t minlen[] = {0, 29, 23, 21, 19, 23};

	if (len < BGP_HDR_LEN)
		return fail(e, BGP_ERR_HEADER, BGP_ERR_HDR_LENGTH, "message shorter than its header");
	for (size_t i = 0; i < 16; i++) {
		if (buf[i] != 0xff)
			return fail(e, BGP_ERR_HEADER, BGP_ERR_HDR_SYNC, "marker is not all ones");
	}
	uint16_t l = get16(buf + 16);
	uint8_t t = buf[18];
	if (t < BGP_MSG_OPEN || t > BGP_MSG_ROUTE_REFRESH)
		return fail(e, BGP_ERR_HEADER, BGP_ERR_HDR_TYPE, "unknown message type");
	/* OPEN and KEEPALIVE never grow past 4096 even with RFC 8654. */
	size_t lim = (t == BGP_MSG_OPEN || t == BGP_MSG_KEEPALIVE) ? BGP_MSG_MAX : max;
	if (l < minlen[t] || l > lim || (t == BGP_MSG_KEEPALIVE && l != BGP_HDR_LEN))
		return fail(e, BGP_ERR_HEADER, BGP_ERR_HDR_LENGTH, "bad message length");
	*type = t;
	*msglen = l;
	return 0;
}

int bgp_prefix_read(const uint8_t *p, size_t len, int family, struct prefix *out)
{
	if (len < 1)
		return -1;
	unsigned plen = p[0];
	unsigned max = family == AF_INET ? 32 : 128;
	if (plen > max)
		return -1;
	size_t nbytes = (plen + 7) / 8;
	if (1 + nbytes > len)
		return -1;
	memset(out, 0, sizeof(*out));
	out->family = family;
	out->len = (uint8_t)plen;
	memcpy(out->addr, p + 1, nbytes);
	/* Store the prefix masked: 11.13.0.0/13 on the wire is 11.8.0.0/13. */
	if (plen % 8)
		out->addr[nbytes - 1] &= (uint8_t)(0xff << (8 - plen % 8));
	return (int)(1 + nbytes);
}

/* Walks an NLRI field, calling fn per prefix.  In lenient mode a prefix
 * cut at the end of the buffer ends the walk without error. */
static int nlri_walk(const uint8_t *p, size_t len, int family, bool addpath, bool announce, bool from_nlri,
		     bool lenient, bool unusable, bgp_route_fn fn, void *arg, const struct bgp_attrs *a,
		     struct bgp_error *e)
{
	size_t off = 0;

	while (off < len) {
		struct bgp_route r;
		r.path_id = 0;
		if (addpath) {
			if (len - off < 4)
				goto cut;
			r.path_id = get32(p + off);
			off += 4;
		}
		if (off >= len)
			goto cut;
		r.unusable = unusable;
		int n = bgp_prefix_read(p + off, len - off, family, &r.prefix);
		if (n < 0) {
			unsigned plen = p[off];
			if (plen <= (family == AF_INET ? 32u : 128u))
				goto cut;
			if (!lenient)
				return fail(e, BGP_ERR_UPDATE, BGP_ERR_UPD_NETWORK,
					    "prefix length beyond the address family");
			/* Archives: read it as bgpdump does, to count alike. */
			n = (int)(1 + (plen + 7) / 8);
			if ((size_t)n > len - off)
				goto cut;
			r.unusable = true;
			memset(&r.prefix, 0, sizeof(r.prefix));
			r.prefix.family = family;
		}
		off += (size_t)n;
		r.announce = announce;
		r.from_nlri = from_nlri;
		if (fn)
			fn(&r, a, arg);
	}
	return 0;
cut:
	if (lenient)
		return 0;
	return fail(e, BGP_ERR_UPDATE, BGP_ERR_UPD_NETWORK, "NLRI cut short");
}

static int aspath_parse(const uint8_t *p, size_t len, unsigned asz, struct bgp_aspath *ap)
{
	size_t off = 0;

	ap->nseg = 0;
	ap->nasn = 0;
	ap->truncated = false;
	while (off < len) {
		if (len - off < 2)
			return -1;
		uint8_t type = p[off];
		uint8_t count = p[off + 1];
		off += 2;
		if (type < BGP_AS_SET || type > BGP_AS_CONFED_SET || count == 0)
			return -1;
		if ((size_t)count * asz > len - off)
			return -1;
		if (ap->nseg < BGP_ASSEG_MAX && ap->nasn + count <= BGP_ASPATH_MAX) {
			ap->seg[ap->nseg].type = type;
			ap->seg[ap->nseg].first = ap->nasn;
			ap->seg[ap->nseg].count = count;
			for (unsigned i = 0; i < count; i++)
				ap->asn[ap->nasn++] = asz == 4 ? get32(p + off + i * 4) : get16(p + off + i * 2);
			ap->nseg++;
		} else {
			ap->truncated = true;
		}
		off += (size_t)count * asz;
	}
	return 0;
}

/* RFC 6793 4.2.3: the number of ASNs a path counts for. */
static unsigned aspath_count(const struct bgp_aspath *ap)
{
	unsigned n = 0;
	for (unsigned i = 0; i < ap->nseg; i++) {
		if (ap->seg[i].type == BGP_AS_SEQUENCE)
			n += ap->seg[i].count;
		else if (ap->seg[i].type == BGP_AS_SET)
			n += 1;
	}
	return n;
}

static void aspath_push(struct bgp_aspath *out, uint8_t type, const uint32_t *asn, unsigned count)
{
	if (out->nseg >= BGP_ASSEG_MAX || out->nasn + count > BGP_ASPATH_MAX) {
		out->truncated = true;
		return;
	}
	out->seg[out->nseg].type = type;
	out->seg[out->nseg].first = out->nasn;
	out->seg[out->nseg].count = (uint16_t)count;
	memcpy(out->asn + out->nasn, asn, count * sizeof(uint32_t));
	out->nasn = (uint16_t)(out->nasn + count);
	out->nseg++;
}

/* Reconstructs the path from a 2-octet AS_PATH and the AS4_PATH. */
static void aspath_merge_as4(struct bgp_aspath *path, const struct bgp_aspath *as4)
{
	unsigned n2 = aspath_count(path), n4 = aspath_count(as4);
	if (n2 < n4)
		return;
	static _Thread_local struct bgp_aspath out;
	memset(&out, 0, offsetof(struct bgp_aspath, asn));
	unsigned keep = n2 - n4;
	for (unsigned i = 0; i < path->nseg && keep > 0; i++) {
		uint8_t t = path->seg[i].type;
		const uint32_t *a = path->asn + path->seg[i].first;
		unsigned c = path->seg[i].count;
		if (t == BGP_AS_SEQUENCE) {
			unsigned take = c < keep ? c : keep;
			aspath_push(&out, t, a, take);
			keep -= take;
		} else if (t == BGP_AS_SET) {
			aspath_push(&out, t, a, c);
			keep--;
		} else {
			aspath_push(&out, t, a, c);
		}
	}
	for (unsigned i = 0; i < as4->nseg; i++)
		aspath_push(&out, as4->seg[i].type, as4->asn + as4->seg[i].first, as4->seg[i].count);
	out.truncated = out.truncated || path->truncated || as4->truncated;
	memcpy(path, &out, offsetof(struct bgp_aspath, asn) + out.nasn * sizeof(uint32_t));
}

static void set_origin_as(struct bgp_attrs *a)
{
	const struct bgp_aspath *ap = &a->aspath;
	a->origin_as = 0;
	a->origin_is_set = false;
	if (ap->nseg == 0)
		return;
	unsigned last = ap->nseg - 1u;
	uint8_t t = ap->seg[last].type;
	if (t == BGP_AS_SEQUENCE) {
		a->origin_as = ap->asn[ap->seg[last].first + ap->seg[last].count - 1];
	} else if (t == BGP_AS_SET) {
		a->origin_as = ap->asn[ap->seg[last].first];
		a->origin_is_set = true;
	}
}

void bgp_aspath_format(const struct bgp_aspath *ap, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (unsigned i = 0; i < ap->nseg; i++) {
		uint8_t t = ap->seg[i].type;
		const char *open = t == BGP_AS_SET               ? "{"
				   : t == BGP_AS_CONFED_SET      ? "["
				   : t == BGP_AS_CONFED_SEQUENCE ? "("
								 : "";
		const char *close = t == BGP_AS_SET               ? "}"
				    : t == BGP_AS_CONFED_SET      ? "]"
				    : t == BGP_AS_CONFED_SEQUENCE ? ")"
								  : "";
		const char *sep = (t == BGP_AS_SET || t == BGP_AS_CONFED_SET) ? "," : " ";
		int n = snprintf(buf + off, len - off, "%s%s", i ? " " : "", open);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
		for (unsigned j = 0; j < ap->seg[i].count; j++) {
			n = snprintf(buf + off, len - off, "%s%u", j ? sep : "", ap->asn[ap->seg[i].first + j]);
			if (n < 0 || (size_t)n >= len - off)
				return;
			off += (size_t)n;
		}
		n = snprintf(buf + off, len - off, "%s", close);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
	}
}

static void taw(struct bgp_attrs *a, const char *why)
{
	if (!a->treat_as_withdraw)
		snprintf(a->taw_reason, sizeof(a->taw_reason), "%s", why);
	a->treat_as_withdraw = true;
}

/* Where the MP_REACH / MP_UNREACH NLRI of a message are, to be walked
 * once every attribute is known (treat-as-withdraw needs them all). */
struct mp_nlri {
	const uint8_t *reach, *unreach;
	size_t reach_len, unreach_len;
	int reach_family, unreach_family; /* 0: absent or not IPv4/IPv6 */
	bool reach_mc, unreach_mc;        /* multicast SAFI: counted, not used */
};

static int family_of(uint16_t afi, uint8_t safi, bool *mc)
{
	/* 2 multicast, 3 unicast+multicast (RFC 4760 before RFC 7606). */
	*mc = safi == 2 || safi == 3;
	if (safi != BGP_SAFI_UNICAST && !*mc)
		return 0;
	if (afi == BGP_AFI_IPV4)
		return AF_INET;
	if (afi == BGP_AFI_IPV6)
		return AF_INET6;
	return 0;
}

static int attrs_walk(const uint8_t *p, size_t len, const struct bgp_msg_opts *o, bool mrt_abbrev, struct bgp_attrs *a,
		      struct mp_nlri *mp, struct bgp_error *e)
{
	static _Thread_local struct bgp_aspath as4;
	uint32_t seen[8] = {0}; /* attribute types 0..255 already met */
	size_t off = 0;

	memset(a, 0, offsetof(struct bgp_attrs, aspath));
	a->aspath.nseg = a->aspath.nasn = 0;
	a->aspath.truncated = false;
	a->origin_as = 0;
	a->origin_is_set = false;
	a->nexthop_len = 0;
	a->treat_as_withdraw = false;
	a->taw_reason[0] = '\0';
	memset(mp, 0, sizeof(*mp));
	as4.nseg = as4.nasn = 0;

	while (off < len) {
		if (len - off < 3) {
			if (o->lenient)
				break;
			return fail(e, BGP_ERR_UPDATE, BGP_ERR_UPD_ATTR_LIST, "attribute header cut short");
		}
		uint8_t flags = p[off], type = p[off + 1];
		size_t hl = (flags & 0x10) ? 4 : 3;
		if (len - off < hl) {
			if (o->lenient)
				break;
			return fail(e, BGP_ERR_UPDATE, BGP_ERR_UPD_ATTR_LIST, "attribute header cut short");
		}
		size_t alen = (flags & 0x10) ? get16(p + off + 2) : p[off + 2];
		off += hl;
		if (alen > len - off) {
			if (o->lenient)
				break;
			return fail(e, BGP_ERR_UPDATE, BGP_ERR_UPD_ATTR_LEN,
				    "attribute longer than the attribute block");
		}
		const uint8_t *v = p + off;
		off += alen;

		bool dup = seen[type >> 5] & (1u << (type & 31));
		seen[type >> 5] |= 1u << (type & 31);
		if (dup) {
			if ((type == 14 || type == 15) && !o->lenient)
				return fail(e, BGP_ERR_UPDATE, BGP_ERR_UPD_ATTR_LIST, "MP_REACH/MP_UNREACH repeated");
			continue; /* RFC 7606 3(g): later copies are discarded */
		}
		switch (type) {
		case 1: /* ORIGIN */
			if (alen != 1 || v[0] > 2) {
				taw(a, "malformed ORIGIN");
				break;
			}
			a->has_origin = true;
			a->origin = v[0];
			break;
		case 2: /* AS_PATH */
			if (aspath_parse(v, alen, o->as4 ? 4 : 2, &a->aspath) < 0) {
				a->aspath.nseg = a->aspath.nasn = 0;
				taw(a, "malformed AS_PATH");
				break;
			}
			a->has_aspath = true;
			break;
		case 3: /* NEXT_HOP */
			if (alen != 4) {
				taw(a, "malformed NEXT_HOP");
				break;
			}
			a->has_nexthop = true;
			memcpy(a->nexthop, v, 4);
			a->nexthop_len = 4;
			break;
		case 14: { /* MP_REACH_NLRI */
			/* TABLE_DUMP_V2 RIB entries carry only next hop length
			 * and next hop (RFC 6396 4.3.4). */
			if (mrt_abbrev && alen >= 1 && v[0] != 0) {
				size_t nhl = v[0];
				if (nhl + 1 <= alen && (nhl == 4 || nhl == 16 || nhl == 32)) {
					memcpy(a->nexthop, v + 1, nhl >= 16 ? 16 : nhl);
					a->nexthop_len = (uint8_t)(nhl >= 16 ? 16 : nhl);
				}
				break;
			}
			if (alen < 5)
				goto mp_bad;
			uint16_t afi = get16(v);
			uint8_t safi = v[2];
			size_t nhl = v[3];
			if (5 + nhl > alen)
				goto mp_bad;
			bool mc;
			int fam = family_of(afi, safi, &mc);
			if (fam && !mc && (nhl == 4 || nhl == 16 || nhl == 32)) {
				memcpy(a->nexthop, v + 4, nhl >= 16 ? 16 : nhl);
				a->nexthop_len = (uint8_t)(nhl >= 16 ? 16 : nhl);
			}
			/* One reserved octet (old SNPA count) follows the next hop. */
			mp->reach = v + 5 + nhl;
			mp->reach_len = alen - 5 - nhl;
			mp->reach_family = fam;
			mp->reach_mc = mc;
			break;
		}
		case 15: { /* MP_UNREACH_NLRI */
			if (alen < 3)
				goto mp_bad;
			mp->unreach = v + 3;
			mp->unreach_len = alen - 3;
			mp->unreach_family = family_of(get16(v), v[2], &mp->unreach_mc);
			break;
		}
		case 17: /* AS4_PATH: malformed is discarded (RFC 6793 6) */
			if (aspath_parse(v, alen, 4, &as4) == 0)
				a->has_as4path = true;
			break;
		default:
			break;
		}
		continue;
	mp_bad:
		if (o->lenient)
			continue;
		return fail(e, BGP_ERR_UPDATE, BGP_ERR_UPD_ATTR_LIST, "malformed MP_REACH_NLRI/MP_UNREACH_NLRI");
	}
	if (a->has_aspath && a->has_as4path && !o->as4)
		aspath_merge_as4(&a->aspath, &as4);
	set_origin_as(a);
	return 0;
}

int bgp_attrs_parse(const uint8_t *p, size_t len, const struct bgp_msg_opts *o, bool mrt_abbrev, bgp_route_fn fn,
		    void *arg, struct bgp_attrs *attrs, struct bgp_error *e)
{
	struct mp_nlri mp;
	if (attrs_walk(p, len, o, mrt_abbrev, attrs, &mp, e) < 0)
		return -1;
	if (mp.reach_family && fn) {
		bool ap = mp.reach_family == AF_INET ? o->addpath_v4 : o->addpath_v6;
		if (nlri_walk(mp.reach, mp.reach_len, mp.reach_family, ap, true, true, o->lenient, mp.reach_mc, fn, arg,
			      attrs, e) < 0)
			return -1;
	}
	return 0;
}

int bgp_update_parse(const uint8_t *body, size_t len, const struct bgp_msg_opts *o, bgp_route_fn fn, void *arg,
		     struct bgp_attrs *attrs, struct bgp_error *e)
{
	struct mp_nlri mp;

	if (len < 2) {
		if (o->lenient)
			return 0;
		return fail(e, BGP_ERR_UPDATE, BGP_ERR_UPD_ATTR_LIST, "UPDATE shorter than 4 octets");
	}
	size_t wlen = get16(body);
	size_t off = 2;
	if (wlen > len - off) {
		if (!o->lenient)
			return fail(e, BGP_ERR_UPDATE, BGP_ERR_UPD_ATTR_LIST, "withdrawn length beyond the message");
		wlen = len - off;
	}
	const uint8_t *wd = body + off;
	off += wlen;
	size_t alen = 0;
	if (len - off >= 2) {
		alen = get16(body + off);
		off += 2;
	} else if (!o->lenient) {
		return fail(e, BGP_ERR_UPDATE, BGP_ERR_UPD_ATTR_LIST, "no attribute length");
	} else {
		off = len;
	}
	if (alen > len - off) {
		if (!o->lenient)
			return fail(e, BGP_ERR_UPDATE, BGP_ERR_UPD_ATTR_LIST, "attribute length beyond the message");
		alen = len - off;
	}
	const uint8_t *at = body + off;
	off += alen;
	const uint8_t *nlri = body + off;
	size_t nlen = len - off;

	if (attrs_walk(at, alen, o, false, attrs, &mp, e) < 0)
		return -1;
	/* RFC 7606 3(d): a missing well-known mandatory attribute withdraws. */
	if (nlen > 0 && (!attrs->has_origin || !attrs->has_aspath || !attrs->has_nexthop))
		taw(attrs, "missing ORIGIN, AS_PATH or NEXT_HOP");
	if (mp.reach && nlen == 0 && (!attrs->has_origin || !attrs->has_aspath))
		taw(attrs, "missing ORIGIN or AS_PATH");

	if (nlri_walk(wd, wlen, AF_INET, o->addpath_v4, false, false, o->lenient, false, fn, arg, attrs, e) < 0)
		return -1;
	if (mp.unreach_family) {
		bool ap = mp.unreach_family == AF_INET ? o->addpath_v4 : o->addpath_v6;
		if (nlri_walk(mp.unreach, mp.unreach_len, mp.unreach_family, ap, false, false, o->lenient,
			      mp.unreach_mc, fn, arg, attrs, e) < 0)
			return -1;
	}
	bool ann = !attrs->treat_as_withdraw;
	if (mp.reach_family) {
		bool ap = mp.reach_family == AF_INET ? o->addpath_v4 : o->addpath_v6;
		if (nlri_walk(mp.reach, mp.reach_len, mp.reach_family, ap, ann, true, o->lenient, mp.reach_mc, fn, arg,
			      attrs, e) < 0)
			return -1;
	}
	if (nlri_walk(nlri, nlen, AF_INET, o->addpath_v4, ann, true, o->lenient, false, fn, arg, attrs, e) < 0)
		return -1;
	return 0;
}

int bgp_open_parse(const uint8_t *body, size_t len, struct bgp_open *o, struct bgp_error *e)
{
	memset(o, 0, sizeof(*o));
	if (len < 10)
		return fail(e, BGP_ERR_HEADER, BGP_ERR_HDR_LENGTH, "OPEN too short");
	o->version = body[0];
	o->my_as = get16(body + 1);
	o->as4 = o->my_as;
	o->hold_time = get16(body + 3);
	o->bgp_id = get32(body + 5);
	size_t optlen = body[9];
	if (o->version != 4)
		return fail(e, BGP_ERR_OPEN, BGP_ERR_OPEN_VERSION, "unsupported BGP version");
	if (o->hold_time == 1 || o->hold_time == 2)
		return fail(e, BGP_ERR_OPEN, BGP_ERR_OPEN_HOLD, "hold time 1 or 2 seconds");
	if (o->bgp_id == 0)
		return fail(e, BGP_ERR_OPEN, BGP_ERR_OPEN_BGP_ID, "BGP identifier 0");
	if (10 + optlen > len)
		return fail(e, BGP_ERR_OPEN, 0, "optional parameters beyond the message");
	const uint8_t *p = body + 10;
	size_t off = 0;
	while (off < optlen) {
		if (optlen - off < 2)
			return fail(e, BGP_ERR_OPEN, 0, "optional parameter cut short");
		uint8_t ptype = p[off];
		size_t plen = p[off + 1];
		off += 2;
		if (plen > optlen - off)
			return fail(e, BGP_ERR_OPEN, 0, "optional parameter beyond the list");
		if (ptype == 2) { /* capabilities */
			const uint8_t *c = p + off;
			size_t coff = 0;
			while (coff < plen) {
				if (plen - coff < 2)
					return fail(e, BGP_ERR_OPEN, 0, "capability cut short");
				uint8_t code = c[coff];
				size_t clen = c[coff + 1];
				coff += 2;
				if (clen > plen - coff)
					return fail(e, BGP_ERR_OPEN, 0, "capability beyond its parameter");
				const uint8_t *cv = c + coff;
				if (code == 1 && clen == 4 && cv[3] == BGP_SAFI_UNICAST) {
					if (get16(cv) == BGP_AFI_IPV4)
						o->cap_mp_v4 = true;
					else if (get16(cv) == BGP_AFI_IPV6)
						o->cap_mp_v6 = true;
				} else if (code == 2 || code == 128) {
					o->cap_route_refresh = true;
				} else if (code == 6) {
					o->cap_ext_msg = true;
				} else if (code == 65 && clen == 4) {
					o->cap_as4 = true;
					o->as4 = get32(cv);
				} else if (code == 69) {
					for (size_t i = 0; i + 4 <= clen; i += 4) {
						bool send = cv[i + 3] & 2;
						if (cv[i + 2] != BGP_SAFI_UNICAST || !send)
							continue;
						if (get16(cv + i) == BGP_AFI_IPV4)
							o->cap_addpath_rx_v4 = true;
						else if (get16(cv + i) == BGP_AFI_IPV6)
							o->cap_addpath_rx_v6 = true;
					}
				}
				coff += clen;
			}
		}
		off += plen;
	}
	return 0;
}

static void header(uint8_t *buf, uint16_t len, uint8_t type)
{
	memset(buf, 0xff, 16);
	put16(buf + 16, len);
	buf[18] = type;
}

int bgp_build_open(uint8_t *buf, size_t cap, uint32_t local_as, uint16_t hold_time, uint32_t bgp_id)
{
	/* Capabilities: MP IPv4 unicast, MP IPv6 unicast, route refresh, 4-octet AS. */
	/* MP IPv4 unicast, MP IPv6 unicast, route refresh, 4-octet AS, and
	 * Graceful Restart with no flags, restart time 0 and no families
	 * (RFC 4724 section 3): it keeps no routes across restarts, but
	 * peers such as FRR send End-of-RIB only to a speaker announcing it,
	 * and End-of-RIB is when a peer's table is complete. */
	uint8_t caps[] = {1, 4, 0, 1, 0, 1, 1, 4, 0, 2, 0, 1, 2, 0, 65, 4, 0, 0, 0, 0, 64, 2, 0, 0};
	size_t len = BGP_HDR_LEN + 10 + 2 + sizeof(caps);
	if (cap < len)
		return -1;
	put32(caps + 16, local_as);
	header(buf, (uint16_t)len, BGP_MSG_OPEN);
	uint8_t *b = buf + BGP_HDR_LEN;
	b[0] = 4;
	put16(b + 1, local_as > 65535 ? 23456 : (uint16_t)local_as);
	put16(b + 3, hold_time);
	put32(b + 5, bgp_id);
	b[9] = (uint8_t)(2 + sizeof(caps));
	b[10] = 2;
	b[11] = (uint8_t)sizeof(caps);
	memcpy(b + 12, caps, sizeof(caps));
	return (int)len;
}

int bgp_build_keepalive(uint8_t *buf, size_t cap)
{
	if (cap < BGP_HDR_LEN)
		return -1;
	header(buf, BGP_HDR_LEN, BGP_MSG_KEEPALIVE);
	return BGP_HDR_LEN;
}

int bgp_build_notification(uint8_t *buf, size_t cap, uint8_t code, uint8_t subcode, const uint8_t *data, size_t dlen)
{
	size_t len = BGP_HDR_LEN + 2 + dlen;
	if (len > BGP_MSG_MAX || cap < len)
		return -1;
	header(buf, (uint16_t)len, BGP_MSG_NOTIFICATION);
	buf[BGP_HDR_LEN] = code;
	buf[BGP_HDR_LEN + 1] = subcode;
	if (dlen)
		memcpy(buf + BGP_HDR_LEN + 2, data, dlen);
	return (int)len;
}

int bgp_build_route_refresh(uint8_t *buf, size_t cap, uint16_t afi, uint8_t safi)
{
	if (cap < BGP_HDR_LEN + 4)
		return -1;
	header(buf, BGP_HDR_LEN + 4, BGP_MSG_ROUTE_REFRESH);
	put16(buf + BGP_HDR_LEN, afi);
	buf[BGP_HDR_LEN + 2] = 0;
	buf[BGP_HDR_LEN + 3] = safi;
	return BGP_HDR_LEN + 4;
}
