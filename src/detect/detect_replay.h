/* `report --rejudge`: the stored measurements and BGP visibility events
 * replayed through a fresh detector, in stored order, so the incidents are
 * the ones the live detector would have opened (detect.h). */
#ifndef LIGHTSOUT_DETECT_REPLAY_H
#define LIGHTSOUT_DETECT_REPLAY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct store;

/* Replay starts this long before since so baselines are learnt. */
#define DETECT_REPLAY_WARMUP_MS (INT64_C(24) * 3600 * 1000)

/* The incident documents of a replay of [since - warm-up, until), as a
 * new JSON array in id order (each incident's last document), or NULL
 * with err filled when the store cannot be read. */
json_t *detect_replay(struct store *st, const struct config *cfg, int64_t since, int64_t until, char *err,
		      size_t errlen);

#endif
