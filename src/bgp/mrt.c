/* MRT reader: see mrt.h.  The reader decompresses into one growing buffer
 * and hands out records that point into it; the parser never trusts a
 * length it has not checked against the record. */
#include "bgp/mrt.h"

#include <arpa/inet.h>
#include <bzlib.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CHUNK (256u * 1024u)

enum src_kind { SRC_MEM, SRC_GZ, SRC_BZ2 };

struct mrt_reader {
	enum src_kind kind;
	gzFile gz;
	FILE *f;
	bz_stream bz;
	bool bz_live;
	uint8_t *zin;       /* compressed input for bzip2 */
	uint64_t zin_total; /* compressed bytes read */
	uint8_t *buf;       /* decompressed bytes [start, end) not yet handed out */
	size_t cap, start, end;
	uint64_t offset;   /* stream offset of buf[start] */
	bool src_eof;      /* the source has nothing more */
	char src_err[128]; /* why the source ended early, "" if cleanly */
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

struct mrt_reader *mrt_open_mem(const uint8_t *buf, size_t len)
{
	struct mrt_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->kind = SRC_MEM;
	r->buf = (uint8_t *)(uintptr_t)buf; /* never written for SRC_MEM */
	r->cap = r->end = len;
	r->src_eof = true;
	return r;
}

struct mrt_reader *mrt_open(const char *path, char *err, size_t errlen)
{
	struct mrt_reader *r = NULL;
	FILE *f = fopen(path, "rb");
	uint8_t magic[3] = {0};

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	size_t n = fread(magic, 1, sizeof(magic), f);
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	r->cap = CHUNK * 2;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	if (n == 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h') {
		r->kind = SRC_BZ2;
		rewind(f);
		r->f = f;
		f = NULL;
		r->zin = malloc(CHUNK);
		if (!r->zin || BZ2_bzDecompressInit(&r->bz, 0, 0) != BZ_OK) {
			snprintf(err, errlen, "%s: cannot start bzip2 decompression", path);
			goto fail;
		}
		r->bz_live = true;
	} else {
		/* zlib reads plain files transparently too. */
		r->kind = SRC_GZ;
		fclose(f);
		f = NULL;
		r->gz = gzopen(path, "rb");
		if (!r->gz) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		gzbuffer(r->gz, CHUNK);
	}
	return r;
fail:
	if (f)
		fclose(f);
	mrt_close(r);
	return NULL;
}

void mrt_close(struct mrt_reader *r)
{
	if (!r)
		return;
	if (r->kind != SRC_MEM)
		free(r->buf);
	if (r->gz)
		gzclose(r->gz);
	if (r->bz_live)
		BZ2_bzDecompressEnd(&r->bz);
	if (r->f)
		fclose(r->f);
	free(r->zin);
	free(r);
}

uint64_t mrt_offset(const struct mrt_reader *r)
{
	return r->offset;
}

uint64_t mrt_compressed_offset(const struct mrt_reader *r)
{
	if (r->kind == SRC_GZ)
		return (uint64_t)gzoffset(r->gz);
	if (r->kind == SRC_BZ2)
		return r->zin_total;
	return r->offset;
}

/* Decompresses up to room bytes into dst; returns bytes produced (0 at
 * the end of the source, with src_err set if it ended early). */
static size_t src_read(struct mrt_reader *r, uint8_t *dst, size_t room)
{
	if (r->src_eof)
		return 0;
	if (r->kind == SRC_GZ) {
		int n = gzread(r->gz, dst, (unsigned)room);
		if (n > 0)
			return (size_t)n;
		int zerr = 0;
		const char *msg = gzerror(r->gz, &zerr);
		if (n < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
			snprintf(r->src_err, sizeof(r->src_err), "gzip: %s", msg ? msg : "read error");
		r->src_eof = true;
		return 0;
	}
	/* bzip2 through the low-level API, so a cut stream still yields every
	 * byte decoded before the cut (BZ2_bzRead drops the last call's). */
	r->bz.next_out = (char *)dst;
	r->bz.avail_out = (unsigned)room;
	while (r->bz.avail_out == room) {
		if (r->bz.avail_in == 0) {
			size_t got = fread(r->zin, 1, CHUNK, r->f);
			if (got == 0) {
				if (ferror(r->f))
					snprintf(r->src_err, sizeof(r->src_err), "bzip2: read error");
				else
					snprintf(r->src_err, sizeof(r->src_err), "bzip2: compressed stream ends early");
				r->src_eof = true;
				break;
			}
			r->zin_total += got;
			r->bz.next_in = (char *)r->zin;
			r->bz.avail_in = (unsigned)got;
		}
		int rc = BZ2_bzDecompress(&r->bz);
		if (rc == BZ_STREAM_END) {
			/* Concatenated streams (pbzip2) continue with a new one. */
			BZ2_bzDecompressEnd(&r->bz);
			r->bz_live = false;
			unsigned left = r->bz.avail_in;
			char *next = r->bz.next_in;
			char *out = r->bz.next_out;
			unsigned aout = r->bz.avail_out;
			if (left == 0) {
				int c = fgetc(r->f);
				if (c == EOF) {
					r->src_eof = true;
					break;
				}
				ungetc(c, r->f);
			}
			memset(&r->bz, 0, sizeof(r->bz));
			if (BZ2_bzDecompressInit(&r->bz, 0, 0) != BZ_OK) {
				snprintf(r->src_err, sizeof(r->src_err), "bzip2: cannot restart");
				r->src_eof = true;
				break;
			}
			r->bz_live = true;
			r->bz.next_in = next;
			r->bz.avail_in = left;
			r->bz.next_out = out;
			r->bz.avail_out = aout;
			continue;
		}
		if (rc != BZ_OK) {
			snprintf(r->src_err, sizeof(r->src_err), "bzip2: corrupt data (error %d)", rc);
			r->src_eof = true;
			break;
		}
	}
	return room - r->bz.avail_out;
}

/* Makes at least need bytes available from start, if the source has them. */
static void fill(struct mrt_reader *r, size_t need)
{
	if (r->kind == SRC_MEM)
		return;
	while (r->end - r->start < need && !r->src_eof) {
		if (r->start > 0 && (r->cap - r->end < CHUNK || r->start == r->end)) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->cap - r->end < CHUNK && r->cap < need + CHUNK) {
			size_t ncap = r->cap * 2;
			while (ncap < need + CHUNK)
				ncap *= 2;
			uint8_t *nb = realloc(r->buf, ncap);
			if (!nb) {
				snprintf(r->src_err, sizeof(r->src_err), "out of memory");
				r->src_eof = true;
				return;
			}
			r->buf = nb;
			r->cap = ncap;
		}
		r->end += src_read(r, r->buf + r->end, r->cap - r->end);
	}
}

int mrt_next(struct mrt_reader *r, struct mrt_record *rec, char *err, size_t errlen)
{
	fill(r, MRT_HDR_LEN);
	size_t avail = r->end - r->start;
	if (avail == 0) {
		if (r->src_err[0]) {
			snprintf(err, errlen, "%s at byte offset %" PRIu64, r->src_err, r->offset);
			return -1;
		}
		return 0;
	}
	if (avail < MRT_HDR_LEN) {
		snprintf(err, errlen, "truncated MRT header at byte offset %" PRIu64 " (%zu of 12 bytes)%s%s",
			 r->offset, avail, r->src_err[0] ? ": " : "", r->src_err);
		r->start = r->end;
		return -1;
	}
	const uint8_t *h = r->buf + r->start;
	uint32_t len = get32(h + 8);
	if (len > MRT_RECORD_MAX) {
		snprintf(err, errlen, "MRT record at byte offset %" PRIu64 " declares %" PRIu32 " bytes (limit %u)",
			 r->offset, len, MRT_RECORD_MAX);
		r->start = r->end;
		r->src_eof = true;
		return -1;
	}
	fill(r, MRT_HDR_LEN + (size_t)len);
	avail = r->end - r->start;
	h = r->buf + r->start;
	if (avail < MRT_HDR_LEN + (size_t)len) {
		snprintf(err, errlen, "truncated MRT record at byte offset %" PRIu64 " (%zu of %" PRIu32 " bytes)%s%s",
			 r->offset, avail - MRT_HDR_LEN, len, r->src_err[0] ? ": " : "", r->src_err);
		r->start = r->end;
		return -1;
	}
	rec->timestamp = get32(h);
	rec->type = get16(h + 4);
	rec->subtype = get16(h + 6);
	rec->usec = 0;
	rec->body = h + MRT_HDR_LEN;
	rec->length = len;
	rec->offset = r->offset;
	/* RFC 6396 3: the microseconds are counted in the length. */
	if (rec->type == MRT_BGP4MP_ET && len >= 4) {
		rec->usec = get32(rec->body);
		rec->body += 4;
		rec->length -= 4;
	}
	r->start += MRT_HDR_LEN + (size_t)len;
	r->offset += MRT_HDR_LEN + (uint64_t)len;
	return 1;
}

/* ---- record parser ---- */

struct mrt_peer {
	char addr[46];
	uint32_t as;
};

struct mrt_parser {
	mrt_event_fn fn;
	void *arg;
	struct mrt_stats st;
	struct mrt_peer *peers; /* TABLE_DUMP_V2 peer index */
	size_t npeers;
	bool have_index;
	struct bgp_attrs attrs;
	/* The event being built for the route callback. */
	struct mrt_event ev;
};

struct mrt_parser *mrt_parser_new(mrt_event_fn fn, void *arg)
{
	struct mrt_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->fn = fn;
	p->arg = arg;
	return p;
}

void mrt_parser_free(struct mrt_parser *p)
{
	if (!p)
		return;
	free(p->peers);
	free(p);
}

const struct mrt_stats *mrt_parser_stats(const struct mrt_parser *p)
{
	return &p->st;
}

static int bad(struct mrt_parser *p, const struct mrt_record *rec, char *err, size_t errlen, const char *why)
{
	p->st.errors++;
	snprintf(err, errlen, "record at byte offset %" PRIu64 " (type %u subtype %u): %s", rec->offset, rec->type,
		 rec->subtype, why);
	return -1;
}

static void format_addr(int family, const uint8_t *a, char *out)
{
	if (!inet_ntop(family, a, out, 46))
		snprintf(out, 46, "?");
}

static void on_route(const struct bgp_route *r, const struct bgp_attrs *a, void *arg)
{
	struct mrt_parser *p = arg;
	if (r->from_nlri)
		p->st.announcements++;
	else
		p->st.withdrawals++;
	if (r->unusable)
		return;
	if (!p->fn)
		return;
	p->ev.kind = r->announce ? MRT_EV_ANNOUNCE : MRT_EV_WITHDRAW;
	p->ev.prefix = r->prefix;
	p->ev.path_id = r->path_id;
	p->ev.attrs = r->announce ? a : NULL;
	p->fn(&p->ev, p->arg);
}

static int peer_index(struct mrt_parser *p, const struct mrt_record *rec, char *err, size_t errlen)
{
	const uint8_t *b = rec->body;
	size_t len = rec->length, off = 0;

	if (len < 8)
		return bad(p, rec, err, errlen, "peer index table too short");
	off = 4;
	size_t vlen = get16(b + off);
	off += 2;
	if (vlen + 2 > len - off)
		return bad(p, rec, err, errlen, "view name beyond the record");
	off += vlen;
	size_t count = get16(b + off);
	off += 2;
	struct mrt_peer *np = calloc(count ? count : 1, sizeof(*np));
	if (!np)
		return bad(p, rec, err, errlen, "out of memory");
	size_t i;
	for (i = 0; i < count; i++) {
		if (len - off < 1)
			break;
		uint8_t t = b[off];
		size_t need = 1 + 4 + ((t & 1) ? 16 : 4) + ((t & 2) ? 4 : 2);
		if (need > len - off)
			break;
		off += 5;
		format_addr((t & 1) ? AF_INET6 : AF_INET, b + off, np[i].addr);
		off += (t & 1) ? 16 : 4;
		np[i].as = (t & 2) ? get32(b + off) : get16(b + off);
		off += (t & 2) ? 4 : 2;
	}
	free(p->peers);
	p->peers = np;
	p->npeers = i;
	p->have_index = true;
	if (i < count)
		return bad(p, rec, err, errlen, "peer index table cut short");
	return 0;
}

static int rib_v2(struct mrt_parser *p, const struct mrt_record *rec, int family, bool addpath, char *err,
		  size_t errlen)
{
	const uint8_t *b = rec->body;
	size_t len = rec->length, off = 4;
	struct bgp_msg_opts o = {.as4 = true, .addpath_v4 = false, .addpath_v6 = false, .lenient = false};
	struct bgp_error e;

	if (!p->have_index)
		return bad(p, rec, err, errlen, "RIB record before any PEER_INDEX_TABLE");
	if (len < 4)
		return bad(p, rec, err, errlen, "RIB record too short");
	int n = bgp_prefix_read(b + off, len - off, family, &p->ev.prefix);
	if (n < 0)
		return bad(p, rec, err, errlen, "bad RIB prefix");
	off += (size_t)n;
	if (len - off < 2)
		return bad(p, rec, err, errlen, "RIB entry count missing");
	unsigned count = get16(b + off);
	off += 2;
	p->ev.kind = MRT_EV_RIB;
	p->ev.at_us = (int64_t)rec->timestamp * 1000000;
	for (unsigned i = 0; i < count; i++) {
		size_t hl = addpath ? 12 : 8;
		if (len - off < hl)
			return bad(p, rec, err, errlen, "RIB entry cut short");
		unsigned pi = get16(b + off);
		p->ev.path_id = addpath ? get32(b + off + 6) : 0;
		size_t alen = get16(b + off + hl - 2);
		off += hl;
		if (alen > len - off)
			return bad(p, rec, err, errlen, "RIB entry attributes beyond the record");
		if (pi >= p->npeers)
			return bad(p, rec, err, errlen, "RIB entry names an unknown peer");
		if (bgp_attrs_parse(b + off, alen, &o, true, NULL, NULL, &p->attrs, &e) < 0)
			return bad(p, rec, err, errlen, e.msg);
		off += alen;
		p->st.rib_entries++;
		if (p->fn) {
			snprintf(p->ev.peer, sizeof(p->ev.peer), "%s", p->peers[pi].addr);
			p->ev.peer_as = p->peers[pi].as;
			p->ev.attrs = &p->attrs;
			p->fn(&p->ev, p->arg);
		}
	}
	return 0;
}

static int table_dump_v1(struct mrt_parser *p, const struct mrt_record *rec, char *err, size_t errlen)
{
	const uint8_t *b = rec->body;
	size_t len = rec->length;
	/* Subtypes 1/2 are RFC 6396; 3/4 are the 4-octet AS variants some
	 * dumpers wrote (bgpdump reads them). */
	bool v6 = rec->subtype == 2 || rec->subtype == 4;
	bool as4 = rec->subtype == 3 || rec->subtype == 4;
	size_t alen_ip = v6 ? 16 : 4, asz = as4 ? 4 : 2;
	size_t need = 4 + alen_ip + 1 + 1 + 4 + alen_ip + asz + 2;
	struct bgp_msg_opts o = {.as4 = as4, .lenient = false};
	struct bgp_error e;

	if (rec->subtype < 1 || rec->subtype > 4)
		return bad(p, rec, err, errlen, "unknown TABLE_DUMP address family");
	if (len < need)
		return bad(p, rec, err, errlen, "TABLE_DUMP record too short");
	size_t off = 4;
	struct prefix *pf = &p->ev.prefix;
	memset(pf, 0, sizeof(*pf));
	pf->family = v6 ? AF_INET6 : AF_INET;
	memcpy(pf->addr, b + off, alen_ip);
	off += alen_ip;
	uint8_t plen = b[off];
	if (plen > alen_ip * 8)
		return bad(p, rec, err, errlen, "prefix length beyond the address family");
	pf->len = plen;
	for (unsigned bit = plen; bit < alen_ip * 8; bit++)
		pf->addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	off += 2 + 4;
	format_addr(pf->family, b + off, p->ev.peer);
	off += alen_ip;
	p->ev.peer_as = as4 ? get32(b + off) : get16(b + off);
	off += asz;
	size_t alen = get16(b + off);
	off += 2;
	if (alen > len - off)
		return bad(p, rec, err, errlen, "attributes beyond the record");
	if (bgp_attrs_parse(b + off, alen, &o, true, NULL, NULL, &p->attrs, &e) < 0)
		return bad(p, rec, err, errlen, e.msg);
	p->st.rib_entries++;
	if (p->fn) {
		p->ev.kind = MRT_EV_RIB;
		p->ev.at_us = (int64_t)rec->timestamp * 1000000;
		p->ev.path_id = 0;
		p->ev.attrs = &p->attrs;
		p->fn(&p->ev, p->arg);
	}
	return 0;
}

static void state_event(struct mrt_parser *p, uint16_t old_state, uint16_t new_state)
{
	p->st.state_changes++;
	if (!p->fn)
		return;
	p->ev.kind = MRT_EV_STATE;
	p->ev.old_state = old_state;
	p->ev.new_state = new_state;
	p->ev.attrs = NULL;
	p->fn(&p->ev, p->arg);
}

/* A BGP message with its header, as archived: may be cut short. */
static int bgp_message(struct mrt_parser *p, const struct mrt_record *rec, const uint8_t *m, size_t len, bool as4,
		       bool addpath, char *err, size_t errlen)
{
	struct bgp_msg_opts o = {.as4 = as4, .addpath_v4 = addpath, .addpath_v6 = addpath, .lenient = true};
	struct bgp_error e;

	if (len < BGP_HDR_LEN)
		return bad(p, rec, err, errlen, "BGP message shorter than its header");
	for (size_t i = 0; i < 16; i++) {
		if (m[i] != 0xff)
			return bad(p, rec, err, errlen, "BGP marker is not all ones");
	}
	size_t mlen = get16(m + 16);
	if (mlen < BGP_HDR_LEN)
		return bad(p, rec, err, errlen, "BGP message length below 19");
	if (m[18] != BGP_MSG_UPDATE)
		return 0;
	size_t body = (mlen < len ? mlen : len) - BGP_HDR_LEN;
	if (bgp_update_parse(m + BGP_HDR_LEN, body, &o, on_route, p, &p->attrs, &e) < 0)
		return bad(p, rec, err, errlen, e.msg);
	return 0;
}

static int bgp4mp(struct mrt_parser *p, const struct mrt_record *rec, char *err, size_t errlen)
{
	const uint8_t *b = rec->body;
	size_t len = rec->length;
	uint16_t st = rec->subtype;
	bool state = st == 0 || st == 5;
	bool as4 = st == 4 || st == 5 || st == 7 || st == 9 || st == 11;
	bool addpath = st >= 8 && st <= 11;
	size_t asz = as4 ? 4 : 2;

	if (!state && st != 1 && st != 4 && (st < 6 || st > 11))
		return 0; /* ENTRY, SNAPSHOT and unknown: deprecated, skipped */
	p->ev.at_us = (int64_t)rec->timestamp * 1000000 + rec->usec;
	p->ev.peer[0] = '\0';
	if (len < 2 * asz + 4)
		return bad(p, rec, err, errlen, "BGP4MP record too short");
	p->ev.peer_as = as4 ? get32(b) : get16(b);
	size_t off = 2 * asz;
	uint16_t ifindex = get16(b + off);
	uint16_t afi = get16(b + off + 2);
	off += 4;
	if (state) {
		/* Old Zebra wrote 8-byte state changes without addresses. */
		if (rec->length == 8 && !as4) {
			state_event(p, get16(b + 4), get16(b + 6));
			return 0;
		}
		size_t ipl = afi == BGP_AFI_IPV4 ? 4 : afi == BGP_AFI_IPV6 ? 16 : 0;
		if (!ipl)
			return bad(p, rec, err, errlen, "unknown address family");
		if (len != 2 * asz + 4 + 2 * ipl + 4)
			return bad(p, rec, err, errlen, "state change of the wrong length");
		format_addr(afi == BGP_AFI_IPV4 ? AF_INET : AF_INET6, b + off, p->ev.peer);
		off += 2 * ipl;
		state_event(p, get16(b + off), get16(b + off + 2));
		return 0;
	}
	if (afi == 0xffff && ifindex == 0xffff) {
		/* Zebra wrote OPENs without interface and addresses: the
		 * marker starts right after the AS numbers. */
		return bgp_message(p, rec, b + 2 * asz, len - 2 * asz, as4, addpath, err, errlen);
	}
	size_t ipl = afi == BGP_AFI_IPV4 ? 4 : afi == BGP_AFI_IPV6 ? 16 : 0;
	if (!ipl)
		return bad(p, rec, err, errlen, "unknown address family");
	if (len - off < 2 * ipl)
		return bad(p, rec, err, errlen, "BGP4MP addresses cut short");
	/* LOCAL subtypes were sent by the dumper: the peer is the second address. */
	bool local = st == 6 || st == 7 || st == 10 || st == 11;
	format_addr(afi == BGP_AFI_IPV4 ? AF_INET : AF_INET6, b + off + (local ? ipl : 0), p->ev.peer);
	if (local)
		p->ev.peer_as = as4 ? get32(b + 4) : get16(b + 2);
	off += 2 * ipl;
	return bgp_message(p, rec, b + off, len - off, as4, addpath, err, errlen);
}

/* Deprecated type 5 (MRT "BGP"): 1999-2001 RIS archives. */
static int mrt_bgp(struct mrt_parser *p, const struct mrt_record *rec, char *err, size_t errlen)
{
	const uint8_t *b = rec->body;
	size_t len = rec->length;
	struct bgp_msg_opts o = {.as4 = false, .lenient = true};
	struct bgp_error e;

	p->ev.at_us = (int64_t)rec->timestamp * 1000000;
	if (rec->subtype == 1) { /* UPDATE */
		if (len < 12)
			return bad(p, rec, err, errlen, "BGP UPDATE record too short");
		p->ev.peer_as = get16(b);
		format_addr(AF_INET, b + 2, p->ev.peer);
		if (bgp_update_parse(b + 12, len - 12, &o, on_route, p, &p->attrs, &e) < 0)
			return bad(p, rec, err, errlen, e.msg);
		return 0;
	}
	if (rec->subtype == 3) { /* STATE_CHANGE */
		if (len < 10)
			return bad(p, rec, err, errlen, "BGP STATE_CHANGE record too short");
		p->ev.peer_as = get16(b);
		format_addr(AF_INET, b + 2, p->ev.peer);
		state_event(p, get16(b + 6), get16(b + 8));
	}
	return 0;
}

int mrt_parse_record(struct mrt_parser *p, const struct mrt_record *rec, char *err, size_t errlen)
{
	p->st.records++;
	switch (rec->type) {
	case MRT_BGP:
		return mrt_bgp(p, rec, err, errlen);
	case MRT_TABLE_DUMP:
		p->ev.path_id = 0;
		return table_dump_v1(p, rec, err, errlen);
	case MRT_TABLE_DUMP_V2:
		switch (rec->subtype) {
		case 1:
			return peer_index(p, rec, err, errlen);
		case 2:
			return rib_v2(p, rec, AF_INET, false, err, errlen);
		case 4:
			return rib_v2(p, rec, AF_INET6, false, err, errlen);
		case 8:
			return rib_v2(p, rec, AF_INET, true, err, errlen);
		case 10:
			return rib_v2(p, rec, AF_INET6, true, err, errlen);
		default:
			return 0; /* multicast and RIB_GENERIC: not routes we watch */
		}
	case MRT_BGP4MP:
	case MRT_BGP4MP_ET:
		return bgp4mp(p, rec, err, errlen);
	default:
		return 0;
	}
}

int mrt_read_file(const char *path, struct mrt_parser *p, char *err, size_t errlen)
{
	char rerr[256];
	struct mrt_record rec;
	struct mrt_reader *r = mrt_open(path, err, errlen);
	int rc;

	if (!r) {
		p->st.errors++;
		return -1;
	}
	for (;;) {
		rc = mrt_next(r, &rec, err, errlen);
		if (rc != 1)
			break;
		mrt_parse_record(p, &rec, rerr, sizeof(rerr));
	}
	if (rc < 0)
		p->st.errors++;
	mrt_close(r);
	return rc < 0 ? -1 : 0;
}
