/* BGP-4 message codec (RFC 4271) with MP-BGP (RFC 4760), 4-octet AS
 * (RFC 6793), ADD-PATH NLRI (RFC 7911), revised error handling (RFC 7606)
 * and extended messages (RFC 8654).  Pure functions over byte buffers:
 * nothing here logs, allocates or keeps state. */
#ifndef LIGHTSOUT_BGP_MSG_H
#define LIGHTSOUT_BGP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define BGP_HDR_LEN     19
#define BGP_MSG_MAX     4096
#define BGP_MSG_EXT_MAX 65535

enum bgp_msg_type {
	BGP_MSG_OPEN = 1,
	BGP_MSG_UPDATE = 2,
	BGP_MSG_NOTIFICATION = 3,
	BGP_MSG_KEEPALIVE = 4,
	BGP_MSG_ROUTE_REFRESH = 5,
};

#define BGP_AFI_IPV4     1
#define BGP_AFI_IPV6     2
#define BGP_SAFI_UNICAST 1

/* NOTIFICATION error codes and the subcodes we send. */
enum bgp_err_code {
	BGP_ERR_HEADER = 1,
	BGP_ERR_OPEN = 2,
	BGP_ERR_UPDATE = 3,
	BGP_ERR_HOLD = 4,
	BGP_ERR_FSM = 5,
	BGP_ERR_CEASE = 6,
};
#define BGP_ERR_HDR_SYNC      1
#define BGP_ERR_HDR_LENGTH    2
#define BGP_ERR_HDR_TYPE      3
#define BGP_ERR_OPEN_VERSION  1
#define BGP_ERR_OPEN_PEER_AS  2
#define BGP_ERR_OPEN_BGP_ID   3
#define BGP_ERR_OPEN_HOLD     6
#define BGP_ERR_UPD_ATTR_LIST 1
#define BGP_ERR_UPD_ATTR_LEN  5
#define BGP_ERR_UPD_NETWORK   10
#define BGP_ERR_CEASE_ADMIN   2
#define BGP_ERR_CEASE_RESET   4

/* A parse error: what to put in a NOTIFICATION, and why in words. */
struct bgp_error {
	uint8_t code;
	uint8_t subcode;
	char msg[160];
};

/* How to read AS numbers and NLRI of this session or MRT record. */
struct bgp_msg_opts {
	bool as4;        /* AS_PATH carries 4-octet ASNs (RFC 6793 capability) */
	bool addpath_v4; /* IPv4 unicast NLRI carry a path identifier (RFC 7911) */
	bool addpath_v6; /* same for IPv6 unicast */
	bool lenient;    /* MRT archives: a message cut short is read as far as it goes */
};

#define BGP_ASPATH_MAX 512
#define BGP_ASSEG_MAX  64

enum bgp_seg_type { BGP_AS_SET = 1, BGP_AS_SEQUENCE = 2, BGP_AS_CONFED_SEQUENCE = 3, BGP_AS_CONFED_SET = 4 };

struct bgp_aspath {
	uint16_t nseg;
	uint16_t nasn;
	bool truncated; /* longer than we keep; the prefix of it is kept */
	struct {
		uint8_t type;
		uint16_t first; /* index into asn */
		uint16_t count;
	} seg[BGP_ASSEG_MAX];
	uint32_t asn[BGP_ASPATH_MAX];
};

/* Path attributes of one UPDATE (or one RIB entry). */
struct bgp_attrs {
	bool has_origin, has_aspath, has_nexthop, has_as4path;
	uint8_t origin;           /* 0 IGP, 1 EGP, 2 INCOMPLETE */
	struct bgp_aspath aspath; /* AS4_PATH already merged in */
	uint32_t origin_as;       /* last ASN of the path, 0 if none */
	bool origin_is_set;       /* the path ends with an AS_SET */
	uint8_t nexthop[16];
	uint8_t nexthop_len; /* 4 or 16 (first of an IPv6 pair), 0 if none */
	/* RFC 7606: some attribute was malformed, every NLRI of the message
	 * must be handled as withdrawn. */
	bool treat_as_withdraw;
	char taw_reason[96];
};

/* One route event of an UPDATE, in message order: withdrawals first. */
struct bgp_route {
	struct prefix prefix; /* masked: host bits cleared */
	uint32_t path_id;     /* 0 without ADD-PATH */
	bool announce;        /* false: withdrawn (or treated as withdrawn) */
	bool from_nlri;       /* listed as reachable (NLRI/MP_REACH) in the message */
	/* Counted the way bgpdump counts, but not a unicast route to act on:
	 * a multicast SAFI, or (lenient mode) a prefix length beyond the
	 * family read as bgpdump reads it. */
	bool unusable;
};

typedef void (*bgp_route_fn)(const struct bgp_route *r, const struct bgp_attrs *a, void *arg);

/* Checks the 19-byte header at buf (len >= BGP_HDR_LEN): marker, length
 * within [19, max] and the minimum of its type, known type.  Returns 0 and
 * fills type/msglen, or -1 and e. */
int bgp_msg_header(const uint8_t *buf, size_t len, size_t max, uint8_t *type, uint16_t *msglen, struct bgp_error *e);

/* Parses an UPDATE body (after the header).  Calls fn once per prefix.
 * Returns 0 (also after treat-as-withdraw), or -1 with e filled when the
 * message cannot be parsed at all (RFC 7606 "session reset"). */
int bgp_update_parse(const uint8_t *body, size_t len, const struct bgp_msg_opts *o, bgp_route_fn fn, void *arg,
		     struct bgp_attrs *attrs, struct bgp_error *e);

/* Parses a path attribute block (RIB entries of MRT TABLE_DUMP files,
 * where MP_REACH_NLRI may be abbreviated to the next hop).  Announced
 * prefixes inside MP_REACH are passed to fn if fn is not NULL. */
int bgp_attrs_parse(const uint8_t *p, size_t len, const struct bgp_msg_opts *o, bool mrt_abbrev, bgp_route_fn fn,
		    void *arg, struct bgp_attrs *attrs, struct bgp_error *e);

/* Reads one NLRI prefix (length byte then address bytes) of family afi at
 * p.  Returns bytes consumed, or -1 (length beyond the family, or cut). */
int bgp_prefix_read(const uint8_t *p, size_t len, int family, struct prefix *out);

/* "7018 3549 {64500,64501}": buf receives the path, truncated to fit. */
void bgp_aspath_format(const struct bgp_aspath *ap, char *buf, size_t len);

struct bgp_open {
	uint8_t version;
	uint16_t my_as;     /* AS_TRANS 23456 when 4-octet */
	uint16_t hold_time; /* seconds */
	uint32_t bgp_id;    /* host order */
	bool cap_as4;
	uint32_t as4;              /* from the capability, else my_as */
	bool cap_mp_v4, cap_mp_v6; /* multiprotocol unicast */
	bool cap_route_refresh;
	bool cap_ext_msg;                          /* RFC 8654 */
	bool cap_addpath_rx_v4, cap_addpath_rx_v6; /* peer will send path ids */
};

/* Parses an OPEN body.  Errors carry the OPEN error subcode. */
int bgp_open_parse(const uint8_t *body, size_t len, struct bgp_open *o, struct bgp_error *e);

/* Builders: write a whole message with header into buf (cap bytes) and
 * return its length, or -1 if it does not fit. */
int bgp_build_open(uint8_t *buf, size_t cap, uint32_t local_as, uint16_t hold_time, uint32_t bgp_id);
int bgp_build_keepalive(uint8_t *buf, size_t cap);
int bgp_build_notification(uint8_t *buf, size_t cap, uint8_t code, uint8_t subcode, const uint8_t *data, size_t dlen);
int bgp_build_route_refresh(uint8_t *buf, size_t cap, uint16_t afi, uint8_t safi);

const char *bgp_msg_type_name(uint8_t type);

#endif
