/* MRT reader (RFC 6396): a streaming file reader (plain, gzip, bzip2)
 * that cuts records, and a record parser that turns them into route
 * events.  Counting follows `bgpdump -m`: one announcement or withdrawal
 * per prefix, one RIB entry per TABLE_DUMP(_V2) entry, one state change
 * per STATE_CHANGE record; only IPv4/IPv6 unicast is counted. */
#ifndef LIGHTSOUT_MRT_H
#define LIGHTSOUT_MRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bgp/bgp_msg.h"
#include "core/addr.h"

#define MRT_HDR_LEN 12
/* Largest record accepted: RIB records of one prefix with many peers pass
 * 64 KiB (bview.64k_stream_overflow: 70,710 bytes). */
#define MRT_RECORD_MAX (1u << 20)

enum mrt_type {
	MRT_BGP = 5, /* deprecated, still in 1999-2001 RIS archives */
	MRT_TABLE_DUMP = 12,
	MRT_TABLE_DUMP_V2 = 13,
	MRT_BGP4MP = 16,
	MRT_BGP4MP_ET = 17,
};

struct mrt_record {
	uint32_t timestamp; /* seconds */
	uint32_t usec;      /* BGP4MP_ET microseconds, else 0 */
	uint16_t type, subtype;
	uint32_t length;     /* of body */
	const uint8_t *body; /* valid until the next mrt_next() */
	uint64_t offset;     /* of the record header in the decompressed stream */
};

struct mrt_reader;

/* Opens path; gzip and bzip2 are recognised by their magic bytes. */
struct mrt_reader *mrt_open(const char *path, char *err, size_t errlen);
/* Same over a memory buffer (tests, fuzzing); buf must outlive the reader. */
struct mrt_reader *mrt_open_mem(const uint8_t *buf, size_t len);
/* 1: a record; 0: clean end; -1: error (err names the byte offset).  After
 * -1 the reader is finished. */
int mrt_next(struct mrt_reader *r, struct mrt_record *rec, char *err, size_t errlen);
/* Decompressed bytes consumed so far, and compressed bytes read (progress). */
uint64_t mrt_offset(const struct mrt_reader *r);
uint64_t mrt_compressed_offset(const struct mrt_reader *r);
void mrt_close(struct mrt_reader *r);

enum mrt_event_kind { MRT_EV_ANNOUNCE, MRT_EV_WITHDRAW, MRT_EV_RIB, MRT_EV_STATE };

struct mrt_event {
	enum mrt_event_kind kind;
	int64_t at_us; /* record time (RIB: dump time) */
	char peer[46]; /* numeric peer address */
	uint32_t peer_as;
	struct prefix prefix; /* ANNOUNCE, WITHDRAW, RIB */
	uint32_t path_id;
	const struct bgp_attrs *attrs; /* ANNOUNCE, RIB */
	uint16_t old_state, new_state; /* STATE */
};

typedef void (*mrt_event_fn)(const struct mrt_event *ev, void *arg);

struct mrt_stats {
	uint64_t records;
	uint64_t announcements;
	uint64_t withdrawals;
	uint64_t rib_entries;
	uint64_t state_changes;
	uint64_t errors;
};

struct mrt_parser;

struct mrt_parser *mrt_parser_new(mrt_event_fn fn, void *arg);
void mrt_parser_free(struct mrt_parser *p);
/* Parses one record, updating the counts and calling the event function.
 * Returns 0, or -1 with err filled if the record was malformed (what came
 * before the fault was still reported; errors is incremented). */
int mrt_parse_record(struct mrt_parser *p, const struct mrt_record *rec, char *err, size_t errlen);
const struct mrt_stats *mrt_parser_stats(const struct mrt_parser *p);

/* Reads a whole file through a parser.  Returns 0, or -1 (err filled) if
 * the file could not be read to its end; the counts stay valid either way. */
int mrt_read_file(const char *path, struct mrt_parser *p, char *err, size_t errlen);

#endif
